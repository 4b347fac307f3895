using System.Globalization;
using Strata.Autograd;
using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// Where an inference pass spends its time: a seed model's forward traced at one batch size and compiled
/// into a plan, then each op's forward run alone, repeatedly, on the plan's own buffers (1 thread);
/// median microseconds per call, per sample, and each op's share of the sum.
/// </summary>
internal static class InferenceProfile
{
    public static void Run(string workload, string dataDir, int? batchSize, double seconds)
    {
        KernelSettings.MaxThreads = 1;
        int batch = batchSize ?? 1000; // inference; a training step's default below
        if (workload == "gan")
        {
            Gan(dataDir, batchSize ?? 64, seconds);
            return;
        }
        if (workload.EndsWith("-train", StringComparison.Ordinal))
        {
            Training(workload[..^6], dataDir, batchSize ?? 32, seconds);
            return;
        }
        bool int8 = workload.EndsWith("-int8", StringComparison.Ordinal);
        var (model, test) = OnnxPeer.Trained(int8 ? workload[..^5] : workload, dataDir);
        if (int8)
        {
            var (train, _) = Strata.Data.Mnist.Load(dataDir, train: true);
            model = Strata.Compression.Quantizer.QuantizeStatic((Strata.Models.Sequential)model, train.Slice(0, 0, 1000));
        }
        var x = test.Slice(..batch).Clone();
        Plan plan;
        using (GradMode.Disable())
        {
            var input = new Tensor(x.Buffer, x.Start, x.Shape);
            var recorder = Trace.Begin();
            Tensor output;
            try
            {
                output = model.Forward(input, training: false);
            }
            finally
            {
                recorder.Dispose();
            }
            plan = Plan.Compile(recorder, [input], [output], null, out var why) ?? throw new InvalidOperationException($"profile: no plan ({why})");
            plan.Forward(); // places the activations
        }
        var nodes = plan.Nodes;
        var medians = new double[nodes.Count];
        using (Strata.Ops.Int8WeightCache.Trust()) // as in Predict: quantized kernels compared with their packed copy once
        {
            for (int i = 0; i < nodes.Count; i++)
                medians[i] = ConvShapes.Median(nodes[i].Forward, seconds / nodes.Count);
        }
        double total = medians.Sum();
        Console.WriteLine($"# {workload} inference plan, batch {batch}, 1 thread, {DateTime.UtcNow:yyyy-MM-dd}: each op alone, median of repeated calls");
        Console.WriteLine("| op | output | µs per batch | µs per sample | share |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        for (int i = 0; i < nodes.Count; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {nodes[i].Op} | {nodes[i].OutputShape} | {medians[i] * 1e6:F1} | {medians[i] * 1e6 / batch:F2} | {100 * medians[i] / total:F1} % |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| total | | {total * 1e6:F1} | {total * 1e6 / batch:F2} | {batch / total:F0} samples/s |"));
    }

    /// <summary>
    /// The DCGAN preset's two-update training step on its compiled program (1 thread): each replayed
    /// node's forward and backward and each optimizer update timed as it runs, summed by op and shape over
    /// the steps that fit in <paramref name="seconds"/> after a warm-up; the step's own wall time beside.
    /// </summary>
    private static void Gan(string dataDir, int batch, double seconds)
    {
        var (x, _) = Strata.Data.Mnist.Load(dataDir, train: true);
        var images = (x.Slice(..(batch * 16)) * 2f - 1f).Reshape([batch * 16, 28, 28, 1]);
        var batches = Enumerable.Range(0, 16).Select(i => images.Slice((i * batch)..((i + 1) * batch))).ToArray();
        var targets = Enumerable.Repeat(Tensor.Zeros(batch), 16).ToArray();
        Steps(Strata.Models.GanPresets.Dcgan(false, seed: 1), batches, targets, $"DCGAN training step (two updates) on its program, batch {batch}", "real images", seconds);
    }

    /// <summary>A seed model's training step (Adam, sparse categorical cross-entropy) on its compiled plan, per node (1 thread).</summary>
    private static void Training(string workload, string dataDir, int batch, double seconds)
    {
        var (x, y) = Strata.Data.Mnist.Load(dataDir, train: true);
        var model = Strata.Models.Presets.Create(workload, seed: 1);
        model.Compile(new Strata.Optimizers.Adam(1e-3f), new Strata.Losses.SparseCategoricalCrossentropy(), "accuracy");
        var batches = Enumerable.Range(0, 16).Select(i => x.Slice((i * batch)..((i + 1) * batch)).Clone()).ToArray();
        var targets = Enumerable.Range(0, 16).Select(i => Tensor.FromArray(y.Skip(i * batch).Take(batch).Select(v => (float)v).ToArray())).ToArray();
        Steps(model, batches, targets, $"{workload} training step on its plan, batch {batch}", "samples", seconds);
    }

    // Every replayed node and effect timed as it runs, summed by op and shape over the steps that fit in
    // the time after a warm-up; the step's own wall time beside.
    private static void Steps(Strata.Models.Model model, Tensor[] batches, Tensor[] targets, string what, string unit, double seconds)
    {
        int batch = batches[0].Shape[0];
        for (int i = 0; i < 24; i++)
            model.TrainStep([batches[i % batches.Length]], targets[i % batches.Length]); // traces, then tiers up
        var profile = new Plan.StepProfile();
        Plan.Profiler = profile;
        int steps = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            for (; sw.Elapsed.TotalSeconds < seconds; steps++)
                model.TrainStep([batches[steps % batches.Length]], targets[steps % batches.Length]);
        }
        finally
        {
            Plan.Profiler = null;
        }
        double wall = sw.Elapsed.TotalSeconds / steps;
        var rows = profile.Times.OrderByDescending(t => t.Value.Seconds).ToArray();
        double total = rows.Sum(r => r.Value.Seconds) / steps;
        Console.WriteLine($"# {what}, 1 thread, {steps} steps, {DateTime.UtcNow:yyyy-MM-dd}");
        Console.WriteLine("| node | µs per step | share |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (var (key, (s, calls)) in rows)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {key} (×{calls / (double)steps:F0}) | {s / steps * 1e6:F1} | {100 * s / steps / total:F1} % |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| nodes and effects | {total * 1e6:F1} | of a {wall * 1e6:F1} µs step ({batch / wall:F0} {unit}/s) |"));
    }
}

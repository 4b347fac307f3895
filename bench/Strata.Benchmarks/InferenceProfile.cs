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
    public static void Run(string workload, string dataDir, int batch, double seconds)
    {
        KernelSettings.MaxThreads = 1;
        var (model, test) = OnnxPeer.Trained(workload, dataDir);
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
        for (int i = 0; i < nodes.Count; i++)
            medians[i] = ConvShapes.Median(nodes[i].Forward, seconds / nodes.Count);
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
}

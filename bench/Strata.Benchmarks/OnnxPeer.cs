using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// Inference throughput of a seed model in Strata against the same model exported to ONNX and run
/// by ONNX Runtime (CPU, all graph optimizations), both on the MNIST test set in batches of 1,000,
/// alternating, with the same thread count; medians of the rounds and their ratio.
/// </summary>
internal static class OnnxPeer
{
    public static void Run(string workload, string dataDir, int threads, int rounds)
    {
        KernelSettings.MaxThreads = threads;
        if (workload.StartsWith("text-", StringComparison.Ordinal))
        {
            // A text preset trained for one epoch on the SpamAssassin split; the 1,209 test messages vectorized, batch 256.
            var preset = workload[5..];
            var (train, test) = SpamAssassin.LoadSplit();
            var vec = TextPresets.Vectorizer(preset, train.Texts);
            var textModel = TextPresets.Create(preset, vec, 2, seed: 1);
            textModel.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
            textModel.Fit(train.ToDataset(vec), epochs: 1, batchSize: 32, seed: 1);
            Compare(workload, textModel, vec.Vectorize(test.Texts), 256, threads, rounds);
            return;
        }
        var (model, tx) = Trained(workload, dataDir);
        Compare(workload, model, tx, 1000, threads, rounds);
    }

    /// <summary>A seed model trained for one epoch on 6,000 MNIST images, and the test images.</summary>
    internal static (Model Model, Tensor Test) Trained(string workload, string dataDir)
    {
        var (x, y) = Mnist.Load(dataDir, train: true);
        var (tx, _) = Mnist.Load(dataDir, train: false);
        Sequential model = workload switch
        {
            "mlp" => Presets.Mlp(seed: 1),
            "cnn3" => Presets.DeeperCnn(seed: 1),
            _ => Presets.Cnn(seed: 1),
        };
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(x.Slice(..6000), Tensor.FromArray(y.Take(6000).Select(v => (float)v).ToArray()), epochs: 1, batchSize: 128, seed: 1);
        return (model, tx);
    }

    /// <summary>
    /// Single-sample latency: <paramref name="calls"/> one-image calls on each side (<c>Predict</c> of a
    /// [1, ...] tensor against <c>InferenceSession.Run</c> of the exported model), in alternating blocks of
    /// 100 after a 2-second warm-up each, every call timed alone; median and 99th percentile.
    /// </summary>
    public static void Latency(string workload, string dataDir, int threads, int calls)
    {
        KernelSettings.MaxThreads = threads;
        var (model, tx) = Trained(workload, dataDir);
        var path = Path.Combine(Path.GetTempPath(), $"strata-latency-{Environment.ProcessId}.onnx");
        model.ExportOnnx(path);
        try
        {
            using var options = Options(threads);
            using var session = new InferenceSession(path, options);
            string input = session.InputMetadata.Keys.Single();
            int[] sample = tx.Shape.Dims[1..].ToArray();
            const int distinct = 256; // different images, so that neither side sees one input again and again
            var ours = Enumerable.Range(0, distinct).Select(i => tx.Slice(i..(i + 1)).Clone()).ToArray();
            var theirs = Enumerable.Range(0, distinct).Select(i => new DenseTensor<float>(ours[i].ToArray(), [1, .. sample])).ToArray();
            var inputs = theirs.Select(t => new[] { NamedOnnxValue.CreateFromTensor(input, t) }).ToArray();
            double tick = 1e6 / Stopwatch.Frequency;
            int call = 0;
            void StrataCalls(int count, List<double>? into)
            {
                for (int i = 0; i < count; i++, call++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    var p = model.Predict(ours[call % distinct]);
                    long t1 = Stopwatch.GetTimestamp();
                    into?.Add((t1 - t0) * tick);
                    GC.KeepAlive(p);
                }
            }
            void OrtCalls(int count, List<double>? into)
            {
                for (int i = 0; i < count; i++, call++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    using (var r = session.Run(inputs[call % distinct]))
                    {
                        long t1 = Stopwatch.GetTimestamp();
                        into?.Add((t1 - t0) * tick);
                    }
                }
            }
            for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;)
                StrataCalls(100, null);
            for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;)
                OrtCalls(100, null);
            var s = new List<double>(calls);
            var o = new List<double>(calls);
            while (s.Count < calls)
            {
                StrataCalls(Math.Min(100, calls - s.Count), s);
                OrtCalls(Math.Min(100, calls - o.Count), o);
            }
            s.Sort();
            o.Sort();
            static double At(List<double> v, double q) => v[Math.Min(v.Count - 1, (int)(q * v.Count))];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{workload} single-sample latency, {threads} thread(s), {calls:N0} calls each: strata median {At(s, 0.5):F1} µs, p99 {At(s, 0.99):F1} µs; " +
                $"onnxruntime median {At(o, 0.5):F1} µs, p99 {At(o, 0.99):F1} µs; ratio (ort / strata) median {At(o, 0.5) / At(s, 0.5):F2}, p99 {At(o, 0.99) / At(s, 0.99):F2}"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>ONNX Runtime's CPU session settings of every comparison: all graph optimizations, sequential, the given threads.</summary>
    private static SessionOptions Options(int threads)
    {
        var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
        // Idle pool threads of ONNX Runtime spin by default, and keep a core busy well past the end of a
        // run: measured on 2 cores, Strata's rounds between ONNX Runtime's ran at half speed with it on
        // (MLP int8, 2 threads: 0.55 M against 1.04 M samples/s), while ONNX Runtime's own rounds ran
        // as fast without it (1.16 M and 1.15 M). Off, neither side takes the other's cores.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    /// <summary>Also time each op of Strata's inference plan as it runs inside <c>Predict</c> (<c>onnx ... --in-sequence</c>; 1 thread only).</summary>
    internal static bool InSequence { get; set; }

    /// <summary>Exports <paramref name="model"/> (float, or quantized in QDQ form) and prints both runtimes' medians and their ratio.</summary>
    internal static void Compare(string workload, Model model, Tensor tx, int batch, int threads, int rounds)
    {
        var path = Path.Combine(Path.GetTempPath(), $"strata-peer-{Environment.ProcessId}.onnx");
        model.ExportOnnx(path);
        try
        {
            using var options = Options(threads);
            using var session = new InferenceSession(path, options);
            string input = session.InputMetadata.Keys.Single();
            int n = tx.Shape[0] / batch * batch; // whole batches only, on both sides
            int[] sample = tx.Shape.Dims[1..].ToArray();
            var batches = Enumerable.Range(0, n / batch).Select(b =>
                new DenseTensor<float>(tx.Slice((b * batch)..((b + 1) * batch)).ToArray(), [batch, .. sample])).ToArray();
            tx = tx.Slice(..n).Clone();

            double Strata()
            {
                var sw = Stopwatch.StartNew();
                model.Predict(tx, batchSize: batch);
                return n / sw.Elapsed.TotalSeconds;
            }
            double Ort()
            {
                var sw = Stopwatch.StartNew();
                foreach (var t in batches)
                {
                    using var r = session.Run([NamedOnnxValue.CreateFromTensor(input, t)]);
                }
                return n / sw.Elapsed.TotalSeconds;
            }
            // Warm both for two seconds each: .NET compiles hot methods again, optimized, only after some
            // thirty calls and in the background (on one of the cores the rounds use), so a single warm-up
            // call would leave Strata's first rounds on unoptimized code.
            for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;)
                Strata();
            for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;)
                Ort();
            var s = new List<double>();
            var o = new List<double>();
            // An untimed run before each timed one: ONNX Runtime's pool threads spin for a while after a run
            // (and Strata's workers briefly after theirs), which would take a core from the other side's
            // round; a pause instead lets an idle virtual core fall asleep, which costs either side more.
            for (int r = 0; r < rounds; r++)
            {
                Strata();
                s.Add(Strata());
                Ort();
                o.Add(Ort());
            }
            if (InSequence && threads > 1)
                Console.WriteLine("# --in-sequence times one thread's plan: run it with --threads 1");
            else if (InSequence)
            {
                // Every op's time as it runs inside Predict, after the op before it (the profile command times each alone, on hot operands).
                var profile = new global::Strata.Autograd.Plan.StepProfile();
                global::Strata.Autograd.Plan.Profiler = profile;
                try
                {
                    for (int r = 0; r < 10; r++)
                        Strata();
                }
                finally
                {
                    global::Strata.Autograd.Plan.Profiler = null;
                }
                Console.WriteLine($"# {workload}: each op inside Predict, µs per call of {batch} rows (mean of {profile.Times.Values.Max(t => t.Calls)} calls)");
                foreach (var (key, t) in profile.Times)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {key} | {t.Seconds * 1e6 / t.Calls:F1} |"));
            }
            s.Sort();
            o.Sort();
            double ms = s[s.Count / 2], mo = o[o.Count / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{workload} inference, {threads} thread(s), batch {batch}: strata {ms:F0} samples/s, onnxruntime {mo:F0} samples/s, ratio {ms / mo:F2} " +
                $"(sorted rounds strata {string.Join(" ", s.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}; ort {string.Join(" ", o.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))})"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

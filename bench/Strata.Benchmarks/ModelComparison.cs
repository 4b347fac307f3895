using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// A seed model on MNIST through the public API (Sequential, Compile, Fit, Predict), the Strata half
/// of bench/compare/run.sh: training samples/s for one shuffled epoch per batch size, inference
/// samples/s at batch 1,000, and managed bytes allocated per training step. One line per figure,
/// "strata what batch value", the format of bench/compare/mlp_torch.py and cnn_torch.py.
/// </summary>
internal static class ModelComparison
{
    /// <param name="workload">mlp, cnn or cnn3.</param>
    /// <param name="samples">Train on the first this many training images (0: all).</param>
    public static void Run(string workload, string dataDir, int threads, int[] batches, int samples)
    {
        Presets.Create(workload); // an unknown name fails here, before the data are read
        Func<ulong, Sequential> build = seed => Presets.Create(workload, seed: seed);
        KernelSettings.MaxThreads = threads;
        var (x, yInt) = Mnist.Load(dataDir, train: true);
        if (samples > 0 && samples < x.Shape[0])
        {
            x = x.Slice(..samples);
            yInt = yInt[..samples];
        }
        var (tx, tyInt) = Mnist.Load(dataDir, train: false);
        var y = Tensor.FromArray(yInt.Select(v => (float)v).ToArray());
        var ty = Tensor.FromArray(tyInt.Select(v => (float)v).ToArray());
        int n = x.Shape[0];

        foreach (int batch in batches)
        {
            // Warm-up: one epoch on a throwaway model, so that the JIT's tiers (tier 0, instrumented,
            // optimized with profile data) have settled and the runs below measure the steady state.
            var warm = Compiled(build, 99);
            warm.Fit(x, y, epochs: 1, batchSize: batch, seed: 9);

            // Training: one epoch on each of three fresh models; the median (this machine is a shared VM).
            var rates = new List<double>();
            Sequential model = null!;
            var sw = new Stopwatch();
            for (int r = 0; r < 3; r++)
            {
                model = Compiled(build, 1);
                sw.Restart();
                model.Fit(x, y, epochs: 1, batchSize: batch, seed: 1);
                rates.Add(n / sw.Elapsed.TotalSeconds);
            }
            rates.Sort();
            Console.WriteLine(Inv($"strata train {batch} {rates[1]:F0} (runs {string.Join(" ", rates.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))})"));
            double secs;

            // Inference: the best of three passes over the test set (the PyTorch script does the same).
            model.Predict(tx.Slice(..1000), batchSize: 1000); // warm
            Tensor probs = tx;
            double best = double.MaxValue;
            for (int pass = 0; pass < 3; pass++)
            {
                sw.Restart();
                probs = model.Predict(tx, batchSize: 1000);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            secs = best;
            var pred = probs.ArgMax(1).ToArray();
            double acc = pred.Select((p, i) => (int)p == tyInt[i] ? 1 : 0).Average();
            Console.WriteLine(Inv($"strata infer-after-{batch} 1000 {tx.Shape[0] / secs:F0} accuracy {acc:F4}"));

            // Managed allocation per step in the steady state of Fit (batch gather included): the
            // difference between a 2s-step and an s-step epoch, so per-Fit set-up cancels out.
            long Allocated(int steps)
            {
                var sub = x.Slice(..(steps * batch));
                var subY = y.Slice(..(steps * batch));
                long before = GC.GetTotalAllocatedBytes(precise: true);
                model.Fit(sub, subY, epochs: 1, batchSize: batch, seed: 3);
                return GC.GetTotalAllocatedBytes(precise: true) - before;
            }
            int steps = Math.Min(200, n / batch / 2);
            Allocated(steps);
            long small = Allocated(steps), large = Allocated(2 * steps);
            Console.WriteLine(Inv($"strata alloc-per-step {batch} {(large - small) / (double)steps:F0}"));
        }
    }

    private static Sequential Compiled(Func<ulong, Sequential> build, ulong seed)
    {
        var m = build(seed);
        m.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        return m;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

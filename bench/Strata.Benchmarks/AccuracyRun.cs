using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// A seed model trained on all 60,000 MNIST training images and evaluated on the 10,000 test images:
/// Adam 1e-3, sparse categorical cross-entropy, batch 32, seed 1 — the accuracy figures of
/// docs/PERFORMANCE.md (optionally with on-the-fly augmentation through a DataLoader). Prints one line
/// per epoch and the test loss and accuracy.
/// </summary>
internal static class AccuracyRun
{
    public static void Run(string workload, string dataDir, int threads, int epochs, int batch, bool augment)
    {
        KernelSettings.MaxThreads = threads;
        var model = workload switch
        {
            "mlp" => Presets.Mlp(seed: 1),
            "cnn" => Presets.Cnn(seed: 1),
            "cnn3" => Presets.DeeperCnn(seed: 1),
            _ => throw new ArgumentException($"unknown workload '{workload}' (mlp, cnn, cnn3)"),
        };
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var (x, yInt) = Mnist.Load(dataDir, train: true);
        var (tx, tyInt) = Mnist.Load(dataDir, train: false);
        var y = Tensor.FromArray(yInt.Select(v => (float)v).ToArray());
        var ty = Tensor.FromArray(tyInt.Select(v => (float)v).ToArray());
        var sw = new Stopwatch();
        Console.WriteLine("| epoch | train loss | train accuracy | seconds |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        for (int e = 0; e < epochs; e++)
        {
            sw.Restart();
            // With augmentation: the seed articles' ImageDataGenerator settings, one background worker.
            var history = augment
                ? model.Fit(new DataLoader(Dataset.FromTensors(x, y), batch, seed: 1, transform: AugmentationBench.Augment, workers: 1), epochs: e + 1, initialEpoch: e)
                : model.Fit(x, y, epochs: 1, batchSize: batch, seed: (ulong)(1 + e));
            double secs = sw.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {e + 1} | {history["loss"][^1]:F4} | {history["accuracy"][^1]:P2} | {secs:F1} |"));
        }
        var test = model.Evaluate(tx, ty, batchSize: 1000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test loss {test["loss"]:F4}, test accuracy {test["accuracy"]:P2}"));
    }
}

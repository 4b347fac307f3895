using System.Diagnostics;
using System.Globalization;
using Strata.Compression;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// Issue 19's pruning targets on full MNIST (60,000 training, 10,000 test images), Adam, batch 32:
/// the seed MLP trained, then magnitude-pruned to 90% during fine-tuning (PolynomialDecay 0 → 0.9 over
/// the first half of the fine-tuning epochs, masks every 100 steps), with the file size against sparsity;
/// the seed CNN (the shipped data/mnist/classifier.strata, or trained here) with half the filters of
/// each Conv2D removed by L1 norm and fine-tuned. Prints accuracy, parameters, file sizes and —
/// unless <c>--timing false</c> — inference samples/s at batch 1,000 before and after.
/// </summary>
internal static class PruningRun
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(string dataDir, int threads, int epochs, int finetune, int cnnEpochs, int cnnFinetune, bool timing, string only, float sparsity, bool global)
    {
        KernelSettings.MaxThreads = threads;
        var (x, yInt) = Mnist.Load(dataDir, train: true);
        var (tx, tyInt) = Mnist.Load(dataDir, train: false);
        var y = Tensor.FromArray(yInt.Select(v => (float)v).ToArray());
        var ty = Tensor.FromArray(tyInt.Select(v => (float)v).ToArray());
        string dir = Directory.CreateTempSubdirectory("strata-prune-").FullName;
        Console.WriteLine($"threads {threads}, files in {dir}");
        try
        {
            if (only is "all" or "mlp")
                Mlp(x, y, tx, ty, epochs, finetune, sparsity, global, timing, dir);
            if (only is "all" or "cnn")
                Cnn(dataDir, x, y, tx, ty, cnnEpochs, cnnFinetune, timing, dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Mlp(Tensor x, Tensor y, Tensor tx, Tensor ty, int epochs, int finetune, float sparsity, bool global, bool timing, string dir)
    {
        Console.WriteLine();
        Console.WriteLine($"## Seed MLP, magnitude pruning to {sparsity:P0}{(global ? " (global)" : "")}");
        var model = Presets.Mlp(seed: 1);
        Compile(model, 1e-3f);
        var sw = Stopwatch.StartNew();
        model.Fit(x, y, epochs: epochs, batchSize: 32, seed: 1);
        float dense = Accuracy(model, tx, ty);
        Console.WriteLine(string.Create(Inv, $"trained {epochs} epochs ({sw.Elapsed.TotalSeconds:F0} s): test accuracy {dense:P2}"));

        // File size against sparsity: one-shot pruning of copies of the trained model (no fine-tuning).
        Console.WriteLine();
        Console.WriteLine("| sparsity | one-shot test accuracy | file (stored) | file (compressWeights) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        foreach (float s in new[] { 0f, 0.5f, 0.8f, 0.9f, 0.95f })
        {
            var copy = Pruning.Strip(model);
            if (s > 0)
                Pruning.Prune(copy, s);
            Compile(copy, 1e-3f);
            Console.WriteLine(string.Create(Inv, $"| {s:P0} | {Accuracy(copy, tx, ty):P2} | {Size(Pruning.Strip(copy), dir, false):N0} | {Size(Pruning.Strip(copy), dir, true):N0} |"));
        }

        // Pruning during fine-tuning, with a fresh optimizer (the schedule counts its steps).
        int steps = (x.Shape[0] + 31) / 32;
        var pruned = Pruning.Strip(model);
        Compile(pruned, 5e-4f);
        // The sparsity rises over the first half of the fine-tuning epochs; the second half trains at the final masks.
        var schedule = new PolynomialDecay(0f, sparsity, beginStep: 0, endStep: (finetune + 1) / 2 * (long)steps, frequency: 100);
        sw.Restart();
        pruned.Fit(x, y, epochs: finetune, batchSize: 32, seed: 2, callbacks: [new MagnitudePruning(schedule, global: global)]);
        var stripped = Pruning.Strip(pruned);
        string path = Path.Combine(dir, "mlp-pruned.strata");
        stripped.Save(path, compressWeights: true);
        var reloaded = Model.Load(path);
        Compile(reloaded, 1e-3f);
        float after = Accuracy(reloaded, tx, ty);
        Console.WriteLine();
        Console.WriteLine(string.Create(Inv, $"fine-tuned {finetune} epochs with {schedule}, {(global ? "one threshold across the kernels" : "per layer")} ({sw.Elapsed.TotalSeconds:F0} s)"));
        Console.WriteLine("sparsity per kernel: " + string.Join(", ", Pruning.Sparsity(reloaded).Select(kv => string.Create(Inv, $"{kv.Key} {kv.Value:P2}"))));
        Console.WriteLine();
        Console.WriteLine("| model | test accuracy | parameters (non-zero) | file (stored) | file (compressWeights) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        Console.WriteLine(string.Create(Inv, $"| dense | {dense:P2} | {NonZero(model):N0} | {Size(Pruning.Strip(model), dir, false):N0} | {Size(Pruning.Strip(model), dir, true):N0} |"));
        Console.WriteLine(string.Create(Inv, $"| pruned ({1 - (double)NonZeroKernels(reloaded) / KernelSize(reloaded):P0} of the kernel weights{(global ? ", one threshold" : ", each kernel")}) | {after:P2} | {NonZero(reloaded):N0} | {Size(stripped, dir, false):N0} | {new FileInfo(path).Length:N0} |"));
        Console.WriteLine(string.Create(Inv, $"target: ≥ 97.50% at 90% sparsity → {(after >= 0.975f ? "met" : "NOT met")}"));
        if (timing)
            Speed(model, reloaded, tx);
    }

    private static void Cnn(string dataDir, Tensor x, Tensor y, Tensor tx, Tensor ty, int cnnEpochs, int finetune, bool timing, string dir)
    {
        Console.WriteLine();
        Console.WriteLine("## Seed CNN, half of each Conv2D's filters removed (L1 norm)");
        var images = tx.Reshape(tx.Shape[0], 28, 28);
        Sequential model;
        var sw = Stopwatch.StartNew();
        if (cnnEpochs == 0)
        {
            model = (Sequential)Model.Load(Path.Combine(dataDir, "classifier.strata"));
            Console.WriteLine("baseline: data/mnist/classifier.strata (the seed CNN, 10 epochs)");
        }
        else
        {
            model = Presets.Cnn(seed: 1);
            Compile(model, 1e-3f);
            model.Fit(x, y, epochs: cnnEpochs, batchSize: 32, seed: 1);
            Console.WriteLine(string.Create(Inv, $"baseline: the seed CNN trained {cnnEpochs} epochs here ({sw.Elapsed.TotalSeconds:F0} s)"));
        }
        Compile(model, 1e-3f);
        float before = Accuracy(model, images, ty);
        var convs = model.Layers.OfType<Conv2D>().Select(c => c.Name).ToArray();
        var smaller = StructuredPruning.RemoveFilters(model, convs.ToDictionary(c => c, _ => 0.5f));
        Compile(smaller, 5e-4f);
        float removed = Accuracy(smaller, images, ty);
        sw.Restart();
        smaller.Fit(x, y, epochs: finetune, batchSize: 32, seed: 2);
        float after = Accuracy(smaller, images, ty);
        Console.WriteLine(string.Create(Inv, $"removed → {removed:P2} before fine-tuning; fine-tuned {finetune} epochs ({sw.Elapsed.TotalSeconds:F0} s)"));
        Console.WriteLine();
        Console.WriteLine("| model | filters | test accuracy | parameters | file (stored) |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        string Filters(Model m) => string.Join(" / ", m.Layers.OfType<Conv2D>().Select(c => c.Filters));
        Console.WriteLine(string.Create(Inv, $"| seed CNN | {Filters(model)} | {before:P2} | {Params(model):N0} | {Size(Pruning.Strip(model), dir, false):N0} |"));
        Console.WriteLine(string.Create(Inv, $"| half the filters | {Filters(smaller)} | {after:P2} | {Params(smaller):N0} | {Size(Pruning.Strip(smaller), dir, false):N0} |"));
        Console.WriteLine(string.Create(Inv, $"target: ≥ 98.80% → {(after >= 0.988f ? "met" : "NOT met")}"));
        if (timing)
            Speed(model, smaller, images);
    }

    /// <summary>Inference at batch 1,000 over the test images: best of 5 passes after 2 warm-ups, for each model.</summary>
    private static void Speed(Model before, Model after, Tensor images)
    {
        double Rate(Model m)
        {
            for (int i = 0; i < 2; i++)
                m.Predict(images, batchSize: 1000);
            double best = double.MaxValue;
            for (int r = 0; r < 5; r++)
            {
                var sw = Stopwatch.StartNew();
                m.Predict(images, batchSize: 1000);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return images.Shape[0] / best;
        }
        double a = Rate(before), b = Rate(after);
        Console.WriteLine(string.Create(Inv, $"inference, batch 1,000: before {a:N0} samples/s, after {b:N0} samples/s, ×{b / a:F2}"));
    }

    private static void Compile(Model m, float rate) => m.Compile(new Adam(rate), new SparseCategoricalCrossentropy(), "accuracy");

    private static float Accuracy(Model m, Tensor x, Tensor y) => m.Evaluate(x, y, batchSize: 1000)["accuracy"];

    private static long Params(Model m) => m.Layers.Sum(l => l.ParameterCount);

    private static long NonZero(Model m) => m.Weights.Sum(w => (long)w.Value.Span.ToArray().Count(v => v != 0));

    private static long NonZeroKernels(Model m) => Pruning.PrunableLayers(m).Sum(l => (long)Pruning.KernelOf(l)!.Value.Span.ToArray().Count(v => v != 0));

    private static long KernelSize(Model m) => Pruning.PrunableLayers(m).Sum(l => (long)Pruning.KernelOf(l)!.Value.Size);

    private static long Size(Model m, string dir, bool compress)
    {
        string path = Path.Combine(dir, $"size-{Guid.NewGuid():N}.strata");
        m.Save(path, compress);
        long n = new FileInfo(path).Length;
        File.Delete(path);
        return n;
    }
}

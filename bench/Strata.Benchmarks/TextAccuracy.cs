using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// The text presets on the SpamAssassin split (4,837 train / 1,209 test messages): test accuracy after
/// each epoch, training samples/s, and the epoch count to reach it. Prints "strata text &lt;preset&gt; ...".
/// </summary>
internal static class TextAccuracy
{
    public static void Run(string[] presets, int epochs, int threads, int sequenceLength, int maxTokens, int batch, ulong seed)
    {
        KernelSettings.MaxThreads = threads;
        var (train, test) = SpamAssassin.LoadSplit();
        foreach (var name in presets)
        {
            var vec = TextPresets.Vectorizer(name, train.Texts, maxTokens, sequenceLength);
            var model = TextPresets.Create(name, vec, 2, seed);
            model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
            var trainSet = train.ToDataset(vec);
            var (xt, yt) = test.ToDataset(vec).ToTensors();
            double trainSeconds = 0;
            for (int e = 1; e <= epochs; e++)
            {
                var sw = Stopwatch.StartNew();
                model.Fit(trainSet, epochs: 1, batchSize: batch, seed: seed + (ulong)e);
                trainSeconds += sw.Elapsed.TotalSeconds;
                var logs = model.Evaluate(xt, yt, 256);
                if (e == 1)
                    Console.WriteLine($"# {model.ExecutionPath.Replace(Environment.NewLine, "; ")}");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"strata text {name} epoch {e} test-accuracy {logs["accuracy"]:P2} loss {logs["loss"]:F4} train {train.Count / sw.Elapsed.TotalSeconds:F0} samples/s"));
            }
        }
    }
}

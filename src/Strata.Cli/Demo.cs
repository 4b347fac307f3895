using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Cli;

/// <summary>
/// Trains the seed articles' MLP (Flatten → Dense(128, relu) → Dense(64, relu) → Dense(10, softmax),
/// Adam 1e-3, sparse categorical cross-entropy) on MNIST with the Keras-style API, then evaluates it
/// on the 10,000 test images.
/// </summary>
internal static class Demo
{
    public const string Usage = "usage: strata demo [--epochs N] [--batch-size N] [--threads N] [--seed N] [--data DIR]";

    public static int Run(string[] args)
    {
        int epochs = 3, batch = 32, threads = Environment.ProcessorCount;
        ulong seed = 1;
        string? dataDir = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = PositiveInt(Next(), "--epochs"); break;
                case "--batch-size": batch = PositiveInt(Next(), "--batch-size"); break;
                case "--threads": threads = PositiveInt(Next(), "--threads"); break;
                case "--seed": seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": dataDir = Next(); break;
                case "--help" or "-h": Console.WriteLine(Usage); return 0;
                default: throw new ArgumentException($"unknown option '{args[i]}'. {Usage}");
            }
        }
        KernelSettings.MaxThreads = threads;
        dataDir ??= FindData();

        Console.WriteLine($"Strata demo: MNIST MLP Flatten-Dense(128, relu)-Dense(64, relu)-Dense(10, softmax), {epochs} epochs, batch {batch}, {threads} thread(s), seed {seed}");
        var (trainX, trainY) = Mnist.Load(dataDir, train: true);
        var (testX, testY) = Mnist.Load(dataDir, train: false);
        Console.WriteLine($"data: {trainY.Length} training and {testY.Length} test images from {dataDir}");

        var model = new Sequential(
        [
            new Input([28, 28]),
            new Flatten(),
            new Dense(128, "relu"),
            new Dense(64, "relu"),
            new Dense(10, "softmax"),
        ], seed);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        Console.Write(model.Summary());
        var labels = Tensor.FromArray(trainY.Select(v => (float)v).ToArray());
        var testLabels = Tensor.FromArray(testY.Select(v => (float)v).ToArray());
        var sw = Stopwatch.StartNew();
        model.Fit(trainX, labels, epochs: epochs, batchSize: batch, seed: seed, verbose: true);
        double secs = sw.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: {secs:F1} s, {epochs * trainY.Length / secs:F0} samples/s"));
        var test = model.Evaluate(testX, testLabels, batchSize: 1000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"test: loss {test["loss"]:F4}, accuracy {test["accuracy"]:P2} on {testY.Length} images"));
        return 0;
    }

    private static int PositiveInt(string s, string option) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v : throw new ArgumentException($"{option}: expected a positive whole number, got '{s}'");

    /// <summary>data/mnist of the repository: looked for upwards from the working folder and from the program.</summary>
    private static string FindData()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "mnist");
                if (Directory.Exists(candidate))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException("data/mnist not found above the working folder; pass --data DIR");
    }
}

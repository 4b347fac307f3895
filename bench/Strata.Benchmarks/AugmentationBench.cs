using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// Data pipeline figures for docs/PERFORMANCE.md: augmentation throughput (one thread), loader
/// throughput (MNIST in memory, a lazy folder of PNG files), and seed-CNN epoch time on MNIST with and
/// without augmentation + prefetch (alternating rounds, medians). Optionally writes a grid of
/// augmented digits as a PNG.
/// </summary>
internal static class AugmentationBench
{
    /// <summary>The augmentation the figures use: the seed articles' settings.</summary>
    public static ImageDataGenerator Augment { get; } = new()
    {
        RotationRange = 10, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ShearRange = 10, ZoomRange = 0.1f,
    };

    public static void Run(string dataDir, int threads, int rounds, int samples, string? grid)
    {
        KernelSettings.MaxThreads = threads;
        var (images, labels) = Mnist.Load(dataDir, train: true);
        int n = samples > 0 ? Math.Min(samples, labels.Length) : labels.Length;
        var x = images.Slice(..n);
        var y = Tensor.FromArray(labels[..n].Select(v => (float)v).ToArray());
        Console.WriteLine($"# augmentation and loaders: {n} MNIST images, {threads} training thread(s), {rounds} rounds, {DateTime.UtcNow:yyyy-MM-dd}");

        if (grid is not null)
            WriteGrid(images, grid);

        Console.WriteLine("| what | images/s (median) | runs |");
        Console.WriteLine("| --- | ---: | --- |");
        var mnistTransform = Runs(rounds, () => TransformRate(28, 28, 1, 20_000));
        Row("ImageDataGenerator, 28×28×1, one thread", mnistTransform);
        var rgbTransform = Runs(rounds, () => TransformRate(224, 224, 3, 200));
        Row("ImageDataGenerator, 224×224×3, one thread", rgbTransform);
        var hflipRgb = Runs(rounds, () => TransformRate(224, 224, 3, 200, new ImageDataGenerator { HorizontalFlip = true, WidthShiftRange = 0.1f }));
        Row("ImageDataGenerator flip + shift only, 224×224×3", hflipRgb);

        var data = Dataset.FromTensors(x, y);
        foreach (int workers in new[] { 0, 1, 2 })
        {
            var loader = new DataLoader(data, batchSize: 32, seed: 1, transform: Augment, workers: workers);
            Row($"loader, MNIST in memory + augmentation, batch 32, {workers} worker(s)", Runs(rounds, () => LoaderRate(loader, rounds)));
        }
        string folder = Path.Combine(Path.GetTempPath(), "strata-bench-pngs");
        int files = WritePngs(images, folder, 2000);
        var pngs = new ImageFolderDataset(folder, (28, 28), ColorMode.Grayscale);
        foreach (int workers in new[] { 0, 1, 2 })
        {
            var loader = new DataLoader(pngs, batchSize: 32, seed: 1, workers: workers);
            Row($"loader, {files} PNG files (lazy, decoded each epoch), {workers} worker(s)", Runs(rounds, () => LoaderRate(loader, rounds)));
        }

        // Training: the same seed CNN and data, plain tensors vs a loader with augmentation and prefetch.
        Console.WriteLine();
        Console.WriteLine($"| seed CNN epoch, {n} images, batch 32, {threads} thread(s) | seconds (median) | runs |");
        Console.WriteLine("| --- | ---: | --- |");
        var plain = new List<double>();
        var noAugment = new List<double>();
        var augmented = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            plain.Add(EpochSeconds(m => m.Fit(x, y, epochs: 1, batchSize: 32, seed: 1)));
            noAugment.Add(EpochSeconds(m => m.Fit(new DataLoader(data, 32, seed: 1, workers: 1), epochs: 1)));
            augmented.Add(EpochSeconds(m => m.Fit(new DataLoader(data, 32, seed: 1, transform: Augment, workers: 1), epochs: 1)));
        }
        Row("Fit(tensors)", plain, "F2");
        Row("Fit(loader, 1 worker, no augmentation)", noAugment, "F2");
        Row("Fit(loader, 1 worker, augmentation)", augmented, "F2");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"augmentation + prefetch adds {100 * (Med(augmented) / Med(plain) - 1):F1}% to the epoch (medians)"));
    }

    private static double EpochSeconds(Action<Model> fit)
    {
        var model = Presets.Cnn(seed: 1);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var sw = Stopwatch.StartNew();
        fit(model);
        return sw.Elapsed.TotalSeconds;
    }

    private static double TransformRate(int h, int w, int c, int count, ImageDataGenerator? generator = null)
    {
        generator ??= Augment;
        var image = new float[h * w * c];
        var source = Tensor.RandomUniform([h * w * c], 0, 1, 3).ToArray();
        var shape = new Shape(h, w, c);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            source.CopyTo(image, 0);
            generator.Apply(image, shape, new Rng((ulong)i));
        }
        return count / sw.Elapsed.TotalSeconds;
    }

    private static double LoaderRate(DataLoader loader, int epoch)
    {
        var sw = Stopwatch.StartNew();
        int seen = 0;
        using (var stream = loader.Open(epoch, reuseBuffers: true))
        {
            while (stream.Next() is { } b)
                seen += b.X.Shape[0];
        }
        return seen / sw.Elapsed.TotalSeconds;
    }

    private static int WritePngs(Tensor images, string folder, int count)
    {
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        for (int i = 0; i < count; i++)
        {
            string cls = Path.Combine(folder, (i % 10).ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(cls);
            Images.SavePng(Path.Combine(cls, $"{i:D5}.png"), images.Slice(i..(i + 1)).Reshape([28, 28]));
        }
        return count;
    }

    /// <summary>The first eight training digits per row: the originals, then three augmented draws of each (epochs 0–2).</summary>
    private static void WriteGrid(Tensor images, string path)
    {
        const int n = 8;
        var digits = images.Slice(..n).Reshape([n, 28, 28, 1]);
        var rows = new List<Tensor> { digits };
        var loader = Augment.Flow(digits, Tensor.Zeros(n), batchSize: n, shuffle: false, seed: 1);
        for (int epoch = 0; epoch < 3; epoch++)
            rows.Add(loader.Epoch(epoch).Single().X);
        var all = Tensor.Concat(rows, 0).Reshape([4 * n, 28, 28]);
        // Ink dark on white, as digits are drawn: 1 − value.
        Images.SavePng(path, Images.Grid(1 - all, columns: n, padValue: 0));
        Console.WriteLine($"wrote {path} (first row: originals; rows 2–4: augmented in epochs 0, 1, 2)");
    }

    private static List<double> Runs(int rounds, Func<double> measure) => Enumerable.Range(0, rounds).Select(_ => measure()).ToList();

    private static double Med(List<double> v) => v.Order().ElementAt(v.Count / 2);

    private static void Row(string what, List<double> runs, string format = "N0") =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {what} | {Med(runs).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(", ", runs.Select(r => r.ToString(format, CultureInfo.InvariantCulture)))} |"));
}

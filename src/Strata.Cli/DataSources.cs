using Strata.Data;
using Strata.Layers;

namespace Strata.Cli;

/// <summary>What --data and its companion options asked for.</summary>
internal sealed record DataSpec(string Source, (int Height, int Width)? ImageSize, ColorMode? ColorMode, string? LabelColumn, int TestSamples,
    string? TextColumn = null, TaskKind? Task = null);

/// <summary>A data source's training and test splits. Images are scaled to [0, 1]; a CSV file's feature columns are named by its header.</summary>
internal sealed record LoadedData(Dataset Train, Dataset Test, IReadOnlyList<string> ClassNames, string Description, bool Images,
    IReadOnlyList<string>? FeatureNames = null)
{
    /// <summary>Classification (class indices [samples]) or regression (numbers [samples, 1], no class names).</summary>
    public TaskKind Task { get; init; } = TaskKind.Classification;

    /// <summary>Why <see cref="Task"/> was chosen (CSV files only).</summary>
    public string? TaskReason { get; init; }

    /// <summary>A CSV file's columns when some are text: the layer that one-hot encodes them, its vocabularies from the training split.</summary>
    public OneHotColumns? Encoding { get; init; }

    /// <summary>Text values of the test (and training) rows outside <see cref="Encoding"/>'s vocabularies, encoded as none of its values.</summary>
    public int UnknownTestValues { get; init; }

    /// <inheritdoc cref="UnknownTestValues"/>
    public int UnknownTrainValues { get; init; }

    /// <summary>A CSV file's label column.</summary>
    public string? LabelName { get; init; }
}

/// <summary>
/// Resolves --data: the MNIST files shipped in the repository, Debian's Fashion-MNIST, a folder of
/// IDX files, a CSV table (number and text columns, the label column last or named, the task chosen from
/// the labels; a fixed 20% held out as the test split: DataSources.Table.cs) or a class-folder tree (train/ and test/ subfolders, or one tree of which 20% is held out). Text
/// sources (<see cref="IsText"/>: spam-assassin, a CSV file with a text column, a tree of .txt files)
/// load through <see cref="LoadText"/>, in DataSources.Text.cs.
/// </summary>
internal static partial class DataSources
{
    /// <summary>The fraction of a single CSV file or class-folder tree held out for testing.</summary>
    public const float TestFraction = 0.2f;

    /// <summary>
    /// The held-out test split is the same for every command and every --seed, so that `evaluate`
    /// tests a model trained by `train` on the samples it did not see.
    /// </summary>
    private const ulong TestSplitSeed = 20261123;

    /// <param name="spec">What --data and its options say.</param>
    /// <param name="encoding">For a CSV file: the columns a saved model takes (null: learned from the file's training split).</param>
    public static LoadedData Load(DataSpec spec, OneHotColumns? encoding = null)
    {
        var data = LoadAll(spec, encoding);
        if (spec.TestSamples > 0 && spec.TestSamples < data.Test.Count)
            data = data with { Test = data.Test.Subset([.. Enumerable.Range(0, spec.TestSamples)]) };
        return data;
    }

    private static LoadedData LoadAll(DataSpec spec, OneHotColumns? encoding)
    {
        string source = spec.Source;
        RejectTextColumn(spec); // a CSV file with --text-column is text, so this is not a CSV file
        switch (source.ToLowerInvariant())
        {
            case "mnist":
            {
                string dir = FindShippedMnist();
                return new LoadedData(Mnist.LoadDataset(dir, train: true), Mnist.LoadDataset(dir, train: false), Mnist.ClassNames,
                    $"MNIST ({Display(dir)})", Images: true);
            }
            case "fashion-mnist":
            {
                if (!Directory.Exists(FashionMnist.DebianFolder))
                    throw new DirectoryNotFoundException($"Fashion-MNIST not found in {FashionMnist.DebianFolder}: install Debian's dataset-fashion-mnist package, or pass --data with a folder holding its IDX files");
                return new LoadedData(FashionMnist.LoadDataset(train: true), FashionMnist.LoadDataset(train: false), FashionMnist.ClassNames,
                    $"Fashion-MNIST ({FashionMnist.DebianFolder})", Images: true);
            }
        }
        if (File.Exists(source))
        {
            if (!source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"--data: '{source}' is a file but not a .csv file (expected mnist, fashion-mnist, {SpamAssassinName}, a CSV file or a folder)");
            return LoadTable(spec, encoding);
        }
        if (!Directory.Exists(source))
            throw new FileNotFoundException($"--data: '{source}' is neither mnist, fashion-mnist, {SpamAssassinName}, an existing CSV file nor an existing folder");
        if (Directory.EnumerateFiles(source, "train-images-idx3-ubyte*").Any())
        {
            return new LoadedData(Mnist.LoadDataset(source, train: true), Mnist.LoadDataset(source, train: false), Mnist.ClassNames,
                $"IDX files in {Display(source)}", Images: true);
        }
        string trainDir = Path.Combine(source, "train"), testDir = Path.Combine(source, "test");
        if (Directory.Exists(trainDir) && Directory.Exists(testDir))
        {
            var (size, mode) = ImageFormat(trainDir, spec);
            var train = new ImageFolderDataset(trainDir, size, mode);
            var test = new ImageFolderDataset(testDir, size, mode);
            if (!train.ClassNames.SequenceEqual(test.ClassNames))
                throw new InvalidDataException($"--data: the class folders of {trainDir} ({string.Join(", ", train.ClassNames)}) and {testDir} ({string.Join(", ", test.ClassNames)}) differ");
            return new LoadedData(Scaled(train), Scaled(test), train.ClassNames, $"images in {Display(source)} ({size.Height}×{size.Width}, {mode.ToString().ToLowerInvariant()})", Images: true);
        }
        {
            var (size, mode) = ImageFormat(source, spec);
            var tree = new ImageFolderDataset(source, size, mode);
            var (train, test) = Scaled(tree).Split(TestFraction, TestSplitSeed);
            return new LoadedData(train, test, tree.ClassNames,
                $"images in {Display(source)} ({size.Height}×{size.Width}, {mode.ToString().ToLowerInvariant()}, {tree.Count} files, {TestFraction:P0} held out for testing)", Images: true);
        }
    }

    /// <summary>A CSV file of numbers as <see cref="Csv.Load"/> reads it: the label column named by --label-column, else the last.</summary>
    public static CsvData LoadCsv(DataSpec spec) =>
        spec.LabelColumn is null ? Csv.Load(spec.Source) : Csv.Load(spec.Source, labelColumn: spec.LabelColumn);

    /// <summary>Numeric CSV labels 0..k−1 are their own class names.</summary>
    private static string[] ClassNamesOf(Tensor labels, string source)
    {
        var values = labels.ToArray();
        if (values.Any(v => v < 0 || v != MathF.Floor(v)))
            throw new InvalidDataException($"--data: the labels of '{source}' must be class indices 0, 1, 2, ... or text, got {values.First(v => v < 0 || v != MathF.Floor(v))}");
        int classes = (int)values.Max() + 1;
        return [.. Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>The image size and colour mode: as given, else those of the first image under <paramref name="root"/>.</summary>
    private static ((int Height, int Width) Size, ColorMode Mode) ImageFormat(string root, DataSpec spec)
    {
        if (spec.ImageSize is { } s && spec.ColorMode is { } m)
            return (s, m);
        string? first = Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal)
            .SelectMany(d => Directory.EnumerateFiles(d).Order(StringComparer.Ordinal))
            .FirstOrDefault(f => Strata.Data.Images.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()));
        if (first is null)
            throw new InvalidDataException($"--data: no images or .txt files under '{root}' (expected {root}/<class>/<image or .txt file>)");
        StbImageSharp.ImageInfo? info;
        using (var stream = File.OpenRead(first))
            info = StbImageSharp.ImageInfo.FromStream(stream);
        if (info is not { } i)
            throw new InvalidDataException($"--data: '{first}' is not a readable image");
        var mode = spec.ColorMode ?? (i.ColorComponents is StbImageSharp.ColorComponents.Grey or StbImageSharp.ColorComponents.GreyAlpha ? ColorMode.Grayscale : ColorMode.Rgb);
        return (spec.ImageSize ?? (i.Height, i.Width), mode);
    }

    /// <summary>Pixels 0–255 read as 0–1 (what the MNIST sources give and what predict feeds a model).</summary>
    private static Dataset Scaled(Dataset images) =>
        Dataset.FromFunction(images.Count, images.SampleShape, images.TargetShape, (i, sample, target) =>
        {
            images.Read(i, sample, target);
            System.Numerics.Tensors.TensorPrimitives.Multiply(sample, 1f / 255f, sample);
        }, images.ClassNames);

    /// <summary>The repository's data/mnist, looked for upwards from the working folder and from the program.</summary>
    public static string FindShippedMnist() =>
        FindShipped(Path.Combine("data", "mnist", "t10k-images-idx3-ubyte.gz")) is { } file ? Path.GetDirectoryName(file)!
        : throw new DirectoryNotFoundException("MNIST: data/mnist (shipped in the Strata repository) was not found above the working folder; run from the repository, or pass --data with a folder of MNIST IDX files");

    /// <summary>
    /// Where the shipped data is looked for, in this order: the working folder and each folder above it, then the
    /// program's folder and each folder above it (an installed tool carries data/ beside its program). The library's
    /// SpamAssassin.FindShipped and GanScorer.LoadMnist search the same way.
    /// </summary>
    public static IReadOnlyList<string> SearchStarts => [Environment.CurrentDirectory, AppContext.BaseDirectory];

    /// <summary>The first <paramref name="relativePath"/> (e.g. data/mnist/classifier.strata) found along <see cref="SearchStarts"/>, or null.</summary>
    public static string? FindShipped(string relativePath)
    {
        foreach (var start in SearchStarts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relativePath);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        return null;
    }

    private static string Display(string path)
    {
        string full = Path.GetFullPath(path);
        string rel = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return rel.StartsWith("..", StringComparison.Ordinal) ? full : rel;
    }
}

namespace Strata.Data;

/// <summary>
/// The MNIST (or Fashion-MNIST) files of a folder, in their standard names
/// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-..., gzipped or raw).
/// </summary>
public static class Mnist
{
    /// <summary>The standard file names (without ".gz").</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>The SHA-256 of the gzipped files shipped in the repository's data/mnist (see its README).</summary>
    public static IReadOnlyDictionary<string, string> ShippedSha256 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
        ["train-labels-idx1-ubyte.gz"] = "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ["t10k-images-idx3-ubyte.gz"] = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ["t10k-labels-idx1-ubyte.gz"] = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    };

    /// <summary>The digit classes "0" to "9".</summary>
    public static IReadOnlyList<string> ClassNames { get; } = [.. Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>
    /// Loads one split: images as a [n, 28, 28] tensor scaled to [0, 1] and the labels 0–9.
    /// Accepts the files gzipped (".gz") or raw.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder lacks the split's files.</exception>
    /// <exception cref="InvalidDataException">The files are not image/label IDX files or their counts differ.</exception>
    public static (Tensor Images, int[] Labels) Load(string folder, bool train)
    {
        string prefix = train ? "train" : "t10k";
        string images = Find(folder, $"{prefix}-images-idx3-ubyte");
        string labels = Find(folder, $"{prefix}-labels-idx1-ubyte");
        var (imageDims, pixels) = Idx.Read(images);
        var (labelDims, labelBytes) = Idx.Read(labels);
        if (imageDims.Length != 3)
            throw new InvalidDataException($"MNIST: {images} should hold [n, rows, cols] images, got {Shape.Format(imageDims)}");
        if (labelDims.Length != 1 || labelDims[0] != imageDims[0])
            throw new InvalidDataException($"MNIST: {imageDims[0]} images in {images} but labels {Shape.Format(labelDims)} in {labels}");
        var data = new float[pixels.Length];
        for (int i = 0; i < data.Length; i++)
            data[i] = pixels[i] * (1f / 255f);
        return (Tensor.Wrap(data, new Shape(imageDims)), labelBytes.Select(b => (int)b).ToArray());
    }

    /// <summary>
    /// One split as a data set: images [28, 28, 1] in [0, 1] (channels last, ready for Conv2D) and
    /// class indices, with <paramref name="classNames"/> (default "0" to "9").
    /// </summary>
    public static Dataset LoadDataset(string folder, bool train, IReadOnlyList<string>? classNames = null)
    {
        var (images, labels) = Load(folder, train);
        return Dataset.FromTensors(images.Reshape([images.Shape[0], images.Shape[1], images.Shape[2], 1]),
            Tensor.FromArray(labels.Select(v => (float)v).ToArray()), classNames ?? ClassNames);
    }

    /// <summary>
    /// Downloads the four files from <paramref name="baseUrl"/> (each file's name appended) into a cache
    /// folder, each verified against <paramref name="sha256"/> (file name → hash; default
    /// <see cref="ShippedSha256"/>), and returns the folder for <see cref="Load"/>.
    /// </summary>
    public static string Download(Uri baseUrl, string? cacheFolder = null, IReadOnlyDictionary<string, string>? sha256 = null, HttpClient? client = null)
    {
        sha256 ??= ShippedSha256;
        cacheFolder ??= Path.Combine(DataCache.DefaultFolder, "mnist");
        foreach (var (name, hash) in sha256)
            DataCache.Fetch(new Uri(baseUrl, name), hash, cacheFolder, name, client);
        return cacheFolder;
    }

    private static string Find(string folder, string name)
    {
        foreach (string candidate in new[] { name + ".gz", name })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path))
                return path;
        }
        throw new FileNotFoundException($"MNIST: neither {name}.gz nor {name} in '{folder}'");
    }
}

/// <summary>
/// Fashion-MNIST (Zalando Research; MIT licence): 28×28 grey images of ten kinds of clothing, in the
/// MNIST file format. Debian's <c>dataset-fashion-mnist</c> package installs it in <see cref="DebianFolder"/>.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist package puts the files.</summary>
    public const string DebianFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten classes, label by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The SHA-256 of the gzipped files (as Debian's package ships them), for <see cref="Mnist.Download"/>.</summary>
    public static IReadOnlyDictionary<string, string> Sha256 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        ["train-labels-idx1-ubyte.gz"] = "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ["t10k-images-idx3-ubyte.gz"] = "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ["t10k-labels-idx1-ubyte.gz"] = "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    };

    /// <summary>Loads one split from <paramref name="folder"/> (default <see cref="DebianFolder"/>): as <see cref="Mnist.Load"/>.</summary>
    public static (Tensor Images, int[] Labels) Load(bool train, string? folder = null) => Mnist.Load(folder ?? DebianFolder, train);

    /// <summary>One split as a data set ([28, 28, 1] images in [0, 1], class indices, <see cref="ClassNames"/>).</summary>
    public static Dataset LoadDataset(bool train, string? folder = null) => Mnist.LoadDataset(folder ?? DebianFolder, train, ClassNames);

    /// <summary>
    /// Downloads the four files from <paramref name="baseUrl"/> into a cache folder (default
    /// <c>fashion-mnist</c> under <see cref="DataCache.DefaultFolder"/>), each verified against
    /// <see cref="Sha256"/>, and returns the folder for <see cref="Load"/>.
    /// </summary>
    public static string Download(Uri baseUrl, string? cacheFolder = null, HttpClient? client = null) =>
        Mnist.Download(baseUrl, cacheFolder ?? Path.Combine(DataCache.DefaultFolder, "fashion-mnist"), Sha256, client);
}

/// <summary>Label helpers.</summary>
public static class Labels
{
    /// <summary>
    /// One-hot rows [n, classes] for class indices (Keras' to_categorical); <paramref name="classes"/>
    /// defaults to the largest label + 1.
    /// </summary>
    /// <exception cref="ArgumentException">A label that is negative, not whole, or not below <paramref name="classes"/>.</exception>
    public static Tensor ToCategorical(ReadOnlySpan<int> labels, int? classes = null)
    {
        int k = classes ?? (labels.IsEmpty ? 0 : Max(labels) + 1);
        return Tensor.OneHot(labels, Math.Max(k, 1));
    }

    /// <summary>One-hot rows for a tensor of class indices [n].</summary>
    public static Tensor ToCategorical(Tensor labels, int? classes = null)
    {
        if (labels.Rank != 1)
            throw new ArgumentException($"ToCategorical: expected class indices [n], got {labels.Shape}");
        var idx = new int[labels.Size];
        var v = labels.Span;
        for (int i = 0; i < idx.Length; i++)
        {
            if (v[i] != MathF.Floor(v[i]) || v[i] < 0)
                throw new ArgumentException($"ToCategorical: label {v[i]} at position {i} is not a class index (a whole number ≥ 0)");
            idx[i] = (int)v[i];
        }
        return ToCategorical(idx, classes);
    }

    private static int Max(ReadOnlySpan<int> v)
    {
        int m = int.MinValue;
        foreach (int x in v)
            m = Math.Max(m, x);
        return m;
    }
}

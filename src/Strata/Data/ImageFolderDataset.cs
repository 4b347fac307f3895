namespace Strata.Data;

/// <summary>
/// Images in one subfolder per class (Keras' image_dataset_from_directory, PyTorch's ImageFolder):
/// <c>root/cat/001.png</c>, <c>root/dog/a.jpg</c>, ... Classes are the subfolder names in ordinal
/// order (class i is <see cref="ClassNames"/>[i]); files are the images of each folder
/// (<see cref="Images.Extensions"/>) in ordinal order. The data set is lazy: an image is decoded
/// (StbImageSharp), converted to the colour mode and resized to the target size (bilinear) each time
/// it is read, so folders larger than memory work; <see cref="InMemory"/> decodes everything once.
/// Samples are [height, width, channels] floats 0–255.
/// </summary>
public sealed class ImageFolderDataset : Dataset
{
    private readonly string[] _classNames;
    private readonly (string Path, int Label)[] _files;

    /// <param name="root">The folder holding one subfolder per class.</param>
    /// <param name="size">The size every image is resized to.</param>
    /// <param name="colorMode">Grayscale (1 channel) or RGB (3).</param>
    /// <param name="labelMode">Class indices (target shape []) or one-hot rows ([classes]).</param>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No class folders, a class folder without images, or an empty (0-byte) image file; the message names it.</exception>
    public ImageFolderDataset(string root, (int Height, int Width) size, ColorMode colorMode = ColorMode.Rgb, LabelMode labelMode = LabelMode.Int)
    {
        if (size.Height < 1 || size.Width < 1)
            throw new ArgumentOutOfRangeException(nameof(size), $"ImageFolderDataset: the image size must be positive, got {size}");
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"ImageFolderDataset: folder '{root}' does not exist");
        Root = root;
        Size = size;
        ColorMode = colorMode;
        LabelMode = labelMode;
        _classNames = Directory.GetDirectories(root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        if (_classNames.Length == 0)
            throw new InvalidDataException($"ImageFolderDataset: '{root}' has no class subfolders (expected root/<class>/<image>)");
        var files = new List<(string, int)>();
        for (int label = 0; label < _classNames.Length; label++)
        {
            string folder = Path.Combine(root, _classNames[label]);
            var images = Directory.GetFiles(folder)
                .Where(f => Images.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToArray();
            if (images.Length == 0)
                throw new InvalidDataException($"ImageFolderDataset: class folder '{folder}' holds no images ({string.Join(", ", Images.Extensions)})");
            foreach (var f in images)
            {
                if (new FileInfo(f).Length == 0)
                    throw new InvalidDataException($"ImageFolderDataset: image '{f}' is empty (0 bytes)");
                files.Add((f, label));
            }
        }
        _files = [.. files];
    }

    /// <summary>The folder holding one subfolder per class.</summary>
    public string Root { get; }

    /// <summary>The size every image is resized to, in pixels.</summary>
    public (int Height, int Width) Size { get; }

    /// <summary>Grayscale (1 channel) or RGB (3).</summary>
    public ColorMode ColorMode { get; }

    /// <summary>Class indices (target shape []) or one-hot rows ([classes]).</summary>
    public LabelMode LabelMode { get; }

    /// <summary>The image files with their class indices, in sample order.</summary>
    public IReadOnlyList<(string Path, int Label)> Files => _files;

    /// <inheritdoc/>
    public override int Count => _files.Length;

    /// <inheritdoc/>
    public override Shape SampleShape => new(Size.Height, Size.Width, ColorMode == ColorMode.Rgb ? 3 : 1);

    /// <inheritdoc/>
    public override Shape TargetShape => LabelMode == LabelMode.Int ? Shape.Scalar : new Shape(_classNames.Length);

    /// <inheritdoc/>
    public override IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>Images per class, in class order.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[_classNames.Length];
        foreach (var (_, label) in _files)
            counts[label]++;
        return counts;
    }

    /// <exception cref="InvalidDataException">The image cannot be read or decoded (the message names the file).</exception>
    public override void Read(int index, Span<float> sample, Span<float> target)
    {
        CheckIndex(index);
        var (path, label) = _files[index];
        Images.LoadInto(path, ColorMode, Size.Height, Size.Width, sample);
        if (LabelMode == LabelMode.Int)
        {
            target[0] = label;
        }
        else
        {
            target[.._classNames.Length].Clear();
            target[label] = 1;
        }
    }

    /// <summary>Decodes every image once (in parallel) into an in-memory data set with the same samples and class names.</summary>
    public Dataset InMemory()
    {
        var (x, y) = ToTensors();
        return new TensorDataset(x, y, _classNames);
    }
}

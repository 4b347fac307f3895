namespace Strata.Data;

/// <summary>The MNIST (or Fashion-MNIST) files of a folder, in their standard names.</summary>
public static class Mnist
{
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

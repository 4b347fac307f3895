using StbImageSharp;
using StbImageWriteSharp;
using Strata.Kernels;
using Strata.Serialization;

namespace Strata.Data;

/// <summary>The channels an image is loaded with.</summary>
public enum ColorMode
{
    /// <summary>One channel (luma).</summary>
    Grayscale,

    /// <summary>Three channels, red, green, blue.</summary>
    Rgb,
}

/// <summary>How class targets are given: a class index (shape []) or a one-hot row (shape [classes]).</summary>
public enum LabelMode
{
    /// <summary>The class index, a scalar target (for sparse categorical losses).</summary>
    Int,
    /// <summary>A one-hot row of length classes (for categorical losses).</summary>
    Categorical,
}

/// <summary>
/// Image files in and out: decoding PNG, JPEG, BMP, GIF and TGA (StbImageSharp) into HWC floats with
/// values 0–255 (as Keras loads them), resizing, and writing PNG (StbImageWriteSharp).
/// </summary>
public static class Images
{
    /// <summary>The file extensions <see cref="ImageFolderDataset"/> picks up.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga"];

    /// <summary>Loads an image as [height, width, channels] floats 0–255, resized to <paramref name="size"/> when given.</summary>
    /// <exception cref="InvalidDataException">The file is empty or not a decodable image (the message names it).</exception>
    public static Tensor Load(string path, ColorMode mode = ColorMode.Rgb, (int Height, int Width)? size = null)
    {
        var image = Decode(path, mode, out int c);
        var (h, w) = size ?? image.Size;
        var t = Tensor.Zeros(h, w, c);
        Convert(image, c, h, w, t.AsWritableSpan());
        return t;
    }

    /// <summary>Decodes <paramref name="path"/> and writes it, resized to [h, w], into <paramref name="destination"/> (h·w·channels floats).</summary>
    internal static void LoadInto(string path, ColorMode mode, int h, int w, Span<float> destination)
    {
        var image = Decode(path, mode, out int c);
        Convert(image, c, h, w, destination);
    }

    /// <summary>A decoded image's bytes as floats, resized (bilinear) when its size differs from [h, w].</summary>
    private static void Convert(((int Height, int Width) Size, StbImageSharp.ImageResult Result) image, int c, int h, int w, Span<float> destination)
    {
        var (sh, sw) = image.Size;
        var bytes = image.Result.Data.AsSpan(0, sh * sw * c);
        if (sh == h && sw == w)
        {
            for (int i = 0; i < bytes.Length; i++)
                destination[i] = bytes[i];
            return;
        }
        var source = new float[bytes.Length];
        for (int i = 0; i < source.Length; i++)
            source[i] = bytes[i];
        ImageWarp.Forward(source, sh, sw, c, destination, h, w, AffineMap.Resize(sh, sw, h, w), Interpolation.Bilinear, FillMode.Nearest, 0);
    }

    private static ((int Height, int Width) Size, StbImageSharp.ImageResult Result) Decode(string path, ColorMode mode, out int channels)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"image '{path}': cannot be read ({e.Message})", e);
        }
        if (bytes.Length == 0)
            throw new InvalidDataException($"image '{path}': the file is empty (0 bytes)");
        StbImageSharp.ImageResult result;
        try
        {
            result = StbImageSharp.ImageResult.FromMemory(bytes, mode == ColorMode.Rgb ? StbImageSharp.ColorComponents.RedGreenBlue : StbImageSharp.ColorComponents.Grey);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"image '{path}': not a decodable PNG, JPEG, BMP, GIF or TGA image ({e.Message})", e);
        }
        channels = mode == ColorMode.Rgb ? 3 : 1;
        if (result is null || result.Width <= 0 || result.Height <= 0 || result.Data is null || result.Data.Length < result.Width * result.Height * channels)
            throw new InvalidDataException($"image '{path}': not a decodable PNG, JPEG, BMP, GIF or TGA image");
        return ((result.Height, result.Width), result);
    }

    /// <summary>
    /// Writes an image [height, width] or [height, width, channels] (1, 3 or 4 channels) as PNG, each
    /// value v stored as the byte round(v · <paramref name="scale"/>) clamped to 0–255 (scale 255 for
    /// images in [0, 1]). Written to a temporary name and renamed.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not an image of 1, 3 or 4 channels.</exception>
    public static void SavePng(string path, Tensor image, float scale = 255)
    {
        int c = image.Rank == 2 ? 1 : image.Rank == 3 ? image.Shape[2] : 0;
        if (c is not (1 or 3 or 4) || image.Size == 0)
            throw new ArgumentException($"Images.SavePng: expected [height, width] or [height, width, 1|3|4], got {image.Shape}");
        int h = image.Shape[0], w = image.Shape[1];
        var bytes = new byte[image.Size];
        var v = image.Span;
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)Math.Clamp(MathF.Round(v[i] * scale), 0, 255);
        var components = c switch
        {
            1 => StbImageWriteSharp.ColorComponents.Grey,
            3 => StbImageWriteSharp.ColorComponents.RedGreenBlue,
            _ => StbImageWriteSharp.ColorComponents.RedGreenBlueAlpha,
        };
        AtomicFile.Write(path, stream => new ImageWriter().WritePng(bytes, w, h, components, stream));
    }

    /// <summary>
    /// Tiles images [n, height, width(, channels)] into one grid image [rows·(height+pad)−pad,
    /// columns·(width+pad)−pad(, channels)] with <paramref name="pad"/> pixels of <paramref name="padValue"/> between them.
    /// </summary>
    public static Tensor Grid(Tensor images, int columns, int pad = 2, float padValue = 1)
    {
        if (images.Rank is not (3 or 4) || images.Shape[0] == 0)
            throw new ArgumentException($"Images.Grid: expected [n, height, width] or [n, height, width, channels], got {images.Shape}");
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(pad);
        int n = images.Shape[0], h = images.Shape[1], w = images.Shape[2], c = images.Rank == 4 ? images.Shape[3] : 1;
        columns = Math.Min(columns, n);
        int rows = (n + columns - 1) / columns;
        int gh = rows * (h + pad) - pad, gw = columns * (w + pad) - pad;
        var grid = Tensor.Full(padValue, images.Rank == 4 ? [gh, gw, c] : [gh, gw]);
        var g = grid.AsWritableSpan();
        var src = images.Span;
        for (int i = 0; i < n; i++)
        {
            int top = i / columns * (h + pad), left = i % columns * (w + pad);
            for (int y = 0; y < h; y++)
                src.Slice(((i * h + y) * w) * c, w * c).CopyTo(g.Slice(((top + y) * gw + left) * c, w * c));
        }
        return grid;
    }
}

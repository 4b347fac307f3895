using Strata.Kernels;

namespace Strata.Data;

/// <summary>
/// Random image augmentation in the manner of Keras' ImageDataGenerator: each sample gets its own
/// rotation, shifts, shear, zoom, flips and brightness, drawn afresh every epoch, then
/// <see cref="Rescale"/>. <see cref="Flow"/> and <see cref="FlowFromDirectory"/> give
/// <see cref="DataLoader"/>s that apply it in background workers as batches are assembled. Images are
/// [height, width, channels] or [height, width] (one channel). The geometric part is one warp per
/// image (the same kernel as the RandomRotation / RandomTranslation / RandomZoom / RandomFlip layers).
/// </summary>
/// <example>
/// <code>
/// var augment = new ImageDataGenerator { RotationRange = 10, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ZoomRange = 0.1f };
/// model.Fit(augment.Flow(images, labels, batchSize: 32, seed: 1), epochs: 5);
/// </code>
/// </example>
public sealed class ImageDataGenerator : ISampleTransform
{
    [ThreadStatic]
    private static float[]? t_source;

    /// <summary>Rotation in degrees: each image turns by an angle drawn uniformly from [−r, r].</summary>
    public float RotationRange { get; init; }

    /// <summary>Horizontal shift: a fraction of the width when below 1, else pixels; drawn from [−r, r].</summary>
    public float WidthShiftRange { get; init; }

    /// <summary>Vertical shift: a fraction of the height when below 1, else pixels; drawn from [−r, r].</summary>
    public float HeightShiftRange { get; init; }

    /// <summary>Shear angle in degrees, drawn from [−r, r].</summary>
    public float ShearRange { get; init; }

    /// <summary>Zoom z: each axis' sampling scale is drawn independently from [1 − z, 1 + z] (below 1 enlarges the content).</summary>
    public float ZoomRange { get; init; }

    /// <summary>Zoom bounds (low, high) for the sampling scale; when set, used instead of <see cref="ZoomRange"/>.</summary>
    public (float Low, float High)? ZoomBounds { get; init; }

    /// <summary>Whether to mirror left-right with probability ½.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Whether to mirror top-bottom with probability ½.</summary>
    public bool VerticalFlip { get; init; }

    /// <summary>What is read outside the image (Keras' default: nearest).</summary>
    public FillMode FillMode { get; init; } = FillMode.Nearest;

    /// <summary>The value read outside the image with <see cref="FillMode.Constant"/> (Keras' cval).</summary>
    public float FillValue { get; init; }

    /// <summary>Sampling between pixels (bilinear, as Keras' order-1 spline).</summary>
    public Interpolation Interpolation { get; init; } = Interpolation.Bilinear;

    /// <summary>When set, every pixel is multiplied by a factor drawn from [low, high].</summary>
    public (float Low, float High)? BrightnessRange { get; init; }

    /// <summary>Multiplies every value after the random transform (1/255 maps bytes to [0, 1]).</summary>
    public float Rescale { get; init; } = 1;

    private bool Geometric => RotationRange != 0 || WidthShiftRange != 0 || HeightShiftRange != 0 || ShearRange != 0
        || ZoomRange != 0 || ZoomBounds is not null || HorizontalFlip || VerticalFlip;

    /// <summary>Draws one image's sampling map (rotation, shifts, shear, zoom, flips), in that order of draws.</summary>
    public AffineMap RandomMap(int height, int width, Rng rng)
    {
        Check();
        float Sym(float r) => r == 0 ? 0 : (2 * rng.NextFloat() - 1) * r;
        double rotation = Sym(RotationRange) * Math.PI / 180;
        double dy = Sym(HeightShiftRange), dx = Sym(WidthShiftRange);
        if (Math.Abs(HeightShiftRange) < 1)
            dy *= height;
        if (Math.Abs(WidthShiftRange) < 1)
            dx *= width;
        double shear = Sym(ShearRange) * Math.PI / 180;
        var (lo, hi) = ZoomBounds ?? (1 - ZoomRange, 1 + ZoomRange);
        double zx = 1, zy = 1;
        if (lo != 1 || hi != 1)
        {
            zx = lo + (hi - lo) * rng.NextFloat();
            zy = lo + (hi - lo) * rng.NextFloat();
        }
        bool flipH = HorizontalFlip && rng.NextFloat() < 0.5f;
        bool flipV = VerticalFlip && rng.NextFloat() < 0.5f;
        return ImageTransform.Map(height, width, rotation, shear, zx, zy, dx, dy, flipH, flipV);
    }

    /// <summary>Augments one image in place.</summary>
    /// <exception cref="ArgumentException">The shape is not an image.</exception>
    public void Apply(Span<float> sample, Shape sampleShape, Rng rng)
    {
        if (sampleShape.Rank is not (2 or 3) || sampleShape.Size != sample.Length)
            throw new ArgumentException($"ImageDataGenerator: expected an image [height, width, channels] or [height, width], got {sampleShape}");
        int h = sampleShape[0], w = sampleShape[1], c = sampleShape.Rank == 3 ? sampleShape[2] : 1;
        if (Geometric)
        {
            var map = RandomMap(h, w, rng);
            if (map != AffineMap.Identity)
            {
                var source = t_source is { } s && s.Length >= sample.Length ? s : t_source = new float[sample.Length];
                sample.CopyTo(source);
                ImageWarp.Forward(source.AsSpan(0, sample.Length), h, w, c, sample, h, w, map, Interpolation, FillMode, FillValue);
            }
        }
        float scale = Rescale;
        if (BrightnessRange is { } b)
            scale *= b.Low + (b.High - b.Low) * rng.NextFloat();
        if (scale != 1)
            System.Numerics.Tensors.TensorPrimitives.Multiply(sample, scale, sample);
    }

    /// <summary>A loader over in-memory images x [n, h, w(, c)] and targets y [n, ...] that augments every batch.</summary>
    public DataLoader Flow(Tensor x, Tensor y, int batchSize = 32, bool shuffle = true, ulong seed = 0, int workers = 1, bool dropLast = false)
    {
        if (x.Rank is not (3 or 4))
            throw new ArgumentException($"ImageDataGenerator.Flow: expected images [n, height, width, channels] or [n, height, width], got {x.Shape}");
        Check();
        return new DataLoader(new TensorDataset(x, y), batchSize, shuffle, seed, dropLast, this, workers);
    }

    /// <summary>
    /// A loader over a folder of class subfolders (see <see cref="ImageFolderDataset"/>): images decoded
    /// and resized to <paramref name="targetSize"/> by the workers, then augmented. The class names are
    /// the loader's <c>Dataset.ClassNames</c>.
    /// </summary>
    public DataLoader FlowFromDirectory(string directory, (int Height, int Width) targetSize, ColorMode colorMode = ColorMode.Rgb,
        LabelMode labelMode = LabelMode.Int, int batchSize = 32, bool shuffle = true, ulong seed = 0, int workers = 1)
    {
        Check();
        return new DataLoader(new ImageFolderDataset(directory, targetSize, colorMode, labelMode), batchSize, shuffle, seed, false, this, workers);
    }

    private void Check()
    {
        void NonNegative(float v, string name)
        {
            if (!(v >= 0) || float.IsInfinity(v))
                throw new ArgumentOutOfRangeException(name, $"ImageDataGenerator: {name} must be a finite value ≥ 0, got {v}");
        }
        NonNegative(RotationRange, nameof(RotationRange));
        NonNegative(WidthShiftRange, nameof(WidthShiftRange));
        NonNegative(HeightShiftRange, nameof(HeightShiftRange));
        NonNegative(ShearRange, nameof(ShearRange));
        NonNegative(ZoomRange, nameof(ZoomRange));
        if (ZoomRange >= 1)
            throw new ArgumentOutOfRangeException(nameof(ZoomRange), $"ImageDataGenerator: ZoomRange must be below 1 (scales 1 − z to 1 + z), got {ZoomRange}");
        if (ZoomBounds is { } z && !(z.Low > 0 && z.High >= z.Low && float.IsFinite(z.High)))
            throw new ArgumentOutOfRangeException(nameof(ZoomBounds), $"ImageDataGenerator: ZoomBounds must satisfy 0 < low ≤ high, got {z}");
        if (BrightnessRange is { } b && !(b.Low >= 0 && b.High >= b.Low && float.IsFinite(b.High)))
            throw new ArgumentOutOfRangeException(nameof(BrightnessRange), $"ImageDataGenerator: BrightnessRange must satisfy 0 ≤ low ≤ high, got {b}");
    }
}

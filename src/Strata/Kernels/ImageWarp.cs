namespace Strata
{
    /// <summary>
    /// What a warp reads where its source coordinate falls outside the image (Keras' fill_mode; for
    /// a row a b c d): <c>Nearest</c> a a | a b c d | d d, <c>Constant</c> k k | a b c d | k k,
    /// <c>Reflect</c> b a | a b c d | d c, <c>Wrap</c> c d | a b c d | a b.
    /// </summary>
    public enum FillMode
    {
        /// <summary>The nearest edge pixel is repeated.</summary>
        Nearest,
        /// <summary>A constant value (the fill value) is read.</summary>
        Constant,
        /// <summary>The image is mirrored about its edge (the edge pixel is repeated once).</summary>
        Reflect,
        /// <summary>The image repeats, as if tiled.</summary>
        Wrap,
    }

    /// <summary>How a warp samples between pixel centres.</summary>
    public enum Interpolation
    {
        /// <summary>The nearest source pixel.</summary>
        Nearest,
        /// <summary>A weighted mean of the four source pixels around the coordinate.</summary>
        Bilinear,
    }

    /// <summary>
    /// An affine map from output pixel coordinates (x = column, y = row, pixel centres at whole
    /// numbers) to source coordinates: xs = A·x + B·y + C, ys = D·x + E·y + F.
    /// </summary>
    public readonly record struct AffineMap(double A, double B, double C, double D, double E, double F)
    {
        /// <summary>The map that reads every pixel from where it is.</summary>
        public static AffineMap Identity => new(1, 0, 0, 0, 1, 0);

        /// <summary>This map after <paramref name="first"/>: p ↦ this(first(p)).</summary>
        public AffineMap After(AffineMap first) => new(
            A * first.A + B * first.D, A * first.B + B * first.E, A * first.C + B * first.F + C,
            D * first.A + E * first.D, D * first.B + E * first.E, D * first.C + E * first.F + F);

        /// <summary>
        /// Reads a [height, width] image rescaled to [outHeight, outWidth] (pixel centres aligned, as
        /// bilinear resizing without antialiasing does).
        /// </summary>
        public static AffineMap Resize(int height, int width, int outHeight, int outWidth)
        {
            double sx = (double)width / outWidth, sy = (double)height / outHeight;
            return new(sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5);
        }
    }
}

namespace Strata.Kernels
{
    using System.Runtime.CompilerServices;
    using System.Runtime.InteropServices;

    /// <summary>
    /// The one warp kernel behind image augmentation and resizing: every output pixel of an HWC image
    /// reads the source at an affine map of its coordinates, by nearest or bilinear sampling, with a
    /// fill mode for coordinates outside the source. <see cref="Backward"/> is its exact adjoint
    /// (each output's gradient scattered to the source pixels it read, with the same weights).
    /// </summary>
    internal static class ImageWarp
    {
        /// <summary>dst[oh, ow, c] = src[h, w, c] read at map(x, y).</summary>
        public static void Forward(ReadOnlySpan<float> src, int h, int w, int c, Span<float> dst, int oh, int ow,
            in AffineMap map, Interpolation interpolation, FillMode fill, float fillValue)
        {
            if (src.Length < h * w * c || dst.Length < oh * ow * c)
                throw new ArgumentException($"warp: buffers of {src.Length} and {dst.Length} floats for [{h}, {w}, {c}] → [{oh}, {ow}, {c}]");
            ref float s0 = ref MemoryMarshal.GetReference(src);
            ref float d0 = ref MemoryMarshal.GetReference(dst);
            int rowStride = w * c;
            double ma = map.A, md = map.D;
            for (int y = 0; y < oh; y++)
            {
                double xs = map.B * y + map.C, ys = map.E * y + map.F;
                int o = y * ow * c;
                for (int x = 0; x < ow; x++, xs += ma, ys += md, o += c)
                {
                    if (interpolation == Interpolation.Nearest)
                    {
                        int ix = Index((int)Math.Floor(xs + 0.5), w, fill), iy = Index((int)Math.Floor(ys + 0.5), h, fill);
                        if (ix < 0 || iy < 0)
                            dst.Slice(o, c).Fill(fillValue);
                        else
                            src.Slice((iy * w + ix) * c, c).CopyTo(dst.Slice(o, c));
                        continue;
                    }
                    double fx0 = Math.Floor(xs), fy0 = Math.Floor(ys);
                    int x0 = (int)fx0, y0 = (int)fy0;
                    float ax = (float)(xs - fx0), ay = (float)(ys - fy0);
                    float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
                    if ((uint)x0 < (uint)(w - 1) && (uint)y0 < (uint)(h - 1))
                    {
                        // Inside: the four neighbours exist (checked above), read without bounds checks.
                        ref float p = ref Unsafe.Add(ref s0, (y0 * w + x0) * c);
                        ref float q = ref Unsafe.Add(ref p, rowStride);
                        for (int k = 0; k < c; k++)
                        {
                            Unsafe.Add(ref d0, o + k) = w00 * Unsafe.Add(ref p, k) + w01 * Unsafe.Add(ref p, c + k)
                                + w10 * Unsafe.Add(ref q, k) + w11 * Unsafe.Add(ref q, c + k);
                        }
                        continue;
                    }
                    int xa = Index(x0, w, fill), xb = Index(x0 + 1, w, fill), ya = Index(y0, h, fill), yb = Index(y0 + 1, h, fill);
                    for (int k = 0; k < c; k++)
                    {
                        dst[o + k] = w00 * Read(src, xa, ya, w, c, k, fillValue) + w01 * Read(src, xb, ya, w, c, k, fillValue)
                            + w10 * Read(src, xa, yb, w, c, k, fillValue) + w11 * Read(src, xb, yb, w, c, k, fillValue);
                    }
                }
            }
        }

        /// <summary>
        /// The adjoint of <see cref="Forward"/> with respect to the source: adds to dx[h, w, c] the
        /// gradient dy[oh, ow, c] carried back along every read (reads of the fill value carry none).
        /// </summary>
        public static void Backward(ReadOnlySpan<float> dy, int h, int w, int c, Span<float> dx, int oh, int ow,
            in AffineMap map, Interpolation interpolation, FillMode fill)
        {
            if (dx.Length < h * w * c || dy.Length < oh * ow * c)
                throw new ArgumentException($"warp backward: buffers of {dx.Length} and {dy.Length} floats for [{h}, {w}, {c}] ← [{oh}, {ow}, {c}]");
            for (int y = 0; y < oh; y++)
            {
                double xs = map.B * y + map.C, ys = map.E * y + map.F;
                for (int x = 0; x < ow; x++, xs += map.A, ys += map.D)
                {
                    var g = dy.Slice((y * ow + x) * c, c);
                    if (interpolation == Interpolation.Nearest)
                    {
                        Scatter(dx, g, Index((int)Math.Floor(xs + 0.5), w, fill), Index((int)Math.Floor(ys + 0.5), h, fill), w, c, 1);
                        continue;
                    }
                    double fx0 = Math.Floor(xs), fy0 = Math.Floor(ys);
                    int x0 = (int)fx0, y0 = (int)fy0;
                    float ax = (float)(xs - fx0), ay = (float)(ys - fy0);
                    int xa = Index(x0, w, fill), xb = Index(x0 + 1, w, fill), ya = Index(y0, h, fill), yb = Index(y0 + 1, h, fill);
                    Scatter(dx, g, xa, ya, w, c, (1 - ax) * (1 - ay));
                    Scatter(dx, g, xb, ya, w, c, ax * (1 - ay));
                    Scatter(dx, g, xa, yb, w, c, (1 - ax) * ay);
                    Scatter(dx, g, xb, yb, w, c, ax * ay);
                }
            }
        }

        /// <summary>The source index read for coordinate i on an axis of n pixels, or −1 for the fill value.</summary>
        internal static int Index(int i, int n, FillMode fill)
        {
            if ((uint)i < (uint)n)
                return i;
            switch (fill)
            {
                case FillMode.Nearest:
                    return i < 0 ? 0 : n - 1;
                case FillMode.Wrap:
                    return (int)(((long)i % n + n) % n);
                case FillMode.Reflect:
                    long m = ((long)i % (2L * n) + 2L * n) % (2L * n);
                    return (int)(m < n ? m : 2L * n - 1 - m);
                default:
                    return -1;
            }
        }

        private static float Read(ReadOnlySpan<float> src, int x, int y, int w, int c, int k, float fillValue) =>
            x < 0 || y < 0 ? fillValue : src[(y * w + x) * c + k];

        private static void Scatter(Span<float> dx, ReadOnlySpan<float> g, int x, int y, int w, int c, float weight)
        {
            if (x < 0 || y < 0 || weight == 0)
                return;
            var d = dx.Slice((y * w + x) * c, c);
            for (int k = 0; k < c; k++)
                d[k] += weight * g[k];
        }
    }
}

namespace Strata.Kernels
{
    /// <summary>
    /// The random image transforms shared by <c>ImageDataGenerator</c> and the random preprocessing
    /// layers: the sampling map of a flip / rotation / shear / zoom / shift about the image centre,
    /// and the per-image contrast change.
    /// </summary>
    internal static class ImageTransform
    {
        /// <summary>
        /// The map from output to source coordinates of an image whose content is flipped, rotated by
        /// <paramref name="rotation"/> radians (counter-clockwise as displayed), sheared by
        /// <paramref name="shear"/> radians, zoomed by (zoomX, zoomY) (sampling scales: above 1 shows
        /// more of the surroundings, the content gets smaller) about the centre, then moved by
        /// (shiftX, shiftY) pixels (right, down). Multiples of 90° are exact.
        /// </summary>
        public static AffineMap Map(int height, int width, double rotation = 0, double shear = 0, double zoomX = 1, double zoomY = 1,
            double shiftX = 0, double shiftY = 0, bool flipHorizontal = false, bool flipVertical = false)
        {
            double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
            double cos = Snap(Math.Cos(rotation)), sin = Snap(Math.Sin(rotation));
            double shSin = Snap(Math.Sin(shear)), shCos = Snap(Math.Cos(shear));
            // Source offset from the centre = R · Sh · Z · F · (p − c); source = c + that − shift.
            double fx = flipHorizontal ? -1 : 1, fy = flipVertical ? -1 : 1;
            // Sh · Z · F = [[zx·fx, −sin(s)·zy·fy], [0, cos(s)·zy·fy]]
            double m00 = zoomX * fx, m01 = -shSin * zoomY * fy, m11 = shCos * zoomY * fy;
            double a = cos * m00, b = cos * m01 - sin * m11;
            double d = sin * m00, e = sin * m01 + cos * m11;
            return new AffineMap(a, b, cx - a * cx - b * cy - shiftX, d, e, cy - d * cx - e * cy - shiftY);
        }

        private static double Snap(double v)
        {
            double r = Math.Round(v);
            return Math.Abs(v - r) < 1e-12 ? r : v;
        }

        /// <summary>y = (x − m) · f + m per channel of an HWC image, m the channel's mean; symmetric, so also its own adjoint.</summary>
        public static void Contrast(ReadOnlySpan<float> x, Span<float> y, int channels, float f)
        {
            int pixels = x.Length / channels;
            Span<double> mean = stackalloc double[Math.Min(channels, 64)];
            double[]? big = channels > 64 ? new double[channels] : null;
            var m = big is null ? mean[..channels] : big;
            m.Clear();
            for (int i = 0; i < pixels; i++)
                for (int k = 0; k < channels; k++)
                    m[k] += x[i * channels + k];
            for (int k = 0; k < channels; k++)
                m[k] /= pixels;
            for (int i = 0; i < pixels; i++)
                for (int k = 0; k < channels; k++)
                    y[i * channels + k] = (float)((x[i * channels + k] - m[k]) * f + m[k]);
        }
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Strata.Kernels;

/// <summary>
/// Per-channel kernels of batch normalization over a tensor viewed as [rows, channels] (channels
/// last, contiguous): the statistics, the scale-and-shift, and the two reductions and the combine of
/// the backward pass. Rows are walked in order (each row's channels are vector lanes); sums are
/// blocked — float lanes over blocks of <see cref="Block"/> rows, the block sums added in double — so
/// the error does not grow with the number of rows. Each has a plain reference in the tests.
/// </summary>
internal static class NormalizationKernels
{
    /// <summary>Rows summed in float before a block's sum is added into the double total.</summary>
    internal const int Block = 64;

    /// <summary>Per-channel mean and biased variance (two passes: the mean, then the squared deviations).</summary>
    public static void MeanVariance(ReadOnlySpan<float> x, int rows, int channels, Span<float> mean, Span<float> variance)
    {
        Check(x, rows, channels, mean, variance);
        Span<double> total = channels <= 1024 ? stackalloc double[channels] : new double[channels];
        Span<float> block = channels <= 1024 ? stackalloc float[channels] : new float[channels];
        float inv = rows == 0 ? 0 : 1f / rows;

        total.Clear();
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            block.Clear();
            int r1 = Math.Min(rows, r0 + Block);
            for (int r = r0; r < r1; r++)
                AddInto(block, x.Slice(r * channels, channels));
            Flush(block, total);
        }
        for (int c = 0; c < channels; c++)
            mean[c] = (float)(total[c] * inv);

        total.Clear();
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            block.Clear();
            int r1 = Math.Min(rows, r0 + Block);
            for (int r = r0; r < r1; r++)
                AddSquaredDeviation(block, x.Slice(r * channels, channels), mean);
            Flush(block, total);
        }
        for (int c = 0; c < channels; c++)
            variance[c] = (float)(total[c] * inv);
    }

    /// <summary>y[r, c] = x[r, c]·scale[c] + shift[c] (y may be x).</summary>
    public static void ScaleShift(ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, Span<float> y, int rows, int channels)
    {
        Check(x, rows, channels, scale, shift);
        if (y.Length != x.Length)
            throw new ArgumentException($"batch_norm: output length {y.Length} differs from the input's {x.Length}");
        for (int r = 0; r < rows; r++)
            MulAdd(x.Slice(r * channels, channels), scale, shift, y.Slice(r * channels, channels));
    }

    /// <summary>Per channel: Σ dy and Σ dy·(x − mean), over the rows.</summary>
    public static void GradientSums(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, int rows, int channels,
        Span<float> sumDy, Span<float> sumDyCentered)
    {
        Check(x, rows, channels, mean, sumDy);
        if (dy.Length != x.Length || sumDyCentered.Length != channels)
            throw new ArgumentException($"batch_norm backward: gradient length {dy.Length} (expected {x.Length}) or sums {sumDyCentered.Length} (expected {channels})");
        Span<double> t1 = channels <= 1024 ? stackalloc double[channels] : new double[channels];
        Span<double> t2 = channels <= 1024 ? stackalloc double[channels] : new double[channels];
        Span<float> b1 = channels <= 1024 ? stackalloc float[channels] : new float[channels];
        Span<float> b2 = channels <= 1024 ? stackalloc float[channels] : new float[channels];
        t1.Clear();
        t2.Clear();
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            b1.Clear();
            b2.Clear();
            int r1 = Math.Min(rows, r0 + Block);
            for (int r = r0; r < r1; r++)
            {
                var g = dy.Slice(r * channels, channels);
                AddInto(b1, g);
                AddProductOfDeviation(b2, g, x.Slice(r * channels, channels), mean);
            }
            Flush(b1, t1);
            Flush(b2, t2);
        }
        for (int c = 0; c < channels; c++)
        {
            sumDy[c] = (float)t1[c];
            sumDyCentered[c] = (float)t2[c];
        }
    }

    /// <summary>dx[r, c] = dy[r, c]·a[c] + x[r, c]·b[c] + k[c] (dx may be dy).</summary>
    public static void Combine(ReadOnlySpan<float> dy, ReadOnlySpan<float> a, ReadOnlySpan<float> x, ReadOnlySpan<float> b, ReadOnlySpan<float> k,
        Span<float> dx, int rows, int channels)
    {
        Check(x, rows, channels, a, b);
        if (dy.Length != x.Length || dx.Length != x.Length || k.Length != channels)
            throw new ArgumentException($"batch_norm backward: lengths differ (dy {dy.Length}, x {x.Length}, dx {dx.Length}, per-channel {k.Length} of {channels})");
        for (int r = 0; r < rows; r++)
        {
            var g = dy.Slice(r * channels, channels);
            var xr = x.Slice(r * channels, channels);
            var d = dx.Slice(r * channels, channels);
            ref float pg = ref MemoryMarshal.GetReference(g);
            ref float px = ref MemoryMarshal.GetReference(xr);
            ref float pd = ref MemoryMarshal.GetReference(d);
            ref float pa = ref MemoryMarshal.GetReference(a);
            ref float pb = ref MemoryMarshal.GetReference(b);
            ref float pk = ref MemoryMarshal.GetReference(k);
            int c = 0, w = Vector<float>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                for (; c <= channels - w; c += w)
                {
                    var v = Load(ref pg, c) * Load(ref pa, c) + Load(ref px, c) * Load(ref pb, c) + Load(ref pk, c);
                    Store(v, ref pd, c);
                }
            }
            for (; c < channels; c++)
                d[c] = g[c] * a[c] + xr[c] * b[c] + k[c];
        }
    }

    private static void Check(ReadOnlySpan<float> x, int rows, int channels, ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        if (rows < 0 || channels <= 0 || (long)rows * channels != x.Length)
            throw new ArgumentException($"batch_norm: {x.Length} values are not {rows} rows of {channels} channels");
        if (p.Length != channels || q.Length != channels)
            throw new ArgumentException($"batch_norm: per-channel vectors have {p.Length} and {q.Length} values, expected {channels}");
    }

    private static void Flush(ReadOnlySpan<float> block, Span<double> total)
    {
        for (int c = 0; c < block.Length; c++)
            total[c] += block[c];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(ref float p, int i) => Vector.LoadUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector<float> v, ref float p, int i) => v.StoreUnsafe(ref p, (nuint)i);

    private static void AddInto(Span<float> acc, ReadOnlySpan<float> row)
    {
        ref float pa = ref MemoryMarshal.GetReference(acc);
        ref float pr = ref MemoryMarshal.GetReference(row);
        int c = 0, w = Vector<float>.Count, n = acc.Length;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c <= n - w; c += w)
                Store(Load(ref pa, c) + Load(ref pr, c), ref pa, c);
        }
        for (; c < n; c++)
            acc[c] += row[c];
    }

    private static void AddSquaredDeviation(Span<float> acc, ReadOnlySpan<float> row, ReadOnlySpan<float> mean)
    {
        ref float pa = ref MemoryMarshal.GetReference(acc);
        ref float pr = ref MemoryMarshal.GetReference(row);
        ref float pm = ref MemoryMarshal.GetReference(mean);
        int c = 0, w = Vector<float>.Count, n = acc.Length;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c <= n - w; c += w)
            {
                var d = Load(ref pr, c) - Load(ref pm, c);
                Store(Load(ref pa, c) + d * d, ref pa, c);
            }
        }
        for (; c < n; c++)
        {
            float d = row[c] - mean[c];
            acc[c] += d * d;
        }
    }

    private static void AddProductOfDeviation(Span<float> acc, ReadOnlySpan<float> g, ReadOnlySpan<float> row, ReadOnlySpan<float> mean)
    {
        ref float pa = ref MemoryMarshal.GetReference(acc);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pr = ref MemoryMarshal.GetReference(row);
        ref float pm = ref MemoryMarshal.GetReference(mean);
        int c = 0, w = Vector<float>.Count, n = acc.Length;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c <= n - w; c += w)
                Store(Load(ref pa, c) + Load(ref pg, c) * (Load(ref pr, c) - Load(ref pm, c)), ref pa, c);
        }
        for (; c < n; c++)
            acc[c] += g[c] * (row[c] - mean[c]);
    }

    private static void MulAdd(ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, Span<float> y)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float ps = ref MemoryMarshal.GetReference(scale);
        ref float pt = ref MemoryMarshal.GetReference(shift);
        ref float py = ref MemoryMarshal.GetReference(y);
        int c = 0, w = Vector<float>.Count, n = x.Length;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c <= n - w; c += w)
                Store(Load(ref px, c) * Load(ref ps, c) + Load(ref pt, c), ref py, c);
        }
        for (; c < n; c++)
            y[c] = x[c] * scale[c] + shift[c];
    }
}

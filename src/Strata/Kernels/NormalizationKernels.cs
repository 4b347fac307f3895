using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Strata.Kernels;

/// <summary>
/// Per-channel kernels of batch normalization over a tensor viewed as [rows, channels] (channels
/// last, contiguous): the statistics and the sums of the backward pass (through the pairwise column
/// sums of <see cref="Summation"/>), the scale-and-shift and the backward combine (each row's
/// channels as vector lanes). Each has a plain reference in the tests.
/// </summary>
internal static class NormalizationKernels
{
    /// <summary>Per-channel mean and biased variance (two passes: the mean, then the squared deviations).</summary>
    public static void MeanVariance(ReadOnlySpan<float> x, int rows, int channels, Span<float> mean, Span<float> variance)
    {
        Check(x, rows, channels, mean, variance);
        float inv = rows == 0 ? 0 : 1f / rows;
        Summation.ColumnSums(x, rows, channels, mean);
        for (int c = 0; c < channels; c++)
            mean[c] *= inv;
        Summation.ColumnSumsOfSquaredDeviations(x, rows, channels, mean, variance);
        for (int c = 0; c < channels; c++)
            variance[c] *= inv;
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
        Summation.ColumnSums(dy, rows, channels, sumDy);
        Summation.ColumnDotsWithDeviations(dy, x, rows, channels, mean, sumDyCentered);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(ref float p, int i) => Vector.LoadUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector<float> v, ref float p, int i) => v.StoreUnsafe(ref p, (nuint)i);

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

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Max and average pooling over NHWC windows, forward and backward, vectorized across the
/// channels of each pixel (16, then 8 at a time, then one). Windows only see real positions:
/// with "same" padding an average is over the positions inside the image, as in Keras. The max
/// backward recomputes each window's winner from the input and the output (the first position,
/// in row-major window order, that equals the maximum), so the forward keeps no argmax.
/// </summary>
internal static class PoolKernels
{
    /// <summary>y = max or mean of each window, for images [n0, n1) (x and y index whole batches).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(bool max, ReadOnlySpan<float> x, Span<float> y, in Conv2DGeometry g, int n0, int n1)
    {
        int c = g.C;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        for (int n = n0; n < n1; n++)
        {
            for (int oh = 0; oh < g.OH; oh++)
            {
                int h0 = Math.Max(0, oh * g.SH - g.PadTop), h1 = Math.Min(g.H, oh * g.SH - g.PadTop + g.KH);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int w0 = Math.Max(0, ow * g.SW - g.PadLeft), w1 = Math.Min(g.W, ow * g.SW - g.PadLeft + g.KW);
                    nuint o = (nuint)(((n * g.OH + oh) * g.OW + ow) * c);
                    float scale = max ? 1f : 1f / ((h1 - h0) * (w1 - w0));
                    int ch = 0;
                    if (Vector512.IsHardwareAccelerated)
                    {
                        for (; ch <= c - 16; ch += 16)
                        {
                            var acc = max ? Vector512.Create(float.NegativeInfinity) : Vector512<float>.Zero;
                            for (int ih = h0; ih < h1; ih++)
                                for (int iw = w0; iw < w1; iw++)
                                {
                                    var v = Vector512.LoadUnsafe(ref px, (nuint)(((n * g.H + ih) * g.W + iw) * c + ch));
                                    acc = max ? Vector512.Max(acc, v) : acc + v;
                                }
                            (max ? acc : acc * scale).StoreUnsafe(ref py, o + (nuint)ch);
                        }
                    }
                    if (Vector256.IsHardwareAccelerated)
                    {
                        for (; ch <= c - 8; ch += 8)
                        {
                            var acc = max ? Vector256.Create(float.NegativeInfinity) : Vector256<float>.Zero;
                            for (int ih = h0; ih < h1; ih++)
                                for (int iw = w0; iw < w1; iw++)
                                {
                                    var v = Vector256.LoadUnsafe(ref px, (nuint)(((n * g.H + ih) * g.W + iw) * c + ch));
                                    acc = max ? Vector256.Max(acc, v) : acc + v;
                                }
                            (max ? acc : acc * scale).StoreUnsafe(ref py, o + (nuint)ch);
                        }
                    }
                    for (; ch < c; ch++)
                    {
                        float acc = max ? float.NegativeInfinity : 0f;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                float v = x[((n * g.H + ih) * g.W + iw) * c + ch];
                                acc = max ? MathF.Max(acc, v) : acc + v;
                            }
                        y[(int)o + ch] = max ? acc : acc * scale;
                    }
                }
            }
        }
    }

    /// <summary>
    /// dx for images [n0, n1) (overwritten): each window's gradient goes to its first maximum (max)
    /// or is shared equally by its positions (average). <paramref name="y"/> is the forward output
    /// (read for max only).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(bool max, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx,
        in Conv2DGeometry g, int n0, int n1)
    {
        int c = g.C, image = g.H * g.W * c;
        // Disjoint windows (stride ≥ window) write each position at most once: stores, not read-add-writes;
        // when they also tile the image exactly, nothing is left to clear.
        bool disjoint = g.SH >= g.KH && g.SW >= g.KW;
        bool tiles = disjoint && g.SH == g.KH && g.SW == g.KW && g.PadTop == 0 && g.PadLeft == 0 && g.OH * g.SH == g.H && g.OW * g.SW == g.W;
        if (!tiles)
            dx.Slice(n0 * image, (n1 - n0) * image).Clear();
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pg = ref MemoryMarshal.GetReference(dy);
        ref float pd = ref MemoryMarshal.GetReference(dx);
        for (int n = n0; n < n1; n++)
        {
            for (int oh = 0; oh < g.OH; oh++)
            {
                int h0 = Math.Max(0, oh * g.SH - g.PadTop), h1 = Math.Min(g.H, oh * g.SH - g.PadTop + g.KH);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int w0 = Math.Max(0, ow * g.SW - g.PadLeft), w1 = Math.Min(g.W, ow * g.SW - g.PadLeft + g.KW);
                    nuint o = (nuint)(((n * g.OH + oh) * g.OW + ow) * c);
                    float scale = max ? 1f : 1f / ((h1 - h0) * (w1 - w0));
                    int ch = 0;
                    if (Vector512.IsHardwareAccelerated)
                    {
                        for (; ch <= c - 16; ch += 16)
                        {
                            var grad = Vector512.LoadUnsafe(ref pg, o + (nuint)ch);
                            var best = max ? Vector512.LoadUnsafe(ref py, o + (nuint)ch) : default;
                            var taken = Vector512<float>.Zero; // lanes whose winner has been found (all bits set)
                            if (!max)
                                grad *= scale;
                            for (int ih = h0; ih < h1; ih++)
                                for (int iw = w0; iw < w1; iw++)
                                {
                                    nuint i = (nuint)(((n * g.H + ih) * g.W + iw) * c + ch);
                                    var share = grad;
                                    if (max)
                                    {
                                        var wins = Vector512.AndNot(Vector512.Equals(Vector512.LoadUnsafe(ref px, i), best), taken);
                                        share = grad & wins;
                                        taken |= wins;
                                    }
                                    (disjoint ? share : Vector512.LoadUnsafe(ref pd, i) + share).StoreUnsafe(ref pd, i);
                                }
                        }
                    }
                    if (Vector256.IsHardwareAccelerated)
                    {
                        for (; ch <= c - 8; ch += 8)
                        {
                            var grad = Vector256.LoadUnsafe(ref pg, o + (nuint)ch);
                            var best = max ? Vector256.LoadUnsafe(ref py, o + (nuint)ch) : default;
                            var taken = Vector256<float>.Zero;
                            if (!max)
                                grad *= scale;
                            for (int ih = h0; ih < h1; ih++)
                                for (int iw = w0; iw < w1; iw++)
                                {
                                    nuint i = (nuint)(((n * g.H + ih) * g.W + iw) * c + ch);
                                    var share = grad;
                                    if (max)
                                    {
                                        var wins = Vector256.AndNot(Vector256.Equals(Vector256.LoadUnsafe(ref px, i), best), taken);
                                        share = grad & wins;
                                        taken |= wins;
                                    }
                                    (disjoint ? share : Vector256.LoadUnsafe(ref pd, i) + share).StoreUnsafe(ref pd, i);
                                }
                        }
                    }
                    for (; ch < c; ch++)
                    {
                        float grad = dy[(int)o + ch] * scale, best = max ? y[(int)o + ch] : 0f;
                        bool taken = false;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                int i = ((n * g.H + ih) * g.W + iw) * c + ch;
                                float share = 0;
                                if (!max)
                                {
                                    share = grad;
                                }
                                else if (!taken && x[i] == best)
                                {
                                    share = grad;
                                    taken = true;
                                }
                                dx[i] = disjoint ? share : dx[i] + share;
                            }
                    }
                }
            }
        }
    }
}

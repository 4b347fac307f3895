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
                    if (V512.IsAccelerated)
                        ch = ForwardWindow<Vector512<float>, V512>(max, ref px, ref py, g, n, c, h0, h1, w0, w1, o, scale, ch);
                    if (V256.IsAccelerated)
                        ch = ForwardWindow<Vector256<float>, V256>(max, ref px, ref py, g, n, c, h0, h1, w0, w1, o, scale, ch);
                    if (V128.IsAccelerated)
                        ch = ForwardWindow<Vector128<float>, V128>(max, ref px, ref py, g, n, c, h0, h1, w0, w1, o, scale, ch);
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
                    if (V512.IsAccelerated)
                        ch = BackwardWindow<Vector512<float>, V512>(max, disjoint, ref px, ref py, ref pg, ref pd, g, n, c, h0, h1, w0, w1, o, scale, ch);
                    if (V256.IsAccelerated)
                        ch = BackwardWindow<Vector256<float>, V256>(max, disjoint, ref px, ref py, ref pg, ref pd, g, n, c, h0, h1, w0, w1, o, scale, ch);
                    if (V128.IsAccelerated)
                        ch = BackwardWindow<Vector128<float>, V128>(max, disjoint, ref px, ref py, ref pg, ref pd, g, n, c, h0, h1, w0, w1, o, scale, ch);
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

    // The vector loops over one window's channels, written once over the width: each covers whole
    // vectors of channels from ch and returns where it stopped.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardWindow<TV, TS>(bool max, ref float px, ref float py, in Conv2DGeometry g, int n, int c,
        int h0, int h1, int w0, int w1, nuint o, float scale, int ch) where TV : struct where TS : struct, ISimd<TV>
    {
        for (; ch <= c - TS.Count; ch += TS.Count)
        {
            var acc = max ? TS.Create(float.NegativeInfinity) : TS.Zero;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                {
                    var v = TS.LoadUnsafe(ref px, (nuint)(((n * g.H + ih) * g.W + iw) * c + ch));
                    acc = max ? TS.Max(acc, v) : TS.Add(acc, v);
                }
            TS.StoreUnsafe(max ? acc : TS.Multiply(acc, scale), ref py, o + (nuint)ch);
        }
        return ch;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardWindow<TV, TS>(bool max, bool disjoint, ref float px, ref float py, ref float pg, ref float pd,
        in Conv2DGeometry g, int n, int c, int h0, int h1, int w0, int w1, nuint o, float scale, int ch)
        where TV : struct where TS : struct, ISimd<TV>
    {
        for (; ch <= c - TS.Count; ch += TS.Count)
        {
            var grad = TS.LoadUnsafe(ref pg, o + (nuint)ch);
            var best = max ? TS.LoadUnsafe(ref py, o + (nuint)ch) : TS.Zero;
            var taken = TS.Zero; // lanes whose winner has been found (all bits set)
            if (!max)
                grad = TS.Multiply(grad, scale);
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                {
                    nuint i = (nuint)(((n * g.H + ih) * g.W + iw) * c + ch);
                    var share = grad;
                    if (max)
                    {
                        var wins = TS.AndNot(TS.Equal(TS.LoadUnsafe(ref px, i), best), taken);
                        share = TS.And(grad, wins);
                        taken = TS.Or(taken, wins);
                    }
                    TS.StoreUnsafe(disjoint ? share : TS.Add(TS.LoadUnsafe(ref pd, i), share), ref pd, i);
                }
        }
        return ch;
    }
}

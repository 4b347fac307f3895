using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Direct convolution for layers with few inputs per output (a small KH·KW·C, typically the first
/// layer on 1 or 3 channels), where im2col would copy runs of one or three floats and GEMM would
/// spend its time loading and storing C for a handful of multiply-adds. One NHWC output row
/// [OW, F] is contiguous and stays in L1; each tap (kh, kw, c) adds x·w[tap, :] to the row's
/// pixels, over the range of columns where the tap falls inside the image (no per-pixel padding
/// test). The kernel gradient reduces over a row's pixels in registers. Also: the row-vector
/// helper of the engine that adds bias rows, vectorized along the rows' width (the bias gradient is a column sum in `Summation`).
/// </summary>
internal static unsafe class DirectConvolution
{
    /// <summary>yRow [OW, f] += the taps of output row <paramref name="oh"/> of one image [H, W, C] (w is [KH·KW·C, f]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardRow(float* image, float* w, float* yRow, in Conv2DGeometry g, int f, int oh)
    {
        for (int kh = 0; kh < g.KH; kh++)
        {
            int ih = oh * g.SH - g.PadTop + kh * g.DH;
            if ((uint)ih >= (uint)g.H)
                continue;
            float* line = image + (long)ih * g.W * g.C;
            for (int kw = 0; kw < g.KW; kw++)
            {
                var (offset, ow0, ow1) = Columns(g, kw);
                int n = ow1 - ow0, step = g.SW * g.C;
                for (int c = 0; c < g.C; c++)
                {
                    float* wt = w + (long)((kh * g.KW + kw) * g.C + c) * f;
                    float* xs = line + (ow0 * g.SW + offset) * g.C + c;
                    float* dst = yRow + (long)ow0 * f;
                    int j = 0;
                    if (V512.IsAccelerated)
                        j = ForwardTap<Vector512<float>, V512>(wt, xs, dst, f, n, step, j);
                    if (V256.IsAccelerated)
                        j = ForwardTap<Vector256<float>, V256>(wt, xs, dst, f, n, step, j);
                    if (V128.IsAccelerated)
                        j = ForwardTap<Vector128<float>, V128>(wt, xs, dst, f, n, step, j);
                    for (; j < f; j++)
                    {
                        float wj = wt[j];
                        float* p = dst + j, q = xs;
                        for (int i = 0; i < n; i++, p += f, q += step)
                            *p += *q * wj;
                    }
                }
            }
        }
    }

    /// <summary>dw [KH·KW·C, f] += Σ over the row's pixels of x[tap]·dyRow[pixel, :], for output row <paramref name="oh"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KernelGradientRow(float* image, float* dyRow, float* dw, in Conv2DGeometry g, int f, int oh)
    {
        for (int kh = 0; kh < g.KH; kh++)
        {
            int ih = oh * g.SH - g.PadTop + kh * g.DH;
            if ((uint)ih >= (uint)g.H)
                continue;
            float* line = image + (long)ih * g.W * g.C;
            for (int kw = 0; kw < g.KW; kw++)
            {
                var (offset, ow0, ow1) = Columns(g, kw);
                int n = ow1 - ow0, step = g.SW * g.C;
                for (int c = 0; c < g.C; c++)
                {
                    float* dt = dw + (long)((kh * g.KW + kw) * g.C + c) * f;
                    float* xs = line + (ow0 * g.SW + offset) * g.C + c;
                    float* src = dyRow + (long)ow0 * f;
                    int j = 0;
                    if (V512.IsAccelerated)
                        j = GradientTap<Vector512<float>, V512>(xs, src, dt, f, n, step, j);
                    if (V256.IsAccelerated)
                        j = GradientTap<Vector256<float>, V256>(xs, src, dt, f, n, step, j);
                    if (V128.IsAccelerated)
                        j = GradientTap<Vector128<float>, V128>(xs, src, dt, f, n, step, j);
                    for (; j < f; j++)
                    {
                        float acc = 0;
                        float* p = src + j, q = xs;
                        for (int i = 0; i < n; i++, p += f, q += step)
                            acc += *q * *p;
                        dt[j] += acc;
                    }
                }
            }
        }
    }

    // The vector loops, written once over the width: each covers whole vectors of the f columns from j
    // and returns where it stopped.

    /// <summary>dst[i·f + j..] += xs[i·step]·wt[j..] for the n pixels of one tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardTap<TV, TS>(float* wt, float* xs, float* dst, int f, int n, int step, int j)
        where TV : struct where TS : struct, ISimd<TV>
    {
        for (; j <= f - TS.Count; j += TS.Count)
        {
            var wv = TS.Load(wt + j);
            float* p = dst + j, q = xs;
            for (int i = 0; i < n; i++, p += f, q += step)
                TS.Store(TS.FusedMultiplyAdd(TS.Create(*q), wv, TS.Load(p)), p);
        }
        return j;
    }

    /// <summary>dt[j..] += Σᵢ xs[i·step]·src[i·f + j..] over the n pixels of one tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GradientTap<TV, TS>(float* xs, float* src, float* dt, int f, int n, int step, int j)
        where TV : struct where TS : struct, ISimd<TV>
    {
        for (; j <= f - TS.Count; j += TS.Count)
        {
            // Four chains: one FMA chain alone would wait on its latency every pixel.
            TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
            float* p = src + j, q = xs;
            int i = 0;
            for (; i <= n - 4; i += 4, p += 4 * f, q += 4 * step)
            {
                a0 = TS.FusedMultiplyAdd(TS.Create(q[0]), TS.Load(p), a0);
                a1 = TS.FusedMultiplyAdd(TS.Create(q[step]), TS.Load(p + f), a1);
                a2 = TS.FusedMultiplyAdd(TS.Create(q[2 * step]), TS.Load(p + 2 * f), a2);
                a3 = TS.FusedMultiplyAdd(TS.Create(q[3 * step]), TS.Load(p + 3 * f), a3);
            }
            for (; i < n; i++, p += f, q += step)
                a0 = TS.FusedMultiplyAdd(TS.Create(*q), TS.Load(p), a0);
            TS.Store(TS.Add(TS.Load(dt + j), TS.Add(TS.Add(a0, a1), TS.Add(a2, a3))), dt + j);
        }
        return j;
    }

    /// <summary>y[r·f + j..] = b[j..] (or += when <paramref name="add"/>) for whole vectors of columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BroadcastColumns<TV, TS>(float* y, int rows, int f, float* b, bool add, int j)
        where TV : struct where TS : struct, ISimd<TV>
    {
        for (; j <= f - TS.Count; j += TS.Count)
        {
            var bv = TS.Load(b + j);
            float* p = y + j;
            for (int r = 0; r < rows; r++, p += f)
                TS.Store(add ? TS.Add(TS.Load(p), bv) : bv, p);
        }
        return j;
    }

    /// <summary>For tap column kw: iw = ow·SW + offset, inside the image for ow in [ow0, ow1).</summary>
    private static (int Offset, int Ow0, int Ow1) Columns(in Conv2DGeometry g, int kw)
    {
        int offset = kw * g.DW - g.PadLeft;
        int ow0 = offset >= 0 ? 0 : (-offset + g.SW - 1) / g.SW;
        int ow1 = g.W - 1 - offset < 0 ? 0 : Math.Min(g.OW, (g.W - 1 - offset) / g.SW + 1);
        return (offset, ow0, Math.Max(ow0, ow1));
    }

    /// <summary>y[r, :] = b (or += b when <paramref name="add"/>) for rows r in [0, rows), y being [rows, f].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BroadcastRows(float* y, int rows, int f, float* b, bool add)
    {
        int j = 0;
        if (V512.IsAccelerated)
            j = BroadcastColumns<Vector512<float>, V512>(y, rows, f, b, add, j);
        if (V256.IsAccelerated)
            j = BroadcastColumns<Vector256<float>, V256>(y, rows, f, b, add, j);
        if (V128.IsAccelerated)
            j = BroadcastColumns<Vector128<float>, V128>(y, rows, f, b, add, j);
        for (; j < f; j++)
        {
            float* p = y + j;
            for (int r = 0; r < rows; r++, p += f)
                *p = add ? *p + b[j] : b[j];
        }
    }
}

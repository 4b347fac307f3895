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
                    if (Vector512.IsHardwareAccelerated)
                    {
                        for (; j <= f - 16; j += 16)
                        {
                            var wv = Vector512.Load(wt + j);
                            float* p = dst + j, q = xs;
                            for (int i = 0; i < n; i++, p += f, q += step)
                                Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Create(*q), wv, Vector512.Load(p)), p);
                        }
                    }
                    if (Vector256.IsHardwareAccelerated)
                    {
                        for (; j <= f - 8; j += 8)
                        {
                            var wv = Vector256.Load(wt + j);
                            float* p = dst + j, q = xs;
                            for (int i = 0; i < n; i++, p += f, q += step)
                                Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Create(*q), wv, Vector256.Load(p)), p);
                        }
                    }
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
                    if (Vector512.IsHardwareAccelerated)
                    {
                        for (; j <= f - 16; j += 16)
                        {
                            // Four chains: one FMA chain alone would wait on its latency every pixel.
                            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                            float* p = src + j, q = xs;
                            int i = 0;
                            for (; i <= n - 4; i += 4, p += 4 * f, q += 4 * step)
                            {
                                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[0]), Vector512.Load(p), a0);
                                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q[step]), Vector512.Load(p + f), a1);
                                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q[2 * step]), Vector512.Load(p + 2 * f), a2);
                                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q[3 * step]), Vector512.Load(p + 3 * f), a3);
                            }
                            for (; i < n; i++, p += f, q += step)
                                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(*q), Vector512.Load(p), a0);
                            Vector512.Store(Vector512.Load(dt + j) + ((a0 + a1) + (a2 + a3)), dt + j);
                        }
                    }
                    if (Vector256.IsHardwareAccelerated)
                    {
                        for (; j <= f - 8; j += 8)
                        {
                            var acc = Vector256<float>.Zero;
                            float* p = src + j, q = xs;
                            for (int i = 0; i < n; i++, p += f, q += step)
                                acc = Vector256.FusedMultiplyAdd(Vector256.Create(*q), Vector256.Load(p), acc);
                            Vector256.Store(Vector256.Load(dt + j) + acc, dt + j);
                        }
                    }
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
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= f - 16; j += 16)
            {
                var bv = Vector512.Load(b + j);
                float* p = y + j;
                for (int r = 0; r < rows; r++, p += f)
                    Vector512.Store(add ? Vector512.Load(p) + bv : bv, p);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= f - 8; j += 8)
            {
                var bv = Vector256.Load(b + j);
                float* p = y + j;
                for (int r = 0; r < rows; r++, p += f)
                    Vector256.Store(add ? Vector256.Load(p) + bv : bv, p);
            }
        }
        for (; j < f; j++)
        {
            float* p = y + j;
            for (int r = 0; r < rows; r++, p += f)
                *p = add ? *p + b[j] : b[j];
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Convolutions with few filters (output channels: up to <see cref="ConvolutionEngine.NarrowMaxFilters"/> —
/// an image generator's last layer, a one-channel mask or depth map), where im2col + GEMM would pack every
/// window for a product with one to a few kernel columns padded to a 16-wide register tile: each packed
/// float used once. Here each output is the dot product of its window, read straight from the image, with
/// its filter: a window row is one run of KW·C contiguous floats (KW runs of C when dilated), the filters
/// are the HWIO kernel transposed to [f, KH·KW·C]. Four neighbouring output pixels go together (each
/// filter vector loaded once for four windows; eight FMA chains); pixels whose window crosses the left or
/// right border go one by one over their runs inside the image. The kernel gradient adds dy[p, j]·window(p)
/// into filter j's gradient (four pixels per load and store of it); the input gradient adds
/// Σⱼ dy[p, j]·filter j into the window of p, pixel by pixel (neighbouring windows overlap).
/// </summary>
internal static unsafe class NarrowConvolution
{
    /// <summary>Output pixels per group in the forward and the kernel gradient.</summary>
    private const int Group = 4;

    /// <summary>
    /// yRow [OW, f] = bias (zero when null) + the window · filter products of output row <paramref name="oh"/>
    /// of one image [H, W, C]; <paramref name="filters"/> is [f, KH·KW·C]. Every output is written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardRow(float* image, float* filters, float* bias, float* yRow, in Conv2DGeometry g, int f, int oh)
    {
        int capacity = 3 * g.KH * g.KW;
        Span<nint> buffer = capacity <= 768 ? stackalloc nint[capacity] : new nint[capacity];
        fixed (nint* runs = buffer)
        {
            int step = g.SW * g.C;
            var (lo, hi) = DirectConvolution.InteriorColumns(g);
            int count = Runs(g, oh, -1, runs), ow = lo;
            for (; ow <= hi - Group; ow += Group)
                Dot(DirectConvolution.PixelOrigin(image, g, ow), step, Group, filters, g.K, runs, count, bias, yRow + (long)ow * f, f);
            for (; ow < hi; ow++)
                Dot(DirectConvolution.PixelOrigin(image, g, ow), step, 1, filters, g.K, runs, count, bias, yRow + (long)ow * f, f);
            for (ow = 0; ow < lo; ow++) // the border pixels, each over its own runs
                Dot(DirectConvolution.PixelOrigin(image, g, ow), step, 1, filters, g.K, runs, Runs(g, oh, ow, runs), bias, yRow + (long)ow * f, f);
            for (ow = hi; ow < g.OW; ow++)
                Dot(DirectConvolution.PixelOrigin(image, g, ow), step, 1, filters, g.K, runs, Runs(g, oh, ow, runs), bias, yRow + (long)ow * f, f);
        }
    }

    /// <summary>gradients [f, KH·KW·C] += Σ over output row <paramref name="oh"/>'s pixels p of dyRow[p, j]·window(p).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KernelGradientRow(float* image, float* dyRow, float* gradients, in Conv2DGeometry g, int f, int oh)
    {
        int capacity = 3 * g.KH * g.KW;
        Span<nint> buffer = capacity <= 768 ? stackalloc nint[capacity] : new nint[capacity];
        fixed (nint* runs = buffer)
        {
            int step = g.SW * g.C;
            var (lo, hi) = DirectConvolution.InteriorColumns(g);
            int count = Runs(g, oh, -1, runs), ow = lo;
            for (; ow <= hi - Group; ow += Group)
                Accumulate(DirectConvolution.PixelOrigin(image, g, ow), step, Group, dyRow + (long)ow * f, gradients, g.K, runs, count, f);
            for (; ow < hi; ow++)
                Accumulate(DirectConvolution.PixelOrigin(image, g, ow), step, 1, dyRow + (long)ow * f, gradients, g.K, runs, count, f);
            for (ow = 0; ow < lo; ow++) // the border pixels, each over its own runs
                Accumulate(DirectConvolution.PixelOrigin(image, g, ow), step, 1, dyRow + (long)ow * f, gradients, g.K, runs, Runs(g, oh, ow, runs), f);
            for (ow = hi; ow < g.OW; ow++)
                Accumulate(DirectConvolution.PixelOrigin(image, g, ow), step, 1, dyRow + (long)ow * f, gradients, g.K, runs, Runs(g, oh, ow, runs), f);
        }
    }

    /// <summary>dxImage [H, W, C] += Σ over output row <paramref name="oh"/>'s pixels p and filters j of dyRow[p, j]·filter j, placed on the window of p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputGradientRow(float* dxImage, float* dyRow, float* filters, in Conv2DGeometry g, int f, int oh)
    {
        int capacity = 3 * g.KH * g.KW;
        Span<nint> buffer = capacity <= 768 ? stackalloc nint[capacity] : new nint[capacity];
        fixed (nint* runs = buffer)
        {
            var (lo, hi) = DirectConvolution.InteriorColumns(g);
            int count = Runs(g, oh, -1, runs);
            for (int ow = lo; ow < hi; ow++)
                Scatter(DirectConvolution.PixelOrigin(dxImage, g, ow), dyRow + (long)ow * f, filters, g.K, runs, count, f);
            for (int ow = 0; ow < lo; ow++)
                Scatter(DirectConvolution.PixelOrigin(dxImage, g, ow), dyRow + (long)ow * f, filters, g.K, runs, Runs(g, oh, ow, runs), f);
            for (int ow = hi; ow < g.OW; ow++)
                Scatter(DirectConvolution.PixelOrigin(dxImage, g, ow), dyRow + (long)ow * f, filters, g.K, runs, Runs(g, oh, ow, runs), f);
        }
    }

    /// <summary>
    /// The runs of output row <paramref name="oh"/> as triples (input offset from the pixel's origin,
    /// <see cref="DirectConvolution.PixelOrigin"/>; offset in a filter; length): window rows outside the image
    /// left out; with <paramref name="ow"/> ≥ 0 only pixel ow's columns inside the image, else every column
    /// (the interior pixels'). Returns the count.
    /// </summary>
    private static int Runs(in Conv2DGeometry g, int oh, int ow, nint* runs)
    {
        int kw0 = 0, kw1 = g.KW;
        if (ow >= 0)
        {
            // The tap columns kw with ow·SW − PadLeft + kw·DW inside [0, W).
            int start = ow * g.SW - g.PadLeft;
            kw0 = start >= 0 ? 0 : (-start + g.DW - 1) / g.DW;
            kw1 = start > g.W - 1 ? 0 : Math.Min(g.KW, (g.W - 1 - start) / g.DW + 1);
        }
        int n = 0;
        for (int kh = 0; kh < g.KH && kw0 < kw1; kh++)
        {
            int ih = oh * g.SH - g.PadTop + kh * g.DH;
            if ((uint)ih >= (uint)g.H)
                continue;
            if (g.DW == 1)
            {
                runs[3 * n] = ((nint)ih * g.W + kw0) * g.C;
                runs[3 * n + 1] = (nint)(kh * g.KW + kw0) * g.C;
                runs[3 * n + 2] = (nint)(kw1 - kw0) * g.C;
                n++;
                continue;
            }
            for (int kw = kw0; kw < kw1; kw++, n++)
            {
                runs[3 * n] = ((nint)ih * g.W + kw * g.DW) * g.C;
                runs[3 * n + 1] = (nint)(kh * g.KW + kw) * g.C;
                runs[3 * n + 2] = g.C;
            }
        }
        return n;
    }

    // Each step below takes the widest accelerated vector and leaves a run's last floats (fewer than one
    // vector) to scalar code.

    private static void Dot(float* x, int step, int pixels, float* filters, int k, nint* runs, int count, float* bias, float* y, int f)
    {
        if (V512.IsAccelerated)
            Dot<Vector512<float>, V512>(x, step, pixels, filters, k, runs, count, bias, y, f);
        else if (V256.IsAccelerated)
            Dot<Vector256<float>, V256>(x, step, pixels, filters, k, runs, count, bias, y, f);
        else if (V128.IsAccelerated)
            Dot<Vector128<float>, V128>(x, step, pixels, filters, k, runs, count, bias, y, f);
        else
        {
            for (int p = 0; p < pixels; p++)
                for (int j = 0; j < f; j++)
                {
                    float s = 0f;
                    for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
                    {
                        float* xs = x + p * step + r[0], ws = filters + (long)j * k + r[1];
                        for (int i = 0; i < (int)r[2]; i++)
                            s += xs[i] * ws[i];
                    }
                    y[p * f + j] = (bias is null ? 0f : bias[j]) + s;
                }
        }
    }

    /// <summary>y[p·f + j] = bias[j] + window(p) · filter j for the 1 or 4 pixels p (windows <paramref name="step"/> floats apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot<TV, TS>(float* x, int step, int pixels, float* filters, int k, nint* runs, int count, float* bias, float* y, int f)
        where TV : struct where TS : struct, ISimd<TV>
    {
        int c = TS.Count;
        for (int j = 0; j < f; j++)
        {
            float* filter = filters + (long)j * k;
            float b = bias is null ? 0f : bias[j];
            if (pixels == Group)
            {
                // Two chains per pixel (even and odd vectors): eight FMA chains hide the FMA latency.
                TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero, b0 = TS.Zero, b1 = TS.Zero, b2 = TS.Zero, b3 = TS.Zero;
                float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
                {
                    float* x0 = x + r[0], x1 = x0 + step, x2 = x1 + step, x3 = x2 + step, w = filter + r[1];
                    int len = (int)r[2], i = 0;
                    for (; i <= len - 2 * c; i += 2 * c)
                    {
                        TV w0 = TS.Load(w + i), w1 = TS.Load(w + i + c);
                        a0 = TS.FusedMultiplyAdd(TS.Load(x0 + i), w0, a0);
                        b0 = TS.FusedMultiplyAdd(TS.Load(x0 + i + c), w1, b0);
                        a1 = TS.FusedMultiplyAdd(TS.Load(x1 + i), w0, a1);
                        b1 = TS.FusedMultiplyAdd(TS.Load(x1 + i + c), w1, b1);
                        a2 = TS.FusedMultiplyAdd(TS.Load(x2 + i), w0, a2);
                        b2 = TS.FusedMultiplyAdd(TS.Load(x2 + i + c), w1, b2);
                        a3 = TS.FusedMultiplyAdd(TS.Load(x3 + i), w0, a3);
                        b3 = TS.FusedMultiplyAdd(TS.Load(x3 + i + c), w1, b3);
                    }
                    if (i <= len - c)
                    {
                        TV w0 = TS.Load(w + i);
                        a0 = TS.FusedMultiplyAdd(TS.Load(x0 + i), w0, a0);
                        a1 = TS.FusedMultiplyAdd(TS.Load(x1 + i), w0, a1);
                        a2 = TS.FusedMultiplyAdd(TS.Load(x2 + i), w0, a2);
                        a3 = TS.FusedMultiplyAdd(TS.Load(x3 + i), w0, a3);
                        i += c;
                    }
                    for (; i < len; i++)
                    {
                        float wv = w[i];
                        s0 += x0[i] * wv;
                        s1 += x1[i] * wv;
                        s2 += x2[i] * wv;
                        s3 += x3[i] * wv;
                    }
                }
                y[j] = b + (TS.Sum(TS.Add(a0, b0)) + s0);
                y[f + j] = b + (TS.Sum(TS.Add(a1, b1)) + s1);
                y[2 * f + j] = b + (TS.Sum(TS.Add(a2, b2)) + s2);
                y[3 * f + j] = b + (TS.Sum(TS.Add(a3, b3)) + s3);
            }
            else
            {
                TV a0 = TS.Zero, b0 = TS.Zero;
                float s0 = 0f;
                for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
                {
                    float* x0 = x + r[0], w = filter + r[1];
                    int len = (int)r[2], i = 0;
                    for (; i <= len - 2 * c; i += 2 * c)
                    {
                        a0 = TS.FusedMultiplyAdd(TS.Load(x0 + i), TS.Load(w + i), a0);
                        b0 = TS.FusedMultiplyAdd(TS.Load(x0 + i + c), TS.Load(w + i + c), b0);
                    }
                    if (i <= len - c)
                    {
                        a0 = TS.FusedMultiplyAdd(TS.Load(x0 + i), TS.Load(w + i), a0);
                        i += c;
                    }
                    for (; i < len; i++)
                        s0 += x0[i] * w[i];
                }
                y[j] = b + (TS.Sum(TS.Add(a0, b0)) + s0);
            }
        }
    }

    private static void Accumulate(float* x, int step, int pixels, float* dy, float* gradients, int k, nint* runs, int count, int f)
    {
        if (V512.IsAccelerated)
            Accumulate<Vector512<float>, V512>(x, step, pixels, dy, gradients, k, runs, count, f);
        else if (V256.IsAccelerated)
            Accumulate<Vector256<float>, V256>(x, step, pixels, dy, gradients, k, runs, count, f);
        else if (V128.IsAccelerated)
            Accumulate<Vector128<float>, V128>(x, step, pixels, dy, gradients, k, runs, count, f);
        else
        {
            for (int p = 0; p < pixels; p++)
                for (int j = 0; j < f; j++)
                {
                    float d = dy[p * f + j];
                    for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
                    {
                        float* xs = x + p * step + r[0], gs = gradients + (long)j * k + r[1];
                        for (int i = 0; i < (int)r[2]; i++)
                            gs[i] += d * xs[i];
                    }
                }
        }
    }

    /// <summary>gradients[j, run] += Σ over the 1 or 4 pixels p of dy[p·f + j]·window(p)[run], pixel by pixel in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate<TV, TS>(float* x, int step, int pixels, float* dy, float* gradients, int k, nint* runs, int count, int f)
        where TV : struct where TS : struct, ISimd<TV>
    {
        int c = TS.Count;
        for (int j = 0; j < f; j++)
        {
            float* grad = gradients + (long)j * k;
            if (pixels == Group)
            {
                float e0 = dy[j], e1 = dy[f + j], e2 = dy[2 * f + j], e3 = dy[3 * f + j];
                TV d0 = TS.Create(e0), d1 = TS.Create(e1), d2 = TS.Create(e2), d3 = TS.Create(e3);
                for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
                {
                    float* x0 = x + r[0], x1 = x0 + step, x2 = x1 + step, x3 = x2 + step, gr = grad + r[1];
                    int len = (int)r[2], i = 0;
                    for (; i <= len - c; i += c)
                    {
                        TV a = TS.FusedMultiplyAdd(d0, TS.Load(x0 + i), TS.Load(gr + i));
                        a = TS.FusedMultiplyAdd(d1, TS.Load(x1 + i), a);
                        a = TS.FusedMultiplyAdd(d2, TS.Load(x2 + i), a);
                        TS.Store(TS.FusedMultiplyAdd(d3, TS.Load(x3 + i), a), gr + i);
                    }
                    for (; i < len; i++)
                        gr[i] = MathF.FusedMultiplyAdd(e3, x3[i], MathF.FusedMultiplyAdd(e2, x2[i], MathF.FusedMultiplyAdd(e1, x1[i], MathF.FusedMultiplyAdd(e0, x0[i], gr[i]))));
                }
            }
            else
            {
                float e0 = dy[j];
                TV d0 = TS.Create(e0);
                for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
                {
                    float* x0 = x + r[0], gr = grad + r[1];
                    int len = (int)r[2], i = 0;
                    for (; i <= len - c; i += c)
                        TS.Store(TS.FusedMultiplyAdd(d0, TS.Load(x0 + i), TS.Load(gr + i)), gr + i);
                    for (; i < len; i++)
                        gr[i] = MathF.FusedMultiplyAdd(e0, x0[i], gr[i]);
                }
            }
        }
    }

    private static void Scatter(float* dx, float* dy, float* filters, int k, nint* runs, int count, int f)
    {
        if (V512.IsAccelerated)
            Scatter<Vector512<float>, V512>(dx, dy, filters, k, runs, count, f);
        else if (V256.IsAccelerated)
            Scatter<Vector256<float>, V256>(dx, dy, filters, k, runs, count, f);
        else if (V128.IsAccelerated)
            Scatter<Vector128<float>, V128>(dx, dy, filters, k, runs, count, f);
        else
        {
            for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
                for (int i = 0; i < (int)r[2]; i++)
                {
                    float s = dx[r[0] + i];
                    for (int j = 0; j < f; j++)
                        s += dy[j] * filters[j * k + r[1] + i];
                    dx[r[0] + i] = s;
                }
        }
    }

    /// <summary>window(dx)[run] += Σⱼ dy[j]·filter j[run] for one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter<TV, TS>(float* dx, float* dy, float* filters, int k, nint* runs, int count, int f)
        where TV : struct where TS : struct, ISimd<TV>
    {
        int c = TS.Count;
        for (nint* r = runs, end = runs + 3 * count; r < end; r += 3)
        {
            float* d = dx + r[0], w = filters + r[1];
            int len = (int)r[2], i = 0;
            for (; i <= len - c; i += c)
            {
                TV a = TS.Load(d + i);
                for (int j = 0; j < f; j++)
                    a = TS.FusedMultiplyAdd(TS.Create(dy[j]), TS.Load(w + (long)j * k + i), a);
                TS.Store(a, d + i);
            }
            for (; i < len; i++)
            {
                float a = d[i];
                for (int j = 0; j < f; j++)
                    a = MathF.FusedMultiplyAdd(dy[j], w[(long)j * k + i], a);
                d[i] = a;
            }
        }
    }
}

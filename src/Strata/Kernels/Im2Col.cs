using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// The geometry of a 2-D convolution or pooling window over NHWC data: input size, window,
/// strides, dilation, padding (top/left; bottom/right are implied by the output size) and the
/// output size.
/// </summary>
internal readonly record struct Conv2DGeometry(int H, int W, int C, int KH, int KW, int SH, int SW, int DH, int DW,
    int PadTop, int PadLeft, int OH, int OW)
{
    /// <summary>Floats per im2col row: KH·KW·C, ordered (kh, kw, c) like an HWIO kernel.</summary>
    public int K => KH * KW * C;

    /// <summary>
    /// The geometry for "valid" (no padding) or "same" (output = ⌈input / stride⌉, padding split with
    /// the extra row/column at the bottom/right, as Keras and TensorFlow do).
    /// </summary>
    public static Conv2DGeometry Create(int h, int w, int c, int kh, int kw, int sh, int sw, int dh, int dw, bool same)
    {
        int ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1; // the dilated window
        int oh, ow, pt = 0, pl = 0;
        if (same)
        {
            oh = (h + sh - 1) / sh;
            ow = (w + sw - 1) / sw;
            pt = Math.Max((oh - 1) * sh + ekh - h, 0) / 2;
            pl = Math.Max((ow - 1) * sw + ekw - w, 0) / 2;
        }
        else
        {
            oh = h >= ekh ? (h - ekh) / sh + 1 : 0;
            ow = w >= ekw ? (w - ekw) / sw + 1 : 0;
        }
        return new Conv2DGeometry(h, w, c, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow);
    }

    /// <summary>
    /// The same convolution over the image its windows read: the input with its padding made part of it
    /// (rows and columns no window reaches left off), so no window hangs over an edge.
    /// </summary>
    public Conv2DGeometry Framed() =>
        this with { H = (OH - 1) * SH + (KH - 1) * DH + 1, W = (OW - 1) * SW + (KW - 1) * DW + 1, PadTop = 0, PadLeft = 0 };
}

/// <summary>
/// im2col / col2im for NHWC: each output pixel becomes one row of KH·KW·C values (zeros where the
/// window hangs over the padding), so a convolution is one GEMM with the [K, F] kernel. The copies
/// move whole runs of KW·C contiguous floats (C at a time with dilation); col2im gathers, for each
/// input pixel, the column values that came from it and writes their sum once.
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary>Rows for images [n0, n1) of x [N, H, W, C] into col [(n1 − n0)·OH·OW, K].</summary>
    public static void Expand(ReadOnlySpan<float> x, Span<float> col, in Conv2DGeometry g, int n0, int n1) => Expand(x, col, g, n0, n1, 0f);

    /// <summary>
    /// The same for any element type, with <paramref name="pad"/> where the window hangs over the padding
    /// (quantized images pad with their zero point).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Expand<T>(ReadOnlySpan<T> x, Span<T> col, in Conv2DGeometry g, int n0, int n1, T pad) where T : unmanaged
    {
        int c = g.C, k = g.K, image = g.H * g.W * c, rowRun = g.KW * c;
        if (x.Length < (long)n1 * image || col.Length < (long)(n1 - n0) * g.OH * g.OW * k)
            throw new ArgumentException($"im2col: {x.Length} input or {col.Length} column floats are too few for images [{n0}, {n1})");
        fixed (T* px = x)
        fixed (T* pc = col)
        {
            T* row = pc;
            for (int n = n0; n < n1; n++)
            {
                T* img = px + (long)n * image;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    for (int ow = 0; ow < g.OW; ow++, row += k)
                    {
                        int iw0 = ow * g.SW - g.PadLeft;
                        for (int kh = 0, j = 0; kh < g.KH; kh++, j += rowRun)
                        {
                            int ih = oh * g.SH - g.PadTop + kh * g.DH;
                            if ((uint)ih >= (uint)g.H)
                            {
                                Copy(null, row + j, rowRun, pad);
                                continue;
                            }
                            T* line = img + (long)ih * g.W * c;
                            if (g.DW == 1)
                            {
                                // Taps [a, b) fall inside the image; those before a and from b on are padding.
                                int a = Math.Clamp(-iw0, 0, g.KW), b = Math.Clamp(g.W - iw0, a, g.KW);
                                Copy(null, row + j, a * c, pad);
                                Copy(line + (iw0 + a) * c, row + j + a * c, (b - a) * c, pad);
                                Copy(null, row + j + b * c, (g.KW - b) * c, pad);
                                continue;
                            }
                            for (int kw = 0; kw < g.KW; kw++)
                            {
                                int iw = iw0 + kw * g.DW;
                                Copy((uint)iw < (uint)g.W ? line + iw * c : null, row + j + kw * c, c, pad);
                            }
                        }
                    }
                }
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Copy<T>(T* src, T* dst, int n, T pad) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Copy((float*)src, (float*)dst, n); // float images pad with zeros
            return;
        }
        if (src is null)
            new Span<T>(dst, n).Fill(pad);
        else
            new ReadOnlySpan<T>(src, n).CopyTo(new Span<T>(dst, n));
    }

    /// <summary>dst[0..n) = src[0..n), or zeros when src is null (short runs: a plain vector loop beats a library call's set-up).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* src, float* dst, int n)
    {
        int i = 0;
        if (V512.IsAccelerated)
            i = CopyVectors<Vector512<float>, V512>(src, dst, n, i);
        if (V256.IsAccelerated)
            i = CopyVectors<Vector256<float>, V256>(src, dst, n, i);
        if (V128.IsAccelerated)
            i = CopyVectors<Vector128<float>, V128>(src, dst, n, i);
        for (; i < n; i++)
            dst[i] = src is null ? 0 : src[i];
    }

    /// <summary>dst[i..] = src[i..] (zeros when src is null) in whole vectors; returns where it stopped.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int CopyVectors<TV, TS>(float* src, float* dst, int n, int i) where TV : struct where TS : struct, ISimd<TV>
    {
        if (src is null)
        {
            for (; i <= n - TS.Count; i += TS.Count)
                TS.Store(TS.Zero, dst + i);
            return i;
        }
        for (; i <= n - TS.Count; i += TS.Count)
            TS.Store(TS.Load(src + i), dst + i);
        return i;
    }

    /// <summary>dst[ch..] = Σ over the sources of src[source + ch..], in whole vectors of channels; returns where it stopped.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int SumSources<TV, TS>(float* src, ReadOnlySpan<int> sources, float* dst, int c, int ch)
        where TV : struct where TS : struct, ISimd<TV>
    {
        for (; ch <= c - TS.Count; ch += TS.Count)
        {
            var acc = TS.Zero;
            for (int i = 0; i < sources.Length; i++)
                acc = TS.Add(acc, TS.Load(src + sources[i] + ch));
            TS.Store(acc, dst + ch);
        }
        return ch;
    }

    /// <summary>
    /// The adjoint of <see cref="Expand"/>: dx [N, H, W, C] for images [n0, n1) (overwritten) = for
    /// each input pixel, the sum of the column values that <see cref="Expand"/> copied from it.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Fold(ReadOnlySpan<float> col, Span<float> dx, in Conv2DGeometry g, int n0, int n1)
    {
        int c = g.C, k = g.K, image = g.H * g.W * c;
        Span<int> sources = stackalloc int[g.KH * g.KW];
        fixed (float* pcol = col)
        fixed (float* pdx = dx)
        {
            for (int n = n0; n < n1; n++)
            {
                long colBase = (long)(n - n0) * g.OH * g.OW * k;
                for (int ih = 0; ih < g.H; ih++)
                {
                    for (int iw = 0; iw < g.W; iw++)
                    {
                        // The column positions (output pixel, tap) that read this pixel.
                        int count = 0;
                        for (int kh = 0; kh < g.KH; kh++)
                        {
                            int t = ih + g.PadTop - kh * g.DH, oh = g.SH == 1 ? t : t / g.SH; // (no division at stride 1)
                            if (t < 0 || oh >= g.OH || (g.SH != 1 && t % g.SH != 0))
                                continue;
                            for (int kw = 0; kw < g.KW; kw++)
                            {
                                int u = iw + g.PadLeft - kw * g.DW, ow = g.SW == 1 ? u : u / g.SW;
                                if (u < 0 || ow >= g.OW || (g.SW != 1 && u % g.SW != 0))
                                    continue;
                                sources[count++] = (oh * g.OW + ow) * k + (kh * g.KW + kw) * c;
                            }
                        }
                        float* dst = pdx + (long)n * image + (ih * g.W + iw) * c;
                        float* src = pcol + colBase;
                        int ch = 0;
                        if (V512.IsAccelerated)
                            ch = SumSources<Vector512<float>, V512>(src, sources[..count], dst, c, ch);
                        if (V256.IsAccelerated)
                            ch = SumSources<Vector256<float>, V256>(src, sources[..count], dst, c, ch);
                        if (V128.IsAccelerated)
                            ch = SumSources<Vector128<float>, V128>(src, sources[..count], dst, c, ch);
                        for (; ch < c; ch++)
                        {
                            float acc = 0;
                            for (int i = 0; i < count; i++)
                                acc += src[sources[i] + ch];
                            dst[ch] = acc;
                        }
                    }
                }
            }
        }
    }
}

/// <summary>The direct seven-loop convolution, for tests.</summary>
internal static class ConvReference
{
    /// <summary>y [N, OH, OW, F] = Σ x[n, ih, iw, c] · w[kh, kw, c, f] (zero padding).</summary>
    public static float[] Conv2D(float[] x, int n, float[] w, int f, in Conv2DGeometry g)
    {
        var y = new float[n * g.OH * g.OW * f];
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    for (int o = 0; o < f; o++)
                    {
                        double s = 0;
                        for (int kh = 0; kh < g.KH; kh++)
                            for (int kw = 0; kw < g.KW; kw++)
                            {
                                int ih = oh * g.SH - g.PadTop + kh * g.DH, iw = ow * g.SW - g.PadLeft + kw * g.DW;
                                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
                                    continue;
                                for (int c = 0; c < g.C; c++)
                                    s += x[((b * g.H + ih) * g.W + iw) * g.C + c] * w[((kh * g.KW + kw) * g.C + c) * f + o];
                            }
                        y[((b * g.OH + oh) * g.OW + ow) * f + o] = (float)s;
                    }
        return y;
    }

    /// <summary>The adjoint loops: dw = Σ x·dy over every tap, dx = Σ w·dy (zero padding receives nothing).</summary>
    public static (float[] Dw, float[] Dx) Conv2DBackward(float[] x, int n, float[] w, int f, in Conv2DGeometry g, float[] dy)
    {
        var dw = new double[w.Length];
        var dx = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    for (int kh = 0; kh < g.KH; kh++)
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int ih = oh * g.SH - g.PadTop + kh * g.DH, iw = ow * g.SW - g.PadLeft + kw * g.DW;
                            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
                                continue;
                            for (int c = 0; c < g.C; c++)
                                for (int o = 0; o < f; o++)
                                {
                                    double d = dy[((b * g.OH + oh) * g.OW + ow) * f + o];
                                    int xi = ((b * g.H + ih) * g.W + iw) * g.C + c, wi = ((kh * g.KW + kw) * g.C + c) * f + o;
                                    dw[wi] += x[xi] * d;
                                    dx[xi] += w[wi] * d;
                                }
                        }
        return (dw.Select(v => (float)v).ToArray(), dx.Select(v => (float)v).ToArray());
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Direct convolution for layers with few inputs per output (a small KH·KW·C, typically the first
/// layer on 1 or 3 channels), where im2col would copy runs of one or three floats and GEMM would
/// spend its time loading and storing C for a handful of multiply-adds. The forward computes one
/// NHWC output row [OW, F] at a time in register tiles of pixels × channels that stay in registers
/// across all the taps (kh, kw, c), starting from the bias, and stores each output once; pixels whose
/// window crosses the left or right border go one by one over the taps inside the image. The kernel
/// gradient adds x·dy[pixel, :] per tap over the range of columns where the tap falls inside the
/// image, reducing over a row's pixels in registers. Also: the row-vector helper of the engine that
/// adds bias rows, vectorized along the rows' width (the bias gradient is a column sum in `Summation`).
/// </summary>
internal static unsafe class DirectConvolution
{
    // The forward keeps a tile of output pixels × output channels in vector registers across every tap and
    // stores each output once. A tile is 6 pixels × 2 vectors (12 accumulators, 2 weight vectors and one
    // broadcast: 15 registers, which fits the 16 of AVX2 and SSE; AVX-512 and NEON have 32); 6 pixels × 1
    // vector takes an odd last vector, and one pixel at a time serves the window's border and rows too
    // narrow for a 6-pixel tile. Every tile walks a list of taps, (input offset, weight row offset) pairs
    // in (kh, kw, c) order, so one loop serves any channel count, stride, dilation and padding.

    /// <summary>Output pixels per register tile.</summary>
    private const int TilePixels = 6;

    /// <summary>
    /// yRow [OW, f] = bias (zero when null) + the taps of output row <paramref name="oh"/> of one image
    /// [H, W, C] (w is [KH·KW·C, f]); every output is written, nothing is read from yRow. Pixels whose
    /// whole window lies inside the image's columns go in 6-pixel tiles with no padding test (rows of the
    /// window above or below the image are left out of the row's tap list); the others go one by one,
    /// with their own list of the taps inside the image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardRow(float* image, float* w, float* bias, float* yRow, in Conv2DGeometry g, int f, int oh)
    {
        int k = g.K;
        // Two lists of up to k (input offset, weight offset) pairs: the row's (interior pixels) and one border
        // pixel's; on the stack up to 32 KB (k = 1024, far beyond the shapes the engine sends here by default).
        Span<nint> lists = k <= 1024 ? stackalloc nint[4 * k] : new nint[4 * k];
        fixed (nint* taps = lists)
        {
            nint* border = taps + 2 * k;
            int count = Taps(g, f, oh, -1, taps);
            var (lo, hi) = InteriorColumns(g);
            int step = g.SW * g.C;
            if (hi - lo >= TilePixels)
            {
                // The last tile ends at hi and may overlap the one before: the overlap is recomputed and
                // stored again with the same bits, cheaper than a tile of 1..5 pixels.
                for (int ow = lo; ; ow += TilePixels)
                {
                    ow = Math.Min(ow, hi - TilePixels);
                    ForwardTile(PixelOrigin(image, g, ow), step, w, taps, count, bias, yRow + (long)ow * f, f);
                    if (ow == hi - TilePixels)
                        break;
                }
            }
            else
            {
                for (int ow = lo; ow < hi; ow++)
                    ForwardPixel(PixelOrigin(image, g, ow), w, taps, count, bias, yRow + (long)ow * f, f);
            }
            for (int ow = 0; ow < lo; ow++)
                ForwardPixel(PixelOrigin(image, g, ow), w, border, Taps(g, f, oh, ow, border), bias, yRow + (long)ow * f, f);
            for (int ow = hi; ow < g.OW; ow++)
                ForwardPixel(PixelOrigin(image, g, ow), w, border, Taps(g, f, oh, ow, border), bias, yRow + (long)ow * f, f);
        }
    }

    /// <summary>
    /// The taps of output row <paramref name="oh"/> whose input row is inside the image, as pairs (input
    /// offset from the pixel's origin, <see cref="PixelOrigin"/>; weight row offset, tap·f); with
    /// <paramref name="ow"/> ≥ 0, only those whose input column is inside the image too. Returns the count.
    /// </summary>
    private static int Taps(in Conv2DGeometry g, int f, int oh, int ow, nint* taps)
    {
        int n = 0;
        for (int kh = 0; kh < g.KH; kh++)
        {
            int ih = oh * g.SH - g.PadTop + kh * g.DH;
            if ((uint)ih >= (uint)g.H)
                continue;
            for (int kw = 0; kw < g.KW; kw++)
            {
                if (ow >= 0 && (uint)(ow * g.SW - g.PadLeft + kw * g.DW) >= (uint)g.W)
                    continue;
                for (int c = 0; c < g.C; c++, n++)
                {
                    taps[2 * n] = ((nint)ih * g.W + kw * g.DW) * g.C + c;
                    taps[2 * n + 1] = (nint)((kh * g.KW + kw) * g.C + c) * f;
                }
            }
        }
        return n;
    }

    /// <summary>Where output pixel ow's window starts in input row 0: x[0, ow·SW − PadLeft, 0] (left of the image for a left-border pixel; only its taps inside are read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* PixelOrigin(float* image, in Conv2DGeometry g, int ow) => image + (long)(ow * g.SW - g.PadLeft) * g.C;

    /// <summary>The output columns [lo, hi) whose every tap column kw·DW + ow·SW − PadLeft lies in [0, W).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (int Lo, int Hi) InteriorColumns(in Conv2DGeometry g)
    {
        int lo = Math.Min(g.OW, (g.PadLeft + g.SW - 1) / g.SW);
        int last = g.W - 1 - (g.KW - 1) * g.DW + g.PadLeft; // the largest ow·SW that keeps the last tap inside
        int hi = last < 0 ? 0 : Math.Min(g.OW, last / g.SW + 1);
        return (lo, Math.Max(lo, hi));
    }

    /// <summary>y [6, f] = bias + Σ over the taps of x[p·step + offset]·w[weight row, :] for the 6 pixels p of a tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a micro-kernel: fully optimized from its first call
    private static void ForwardTile(float* x, int step, float* w, nint* taps, int count, float* bias, float* y, int f)
    {
        int j = 0;
        if (V512.IsAccelerated)
            j = TileColumns<Vector512<float>, V512>(x, step, w, taps, count, bias, y, f, j);
        if (V256.IsAccelerated)
            j = TileColumns<Vector256<float>, V256>(x, step, w, taps, count, bias, y, f, j);
        if (V128.IsAccelerated)
            j = TileColumns<Vector128<float>, V128>(x, step, w, taps, count, bias, y, f, j);
        if (j < f) // channels left over by the vectors (the call itself cost a sixth of a 3×3 tile's time when there were none)
        {
            for (int p = 0; p < TilePixels; p++)
                ScalarColumns(x + (long)p * step, w, taps, count, bias, y + (long)p * f, f, j);
        }
    }

    /// <summary>y [f] = bias + Σ over the taps of x[offset]·w[weight row, :] for one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPixel(float* x, float* w, nint* taps, int count, float* bias, float* y, int f)
    {
        int j = 0;
        if (V512.IsAccelerated)
            j = PixelColumns<Vector512<float>, V512>(x, w, taps, count, bias, y, f, j);
        if (V256.IsAccelerated)
            j = PixelColumns<Vector256<float>, V256>(x, w, taps, count, bias, y, f, j);
        if (V128.IsAccelerated)
            j = PixelColumns<Vector128<float>, V128>(x, w, taps, count, bias, y, f, j);
        if (j < f)
            ScalarColumns(x, w, taps, count, bias, y, f, j);
    }

    /// <summary>The scalar tail of one pixel: channels [j, f), one at a time.</summary>
    private static void ScalarColumns(float* x, float* w, nint* taps, int count, float* bias, float* y, int f, int j)
    {
        for (; j < f; j++)
        {
            float acc = bias is null ? 0f : bias[j];
            for (nint* t = taps, end = taps + 2 * count; t < end; t += 2)
                acc += x[t[0]] * w[t[1] + j];
            y[j] = acc;
        }
    }

    // The vector tiles, written once over the width: each covers whole vectors of the f channels from j
    // and returns where it stopped.

    /// <summary>6 pixels × channels [j, ...): pairs of vectors, then one odd vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TileColumns<TV, TS>(float* x, int step, float* w, nint* taps, int count, float* bias, float* y, int f, int j)
        where TV : struct where TS : struct, ISimd<TV>
    {
        for (; j <= f - 2 * TS.Count; j += 2 * TS.Count)
            Tile6x2<TV, TS>(x, step, w + j, taps, count, bias is null ? null : bias + j, y + j, f);
        if (j <= f - TS.Count)
        {
            Tile6x1<TV, TS>(x, step, w + j, taps, count, bias is null ? null : bias + j, y + j, f);
            j += TS.Count;
        }
        return j;
    }

    /// <summary>One pixel × channels [j, ...): pairs of vectors, then one odd vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PixelColumns<TV, TS>(float* x, float* w, nint* taps, int count, float* bias, float* y, int f, int j)
        where TV : struct where TS : struct, ISimd<TV>
    {
        for (; j <= f - 2 * TS.Count; j += 2 * TS.Count)
        {
            TV a0 = bias is null ? TS.Zero : TS.Load(bias + j), a1 = bias is null ? TS.Zero : TS.Load(bias + j + TS.Count);
            for (nint* t = taps, end = taps + 2 * count; t < end; t += 2)
            {
                var v = TS.Create(x[t[0]]);
                float* wt = w + t[1] + j;
                a0 = TS.FusedMultiplyAdd(v, TS.Load(wt), a0);
                a1 = TS.FusedMultiplyAdd(v, TS.Load(wt + TS.Count), a1);
            }
            TS.Store(a0, y + j);
            TS.Store(a1, y + j + TS.Count);
        }
        if (j <= f - TS.Count)
        {
            TV a0 = bias is null ? TS.Zero : TS.Load(bias + j);
            for (nint* t = taps, end = taps + 2 * count; t < end; t += 2)
                a0 = TS.FusedMultiplyAdd(TS.Create(x[t[0]]), TS.Load(w + t[1] + j), a0);
            TS.Store(a0, y + j);
            j += TS.Count;
        }
        return j;
    }

    /// <summary>y[p·f ..][0, 2·Count) for the 6 pixels p: 12 accumulators, each tap loads two weight vectors and broadcasts six inputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile6x2<TV, TS>(float* x, int step, float* w, nint* taps, int count, float* bias, float* y, int f)
        where TV : struct where TS : struct, ISimd<TV>
    {
        TV b0 = bias is null ? TS.Zero : TS.Load(bias), b1 = bias is null ? TS.Zero : TS.Load(bias + TS.Count);
        TV a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1;
        TV a30 = b0, a31 = b1, a40 = b0, a41 = b1, a50 = b0, a51 = b1;
        float* x0 = x, x1 = x + step, x2 = x + 2 * step, x3 = x + 3 * step, x4 = x + 4 * step, x5 = x + 5 * step;
        for (nint* t = taps, end = taps + 2 * count; t < end; t += 2)
        {
            nint o = t[0];
            float* wt = w + t[1];
            TV w0 = TS.Load(wt), w1 = TS.Load(wt + TS.Count);
            TV v = TS.Create(x0[o]);
            a00 = TS.FusedMultiplyAdd(v, w0, a00);
            a01 = TS.FusedMultiplyAdd(v, w1, a01);
            v = TS.Create(x1[o]);
            a10 = TS.FusedMultiplyAdd(v, w0, a10);
            a11 = TS.FusedMultiplyAdd(v, w1, a11);
            v = TS.Create(x2[o]);
            a20 = TS.FusedMultiplyAdd(v, w0, a20);
            a21 = TS.FusedMultiplyAdd(v, w1, a21);
            v = TS.Create(x3[o]);
            a30 = TS.FusedMultiplyAdd(v, w0, a30);
            a31 = TS.FusedMultiplyAdd(v, w1, a31);
            v = TS.Create(x4[o]);
            a40 = TS.FusedMultiplyAdd(v, w0, a40);
            a41 = TS.FusedMultiplyAdd(v, w1, a41);
            v = TS.Create(x5[o]);
            a50 = TS.FusedMultiplyAdd(v, w0, a50);
            a51 = TS.FusedMultiplyAdd(v, w1, a51);
        }
        int c = TS.Count;
        TS.Store(a00, y);
        TS.Store(a01, y + c);
        TS.Store(a10, y + f);
        TS.Store(a11, y + f + c);
        TS.Store(a20, y + 2 * f);
        TS.Store(a21, y + 2 * f + c);
        TS.Store(a30, y + 3 * f);
        TS.Store(a31, y + 3 * f + c);
        TS.Store(a40, y + 4 * f);
        TS.Store(a41, y + 4 * f + c);
        TS.Store(a50, y + 5 * f);
        TS.Store(a51, y + 5 * f + c);
    }

    /// <summary>y[p·f ..][0, Count) for the 6 pixels p: six accumulators (six FMA chains, enough to hide the latency).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile6x1<TV, TS>(float* x, int step, float* w, nint* taps, int count, float* bias, float* y, int f)
        where TV : struct where TS : struct, ISimd<TV>
    {
        TV b = bias is null ? TS.Zero : TS.Load(bias);
        TV a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b;
        float* x0 = x, x1 = x + step, x2 = x + 2 * step, x3 = x + 3 * step, x4 = x + 4 * step, x5 = x + 5 * step;
        for (nint* t = taps, end = taps + 2 * count; t < end; t += 2)
        {
            nint o = t[0];
            TV wv = TS.Load(w + t[1]);
            a0 = TS.FusedMultiplyAdd(TS.Create(x0[o]), wv, a0);
            a1 = TS.FusedMultiplyAdd(TS.Create(x1[o]), wv, a1);
            a2 = TS.FusedMultiplyAdd(TS.Create(x2[o]), wv, a2);
            a3 = TS.FusedMultiplyAdd(TS.Create(x3[o]), wv, a3);
            a4 = TS.FusedMultiplyAdd(TS.Create(x4[o]), wv, a4);
            a5 = TS.FusedMultiplyAdd(TS.Create(x5[o]), wv, a5);
        }
        TS.Store(a0, y);
        TS.Store(a1, y + f);
        TS.Store(a2, y + 2 * f);
        TS.Store(a3, y + 3 * f);
        TS.Store(a4, y + 4 * f);
        TS.Store(a5, y + 5 * f);
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

    // The gradient's vector loop, written once over the width: it covers whole vectors of the f columns
    // from j and returns where it stopped.

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

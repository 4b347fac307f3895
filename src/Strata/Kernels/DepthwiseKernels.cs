using System.Numerics.Tensors;

namespace Strata.Kernels;

/// <summary>
/// Depthwise convolution over NHWC: output channel c·M + m of each pixel is the window of input
/// channel c weighted by kernel[kh, kw, c, m]. Direct loops over each output pixel's valid taps;
/// with a multiplier of 1 every tap is one vector multiply-add across the channels.
/// </summary>
internal static class DepthwiseKernels
{
    /// <summary>y [n, OH, OW, C·M] from x [n, H, W, C] and w [KH, KW, C, M].</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, int n, in Conv2DGeometry g, int m)
    {
        int c = g.C, cm = c * m;
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    var dst = y.Slice(((b * g.OH + oh) * g.OW + ow) * cm, cm);
                    dst.Clear();
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ih = oh * g.SH - g.PadTop + kh * g.DH;
                        if ((uint)ih >= (uint)g.H)
                            continue;
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int iw = ow * g.SW - g.PadLeft + kw * g.DW;
                            if ((uint)iw >= (uint)g.W)
                                continue;
                            var src = x.Slice(((b * g.H + ih) * g.W + iw) * c, c);
                            var wt = w.Slice((kh * g.KW + kw) * cm, cm);
                            if (m == 1)
                            {
                                TensorPrimitives.MultiplyAdd(src, wt, dst, dst);
                                continue;
                            }
                            for (int ch = 0; ch < c; ch++)
                                for (int j = 0; j < m; j++)
                                    dst[ch * m + j] += src[ch] * wt[ch * m + j];
                        }
                    }
                }
    }

    /// <summary>dw = Σ x·dy per tap and dx = Σ w·dy (each skipped when empty; both overwritten).</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dy, Span<float> dw, Span<float> dx,
        int n, in Conv2DGeometry g, int m)
    {
        int c = g.C, cm = c * m;
        dw.Clear();
        dx.Clear();
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    var grad = dy.Slice(((b * g.OH + oh) * g.OW + ow) * cm, cm);
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ih = oh * g.SH - g.PadTop + kh * g.DH;
                        if ((uint)ih >= (uint)g.H)
                            continue;
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int iw = ow * g.SW - g.PadLeft + kw * g.DW;
                            if ((uint)iw >= (uint)g.W)
                                continue;
                            int at = ((b * g.H + ih) * g.W + iw) * c, tap = (kh * g.KW + kw) * cm;
                            var src = x.Slice(at, c);
                            var wt = w.Slice(tap, cm);
                            if (m == 1)
                            {
                                if (!dw.IsEmpty)
                                    TensorPrimitives.MultiplyAdd(src, grad, dw.Slice(tap, cm), dw.Slice(tap, cm));
                                if (!dx.IsEmpty)
                                    TensorPrimitives.MultiplyAdd(wt, grad, dx.Slice(at, c), dx.Slice(at, c));
                                continue;
                            }
                            for (int ch = 0; ch < c; ch++)
                                for (int j = 0; j < m; j++)
                                {
                                    float d = grad[ch * m + j];
                                    if (!dw.IsEmpty)
                                        dw[tap + ch * m + j] += src[ch] * d;
                                    if (!dx.IsEmpty)
                                        dx[at + ch] += wt[ch * m + j] * d;
                                }
                        }
                    }
                }
    }
}

/// <summary>The direct loops of a depthwise convolution, for tests.</summary>
internal static class DepthwiseReference
{
    public static float[] Forward(float[] x, int n, float[] w, int m, in Conv2DGeometry g)
    {
        var y = new float[n * g.OH * g.OW * g.C * m];
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    for (int c = 0; c < g.C; c++)
                        for (int j = 0; j < m; j++)
                        {
                            double s = 0;
                            for (int kh = 0; kh < g.KH; kh++)
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int ih = oh * g.SH - g.PadTop + kh * g.DH, iw = ow * g.SW - g.PadLeft + kw * g.DW;
                                    if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                                        s += x[((b * g.H + ih) * g.W + iw) * g.C + c] * w[((kh * g.KW + kw) * g.C + c) * m + j];
                                }
                            y[((b * g.OH + oh) * g.OW + ow) * g.C * m + c * m + j] = (float)s;
                        }
        return y;
    }
}

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
}

/// <summary>
/// im2col / col2im for NHWC: each output pixel becomes one row of KH·KW·C values (zeros where the
/// window hangs over the padding), so a convolution is one GEMM with the [K, F] kernel. The copies
/// move C contiguous floats at a time.
/// </summary>
internal static class Im2Col
{
    /// <summary>Rows for images [n0, n1) of x [N, H, W, C] into col [(n1 − n0)·OH·OW, K].</summary>
    public static void Expand(ReadOnlySpan<float> x, Span<float> col, in Conv2DGeometry g, int n0, int n1) =>
        Walk(new CopyIn(), Writable(x), col, g, n0, n1); // CopyIn only reads the images

    /// <summary>The adjoint of <see cref="Expand"/>: adds each row's values back into dx [N, H, W, C] for images [n0, n1).</summary>
    public static void Fold(ReadOnlySpan<float> col, Span<float> dx, in Conv2DGeometry g, int n0, int n1) =>
        Walk(new AddBack(), dx, Writable(col), g, n0, n1); // AddBack only reads the columns

    private static Span<float> Writable(ReadOnlySpan<float> s) =>
        System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(s), s.Length);

    /// <summary>What happens between one C-long run of an image and its place in a column row.</summary>
    private interface IRunOp
    {
        /// <param name="image">The image's run, or empty where the window is over the padding.</param>
        /// <param name="column">The run's place in the column row.</param>
        void Invoke(Span<float> image, Span<float> column);
    }

    /// <summary>im2col: the image run into the row, zeros for padding.</summary>
    private readonly struct CopyIn : IRunOp
    {
        public void Invoke(Span<float> image, Span<float> column)
        {
            if (image.IsEmpty)
                column.Clear();
            else
                image.CopyTo(column);
        }
    }

    /// <summary>col2im: the row's values added back onto the image run; padding receives nothing.</summary>
    private readonly struct AddBack : IRunOp
    {
        public void Invoke(Span<float> image, Span<float> column)
        {
            if (!image.IsEmpty)
                System.Numerics.Tensors.TensorPrimitives.Add(image, column, image);
        }
    }

    /// <summary>
    /// Visits every (output pixel, kh) of images [n0, n1) with its image runs and its column runs:
    /// without dilation the kw taps of one window row are adjacent in the image, so they move as one
    /// run of up to KW·C floats (the part over the left or right padding as separate empty runs).
    /// </summary>
    private static void Walk<TOp>(TOp op, Span<float> images, Span<float> col, in Conv2DGeometry g, int n0, int n1)
        where TOp : struct, IRunOp
    {
        int c = g.C, k = g.K, image = g.H * g.W * c, rowRun = g.KW * c;
        int r = 0;
        for (int n = n0; n < n1; n++)
        {
            var img = images.Slice(n * image, image);
            for (int oh = 0; oh < g.OH; oh++)
            {
                for (int ow = 0; ow < g.OW; ow++, r++)
                {
                    var row = col.Slice(r * k, k);
                    int iw0 = ow * g.SW - g.PadLeft;
                    for (int kh = 0, j = 0; kh < g.KH; kh++, j += rowRun)
                    {
                        int ih = oh * g.SH - g.PadTop + kh * g.DH;
                        if ((uint)ih >= (uint)g.H)
                        {
                            op.Invoke([], row.Slice(j, rowRun));
                            continue;
                        }
                        var line = img.Slice(ih * g.W * c, g.W * c);
                        if (g.DW == 1)
                        {
                            // Taps [a, b) fall inside the image; those before a and from b on are padding.
                            int a = Math.Clamp(-iw0, 0, g.KW), b = Math.Clamp(g.W - iw0, a, g.KW);
                            if (a > 0)
                                op.Invoke([], row.Slice(j, a * c));
                            if (b > a)
                                op.Invoke(line.Slice((iw0 + a) * c, (b - a) * c), row.Slice(j + a * c, (b - a) * c));
                            if (b < g.KW)
                                op.Invoke([], row.Slice(j + b * c, (g.KW - b) * c));
                            continue;
                        }
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int iw = iw0 + kw * g.DW;
                            op.Invoke((uint)iw < (uint)g.W ? line.Slice(iw * c, c) : [], row.Slice(j + kw * c, c));
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

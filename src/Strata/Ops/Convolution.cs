using System.Buffers;
using Strata.Kernels;

namespace Strata;

/// <summary>How a sliding window treats the border: "valid" (no padding) or "same" (output = ⌈input / stride⌉).</summary>
public enum Padding
{
    Valid,
    Same,
}

public sealed partial class Tensor
{
    // The im2col buffer holds at most this many floats (16 MB); larger batches go in chunks of images.
    private const int ColumnBudget = 4 << 20;

    /// <summary>
    /// 2-D convolution (cross-correlation, as in every framework) over NHWC data: x [N, H, W, C] with
    /// a kernel [KH, KW, C, F] gives [N, OH, OW, F]. Computed as im2col + GEMM; ∂/∂kernel = colᵀ·g and
    /// ∂/∂x = col2im(g·kernelᵀ).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong ranks, channel counts that differ, sizes below 1, or a window larger than the padded input.</exception>
    public static Tensor Conv2D(Tensor x, Tensor kernel, (int Height, int Width)? strides = null, Padding padding = Padding.Valid,
        (int Height, int Width)? dilation = null)
    {
        var (sh, sw) = strides ?? (1, 1);
        var (dh, dw) = dilation ?? (1, 1);
        if (x.Rank != 4)
            throw new ArgumentException($"conv2d: input must be [batch, height, width, channels], got {x.Shape}");
        if (kernel.Rank != 4)
            throw new ArgumentException($"conv2d: kernel must be [height, width, in_channels, filters], got {kernel.Shape}");
        if (kernel.Shape[2] != x.Shape[3])
            throw new ArgumentException($"conv2d: kernel {kernel.Shape} expects {kernel.Shape[2]} input channels, input {x.Shape} has {x.Shape[3]}");
        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || kernel.Size == 0)
            throw new ArgumentException($"conv2d: strides ({sh}, {sw}), dilation ({dh}, {dw}) and kernel {kernel.Shape} must all be at least 1");
        int n = x.Shape[0], f = kernel.Shape[3];
        var g = Conv2DGeometry.Create(x.Shape[1], x.Shape[2], x.Shape[3], kernel.Shape[0], kernel.Shape[1], sh, sw, dh, dw, padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"conv2d: the window {kernel.Shape[0]}×{kernel.Shape[1]} (dilation {dh}×{dw}) is larger than the {padding.ToString().ToLowerInvariant()}-padded input {x.Shape[1]}×{x.Shape[2]}");

        var y = Empty(new Shape(n, g.OH, g.OW, f));
        int perImage = g.OH * g.OW, chunk = ImagesPerChunk(perImage, g.K, n);
        var col = ArrayPool<float>.Shared.Rent(chunk * perImage * g.K);
        try
        {
            for (int n0 = 0; n0 < n; n0 += chunk)
            {
                int n1 = Math.Min(n, n0 + chunk), rows = (n1 - n0) * perImage;
                Im2Col.Expand(x.Span, col, g, n0, n1);
                Gemm.Sgemm(false, false, rows, f, g.K, 1f, col, g.K, kernel.Span, f, 0f, y.Data.Slice(n0 * perImage * f, rows * f), f);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
        }

        if (NeedsGrad(x, kernel))
            y.Record("conv2d", grad => Conv2DBackward(x, kernel, grad, g), x, kernel);
        return y;
    }

    private static void Conv2DBackward(Tensor x, Tensor kernel, Tensor grad, Conv2DGeometry g)
    {
        int n = x.Shape[0], f = kernel.Shape[3], perImage = g.OH * g.OW, chunk = ImagesPerChunk(perImage, g.K, n);
        var dk = kernel.RequiresGrad ? Empty(kernel.Shape) : null;
        var dx = x.RequiresGrad ? Zeros(x.Shape.ToArray()) : null;
        var col = ArrayPool<float>.Shared.Rent(chunk * perImage * g.K);
        try
        {
            for (int n0 = 0; n0 < n; n0 += chunk)
            {
                int n1 = Math.Min(n, n0 + chunk), rows = (n1 - n0) * perImage;
                var gs = grad.Span.Slice(n0 * perImage * f, rows * f);
                if (dk is not null)
                {
                    Im2Col.Expand(x.Span, col, g, n0, n1);
                    Gemm.Sgemm(true, false, g.K, f, rows, 1f, col, g.K, gs, f, n0 == 0 ? 0f : 1f, dk.Data, f);
                }
                if (dx is not null)
                {
                    Gemm.Sgemm(false, true, rows, g.K, f, 1f, gs, f, kernel.Span, f, 0f, col, g.K);
                    Im2Col.Fold(col, dx.Data, g, n0, n1);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
        }
        if (dk is not null)
            kernel.Flow(dk, true);
        if (dx is not null)
            x.Flow(dx, true);
    }

    private static int ImagesPerChunk(int rowsPerImage, int k, int n) =>
        Math.Clamp(ColumnBudget / Math.Max(1, rowsPerImage * k), 1, Math.Max(1, n));

    /// <summary>
    /// Max pooling over NHWC windows: [N, H, W, C] → [N, OH, OW, C]. With "same" padding the window
    /// only sees real positions. The gradient goes to the (first) maximum of each window.
    /// </summary>
    public static Tensor MaxPool2D(Tensor x, (int Height, int Width) poolSize, (int Height, int Width)? strides = null, Padding padding = Padding.Valid) =>
        Pool2D(x, poolSize, strides, padding, max: true);

    /// <summary>
    /// Average pooling over NHWC windows: [N, H, W, C] → [N, OH, OW, C]; with "same" padding each
    /// window averages the real positions only (Keras' behaviour).
    /// </summary>
    public static Tensor AvgPool2D(Tensor x, (int Height, int Width) poolSize, (int Height, int Width)? strides = null, Padding padding = Padding.Valid) =>
        Pool2D(x, poolSize, strides, padding, max: false);

    private static Tensor Pool2D(Tensor x, (int Height, int Width) pool, (int Height, int Width)? strides, Padding padding, bool max)
    {
        string op = max ? "max_pool2d" : "avg_pool2d";
        var (sh, sw) = strides ?? pool;
        if (x.Rank != 4)
            throw new ArgumentException($"{op}: input must be [batch, height, width, channels], got {x.Shape}");
        if (pool.Height < 1 || pool.Width < 1 || sh < 1 || sw < 1)
            throw new ArgumentException($"{op}: pool size ({pool.Height}, {pool.Width}) and strides ({sh}, {sw}) must be at least 1");
        var g = Conv2DGeometry.Create(x.Shape[1], x.Shape[2], x.Shape[3], pool.Height, pool.Width, sh, sw, 1, 1, padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"{op}: the window {pool.Height}×{pool.Width} is larger than the input {x.Shape[1]}×{x.Shape[2]}");
        int n = x.Shape[0], c = g.C;
        var y = Empty(new Shape(n, g.OH, g.OW, c));
        var xs = x.Span;
        var ys = y.Data;
        int[]? argmax = max && NeedsGrad(x) ? new int[y.Size] : null;
        for (int b = 0; b < n; b++)
        {
            for (int oh = 0; oh < g.OH; oh++)
            {
                int h0 = Math.Max(0, oh * sh - g.PadTop), h1 = Math.Min(g.H, oh * sh - g.PadTop + g.KH);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int w0 = Math.Max(0, ow * sw - g.PadLeft), w1 = Math.Min(g.W, ow * sw - g.PadLeft + g.KW);
                    int o = ((b * g.OH + oh) * g.OW + ow) * c;
                    var dst = ys.Slice(o, c);
                    bool first = true;
                    for (int ih = h0; ih < h1; ih++)
                    {
                        for (int iw = w0; iw < w1; iw++)
                        {
                            int src = ((b * g.H + ih) * g.W + iw) * c;
                            var row = xs.Slice(src, c);
                            if (first)
                            {
                                row.CopyTo(dst);
                                if (argmax is not null)
                                    for (int ch = 0; ch < c; ch++)
                                        argmax[o + ch] = src + ch;
                                first = false;
                            }
                            else if (!max)
                            {
                                System.Numerics.Tensors.TensorPrimitives.Add(dst, row, dst);
                            }
                            else if (argmax is null)
                            {
                                System.Numerics.Tensors.TensorPrimitives.Max(dst, row, dst);
                            }
                            else
                            {
                                for (int ch = 0; ch < c; ch++)
                                {
                                    if (row[ch] > dst[ch])
                                    {
                                        dst[ch] = row[ch];
                                        argmax[o + ch] = src + ch;
                                    }
                                }
                            }
                        }
                    }
                    if (!max)
                        System.Numerics.Tensors.TensorPrimitives.Multiply(dst, 1f / ((h1 - h0) * (w1 - w0)), dst);
                }
            }
        }

        if (NeedsGrad(x))
        {
            y.Record(op, grad =>
            {
                var dx = Zeros(x.Shape.ToArray());
                var d = dx.Data;
                var gsp = grad.Span;
                if (argmax is not null)
                {
                    for (int i = 0; i < argmax.Length; i++)
                        d[argmax[i]] += gsp[i];
                }
                else
                {
                    for (int b = 0; b < n; b++)
                        for (int oh = 0; oh < g.OH; oh++)
                        {
                            int h0 = Math.Max(0, oh * sh - g.PadTop), h1 = Math.Min(g.H, oh * sh - g.PadTop + g.KH);
                            for (int ow = 0; ow < g.OW; ow++)
                            {
                                int w0 = Math.Max(0, ow * sw - g.PadLeft), w1 = Math.Min(g.W, ow * sw - g.PadLeft + g.KW);
                                var share = grad.Span.Slice(((b * g.OH + oh) * g.OW + ow) * c, c);
                                float scale = 1f / ((h1 - h0) * (w1 - w0));
                                for (int ih = h0; ih < h1; ih++)
                                    for (int iw = w0; iw < w1; iw++)
                                    {
                                        var dst = d.Slice(((b * g.H + ih) * g.W + iw) * c, c);
                                        for (int ch = 0; ch < c; ch++)
                                            dst[ch] += share[ch] * scale;
                                    }
                            }
                        }
                }
                x.Flow(dx, true);
            }, x);
        }
        return y;
    }
}

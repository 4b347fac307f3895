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
    /// <summary>
    /// 2-D convolution (cross-correlation, as in every framework) over NHWC data: x [N, H, W, C] with
    /// a kernel [KH, KW, C, F] gives [N, OH, OW, F]. Computed as im2col + GEMM (see
    /// <see cref="ConvolutionEngine"/>); ∂/∂kernel = colᵀ·g and ∂/∂x = col2im(g·kernelᵀ).
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
        ConvEngine.Forward(x.Span, kernel.Span, [], y.Data, n, g, f, null);
        if (NeedsGrad(x, kernel))
            y.Record("conv2d", grad => Conv2DBackward(x, kernel, grad, g), x, kernel);
        return y;
    }

    // The graph op's engine (column buffers reused by each thread; planned layers have their own).
    [ThreadStatic]
    private static ConvolutionEngine? t_convEngine;

    private static ConvolutionEngine ConvEngine => t_convEngine ??= new ConvolutionEngine();

    private static void Conv2DBackward(Tensor x, Tensor kernel, Tensor grad, Conv2DGeometry g)
    {
        int n = x.Shape[0], f = kernel.Shape[3];
        var dk = kernel.RequiresGrad ? Empty(kernel.Shape) : null;
        var dx = x.RequiresGrad ? Empty(x.Shape) : null;
        // With no prologue the engine only reads dy.
        ConvEngine.Backward(x.Span, kernel.Span, [], grad.Data, dk is null ? [] : dk.Data, [], dx is null ? [] : dx.Data, n, g, f, null);
        if (dk is not null)
            kernel.Flow(dk, true);
        if (dx is not null)
            x.Flow(dx, true);
    }

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
        int n = x.Shape[0];
        var y = Empty(new Shape(n, g.OH, g.OW, g.C));
        PoolKernels.Forward(max, x.Span, y.Data, g, 0, n);
        if (NeedsGrad(x))
        {
            y.Record(op, grad =>
            {
                var dx = Empty(x.Shape);
                PoolKernels.Backward(max, x.Span, y.Span, grad.Span, dx.Data, g, 0, n);
                x.Flow(dx, true);
            }, x);
        }
        return y;
    }
}

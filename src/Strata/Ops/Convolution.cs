using Strata.Kernels;
using Strata.Layers;
using Strata.Ops;

namespace Strata;

/// <summary>
/// How a sliding window treats the border: "valid" (no padding), "same" (output = ⌈input / stride⌉)
/// or, for 1-D convolutions only, "causal" (all padding on the left: output t sees inputs ≤ t).
/// </summary>
public enum Padding
{
    /// <summary>
    /// No padding: windows lie wholly inside the input, output = ⌊(input − window) / stride⌋ + 1 (with dilation, the dilated window).
    /// </summary>
    Valid,
    /// <summary>Zero padding around the input so that output = ⌈input / stride⌉.</summary>
    Same,
    /// <summary>1-D convolutions only: all the padding on the left, so output t sees inputs ≤ t.</summary>
    Causal,
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
        if (padding == Padding.Causal)
            throw new ArgumentException("conv2d: causal padding is for 1-D convolutions (Conv1D); use valid or same");
        var g = Conv2DGeometry.Create(x.Shape[1], x.Shape[2], x.Shape[3], kernel.Shape[0], kernel.Shape[1], sh, sw, dh, dw, padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"conv2d: the window {kernel.Shape[0]}×{kernel.Shape[1]} (dilation {dh}×{dw}) is larger than the {padding.ToString().ToLowerInvariant()}-padded input {x.Shape[1]}×{x.Shape[2]}");
        return Conv2D(x, kernel, g);
    }

    /// <summary>The convolution of x [N, g.H, g.W, g.C] with kernel [g.KH, g.KW, g.C, F] over a given geometry (checked by the callers).</summary>
    internal static Tensor Conv2D(Tensor x, Tensor kernel, Conv2DGeometry g) => Conv2D(x, kernel, null, g, ActivationFunction.Linear);

    /// <summary>
    /// The convolution with a bias [F] and an activation fused into it (applied to each output row
    /// while it is in cache; <paramref name="activation"/> must be <see cref="ActivationFunction.FusesFromOutput"/>
    /// or linear): what convolution layers call.
    /// </summary>
    internal static Tensor Conv2D(Tensor x, Tensor kernel, Tensor? bias, Conv2DGeometry g, ActivationFunction activation) =>
        Run(new Conv2DNode(x, kernel, bias, g, activation));

    // The ops' engine: column buffers reused by each thread.
    [ThreadStatic]
    private static ConvolutionEngine? t_convEngine;

    internal static ConvolutionEngine ConvEngine => t_convEngine ??= new ConvolutionEngine();

    /// <summary>
    /// 1-D convolution over [N, steps, C] with a kernel [K, C, F]: [N, OL, F] (valid, same or causal
    /// padding; causal pads dilation·(K − 1) zeros on the left, so output t only sees inputs up to t·stride).
    /// Runs as a 2-D convolution of height 1.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong ranks, channel counts that differ, sizes below 1, or a window longer than the padded input.</exception>
    public static Tensor Conv1D(Tensor x, Tensor kernel, int stride = 1, Padding padding = Padding.Valid, int dilation = 1)
    {
        if (x.Rank != 3)
            throw new ArgumentException($"conv1d: input must be [batch, steps, channels], got {x.Shape}");
        if (kernel.Rank != 3)
            throw new ArgumentException($"conv1d: kernel must be [width, in_channels, filters], got {kernel.Shape}");
        if (kernel.Shape[1] != x.Shape[2])
            throw new ArgumentException($"conv1d: kernel {kernel.Shape} expects {kernel.Shape[1]} input channels, input {x.Shape} has {x.Shape[2]}");
        if (stride < 1 || dilation < 1 || kernel.Size == 0)
            throw new ArgumentException($"conv1d: stride {stride}, dilation {dilation} and kernel {kernel.Shape} must all be at least 1");
        var g = Conv1DGeometry(x.Shape[1], x.Shape[2], kernel.Shape[0], stride, padding, dilation);
        if (g.OW < 1)
            throw new ArgumentException($"conv1d: the window {kernel.Shape[0]} (dilation {dilation}) is longer than the {padding.ToString().ToLowerInvariant()}-padded input of {x.Shape[1]} steps");
        int n = x.Shape[0], f = kernel.Shape[2];
        var y = Conv2D(x.Reshape(n, 1, g.W, g.C), kernel.Reshape(1, g.KW, g.C, f), g);
        return y.Reshape(n, g.OW, f);
    }

    /// <summary>A 1-D window as a 2-D geometry of height 1; causal padding puts dilation·(K − 1) zeros on the left.</summary>
    internal static Conv2DGeometry Conv1DGeometry(int steps, int channels, int k, int stride, Padding padding, int dilation)
    {
        if (padding != Padding.Causal)
            return Conv2DGeometry.Create(1, steps, channels, 1, k, 1, stride, 1, dilation, padding == Padding.Same);
        return new Conv2DGeometry(1, steps, channels, 1, k, 1, stride, 1, dilation, 0, dilation * (k - 1), 1, (steps + stride - 1) / stride);
    }

    /// <summary>
    /// Transposed 2-D convolution (the gradient of <see cref="Conv2D(Tensor, Tensor, ValueTuple{int, int}?, Padding, ValueTuple{int, int}?)"/>
    /// with respect to its input; "deconvolution" in generators): x [N, H, W, C] with a kernel
    /// [KH, KW, F, C] gives [N, OH, OW, F], OH = (H − 1)·stride + KH with valid padding and H·stride
    /// with same padding (Keras' Conv2DTranspose). Each input pixel scatters its kernel-weighted
    /// values onto a stride-spaced grid of the output.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong ranks, channel counts that differ, or sizes below 1.</exception>
    public static Tensor Conv2DTranspose(Tensor x, Tensor kernel, (int Height, int Width)? strides = null, Padding padding = Padding.Valid)
    {
        var (sh, sw) = strides ?? (1, 1);
        if (x.Rank != 4)
            throw new ArgumentException($"conv2d_transpose: input must be [batch, height, width, channels], got {x.Shape}");
        if (kernel.Rank != 4)
            throw new ArgumentException($"conv2d_transpose: kernel must be [height, width, filters, in_channels], got {kernel.Shape}");
        if (kernel.Shape[3] != x.Shape[3])
            throw new ArgumentException($"conv2d_transpose: kernel {kernel.Shape} expects {kernel.Shape[3]} input channels, input {x.Shape} has {x.Shape[3]}");
        if (sh < 1 || sw < 1 || kernel.Size == 0 || x.Shape[1] < 1 || x.Shape[2] < 1)
            throw new ArgumentException($"conv2d_transpose: strides ({sh}, {sw}), kernel {kernel.Shape} and input {x.Shape} must have sizes of at least 1");
        if (padding == Padding.Causal)
            throw new ArgumentException("conv2d_transpose: causal padding is for 1-D convolutions; use valid or same");
        var g = TransposeGeometry(x.Shape[1], x.Shape[2], kernel.Shape[0], kernel.Shape[1], kernel.Shape[2], sh, sw, padding);
        int n = x.Shape[0], c = x.Shape[3], f = kernel.Shape[2];
        return Run(new Conv2DTransposeNode(x, kernel, g, new Shape(n, g.H, g.W, f)));
    }

    /// <summary>The forward convolution whose input gradient a transposed convolution computes: from [OH, OW, F] to [H, W, C].</summary>
    internal static Conv2DGeometry TransposeGeometry(int h, int w, int kh, int kw, int f, int sh, int sw, Padding padding)
    {
        bool same = padding == Padding.Same;
        int oh = same ? h * sh : (h - 1) * sh + kh, ow = same ? w * sw : (w - 1) * sw + kw;
        var g = Conv2DGeometry.Create(oh, ow, f, kh, kw, sh, sw, 1, 1, same);
        if (g.OH != h || g.OW != w)
            throw new InvalidOperationException($"conv2d_transpose: geometry {g} does not map back to {h}×{w}");
        return g;
    }

    /// <summary>
    /// Depthwise 2-D convolution: each input channel is convolved with its own <c>M</c> filters
    /// (kernel [KH, KW, C, M], M the depth multiplier), giving [N, OH, OW, C·M] with output channel
    /// c·M + m from input channel c.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong ranks, channel counts that differ, sizes below 1, or a window larger than the padded input.</exception>
    public static Tensor DepthwiseConv2D(Tensor x, Tensor kernel, (int Height, int Width)? strides = null, Padding padding = Padding.Valid,
        (int Height, int Width)? dilation = null)
    {
        var (sh, sw) = strides ?? (1, 1);
        var (dh, dw) = dilation ?? (1, 1);
        if (x.Rank != 4)
            throw new ArgumentException($"depthwise_conv2d: input must be [batch, height, width, channels], got {x.Shape}");
        if (kernel.Rank != 4)
            throw new ArgumentException($"depthwise_conv2d: kernel must be [height, width, channels, multiplier], got {kernel.Shape}");
        if (kernel.Shape[2] != x.Shape[3])
            throw new ArgumentException($"depthwise_conv2d: kernel {kernel.Shape} expects {kernel.Shape[2]} channels, input {x.Shape} has {x.Shape[3]}");
        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || kernel.Size == 0)
            throw new ArgumentException($"depthwise_conv2d: strides ({sh}, {sw}), dilation ({dh}, {dw}) and kernel {kernel.Shape} must all be at least 1");
        if (padding == Padding.Causal)
            throw new ArgumentException("depthwise_conv2d: causal padding is for 1-D convolutions; use valid or same");
        var g = Conv2DGeometry.Create(x.Shape[1], x.Shape[2], x.Shape[3], kernel.Shape[0], kernel.Shape[1], sh, sw, dh, dw, padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"depthwise_conv2d: the window {kernel.Shape[0]}×{kernel.Shape[1]} (dilation {dh}×{dw}) is larger than the {padding.ToString().ToLowerInvariant()}-padded input {x.Shape[1]}×{x.Shape[2]}");
        int n = x.Shape[0], m = kernel.Shape[3];
        return Run(new DepthwiseNode(x, kernel, g, m, new Shape(n, g.OH, g.OW, g.C * m)));
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
        if (padding == Padding.Causal)
            throw new ArgumentException($"{op}: causal padding is for 1-D convolutions; use valid or same");
        var g = Conv2DGeometry.Create(x.Shape[1], x.Shape[2], x.Shape[3], pool.Height, pool.Width, sh, sw, 1, 1, padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"{op}: the window {pool.Height}×{pool.Width} is larger than the input {x.Shape[1]}×{x.Shape[2]}");
        return Pool2D(x, g, max);
    }

    /// <summary>Pooling over a checked geometry (the layers' form: global pooling is one window per image).</summary>
    internal static Tensor Pool2D(Tensor x, Conv2DGeometry g, bool max) => Run(new PoolNode(x, g, max));
}

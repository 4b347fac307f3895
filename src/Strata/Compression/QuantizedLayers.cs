using Strata.Autograd;
using Strata.Kernels;
using Strata.Layers;
using Strata.Ops;

namespace Strata.Compression;

/// <summary>The configuration of a <see cref="QuantizedDense"/> layer.</summary>
public sealed record QuantizedDenseConfig(string Name, int Units, ActivationFunction Activation, bool UseBias, bool Dynamic) : LayerConfig(Name);

/// <summary>
/// The configuration of a <see cref="QuantizedConvolution"/>: the float layer it replaces
/// (<c>Conv2D</c> or <c>Conv1D</c>), its filters and its geometry for the input it was quantized for
/// (input height, width, channels, window, strides, dilation, top/left padding, output height, width).
/// </summary>
public sealed record QuantizedConvolutionConfig(string Name, string Source, int Filters, int[] Geometry, ActivationFunction Activation,
    bool UseBias) : LayerConfig(Name);

/// <summary>
/// The configuration of a <see cref="QuantizedDepthwiseConvolution"/>: its depth multiplier and its
/// geometry for the input it was quantized for (as <see cref="QuantizedConvolutionConfig"/>'s).
/// </summary>
public sealed record QuantizedDepthwiseConvolutionConfig(string Name, int DepthMultiplier, int[] Geometry, ActivationFunction Activation,
    bool UseBias) : LayerConfig(Name);

/// <summary>
/// A Dense layer on int8: weights symmetric per output unit (codes −127..127 with a scale each), the
/// input quantized per tensor to 7-bit codes — with calibrated parameters (static) or each batch's
/// own range (dynamic, like PyTorch's quantize_dynamic) — one u8 × s8 GEMM with the bias, ReLU and the
/// output grid fused; any other activation (softmax at the end) runs in float on the result.
/// Weights: <c>kernel</c> [in, units] (stored as I8), <c>kernel_scale</c> [units], <c>activation_quant</c>
/// [input scale, input zero point, output scale, output zero point] (output scale 0: float output), <c>bias</c>.
/// Built by <see cref="Quantizer"/>; inference only.
/// </summary>
public sealed class QuantizedDense : Layer
{
    private readonly Int8WeightCache _cache = new();
    private Weight? _kernel, _scales, _quant, _bias;

    /// <param name="units">Output size.</param>
    /// <param name="activation">Linear and ReLU are fused; others run after, in float.</param>
    /// <param name="useBias">Whether there is a bias.</param>
    /// <param name="dynamic">Quantize each batch with its own range (no calibrated input parameters).</param>
    /// <param name="name">Layer name.</param>
    public QuantizedDense(int units, ActivationFunction? activation = null, bool useBias = true, bool dynamic = false, string? name = null) : base(name)
    {
        if (units < 1)
            throw new ArgumentOutOfRangeException(nameof(units), $"QuantizedDense: units must be at least 1, got {units}");
        Units = units;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
        Dynamic = dynamic;
    }

    /// <summary>Output size.</summary>
    public int Units { get; }
    /// <summary>The activation; linear and ReLU are fused into the integer GEMM, others run after it, in float.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether there is a bias.</summary>
    public bool UseBias { get; }
    /// <summary>True: each batch is quantized with its own range (no calibrated input parameters).</summary>
    public bool Dynamic { get; }

    /// <summary>The integer kernel [in, units].</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"QuantizedDense '{Name}' is not built yet");

    /// <summary>The scale of each unit's kernel column.</summary>
    public Weight KernelScale => _scales ?? throw new InvalidOperationException($"QuantizedDense '{Name}' is not built yet");

    /// <summary>[input scale, input zero point, output scale, output zero point].</summary>
    public Weight ActivationQuant => _quant ?? throw new InvalidOperationException($"QuantizedDense '{Name}' is not built yet");

    /// <summary>The float bias, or null.</summary>
    public Weight? Bias => _bias;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new([.. inputShape.Dims[..^1], Units]);

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank < 1 || inputShape[-1] < 1)
            throw new ArgumentException($"QuantizedDense '{Name}': expected input with a non-empty last axis, got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        (_kernel, _scales, _quant, _bias) = QuantizedWeights.Add(AddNamed, [inputShape[-1], Units], Units, UseBias);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) =>
        QuantizedWeights.Run(x, _kernel!, _scales!, _quant!, _bias, null, Activation, _cache, "quantized_dense");

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new QuantizedDenseConfig(Name, Units, Activation, UseBias, Dynamic);

    private Weight AddNamed(string name, int[] shape, bool int8)
    {
        var w = AddWeight(name, shape, Initializers.Zeros, trainable: false);
        w.StoredAsInt8 = int8;
        return w;
    }
}

/// <summary>
/// A Conv2D or Conv1D on int8 (NHWC; a 1-D convolution as height 1): the input quantized per tensor
/// with calibrated parameters, im2col on the codes (padding with the zero point), the u8 × s8 GEMM
/// with the bias, ReLU and the output grid fused. Weights as <see cref="QuantizedDense"/>'s, the
/// kernel as [KH·KW·C, filters]. Built by <see cref="Quantizer"/> for the input shape it was
/// calibrated on; inference only.
/// </summary>
public sealed class QuantizedConvolution : Layer
{
    private readonly Int8WeightCache _cache = new();
    private readonly Conv2DGeometry _g;
    private Weight? _kernel, _scales, _quant, _bias;

    /// <param name="source">The float layer's kind: "Conv2D" or "Conv1D".</param>
    /// <param name="filters">Output channels.</param>
    /// <param name="geometry">H, W, C, KH, KW, SH, SW, DH, DW, pad top, pad left, OH, OW.</param>
    /// <param name="activation">Linear and ReLU are fused; others run after, in float.</param>
    /// <param name="useBias">Whether there is a bias.</param>
    /// <param name="name">Layer name.</param>
    public QuantizedConvolution(string source, int filters, int[] geometry, ActivationFunction? activation = null, bool useBias = true,
        string? name = null) : base(name)
    {
        if (source is not ("Conv2D" or "Conv1D"))
            throw new ArgumentException($"QuantizedConvolution: the source layer must be Conv2D or Conv1D, got '{source}'");
        if (filters < 1)
            throw new ArgumentOutOfRangeException(nameof(filters), $"QuantizedConvolution: filters must be at least 1, got {filters}");
        _g = QuantizedWeights.Geometry(geometry, "QuantizedConvolution");
        if (source == "Conv1D" && _g.H != 1)
            throw new ArgumentException($"QuantizedConvolution: a Conv1D geometry has height 1, got {_g.H}");
        Source = source;
        Filters = filters;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
    }

    internal QuantizedConvolution(string source, int filters, Conv2DGeometry g, ActivationFunction activation, bool useBias, string? name)
        : this(source, filters, QuantizedWeights.Values(g), activation, useBias, name)
    {
    }

    /// <summary>The float layer this one replaces: "Conv2D" or "Conv1D".</summary>
    public string Source { get; }
    /// <summary>Output channels.</summary>
    public int Filters { get; }
    /// <summary>The activation; linear and ReLU are fused, others run after, in float.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether there is a bias per filter.</summary>
    public bool UseBias { get; }

    /// <summary>The integer kernel [KH·KW·C, filters].</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"QuantizedConvolution '{Name}' is not built yet");

    /// <summary>The scale of each filter.</summary>
    public Weight KernelScale => _scales ?? throw new InvalidOperationException($"QuantizedConvolution '{Name}' is not built yet");

    /// <summary>[input scale, input zero point, output scale, output zero point].</summary>
    public Weight ActivationQuant => _quant ?? throw new InvalidOperationException($"QuantizedConvolution '{Name}' is not built yet");

    /// <summary>The float bias, or null.</summary>
    public Weight? Bias => _bias;

    /// <summary>The window: height, width, strides, dilation, padding.</summary>
    internal Conv2DGeometry Geometry => _g;

    private Shape SampleShape => Source == "Conv1D" ? new Shape(_g.W, _g.C) : new Shape(_g.H, _g.W, _g.C);

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        ValidateInputShape(inputShape);
        return Source == "Conv1D" ? new Shape(_g.OW, Filters) : new Shape(_g.OH, _g.OW, Filters);
    }

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape != SampleShape)
            throw new ArgumentException($"QuantizedConvolution '{Name}': quantized for input [batch, {string.Join(", ", SampleShape.ToArray())}], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        (_kernel, _scales, _quant, _bias) = QuantizedWeights.Add(AddNamed, [_g.K, Filters], Filters, UseBias);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        int n = x.Shape[0];
        var y = QuantizedWeights.Run(x.Reshape(n, _g.H, _g.W, _g.C), _kernel!, _scales!, _quant!, _bias, _g, Activation, _cache, "quantized_conv");
        return y.Reshape([n, .. ComputeOutputShape(SampleShape).Dims]);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new QuantizedConvolutionConfig(Name, Source, Filters, QuantizedWeights.Values(_g), Activation, UseBias);

    private Weight AddNamed(string name, int[] shape, bool int8)
    {
        var w = AddWeight(name, shape, Initializers.Zeros, trainable: false);
        w.StoredAsInt8 = int8;
        return w;
    }
}

/// <summary>
/// A DepthwiseConv2D on int8 (NHWC): the input quantized per tensor with calibrated parameters, each
/// output channel's window summed on the codes with s32 sums (<see cref="Int8Depthwise"/>), then the
/// per-channel scale, the bias, ReLU and the output grid fused. Weights as
/// <see cref="QuantizedDense"/>'s, the kernel as [KH, KW, C, multiplier] with one scale per output
/// channel. Built by <see cref="Quantizer"/> for the input shape it was calibrated on; inference only.
/// </summary>
public sealed class QuantizedDepthwiseConvolution : Layer
{
    private readonly Int8WeightCache _cache = new();
    private readonly Conv2DGeometry _g;
    private Weight? _kernel, _scales, _quant, _bias;

    /// <param name="depthMultiplier">Output channels per input channel.</param>
    /// <param name="geometry">H, W, C, KH, KW, SH, SW, DH, DW, pad top, pad left, OH, OW.</param>
    /// <param name="activation">Linear and ReLU are fused; others run after, in float.</param>
    /// <param name="useBias">Whether there is a bias.</param>
    /// <param name="name">Layer name.</param>
    public QuantizedDepthwiseConvolution(int depthMultiplier, int[] geometry, ActivationFunction? activation = null, bool useBias = true,
        string? name = null) : base(name)
    {
        _g = QuantizedWeights.Geometry(geometry, "QuantizedDepthwiseConvolution");
        if (depthMultiplier < 1)
            throw new ArgumentOutOfRangeException(nameof(depthMultiplier), $"QuantizedDepthwiseConvolution: the depth multiplier must be at least 1, got {depthMultiplier}");
        DepthMultiplier = depthMultiplier;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
    }

    internal QuantizedDepthwiseConvolution(int depthMultiplier, Conv2DGeometry g, ActivationFunction activation, bool useBias, string? name)
        : this(depthMultiplier, QuantizedWeights.Values(g), activation, useBias, name)
    {
    }

    /// <summary>Output channels per input channel.</summary>
    public int DepthMultiplier { get; }
    /// <summary>The activation; linear and ReLU are fused, others run after, in float.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether there is a bias per output channel.</summary>
    public bool UseBias { get; }

    /// <summary>The integer kernel [KH, KW, C, multiplier].</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"QuantizedDepthwiseConvolution '{Name}' is not built yet");

    /// <summary>The scale of each output channel.</summary>
    public Weight KernelScale => _scales ?? throw new InvalidOperationException($"QuantizedDepthwiseConvolution '{Name}' is not built yet");

    /// <summary>[input scale, input zero point, output scale, output zero point].</summary>
    public Weight ActivationQuant => _quant ?? throw new InvalidOperationException($"QuantizedDepthwiseConvolution '{Name}' is not built yet");

    /// <summary>The float bias, or null.</summary>
    public Weight? Bias => _bias;

    /// <summary>The window: height, width, strides, dilation, padding.</summary>
    internal Conv2DGeometry Geometry => _g;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        ValidateInputShape(inputShape);
        return new Shape(_g.OH, _g.OW, _g.C * DepthMultiplier);
    }

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape != new Shape(_g.H, _g.W, _g.C))
            throw new ArgumentException($"QuantizedDepthwiseConvolution '{Name}': quantized for input [batch, {_g.H}, {_g.W}, {_g.C}], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        (_kernel, _scales, _quant, _bias) = QuantizedWeights.Add(AddNamed, [_g.KH, _g.KW, _g.C, DepthMultiplier], _g.C * DepthMultiplier, UseBias);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) =>
        QuantizedWeights.Run(Activation, "quantized_depthwise", (relu, op) =>
            new QuantizedDepthwiseNode(x, _kernel!.Value, _scales!.Value, _quant!.Value, _bias?.Value, _g, relu, _cache, op));

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new QuantizedDepthwiseConvolutionConfig(Name, DepthMultiplier, QuantizedWeights.Values(_g), Activation, UseBias);

    private Weight AddNamed(string name, int[] shape, bool int8)
    {
        var w = AddWeight(name, shape, Initializers.Zeros, trainable: false);
        w.StoredAsInt8 = int8;
        return w;
    }
}

/// <summary>What the quantized layers share: their weights and their call.</summary>
internal static class QuantizedWeights
{
    // add: the layer's own AddWeight (name, shape, stored as int8), non-trainable, zero-initialized.
    public static (Weight Kernel, Weight Scales, Weight Quant, Weight? Bias) Add(Func<string, int[], bool, Weight> add, int[] kernelShape, int units, bool useBias)
    {
        var kernel = add("kernel", kernelShape, true);
        var scales = add("kernel_scale", [units], false);
        var quant = add("activation_quant", [4], false);
        var bias = useBias ? add("bias", [units], false) : null;
        return (kernel, scales, quant, bias);
    }

    /// <summary>Whether the layer's GEMM epilogue applies this activation as ReLU (plain ReLU only: no slope, cap or threshold).</summary>
    public static bool FusesRelu(ActivationFunction activation) => activation.Name == "relu" && activation.GetConfig() is null;

    /// <summary>Whether the activation runs inside the GEMM epilogue (linear or plain ReLU); any other runs after, in float.</summary>
    public static bool Fuses(ActivationFunction activation) => activation.IsLinear || FusesRelu(activation);

    public static Tensor Run(Tensor x, Weight kernel, Weight scales, Weight quant, Weight? bias, Conv2DGeometry? g, ActivationFunction activation,
        Int8WeightCache cache, string op) =>
        Run(activation, op, (relu, name) => new QuantizedMatMulNode(x, kernel.Value, scales.Value, quant.Value, bias?.Value, g, relu, cache, name));

    /// <summary>The layer's op (made with whether it fuses ReLU, and its name), then any activation it does not fuse, in float.</summary>
    public static Tensor Run(ActivationFunction activation, string op, Func<bool, string, OpNode> node)
    {
        bool fused = Fuses(activation);
        var y = Tensor.Run(node(FusesRelu(activation), fused && !activation.IsLinear ? $"{op}+relu" : op));
        return fused ? y : activation.Apply(y);
    }

    /// <summary>A window's geometry from its 13 stored values (H, W, C, KH, KW, SH, SW, DH, DW, pad top, pad left, OH, OW).</summary>
    public static Conv2DGeometry Geometry(int[] v, string layer)
    {
        if (v is not { Length: 13 } || v.Any(x => x < 0) || v[..9].Any(x => x < 1) || v[11] < 1 || v[12] < 1)
            throw new ArgumentException($"{layer}: expected 13 geometry values (sizes, window, strides and dilation ≥ 1, padding ≥ 0), got [{string.Join(", ", v ?? [])}]");
        return new Conv2DGeometry(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]);
    }

    /// <summary>The 13 values <see cref="Geometry"/> reads.</summary>
    public static int[] Values(Conv2DGeometry g) => [g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PadTop, g.PadLeft, g.OH, g.OW];
}

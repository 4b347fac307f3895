using Strata.Kernels;

namespace Strata.Layers;

/// <summary>The configuration of a <see cref="Conv2DTranspose"/> layer.</summary>
public sealed record Conv2DTransposeConfig(string Name, int Filters, (int Height, int Width) KernelSize, (int Height, int Width) Strides,
    Padding Padding, ActivationFunction Activation, bool UseBias, string KernelInitializer, string BiasInitializer) : LayerConfig(Name);

/// <summary>The configuration of a <see cref="DepthwiseConv2D"/> layer.</summary>
public sealed record DepthwiseConv2DConfig(string Name, (int Height, int Width) KernelSize, (int Height, int Width) Strides, Padding Padding,
    int DepthMultiplier, (int Height, int Width) DilationRate, ActivationFunction Activation, bool UseBias, string DepthwiseInitializer,
    string BiasInitializer) : LayerConfig(Name);

/// <summary>The configuration of a spatial dropout layer.</summary>
public sealed record SpatialDropoutConfig(string Name, string Kind, float Rate) : LayerConfig(Name);

/// <summary>
/// Transposed 2-D convolution (Keras' Conv2DTranspose, "deconvolution"): [batch, H, W, C] →
/// [batch, OH, OW, filters] with OH = (H − 1)·stride + KH (valid) or H·stride (same); kernel
/// [KH, KW, filters, C]. The upsampling layer of generators and decoders.
/// </summary>
public sealed class Conv2DTranspose : Layer
{
    private Weight? _kernel, _bias;

    /// <param name="filters">Output channels (≥ 1).</param>
    /// <param name="kernelSize">Window height and width (≥ 1).</param>
    /// <param name="strides">Upsampling step (default 1×1).</param>
    /// <param name="padding">Valid (default) or same.</param>
    /// <param name="activation">Default linear.</param>
    /// <param name="useBias">Whether to add a bias per filter.</param>
    /// <param name="kernelInitializer">Default Glorot uniform.</param>
    /// <param name="biasInitializer">Default zeros.</param>
    /// <param name="name">Layer name.</param>
    public Conv2DTranspose(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null, Padding padding = Padding.Valid,
        ActivationFunction? activation = null, bool useBias = true, IInitializer? kernelInitializer = null, IInitializer? biasInitializer = null,
        string? name = null) : base(name)
    {
        Strides = strides ?? (1, 1);
        if (filters < 1 || kernelSize.Height < 1 || kernelSize.Width < 1 || Strides.Height < 1 || Strides.Width < 1)
            throw new ArgumentOutOfRangeException(nameof(filters),
                $"Conv2DTranspose: filters ({filters}), kernel size {kernelSize} and strides {Strides} must all be at least 1");
        if (padding == Padding.Causal)
            throw new ArgumentException("Conv2DTranspose: causal padding is for Conv1D; use valid or same", nameof(padding));
        Filters = filters;
        KernelSize = kernelSize;
        Padding = padding;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? Initializers.GlorotUniform;
        BiasInitializer = biasInitializer ?? Initializers.Zeros;
    }

    /// <summary>A square window and stride: <c>new Conv2DTranspose(32, 4, strides: 2, padding: Padding.Same)</c>.</summary>
    public Conv2DTranspose(int filters, int kernelSize, int strides = 1, Padding padding = Padding.Valid, ActivationFunction? activation = null,
        bool useBias = true, string? name = null) : this(filters, (kernelSize, kernelSize), (strides, strides), padding, activation, useBias, name: name)
    {
    }

    /// <summary>Output channels (≥ 1).</summary>
    public int Filters { get; }
    /// <summary>Window height and width, in pixels.</summary>
    public (int Height, int Width) KernelSize { get; }
    /// <summary>The upsampling step (default 1×1): the output is about input × strides.</summary>
    public (int Height, int Width) Strides { get; }
    /// <summary>Valid (default) or same.</summary>
    public Padding Padding { get; }
    /// <summary>The activation (default linear).</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added per filter.</summary>
    public bool UseBias { get; }
    /// <summary>The kernel's initializer (default Glorot uniform).</summary>
    public IInitializer KernelInitializer { get; }
    /// <summary>The bias's initializer (default zeros).</summary>
    public IInitializer BiasInitializer { get; }

    /// <summary>The kernel [KH, KW, filters, C] (after build).</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"Conv2DTranspose '{Name}' is not built yet");

    /// <summary>The bias [filters], or null without bias.</summary>
    public Weight? Bias => _bias;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        ValidateInputShape(inputShape);
        var g = Tensor.TransposeGeometry(inputShape[0], inputShape[1], KernelSize.Height, KernelSize.Width, Filters, Strides.Height, Strides.Width, Padding);
        return new Shape(g.H, g.W, Filters);
    }

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 3 || inputShape.Size == 0)
            throw new ArgumentException($"Conv2DTranspose '{Name}': expected input [batch, height, width, channels], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        _kernel = AddWeight("kernel", [KernelSize.Height, KernelSize.Width, Filters, inputShape[2]], KernelInitializer);
        if (UseBias)
            _bias = AddWeight("bias", [Filters], BiasInitializer);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        var y = Tensor.Conv2DTranspose(x, _kernel!.Value, Strides, Padding);
        if (_bias is not null)
            y = y + _bias.Value;
        return Activation.Apply(y);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new Conv2DTransposeConfig(Name, Filters, KernelSize, Strides, Padding, Activation, UseBias,
        KernelInitializer.Name, BiasInitializer.Name);
}

/// <summary>
/// Depthwise 2-D convolution (Keras' DepthwiseConv2D): each input channel convolved with its own
/// <c>depthMultiplier</c> filters, kernel [KH, KW, C, M], output [batch, OH, OW, C·M]; the first
/// half of a depthwise-separable convolution (follow it with a 1×1 Conv2D).
/// </summary>
public sealed class DepthwiseConv2D : Layer
{
    private Weight? _kernel, _bias;

    /// <param name="kernelSize">Window height and width (≥ 1).</param>
    /// <param name="strides">Step (default 1×1).</param>
    /// <param name="padding">Valid (default) or same.</param>
    /// <param name="depthMultiplier">Filters per input channel (≥ 1, default 1).</param>
    /// <param name="dilationRate">Spacing of the window's taps (default 1×1).</param>
    /// <param name="activation">Default linear.</param>
    /// <param name="useBias">Whether to add a bias per output channel.</param>
    /// <param name="depthwiseInitializer">Default Glorot uniform.</param>
    /// <param name="biasInitializer">Default zeros.</param>
    /// <param name="name">Layer name.</param>
    public DepthwiseConv2D((int Height, int Width) kernelSize, (int Height, int Width)? strides = null, Padding padding = Padding.Valid,
        int depthMultiplier = 1, (int Height, int Width)? dilationRate = null, ActivationFunction? activation = null, bool useBias = true,
        IInitializer? depthwiseInitializer = null, IInitializer? biasInitializer = null, string? name = null) : base(name)
    {
        Strides = strides ?? (1, 1);
        DilationRate = dilationRate ?? (1, 1);
        if (kernelSize.Height < 1 || kernelSize.Width < 1 || Strides.Height < 1 || Strides.Width < 1 || depthMultiplier < 1
            || DilationRate.Height < 1 || DilationRate.Width < 1)
            throw new ArgumentOutOfRangeException(nameof(kernelSize),
                $"DepthwiseConv2D: kernel size {kernelSize}, strides {Strides}, depth multiplier ({depthMultiplier}) and dilation {DilationRate} must all be at least 1");
        if (padding == Padding.Causal)
            throw new ArgumentException("DepthwiseConv2D: causal padding is for Conv1D; use valid or same", nameof(padding));
        KernelSize = kernelSize;
        Padding = padding;
        DepthMultiplier = depthMultiplier;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
        DepthwiseInitializer = depthwiseInitializer ?? Initializers.GlorotUniform;
        BiasInitializer = biasInitializer ?? Initializers.Zeros;
    }

    /// <summary>A square window: <c>new DepthwiseConv2D(3, padding: Padding.Same)</c>.</summary>
    public DepthwiseConv2D(int kernelSize, int strides = 1, Padding padding = Padding.Valid, int depthMultiplier = 1,
        ActivationFunction? activation = null, string? name = null)
        : this((kernelSize, kernelSize), (strides, strides), padding, depthMultiplier, null, activation, name: name)
    {
    }

    /// <summary>Window height and width, in pixels.</summary>
    public (int Height, int Width) KernelSize { get; }
    /// <summary>Step between windows, in pixels (default 1×1).</summary>
    public (int Height, int Width) Strides { get; }
    /// <summary>Valid (default) or same.</summary>
    public Padding Padding { get; }
    /// <summary>Filters per input channel (≥ 1, default 1): C in, C·depthMultiplier out.</summary>
    public int DepthMultiplier { get; }
    /// <summary>Spacing of the window's taps (default 1×1).</summary>
    public (int Height, int Width) DilationRate { get; }
    /// <summary>The activation (default linear).</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added per output channel.</summary>
    public bool UseBias { get; }
    /// <summary>The depthwise kernel's initializer (default Glorot uniform).</summary>
    public IInitializer DepthwiseInitializer { get; }
    /// <summary>The bias's initializer (default zeros).</summary>
    public IInitializer BiasInitializer { get; }

    /// <summary>The kernel [KH, KW, C, depth multiplier] (after build).</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"DepthwiseConv2D '{Name}' is not built yet");

    /// <summary>The bias [C·depth multiplier], or null without bias.</summary>
    public Weight? Bias => _bias;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        var g = Geometry(inputShape);
        return new Shape(g.OH, g.OW, g.C * DepthMultiplier);
    }

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape) => Geometry(inputShape);

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        _kernel = AddWeight("depthwise_kernel", [KernelSize.Height, KernelSize.Width, inputShape[2], DepthMultiplier], DepthwiseInitializer);
        if (UseBias)
            _bias = AddWeight("bias", [inputShape[2] * DepthMultiplier], BiasInitializer);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        var y = Tensor.DepthwiseConv2D(x, _kernel!.Value, Strides, Padding, DilationRate);
        if (_bias is not null)
            y = y + _bias.Value;
        return Activation.Apply(y);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new DepthwiseConv2DConfig(Name, KernelSize, Strides, Padding, DepthMultiplier, DilationRate,
        Activation, UseBias, DepthwiseInitializer.Name, BiasInitializer.Name);

    /// <summary>The window's geometry on an input of shape <paramref name="s"/> [H, W, C].</summary>
    internal Conv2DGeometry Geometry(Shape s)
    {
        if (s.Rank != 3 || s.Size == 0)
            throw new ArgumentException($"DepthwiseConv2D '{Name}': expected input [batch, height, width, channels], got [batch, {string.Join(", ", s.ToArray())}]");
        var g = Conv2DGeometry.Create(s[0], s[1], s[2], KernelSize.Height, KernelSize.Width, Strides.Height, Strides.Width,
            DilationRate.Height, DilationRate.Width, Padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"DepthwiseConv2D '{Name}': the {KernelSize.Height}×{KernelSize.Width} window is larger than the input {s[0]}×{s[1]} with {Padding.ToString().ToLowerInvariant()} padding");
        return g;
    }
}

/// <summary>
/// Spatial dropout (Keras' SpatialDropout1D / 2D): in training, drops whole channels — the same
/// channel at every position of a sample — with probability <c>rate</c> and scales the kept ones by
/// 1/(1 − rate); the identity in inference. Neighbouring pixels of a feature map are strongly
/// correlated, so dropping single values regularizes them little; dropping maps does.
/// </summary>
public abstract class SpatialDropout : Layer
{
    /// <summary>Drops whole channels, step by step alike: a mask passes through.</summary>
    protected override bool PropagatesMask => true;

    private protected SpatialDropout(float rate, int inputRank, string? name) : base(name)
    {
        if (!(rate >= 0 && rate < 1))
            throw new ArgumentOutOfRangeException(nameof(rate), $"{GetType().Name}: rate must be in [0, 1), got {rate}");
        Rate = rate;
        InputRank = inputRank;
    }

    /// <summary>The fraction of channels dropped in training, in [0, 1).</summary>
    public float Rate { get; }

    /// <summary>The per-sample rank the layer expects: 2 ([steps, C]) or 3 ([H, W, C]).</summary>
    private protected int InputRank { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != InputRank || inputShape.Size == 0)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected input [batch, {(InputRank == 2 ? "steps" : "height, width")}, channels], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        if (!training || Rate == 0)
            return x;
        int n = x.Shape[0], c = x.Shape[x.Rank - 1];
        var maskShape = new int[x.Rank];
        Array.Fill(maskShape, 1);
        maskShape[0] = n;
        maskShape[^1] = c;
        // One keep-or-drop factor per (sample, channel), drawn in that order.
        return x * Tensor.DropoutMask(new Shape(maskShape), Rate, Rng);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new SpatialDropoutConfig(Name, GetType().Name, Rate);
}

/// <summary>Drops whole channels of sequences [batch, steps, C] in training.</summary>
public sealed class SpatialDropout1D(float rate, string? name = null) : SpatialDropout(rate, 2, name);

/// <summary>Drops whole feature maps of images [batch, H, W, C] in training.</summary>
public sealed class SpatialDropout2D(float rate, string? name = null) : SpatialDropout(rate, 3, name);

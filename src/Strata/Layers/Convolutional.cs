using Strata.Kernels;

namespace Strata.Layers;

/// <summary>The configuration of a <see cref="Conv2D"/> layer.</summary>
public sealed record Conv2DConfig(string Name, int Filters, (int Height, int Width) KernelSize, (int Height, int Width) Strides,
    Padding Padding, (int Height, int Width) DilationRate,
    ActivationFunction Activation, bool UseBias, string KernelInitializer, string BiasInitializer, Regularizer? KernelRegularizer,
    Regularizer? BiasRegularizer) : LayerConfig(Name);

/// <summary>The configuration of a pooling layer.</summary>
public sealed record Pooling2DConfig(string Name, string Kind, (int Height, int Width) PoolSize, (int Height, int Width) Strides,
    Padding Padding) : LayerConfig(Name);

/// <summary>The configuration of a <see cref="Conv1D"/> layer.</summary>
public sealed record Conv1DConfig(string Name, int Filters, int KernelSize, int Strides, Padding Padding, int DilationRate,
    ActivationFunction Activation, bool UseBias, string KernelInitializer, string BiasInitializer, Regularizer? KernelRegularizer,
    Regularizer? BiasRegularizer) : LayerConfig(Name);

/// <summary>
/// Shared by <see cref="Conv1D"/> and <see cref="Conv2D"/>: the kernel and bias, the activation,
/// and the convolution itself, which both run as a 2-D convolution (a 1-D one has height 1) —
/// through the autograd graph, or in planned form through a <see cref="ConvolutionEngine"/> of
/// their own with the bias and activation fused.
/// </summary>
public abstract class ConvolutionLayer : Layer
{
    private Weight? _kernel, _bias;
    private Conv2DGeometry _geometry;

    private protected ConvolutionLayer(int filters, ActivationFunction? activation, bool useBias, IInitializer? kernelInitializer,
        IInitializer? biasInitializer, Regularizer? kernelRegularizer, Regularizer? biasRegularizer, string? name) : base(name)
    {
        Filters = filters;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? Initializers.GlorotUniform;
        BiasInitializer = biasInitializer ?? Initializers.Zeros;
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
    }

    /// <summary>Output channels (≥ 1).</summary>
    public int Filters { get; }
    /// <summary>The activation (default linear); the built-ins that fuse run inside the convolution's op.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added per filter.</summary>
    public bool UseBias { get; }
    /// <summary>The kernel's initializer (default Glorot uniform; fans: KH·KW·C in, KH·KW·filters out).</summary>
    public IInitializer KernelInitializer { get; }
    /// <summary>The bias's initializer (default zeros).</summary>
    public IInitializer BiasInitializer { get; }
    /// <summary>Penalty on the kernel, or null.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Penalty on the bias, or null.</summary>
    public Regularizer? BiasRegularizer { get; }

    /// <summary>The kernel (after build): [KH, KW, C, filters] for Conv2D, [K, C, filters] for Conv1D.</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"{GetType().Name} '{Name}' is not built yet");

    /// <summary>The bias [filters], or null without bias.</summary>
    public Weight? Bias => _bias;

    /// <summary>The window over an input of this per-sample shape; throws naming the layer when it does not fit.</summary>
    private protected abstract Conv2DGeometry Geometry(Shape inputShape);

    /// <summary>The NHWC geometry of this layer for a per-sample input shape (a 1-D convolution has height 1).</summary>
    internal Conv2DGeometry GeometryOf(Shape inputShape) => Geometry(inputShape);

    /// <summary>The kernel's shape for this window (its memory order is always [KH, KW, C, filters]).</summary>
    private protected abstract int[] KernelShape(in Conv2DGeometry g);

    private protected abstract Shape OutputShapeOf(in Conv2DGeometry g);

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => OutputShapeOf(Geometry(inputShape));

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape) => Geometry(inputShape);

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        _geometry = Geometry(inputShape);
        _kernel = AddWeight("kernel", KernelShape(_geometry), KernelInitializer, KernelRegularizer);
        if (UseBias)
            _bias = AddWeight("bias", [Filters], BiasInitializer, BiasRegularizer);
    }

    // One fused op (convolution, bias, activation) when the activation's derivative follows from its
    // output; otherwise the activation runs as an op of its own.
    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        var g = _geometry;
        int n = x.Shape[0];
        bool fused = Activation.FusesFromOutput;
        var y = Tensor.Conv2D(x.Reshape(n, g.H, g.W, g.C), _kernel!.Value.Reshape(g.KH, g.KW, g.C, Filters), _bias?.Value, g,
            fused ? Activation : ActivationFunction.Linear);
        y = y.Reshape([n, .. OutputShapeOf(g).Dims]);
        return fused ? y : Activation.Apply(y);
    }
}

/// <summary>
/// 2-D convolution over NHWC images: [batch, H, W, C] → [batch, OH, OW, filters], with kernel
/// [KH, KW, C, filters] and a bias per filter, then the activation (Keras' Conv2D, channels last).
/// </summary>
public sealed class Conv2D : ConvolutionLayer
{
    /// <param name="filters">Output channels (≥ 1).</param>
    /// <param name="kernelSize">Window height and width (≥ 1).</param>
    /// <param name="strides">Step (default 1×1).</param>
    /// <param name="padding">Valid (default) or same.</param>
    /// <param name="dilationRate">Spacing of the window's taps (default 1×1).</param>
    /// <param name="activation">Default linear.</param>
    /// <param name="useBias">Whether to add a bias per filter.</param>
    /// <param name="kernelInitializer">Default Glorot uniform (fans: KH·KW·C in, KH·KW·filters out).</param>
    /// <param name="biasInitializer">Default zeros.</param>
    /// <param name="kernelRegularizer">Penalty on the kernel.</param>
    /// <param name="biasRegularizer">Penalty on the bias.</param>
    /// <param name="name">Layer name.</param>
    public Conv2D(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null, Padding padding = Padding.Valid,
        (int Height, int Width)? dilationRate = null, ActivationFunction? activation = null, bool useBias = true,
        IInitializer? kernelInitializer = null, IInitializer? biasInitializer = null, Regularizer? kernelRegularizer = null,
        Regularizer? biasRegularizer = null, string? name = null)
        : base(filters, activation, useBias, kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer, name)
    {
        Strides = strides ?? (1, 1);
        DilationRate = dilationRate ?? (1, 1);
        if (filters < 1 || kernelSize.Height < 1 || kernelSize.Width < 1 || Strides.Height < 1 || Strides.Width < 1
            || DilationRate.Height < 1 || DilationRate.Width < 1)
            throw new ArgumentOutOfRangeException(nameof(filters),
                $"Conv2D: filters ({filters}), kernel size {kernelSize}, strides {Strides} and dilation {DilationRate} must all be at least 1");
        if (padding == Padding.Causal)
            throw new ArgumentException("Conv2D: causal padding is for Conv1D; use valid or same", nameof(padding));
        KernelSize = kernelSize;
        Padding = padding;
    }

    /// <summary>A square window: <c>new Conv2D(32, 3, activation: "relu")</c>.</summary>
    public Conv2D(int filters, int kernelSize, int strides = 1, Padding padding = Padding.Valid, ActivationFunction? activation = null,
        string? name = null) : this(filters, (kernelSize, kernelSize), (strides, strides), padding, null, activation, name: name)
    {
    }

    /// <summary>Window height and width, in pixels.</summary>
    public (int Height, int Width) KernelSize { get; }
    /// <summary>Step between windows, in pixels (default 1×1).</summary>
    public (int Height, int Width) Strides { get; }
    /// <summary>Valid (default) or same.</summary>
    public Padding Padding { get; }
    /// <summary>Spacing of the window's taps (default 1×1: adjacent pixels).</summary>
    public (int Height, int Width) DilationRate { get; }

    private protected override int[] KernelShape(in Conv2DGeometry g) => [g.KH, g.KW, g.C, Filters];

    private protected override Shape OutputShapeOf(in Conv2DGeometry g) => new(g.OH, g.OW, Filters);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new Conv2DConfig(Name, Filters, KernelSize, Strides, Padding, DilationRate,
        Activation, UseBias, KernelInitializer.Name, BiasInitializer.Name, KernelRegularizer, BiasRegularizer);

    private protected override Conv2DGeometry Geometry(Shape s)
    {
        if (s.Rank != 3 || s.Size == 0)
            throw new ArgumentException($"Conv2D '{Name}': expected input [batch, height, width, channels], got [batch, {string.Join(", ", s.ToArray())}]");
        var g = Conv2DGeometry.Create(s[0], s[1], s[2], KernelSize.Height, KernelSize.Width, Strides.Height, Strides.Width,
            DilationRate.Height, DilationRate.Width, Padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"Conv2D '{Name}': the {KernelSize.Height}×{KernelSize.Width} window (dilation {DilationRate.Height}×{DilationRate.Width}) is larger than the input {s[0]}×{s[1]} with {Padding.ToString().ToLowerInvariant()} padding");
        return g;
    }
}

/// <summary>
/// 1-D convolution over sequences [batch, steps, C] → [batch, OL, filters], kernel [K, C, filters]
/// (Keras' Conv1D): valid, same or causal padding (causal: each output sees only the current and
/// earlier steps, as in WaveNet-style models).
/// </summary>
public sealed class Conv1D : ConvolutionLayer
{
    /// <param name="filters">Output channels (≥ 1).</param>
    /// <param name="kernelSize">Window length (≥ 1).</param>
    /// <param name="strides">Step (default 1).</param>
    /// <param name="padding">Valid (default), same or causal.</param>
    /// <param name="dilationRate">Spacing of the window's taps (default 1).</param>
    /// <param name="activation">Default linear.</param>
    /// <param name="useBias">Whether to add a bias per filter.</param>
    /// <param name="kernelInitializer">Default Glorot uniform.</param>
    /// <param name="biasInitializer">Default zeros.</param>
    /// <param name="kernelRegularizer">Penalty on the kernel.</param>
    /// <param name="biasRegularizer">Penalty on the bias.</param>
    /// <param name="name">Layer name.</param>
    public Conv1D(int filters, int kernelSize, int strides = 1, Padding padding = Padding.Valid, int dilationRate = 1,
        ActivationFunction? activation = null, bool useBias = true, IInitializer? kernelInitializer = null, IInitializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null, string? name = null)
        : base(filters, activation, useBias, kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer, name)
    {
        if (filters < 1 || kernelSize < 1 || strides < 1 || dilationRate < 1)
            throw new ArgumentOutOfRangeException(nameof(filters),
                $"Conv1D: filters ({filters}), kernel size ({kernelSize}), strides ({strides}) and dilation ({dilationRate}) must all be at least 1");
        KernelSize = kernelSize;
        Strides = strides;
        Padding = padding;
        DilationRate = dilationRate;
    }

    /// <summary>Window length, in steps.</summary>
    public int KernelSize { get; }
    /// <summary>Step between windows (default 1).</summary>
    public int Strides { get; }
    /// <summary>Valid (default), same or causal (output t sees inputs ≤ t only).</summary>
    public Padding Padding { get; }
    /// <summary>Spacing of the window's taps (default 1: adjacent steps).</summary>
    public int DilationRate { get; }

    private protected override int[] KernelShape(in Conv2DGeometry g) => [g.KW, g.C, Filters];

    private protected override Shape OutputShapeOf(in Conv2DGeometry g) => new(g.OW, Filters);

    // With a mask, padded steps read as zeros, so a post-padded sequence convolves as the unpadded one
    // (whose borders are zero-padded) wherever the output mask keeps a step.
    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, Tensor mask, bool training) => Call(Masks.Zeroed(x, mask), training);

    /// <summary>
    /// Valid padding: an output step is kept when its whole window is; same and causal: when the step
    /// it is centred on (or ends at) is, the input step at its stride.
    /// </summary>
    public override Tensor? ComputeMask(Tensor x, Tensor? mask)
    {
        if (mask is null)
            return null;
        int outSteps = OutputShape[0];
        return Padding == Padding.Valid
            ? Masks.AllInWindow(mask, (KernelSize - 1) * DilationRate + 1, Strides)
            : Masks.Strided(mask, Strides, outSteps);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new Conv1DConfig(Name, Filters, KernelSize, Strides, Padding, DilationRate,
        Activation, UseBias, KernelInitializer.Name, BiasInitializer.Name, KernelRegularizer, BiasRegularizer);

    private protected override Conv2DGeometry Geometry(Shape s)
    {
        if (s.Rank != 2 || s.Size == 0)
            throw new ArgumentException($"Conv1D '{Name}': expected input [batch, steps, channels], got [batch, {string.Join(", ", s.ToArray())}]");
        var g = Tensor.Conv1DGeometry(s[0], s[1], KernelSize, Strides, Padding, DilationRate);
        if (g.OW < 1)
            throw new ArgumentException($"Conv1D '{Name}': the window of {KernelSize} (dilation {DilationRate}) is longer than the input of {s[0]} steps with {Padding.ToString().ToLowerInvariant()} padding");
        return g;
    }
}

/// <summary>Shared by the 2-D pooling layers: window, strides (default: the window), padding.</summary>
public abstract class Pooling2D : Layer
{
    private Conv2DGeometry _geometry;

    private protected Pooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides, Padding padding, string? name) : base(name)
    {
        Strides = strides ?? poolSize;
        if (poolSize.Height < 1 || poolSize.Width < 1 || Strides.Height < 1 || Strides.Width < 1)
            throw new ArgumentOutOfRangeException(nameof(poolSize), $"{GetType().Name}: pool size {poolSize} and strides {Strides} must be at least 1");
        if (padding == Padding.Causal)
            throw new ArgumentException($"{GetType().Name}: causal padding is for Conv1D; use valid or same", nameof(padding));
        PoolSize = poolSize;
        Padding = padding;
    }

    /// <summary>Window height and width, in pixels.</summary>
    public (int Height, int Width) PoolSize { get; }
    /// <summary>Step between windows (default: the window, so that windows do not overlap).</summary>
    public (int Height, int Width) Strides { get; }
    /// <summary>Valid (default) or same.</summary>
    public Padding Padding { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        var g = Geometry(inputShape);
        return new Shape(g.OH, g.OW, inputShape[2]);
    }

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape) => Geometry(inputShape);

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape) => _geometry = Geometry(inputShape);

    private protected abstract bool IsMax { get; }


    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new Pooling2DConfig(Name, GetType().Name, PoolSize, Strides, Padding);

    private Conv2DGeometry Geometry(Shape s)
    {
        if (s.Rank != 3 || s.Size == 0)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected input [batch, height, width, channels], got [batch, {string.Join(", ", s.ToArray())}]");
        var g = Conv2DGeometry.Create(s[0], s[1], s[2], PoolSize.Height, PoolSize.Width, Strides.Height, Strides.Width, 1, 1, Padding == Padding.Same);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException($"{GetType().Name} '{Name}': the {PoolSize.Height}×{PoolSize.Width} window is larger than the input {s[0]}×{s[1]}");
        return g;
    }
}

/// <summary>The maximum of each window, per channel (NHWC).</summary>
public sealed class MaxPooling2D : Pooling2D
{
    /// <param name="poolSize">Window height and width.</param>
    /// <param name="strides">Step between windows (default: the window).</param>
    /// <param name="padding">Valid (default) or same.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A window or stride below 1.</exception>
    /// <exception cref="ArgumentException">Causal padding.</exception>
    public MaxPooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides = null, Padding padding = Padding.Valid, string? name = null)
        : base(poolSize, strides, padding, name)
    {
    }

    /// <summary>A square window, strides equal to it: <c>new MaxPooling2D(2)</c>.</summary>
    public MaxPooling2D(int poolSize = 2, string? name = null) : this((poolSize, poolSize), name: name)
    {
    }

    private protected override bool IsMax => true;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Tensor.MaxPool2D(x, PoolSize, Strides, Padding);
}

/// <summary>The mean of each window, per channel (NHWC; with same padding, of the real positions only).</summary>
public sealed class AveragePooling2D : Pooling2D
{
    /// <param name="poolSize">Window height and width.</param>
    /// <param name="strides">Step between windows (default: the window).</param>
    /// <param name="padding">Valid (default) or same (then each mean counts the real positions only).</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A window or stride below 1.</exception>
    /// <exception cref="ArgumentException">Causal padding.</exception>
    public AveragePooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides = null, Padding padding = Padding.Valid, string? name = null)
        : base(poolSize, strides, padding, name)
    {
    }

    /// <summary>A square window, strides equal to it.</summary>
    public AveragePooling2D(int poolSize = 2, string? name = null) : this((poolSize, poolSize), name: name)
    {
    }

    private protected override bool IsMax => false;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Tensor.AvgPool2D(x, PoolSize, Strides, Padding);
}

/// <summary>The configuration of a layer with a (height, width) pair setting (UpSampling2D).</summary>
public sealed record Size2DConfig(string Name, string Kind, (int Height, int Width) Size) : LayerConfig(Name);

/// <summary>The configuration of a <see cref="ZeroPadding2D"/> layer.</summary>
public sealed record ZeroPadding2DConfig(string Name, (int Top, int Bottom) Rows, (int Left, int Right) Columns) : LayerConfig(Name);

/// <summary>Shared by the global pooling layers: NHWC input [batch, H, W, C] → [batch, C].</summary>
public abstract class GlobalPooling2D(string? name) : Layer(name)
{
    private Conv2DGeometry _geometry;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new(inputShape[2]);

    // One window over the whole image: the pooling op, [batch, 1, 1, C] read as [batch, C].
    private protected Tensor Pool(Tensor x) => Tensor.Pool2D(x, _geometry, IsMax).Reshape(x.Shape[0], x.Shape[3]);

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape) =>
        _geometry = Conv2DGeometry.Create(inputShape[0], inputShape[1], inputShape[2], inputShape[0], inputShape[1], 1, 1, 1, 1, same: false);

    private protected abstract bool IsMax { get; }


    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 3 || inputShape.Size == 0)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected input [batch, height, width, channels], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new NamedLayerConfig(Name, GetType().Name);
}

/// <summary>The mean over height and width, per channel.</summary>
public sealed class GlobalAveragePooling2D(string? name = null) : GlobalPooling2D(name)
{
    private protected override bool IsMax => false;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Pool(x);
}

/// <summary>The maximum over height and width, per channel.</summary>
public sealed class GlobalMaxPooling2D(string? name = null) : GlobalPooling2D(name)
{
    private protected override bool IsMax => true;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Pool(x);
}

/// <summary>Pads NHWC images with zero rows (top, bottom) and columns (left, right).</summary>
public sealed class ZeroPadding2D : Layer
{
    /// <param name="rows">Rows added above and below.</param>
    /// <param name="columns">Columns added left and right.</param>
    /// <param name="name">Layer name.</param>
    public ZeroPadding2D((int Top, int Bottom) rows, (int Left, int Right) columns, string? name = null) : base(name)
    {
        if (rows.Top < 0 || rows.Bottom < 0 || columns.Left < 0 || columns.Right < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"ZeroPadding2D: padding must not be negative, got rows {rows}, columns {columns}");
        Rows = rows;
        Columns = columns;
    }

    /// <summary>The same padding on every side: <c>new ZeroPadding2D(1)</c>.</summary>
    public ZeroPadding2D(int padding = 1, string? name = null) : this((padding, padding), (padding, padding), name)
    {
    }

    /// <summary>Zero rows added above and below.</summary>
    public (int Top, int Bottom) Rows { get; }
    /// <summary>Zero columns added left and right.</summary>
    public (int Left, int Right) Columns { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) =>
        new(inputShape[0] + Rows.Top + Rows.Bottom, inputShape[1] + Columns.Left + Columns.Right, inputShape[2]);

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 3)
            throw new ArgumentException($"ZeroPadding2D '{Name}': expected input [batch, height, width, channels], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => x.Pad([(0, 0), Rows, Columns, (0, 0)]);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new ZeroPadding2DConfig(Name, Rows, Columns);
}

/// <summary>Nearest-neighbour upsampling of NHWC images: each pixel repeated size.Height × size.Width times.</summary>
public sealed class UpSampling2D : Layer
{
    /// <param name="size">How many times each pixel is repeated down and across (≥ 1).</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor below 1.</exception>
    public UpSampling2D((int Height, int Width) size, string? name = null) : base(name)
    {
        if (size.Height < 1 || size.Width < 1)
            throw new ArgumentOutOfRangeException(nameof(size), $"UpSampling2D: size must be at least 1, got {size}");
        Size = size;
    }

    /// <summary>The same factor both ways: <c>new UpSampling2D(2)</c>.</summary>
    public UpSampling2D(int size = 2, string? name = null) : this((size, size), name)
    {
    }

    /// <summary>The factors down and across: [H, W, C] → [H·size.Height, W·size.Width, C].</summary>
    public (int Height, int Width) Size { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new(inputShape[0] * Size.Height, inputShape[1] * Size.Width, inputShape[2]);

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 3)
            throw new ArgumentException($"UpSampling2D '{Name}': expected input [batch, height, width, channels], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        var rows = Enumerable.Range(0, x.Shape[1] * Size.Height).Select(i => i / Size.Height).ToArray();
        var cols = Enumerable.Range(0, x.Shape[2] * Size.Width).Select(i => i / Size.Width).ToArray();
        return x.IndexSelect(1, rows).IndexSelect(2, cols);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new Size2DConfig(Name, "UpSampling2D", Size);
}

namespace Strata.Layers;

/// <summary>The configuration of a <see cref="Dense"/> layer.</summary>
public sealed record DenseConfig(string Name, int Units, ActivationFunction Activation, bool UseBias, string KernelInitializer,
    string BiasInitializer, Regularizer? KernelRegularizer, Regularizer? BiasRegularizer) : LayerConfig(Name);

/// <summary>
/// A fully connected layer: y = activation(x·W + b), W: [in, units], b: [units]. Applies to the last
/// axis, so [batch, ..., in] → [batch, ..., units].
/// </summary>
public sealed class Dense : Layer
{
    /// <summary>Works on each step alike: a mask passes through.</summary>
    protected override bool PropagatesMask => true;

    private Weight? _kernel, _bias;

    /// <param name="units">Output size (≥ 1).</param>
    /// <param name="activation">The activation (default linear).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Default Glorot uniform.</param>
    /// <param name="biasInitializer">Default zeros.</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="name">Layer name.</param>
    public Dense(int units, ActivationFunction? activation = null, bool useBias = true, IInitializer? kernelInitializer = null,
        IInitializer? biasInitializer = null, Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        string? name = null) : base(name)
    {
        if (units < 1)
            throw new ArgumentOutOfRangeException(nameof(units), $"Dense: units must be at least 1, got {units}");
        Units = units;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? Initializers.GlorotUniform;
        BiasInitializer = biasInitializer ?? Initializers.Zeros;
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
    }

    /// <summary>Output size (≥ 1).</summary>
    public int Units { get; }
    /// <summary>The activation (default linear); the built-ins that fuse run inside the GEMM's op.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }
    /// <summary>The kernel's initializer (default Glorot uniform).</summary>
    public IInitializer KernelInitializer { get; }
    /// <summary>The bias's initializer (default zeros).</summary>
    public IInitializer BiasInitializer { get; }
    /// <summary>Penalty on W, or null.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Penalty on b, or null.</summary>
    public Regularizer? BiasRegularizer { get; }

    /// <summary>W [in, units] (after build).</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"Dense '{Name}' is not built yet");

    /// <summary>b [units], or null without bias.</summary>
    public Weight? Bias => _bias;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new([.. inputShape.Dims[..^1], Units]);

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank < 1 || inputShape[-1] < 1)
            throw new ArgumentException($"Dense '{Name}': expected input with a non-empty last axis, got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        _kernel = AddWeight("kernel", [inputShape[-1], Units], KernelInitializer, KernelRegularizer);
        if (UseBias)
            _bias = AddWeight("bias", [Units], BiasInitializer, BiasRegularizer);
    }

    // One fused op (GEMM, bias, activation) when the activation's derivative follows from its output;
    // otherwise the activation runs as an op of its own. NOTE: softmax runs as its own op too, so that its
    // input (the logits) is a tensor of the graph: a cross-entropy on the probabilities then takes the
    // fused loss-and-gradient on the logits (Tensor.SoftmaxInput), as Keras does.
    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Activation.FusesFromOutput && Activation is not SoftmaxActivation
        ? Tensor.Linear(x, _kernel!.Value, _bias?.Value, Activation)
        : Activation.Apply(Tensor.Linear(x, _kernel!.Value, _bias?.Value, ActivationFunction.Linear));

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new DenseConfig(Name, Units, Activation, UseBias, KernelInitializer.Name,
        BiasInitializer.Name, KernelRegularizer, BiasRegularizer);
}

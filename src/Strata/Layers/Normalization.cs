namespace Strata.Layers;

/// <summary>Config of a <see cref="LayerNormalization"/> or <see cref="BatchNormalization"/> layer.</summary>
public sealed record NormalizationConfig(string Name, string Kind, float Epsilon, float Momentum, bool Center, bool Scale) : LayerConfig(Name);

/// <summary>
/// Layer normalization over the last axis (Ba et al.): y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² the
/// mean and variance of each sample's last axis; γ, β have the size of that axis.
/// </summary>
public sealed class LayerNormalization(float epsilon = 1e-3f, bool center = true, bool scale = true, string? name = null) : Layer(name)
{
    /// <summary>Works on each step alike: a mask passes through.</summary>
    protected override bool PropagatesMask => true;

    private Weight? _gamma, _beta;

    /// <summary>ε, added to the variance before the square root (default 10⁻³).</summary>
    public float Epsilon { get; } = epsilon > 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), $"LayerNormalization: epsilon must be positive, got {epsilon}");

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank < 1)
            throw new ArgumentException($"LayerNormalization '{Name}': expected input [batch, ..., features], got [batch]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        if (scale)
            _gamma = AddWeight("gamma", [inputShape[-1]], Initializers.Ones);
        if (center)
            _beta = AddWeight("beta", [inputShape[-1]], Initializers.Zeros);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        var mean = x.Mean(-1, keepDims: true);
        var centered = x - mean;
        var variance = centered.Square().Mean(-1, keepDims: true);
        var y = centered / (variance + Epsilon).Sqrt();
        if (_gamma is not null)
            y = y * _gamma.Value;
        if (_beta is not null)
            y = y + _beta.Value;
        return y;
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new NormalizationConfig(Name, "LayerNormalization", Epsilon, 0, center, scale);
}

/// <summary>
/// Batch normalization over the last (channel) axis (Ioffe and Szegedy). Training: normalizes with
/// the batch's per-channel mean and (biased) variance and updates the moving statistics
/// m ← momentum·m + (1 − momentum)·batch value. Inference: normalizes with the moving statistics.
/// γ, β are trainable; the moving mean and variance are not.
/// </summary>
public sealed class BatchNormalization : Layer
{
    private Weight? _gamma, _beta, _movingMean, _movingVariance;

    /// <param name="momentum">Weight of the old value in the moving statistics, in [0, 1) (default 0.99).</param>
    /// <param name="epsilon">ε, added to the variance before the square root (&gt; 0, default 10⁻³).</param>
    /// <param name="center">Whether to add the learned offset β.</param>
    /// <param name="scale">Whether to multiply by the learned scale γ.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A momentum outside [0, 1) or an epsilon that is not positive.</exception>
    public BatchNormalization(float momentum = 0.99f, float epsilon = 1e-3f, bool center = true, bool scale = true, string? name = null)
        : base(name)
    {
        if (!(momentum >= 0 && momentum < 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"BatchNormalization: momentum must be in [0, 1), got {momentum}");
        if (!(epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), $"BatchNormalization: epsilon must be positive, got {epsilon}");
        Momentum = momentum;
        Epsilon = epsilon;
        Center = center;
        Scale = scale;
    }

    /// <summary>Weight of the old value in the moving statistics: m ← momentum·m + (1 − momentum)·batch value.</summary>
    public float Momentum { get; }
    /// <summary>ε, added to the variance before the square root.</summary>
    public float Epsilon { get; }
    /// <summary>Whether the learned offset β is added.</summary>
    public bool Center { get; }
    /// <summary>Whether the learned scale γ multiplies.</summary>
    public bool Scale { get; }

    /// <summary>The moving per-channel mean (after build).</summary>
    public Tensor MovingMean => _movingMean?.Value ?? throw new InvalidOperationException($"BatchNormalization '{Name}' is not built yet");

    /// <summary>The moving per-channel variance (after build).</summary>
    public Tensor MovingVariance => _movingVariance?.Value ?? throw new InvalidOperationException($"BatchNormalization '{Name}' is not built yet");

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank < 1)
            throw new ArgumentException($"BatchNormalization '{Name}': expected input [batch, ..., channels], got [batch]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        int c = inputShape[-1];
        if (Scale)
            _gamma = AddWeight("gamma", [c], Initializers.Ones);
        if (Center)
            _beta = AddWeight("beta", [c], Initializers.Zeros);
        _movingMean = AddWeight("moving_mean", [c], Initializers.Zeros, trainable: false);
        _movingVariance = AddWeight("moving_variance", [c], Initializers.Ones, trainable: false);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) =>
        Tensor.BatchNorm(x, _gamma?.Value, _beta?.Value, _movingMean!.Value, _movingVariance!.Value, Momentum, Epsilon, training);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new NormalizationConfig(Name, "BatchNormalization", Epsilon, Momentum, Center, Scale);
}

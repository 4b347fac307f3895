using Strata.Serialization;

namespace Strata.Layers;

/// <summary>
/// An activation: an object carrying its op (<see cref="Apply"/>), named as in Keras. The built-ins are
/// linear, exponential, sigmoid, tanh, relu, leaky_relu, softmax, elu, selu, gelu, swish (silu) and
/// softplus; a string converts implicitly through <see cref="ActivationRegistry"/>:
/// <c>new Dense(128, "relu")</c>. A custom activation derives from this class, writes <see cref="Apply"/>
/// from tensor ops (the gradient comes from them), returns its settings from <see cref="GetConfig"/> and
/// registers once with <see cref="ActivationRegistry"/> (and, to export it, with <c>Onnx.OnnxActivations</c>).
/// </summary>
/// <remarks>
/// Two activations are equal when they have the same type, name and config. Dense and the convolutions
/// fuse the built-ins whose derivative follows from their output (linear, relu, sigmoid, tanh, softmax,
/// leaky relu with alpha ≥ 0) into their op; every other activation, custom ones included, runs as its
/// own ops after the layer's linear part.
/// </remarks>
public abstract class ActivationFunction : IEquatable<ActivationFunction>
{
    /// <param name="name">The name it is saved and registered under.</param>
    /// <exception cref="ArgumentException">An empty name.</exception>
    protected ActivationFunction(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The registered (Keras) name.</summary>
    public string Name { get; }

    /// <summary>f(x) = x (the default of Dense and the convolutions).</summary>
    public static ActivationFunction Linear { get; } = new LinearActivation();
    /// <summary>f(x) = eˣ.</summary>
    public static ActivationFunction Exponential { get; } = new PointwiseActivation("exponential", Ops.PointwiseKind.Exp);
    /// <summary>f(x) = 1 / (1 + e⁻ˣ), in (0, 1).</summary>
    public static ActivationFunction Sigmoid { get; } = new PointwiseActivation("sigmoid", Ops.PointwiseKind.Sigmoid);
    /// <summary>f(x) = tanh x, in (−1, 1).</summary>
    public static ActivationFunction Tanh { get; } = new PointwiseActivation("tanh", Ops.PointwiseKind.Tanh);
    /// <summary>f(x) = max(x, 0).</summary>
    public static ActivationFunction Relu { get; } = new PointwiseActivation("relu", Ops.PointwiseKind.Relu);
    /// <summary>Softmax over the last axis: yᵢ = e^xᵢ / Σⱼ e^xⱼ, each row sums to 1.</summary>
    public static ActivationFunction Softmax { get; } = new SoftmaxActivation();
    /// <summary>SELU: λ·x for x &gt; 0, λ·α·(eˣ − 1) otherwise (λ ≈ 1.0507, α ≈ 1.6733).</summary>
    public static ActivationFunction Selu { get; } = new PointwiseActivation("selu", Ops.PointwiseKind.Selu);
    /// <summary>GELU, exact form (Keras' default): x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    public static ActivationFunction Gelu { get; } = new PointwiseActivation("gelu", Ops.PointwiseKind.Gelu);
    /// <summary>Swish (SiLU): x·sigmoid(x).</summary>
    public static ActivationFunction Swish { get; } = new PointwiseActivation("swish", Ops.PointwiseKind.Swish);
    /// <summary>Softplus: log(1 + eˣ).</summary>
    public static ActivationFunction Softplus { get; } = new PointwiseActivation("softplus", Ops.PointwiseKind.Softplus);

    /// <summary>Leaky ReLU with the given negative slope (Keras' default 0.2 for the activation).</summary>
    public static ActivationFunction LeakyRelu(float alpha = 0.2f) => new PointwiseActivation("leaky_relu", Ops.PointwiseKind.LeakyRelu, alpha);

    /// <summary>ELU with the given alpha.</summary>
    public static ActivationFunction Elu(float alpha = 1f) => new PointwiseActivation("elu", Ops.PointwiseKind.Elu, alpha);

    /// <summary>Looks an activation up by name in <see cref="ActivationRegistry"/> (case-insensitive; "silu" is swish, null or "" is linear).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the registered ones.</exception>
    public static ActivationFunction Parse(string? name) => ActivationRegistry.FromName(name);

    /// <summary>Converts a name with <see cref="Parse"/>: <c>new Dense(10, "softmax")</c>.</summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static implicit operator ActivationFunction(string name) => Parse(name);

    /// <summary>Applies the activation: y = f(x), same shape, written from tensor ops.</summary>
    public abstract Tensor Apply(Tensor x);

    /// <summary>
    /// The settings saved with the activation (a record whose type is the one it was registered with), or
    /// null when it has none (it is then saved as its name alone).
    /// </summary>
    public virtual object? GetConfig() => null;

    /// <summary>Whether this is the identity (a fused op then has no epilogue).</summary>
    internal virtual bool IsLinear => false;

    /// <summary>
    /// Whether a layer may fuse this activation into its op (applied in place to the pre-activation,
    /// differentiated from the output alone). Only built-ins can: they override the two kernels below.
    /// </summary>
    internal virtual bool FusesFromOutput => false;

    /// <summary>Whether <see cref="ForwardInPlace"/> maps each value alone, so it may run on any block of the output (inside the GEMM's epilogue).</summary>
    internal virtual bool IsElementwise => false;

    /// <summary>y ← f(y) on [rows, width] (a fused layer's epilogue; softmax over each row).</summary>
    internal virtual void ForwardInPlace(Span<float> y, int rows, int width) =>
        throw new InvalidOperationException($"Activation '{Name}' cannot be fused into a layer's op");

    /// <summary>dy ← dy ⊙ f′ from the output y on [rows, width] (only for <see cref="FusesFromOutput"/>).</summary>
    internal virtual void BackwardFromOutput(ReadOnlySpan<float> y, Span<float> dy, int rows, int width) =>
        throw new InvalidOperationException($"Activation '{Name}' cannot be fused into a layer's op");

    /// <summary>Equal when of the same type, with the same name and config.</summary>
    public bool Equals(ActivationFunction? other) =>
        other is not null && (ReferenceEquals(this, other) || (GetType() == other.GetType() && Name == other.Name && Equals(GetConfig(), other.GetConfig())));

    /// <summary>Equal to another activation of the same type, name and config.</summary>
    public override bool Equals(object? obj) => Equals(obj as ActivationFunction);

    /// <summary>A hash of the type, name and config, consistent with equality.</summary>
    public override int GetHashCode() => HashCode.Combine(GetType(), Name, GetConfig());

    /// <summary>Equal when of the same type, with the same name and config (two nulls are equal).</summary>
    public static bool operator ==(ActivationFunction? a, ActivationFunction? b) => a?.Equals(b) ?? b is null;

    /// <summary>Not <c>==</c>.</summary>
    public static bool operator !=(ActivationFunction? a, ActivationFunction? b) => !(a == b);

    /// <summary>The registered name ("relu").</summary>
    public override string ToString() => Name;
}

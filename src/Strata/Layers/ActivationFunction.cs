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

    public static ActivationFunction Linear { get; } = new LinearActivation();
    public static ActivationFunction Exponential { get; } = new PointwiseActivation("exponential", Ops.PointwiseKind.Exp);
    public static ActivationFunction Sigmoid { get; } = new PointwiseActivation("sigmoid", Ops.PointwiseKind.Sigmoid);
    public static ActivationFunction Tanh { get; } = new PointwiseActivation("tanh", Ops.PointwiseKind.Tanh);
    public static ActivationFunction Relu { get; } = new PointwiseActivation("relu", Ops.PointwiseKind.Relu);
    public static ActivationFunction Softmax { get; } = new SoftmaxActivation();
    public static ActivationFunction Selu { get; } = new PointwiseActivation("selu", Ops.PointwiseKind.Selu);
    public static ActivationFunction Gelu { get; } = new PointwiseActivation("gelu", Ops.PointwiseKind.Gelu);
    public static ActivationFunction Swish { get; } = new PointwiseActivation("swish", Ops.PointwiseKind.Swish);
    public static ActivationFunction Softplus { get; } = new PointwiseActivation("softplus", Ops.PointwiseKind.Softplus);

    /// <summary>Leaky ReLU with the given negative slope (Keras' default 0.2 for the activation).</summary>
    public static ActivationFunction LeakyRelu(float alpha = 0.2f) => new PointwiseActivation("leaky_relu", Ops.PointwiseKind.LeakyRelu, alpha);

    /// <summary>ELU with the given alpha.</summary>
    public static ActivationFunction Elu(float alpha = 1f) => new PointwiseActivation("elu", Ops.PointwiseKind.Elu, alpha);

    /// <summary>Looks an activation up by name in <see cref="ActivationRegistry"/> (case-insensitive; "silu" is swish, null or "" is linear).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the registered ones.</exception>
    public static ActivationFunction Parse(string? name) => ActivationRegistry.FromName(name);

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

    /// <summary>y ← f(y) on [rows, width] (a fused layer's epilogue; softmax over each row).</summary>
    internal virtual void ForwardInPlace(Span<float> y, int rows, int width) =>
        throw new InvalidOperationException($"Activation '{Name}' cannot be fused into a layer's op");

    /// <summary>dy ← dy ⊙ f′ from the output y on [rows, width] (only for <see cref="FusesFromOutput"/>).</summary>
    internal virtual void BackwardFromOutput(ReadOnlySpan<float> y, Span<float> dy, int rows, int width) =>
        throw new InvalidOperationException($"Activation '{Name}' cannot be fused into a layer's op");

    public bool Equals(ActivationFunction? other) =>
        other is not null && (ReferenceEquals(this, other) || (GetType() == other.GetType() && Name == other.Name && Equals(GetConfig(), other.GetConfig())));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ActivationFunction);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(GetType(), Name, GetConfig());

    public static bool operator ==(ActivationFunction? a, ActivationFunction? b) => a?.Equals(b) ?? b is null;

    public static bool operator !=(ActivationFunction? a, ActivationFunction? b) => !(a == b);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

namespace Strata.Layers;

/// <summary>
/// An activation by its Keras name: linear, exponential, sigmoid, tanh, relu, leaky_relu, softmax,
/// elu, selu, gelu, swish (silu), softplus. A string converts implicitly:
/// <c>new Dense(128, "relu")</c>.
/// </summary>
public sealed record ActivationFunction
{
    private static readonly string[] Known =
        ["linear", "exponential", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "elu", "selu", "gelu", "swish", "softplus"];

    private ActivationFunction(string name, float alpha)
    {
        Name = name;
        Alpha = alpha;
    }

    /// <summary>The Keras name.</summary>
    public string Name { get; }

    /// <summary>The negative slope of leaky_relu, or the alpha of elu (unused by the others).</summary>
    public float Alpha { get; }

    public static ActivationFunction Linear { get; } = new("linear", 0);
    public static ActivationFunction Exponential { get; } = new("exponential", 0);
    public static ActivationFunction Sigmoid { get; } = new("sigmoid", 0);
    public static ActivationFunction Tanh { get; } = new("tanh", 0);
    public static ActivationFunction Relu { get; } = new("relu", 0);
    public static ActivationFunction Softmax { get; } = new("softmax", 0);
    public static ActivationFunction Selu { get; } = new("selu", 0);
    public static ActivationFunction Gelu { get; } = new("gelu", 0);
    public static ActivationFunction Swish { get; } = new("swish", 0);
    public static ActivationFunction Softplus { get; } = new("softplus", 0);

    /// <summary>Leaky ReLU with the given negative slope (Keras' default 0.2 for the activation).</summary>
    public static ActivationFunction LeakyRelu(float alpha = 0.2f) => new("leaky_relu", alpha);

    /// <summary>ELU with the given alpha.</summary>
    public static ActivationFunction Elu(float alpha = 1f) => new("elu", alpha);

    /// <summary>Looks an activation up by name (case-insensitive; "silu" is swish, null or "" is linear).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public static ActivationFunction Parse(string? name)
    {
        string n = (name ?? "linear").Trim().ToLowerInvariant();
        return n switch
        {
            "" or "linear" => Linear,
            "exponential" => Exponential,
            "sigmoid" => Sigmoid,
            "tanh" => Tanh,
            "relu" => Relu,
            "leaky_relu" => LeakyRelu(),
            "softmax" => Softmax,
            "elu" => Elu(),
            "selu" => Selu,
            "gelu" => Gelu,
            "swish" or "silu" => Swish,
            "softplus" => Softplus,
            _ => throw new ArgumentException($"Activation: unknown name '{name}'; expected one of {string.Join(", ", Known)}"),
        };
    }

    public static implicit operator ActivationFunction(string name) => Parse(name);

    /// <summary>Applies the activation (softmax over the last axis).</summary>
    public Tensor Apply(Tensor x) => Name switch
    {
        "linear" => x,
        "exponential" => x.Exp(),
        "sigmoid" => x.Sigmoid(),
        "tanh" => x.Tanh(),
        "relu" => x.Relu(),
        "leaky_relu" => x.LeakyRelu(Alpha),
        "softmax" => x.Softmax(-1),
        "elu" => x.Elu(Alpha),
        "selu" => x.Selu(),
        "gelu" => x.Gelu(),
        "swish" => x.Swish(),
        "softplus" => x.Softplus(),
        _ => throw new InvalidOperationException($"Activation '{Name}' has no implementation"),
    };

    /// <summary>The elementwise function behind this activation (null for linear and softmax).</summary>
    private Ops.PointwiseKind? Kind => Name switch
    {
        "exponential" => Ops.PointwiseKind.Exp,
        "sigmoid" => Ops.PointwiseKind.Sigmoid,
        "tanh" => Ops.PointwiseKind.Tanh,
        "relu" => Ops.PointwiseKind.Relu,
        "leaky_relu" => Ops.PointwiseKind.LeakyRelu,
        "elu" => Ops.PointwiseKind.Elu,
        "selu" => Ops.PointwiseKind.Selu,
        "gelu" => Ops.PointwiseKind.Gelu,
        "swish" => Ops.PointwiseKind.Swish,
        "softplus" => Ops.PointwiseKind.Softplus,
        _ => null,
    };

    /// <summary>
    /// Whether a layer may fuse this activation into its op (applied in place to the pre-activation,
    /// differentiated from the output alone): linear, relu, sigmoid, tanh, softmax, leaky relu with
    /// alpha ≥ 0. The others run as an op of their own after the layer's linear part.
    /// </summary>
    internal bool FusesFromOutput => Name is "linear" or "softmax" || (Kind is { } k && Ops.PointwiseMath.FromOutput(k, Alpha));

    /// <summary>y ← f(y) on [rows, width] (a fused layer's epilogue; softmax over each row).</summary>
    internal void ForwardInPlace(Span<float> y, int rows, int width)
    {
        if (Name == "softmax")
            Tensor.SoftmaxRows(y, y, rows, width);
        else if (Kind is { } k)
            Ops.PointwiseMath.Forward(k, Alpha, 0, y, y);
    }

    /// <summary>dy ← dy ⊙ f′ from the output y on [rows, width] (only for <see cref="FusesFromOutput"/>).</summary>
    internal void BackwardFromOutput(ReadOnlySpan<float> y, Span<float> dy, int rows, int width)
    {
        if (Name == "softmax")
            Tensor.SoftmaxBackward(y, dy, rows, width, 1, log: false);
        else if (Kind is { } k)
            Ops.PointwiseMath.Backward(k, Alpha, 0, [], y, dy, dy);
    }

    public override string ToString() => Name;
}

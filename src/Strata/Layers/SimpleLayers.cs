namespace Strata.Layers;

/// <summary>Config of layers whose only setting is their name (Flatten).</summary>
public sealed record NamedLayerConfig(string Name, string Kind) : LayerConfig(Name);

/// <summary>Config of an <see cref="Activation"/> layer.</summary>
/// <param name="Name">The layer's name.</param>
/// <param name="Activation">The function, with its settings.</param>
/// <param name="Alpha">Read from files written before activations carried their settings (leaky_relu's and elu's alpha); never written.</param>
public sealed record ActivationConfig(string Name, ActivationFunction Activation,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] float? Alpha = null)
    : LayerConfig(Name);

/// <summary>Config of a <see cref="Dropout"/> layer.</summary>
public sealed record DropoutConfig(string Name, float Rate) : LayerConfig(Name);

/// <summary>Config of a <see cref="Reshape"/> or <see cref="Input"/> layer.</summary>
public sealed record ShapeConfig(string Name, int[] Shape) : LayerConfig(Name);

/// <summary>Applies an activation function: y = f(x), same shape.</summary>
public sealed class Activation(ActivationFunction function, string? name = null) : Layer(name)
{
    /// <summary>Works on each step alike: a mask passes through.</summary>
    protected override bool PropagatesMask => true;


    /// <summary>The activation applied.</summary>
    public ActivationFunction Function { get; } = function;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Function.Apply(x);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new ActivationConfig(Name, Function);
}

/// <summary>Flattens each sample: [batch, d1, d2, ...] → [batch, d1·d2·...].</summary>
public sealed class Flatten(string? name = null) : Layer(name)
{
    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new(inputShape.Size);

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => x.Reshape(x.Shape[0], -1);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new NamedLayerConfig(Name, "Flatten");
}

/// <summary>Reshapes each sample to a target shape (one entry may be −1).</summary>
public sealed class Reshape : Layer
{
    /// <param name="targetShape">The per-sample shape to produce (no batch axis); one entry may be −1, inferred from the size.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentException">A zero or negative size other than one −1.</exception>
    public Reshape(int[] targetShape, string? name = null) : base(name)
    {
        if (targetShape.Count(d => d == -1) > 1 || targetShape.Any(d => d == 0 || d < -1))
            throw new ArgumentException($"Reshape: target shape {Shape.Format(targetShape)} must have positive sizes and at most one -1");
        TargetShape = (int[])targetShape.Clone();
    }

    /// <summary>The per-sample target shape (a copy of the constructor's; −1 for the inferred axis).</summary>
    public int[] TargetShape { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        var dims = (int[])TargetShape.Clone();
        int known = dims.Where(d => d != -1).Aggregate(1, (a, b) => a * b);
        int infer = Array.IndexOf(dims, -1);
        if (infer >= 0)
        {
            if (inputShape.Size % known != 0)
                throw new ArgumentException($"Reshape '{Name}': cannot reshape [batch, {string.Join(", ", inputShape.ToArray())}] to [batch, {string.Join(", ", TargetShape)}]");
            dims[infer] = inputShape.Size / known;
        }
        var s = new Shape(dims);
        if (s.Size != inputShape.Size)
            throw new ArgumentException($"Reshape '{Name}': cannot reshape [batch, {string.Join(", ", inputShape.ToArray())}] ({inputShape.Size} per sample) to [batch, {string.Join(", ", TargetShape)}] ({s.Size})");
        return s;
    }

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => x.Reshape([x.Shape[0], .. ComputeOutputShape(InputShape).Dims]);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new ShapeConfig(Name, TargetShape);
}

/// <summary>
/// Inverted dropout: in training, zeroes each element with probability <c>rate</c> and scales the
/// rest by 1/(1 − rate), so inference is the identity.
/// </summary>
public sealed class Dropout : Layer
{
    /// <summary>Works on each step alike: a mask passes through.</summary>
    protected override bool PropagatesMask => true;

    /// <param name="rate">The fraction of elements dropped in training, in [0, 1).</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A rate outside [0, 1).</exception>
    public Dropout(float rate, string? name = null) : base(name)
    {
        if (!(rate >= 0 && rate < 1))
            throw new ArgumentOutOfRangeException(nameof(rate), $"Dropout: rate must be in [0, 1), got {rate}");
        Rate = rate;
    }

    /// <summary>The fraction of elements dropped in training, in [0, 1).</summary>
    public float Rate { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        if (!training || Rate == 0)
            return x;
        return x * Tensor.DropoutMask(x.Shape, Rate, Rng);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new DropoutConfig(Name, Rate);
}

/// <summary>
/// Declares the per-sample input shape of a model and passes its input through. In the functional
/// API, <see cref="Create"/> gives the symbolic value that the model's layers are applied to.
/// </summary>
public sealed class Input : Layer
{
    private SymbolicTensor? _output;

    /// <param name="shape">The per-sample shape (no batch axis), e.g. [28, 28, 1].</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentException">An empty shape or one of size 0.</exception>
    public Input(int[] shape, string? name = null) : base(name)
    {
        Shape = new Shape(shape);
        if (Shape.Rank == 0 || Shape.Size == 0)
            throw new ArgumentException($"Input '{Name}': the per-sample shape must be non-empty, got [{string.Join(", ", shape)}]");
    }

    /// <summary>A model input for the functional API: <c>var x = Input.Create([28, 28], "pixels");</c></summary>
    /// <param name="shape">The per-sample shape (without the batch axis).</param>
    /// <param name="name">The input's name.</param>
    public static SymbolicTensor Create(int[] shape, string? name = null) => new Input(shape, name).Output;

    /// <summary>The per-sample shape.</summary>
    public Shape Shape { get; }

    /// <summary>The symbolic value this input stands for.</summary>
    public SymbolicTensor Output => _output ??= new SymbolicTensor(Shape, this, []);

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape != Shape)
            throw new ArgumentException($"Input '{Name}': expected input with shape [batch, {string.Join(", ", Shape.ToArray())}], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => x;

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new ShapeConfig(Name, Shape.ToArray());
}

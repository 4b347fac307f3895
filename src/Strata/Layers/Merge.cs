namespace Strata.Layers;

/// <summary>Config of an element-wise merge layer (<see cref="Add"/>, <see cref="Multiply"/>, ...).</summary>
public sealed record MergeConfig(string Name, string Kind) : LayerConfig(Name);

/// <summary>Config of a <see cref="Concatenate"/> layer.</summary>
public sealed record ConcatenateConfig(string Name, int Axis) : LayerConfig(Name);

/// <summary>
/// A layer that combines several inputs into one (skip connections, multi-input models). Apply it to
/// symbolic values with <c>new Add().Apply(a, b)</c>, or call <see cref="Forward(IReadOnlyList{Tensor}, bool)"/>.
/// </summary>
public abstract class MergeLayer : Layer
{
    private Shape[] _inputShapes = [];
    private bool _building;

    /// <param name="name">A name; by default the layer's kind with a counter ("add", "add_1", ...).</param>
    protected MergeLayer(string? name) : base(name)
    {
    }

    /// <summary>The per-sample shapes of the inputs it was built for.</summary>
    public IReadOnlyList<Shape> InputShapes => Built ? _inputShapes : throw new InvalidOperationException($"Layer '{Name}' is not built yet");

    /// <summary>Functional API: the symbolic merge of the inputs.</summary>
    /// <exception cref="ArgumentException">Fewer than two inputs, or shapes that do not merge.</exception>
    public SymbolicTensor Apply(params SymbolicTensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var shapes = inputs.Select(i => i.Shape).ToArray();
        CheckInputShapes(shapes);
        return new SymbolicTensor(ComputeOutputShape(shapes), this, [.. inputs]);
    }

    /// <summary>Builds the layer (once) for the inputs' per-sample shapes.</summary>
    public void Build(IReadOnlyList<Shape> inputShapes)
    {
        CheckInputShapes(inputShapes);
        if (Built)
            return;
        _inputShapes = [.. inputShapes];
        _building = true;
        try
        {
            Build(inputShapes[0]);
        }
        finally
        {
            _building = false;
        }
    }

    /// <summary>Merges a batch of each input ([batch, ...] each, same batch size).</summary>
    public Tensor Forward(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count < 2)
            throw new ArgumentException($"Layer '{Name}': a merge layer takes at least 2 inputs, got {inputs.Count}");
        var shapes = new Shape[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Rank < 1 || inputs[i].Shape[0] != inputs[0].Shape[0])
                throw new ArgumentException($"Layer '{Name}': inputs must be batches of the same size, got {string.Join(" and ", inputs.Select(t => t.Shape))}");
            shapes[i] = new Shape(inputs[i].Shape.Dims[1..]);
        }
        Build(shapes);
        return Tapped(Merge(inputs));
    }

    /// <summary>
    /// The merged value's mask, as Keras' merge layers compute it: a step is kept where every input
    /// that has a mask keeps it; none when no input has one or the merged value has no step axis.
    /// </summary>
    internal static Tensor? MergeMasks(IEnumerable<Tensor?> masks, Tensor merged)
    {
        Tensor? result = null;
        foreach (var m in masks)
        {
            if (m is null)
                continue;
            result = result is null ? m : result * m;
        }
        return result is not null && merged.Rank >= 2 && merged.Shape[1] == result.Shape[1] ? result : null;
    }

    /// <summary>The output shape (per sample) for the inputs' shapes (per sample).</summary>
    public abstract Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes);

    /// <inheritdoc/>
    public sealed override Shape ComputeOutputShape(Shape inputShape) => ComputeOutputShape(_inputShapes);

    /// <summary>Checks the inputs' shapes; by default they must all be equal.</summary>
    protected virtual void ValidateInputShapes(IReadOnlyList<Shape> inputShapes)
    {
        if (inputShapes.Any(s => s != inputShapes[0]))
            throw new ArgumentException($"Layer '{Name}': inputs must have the same shape, got {FormatShapes(inputShapes)}");
    }

    /// <summary>The math on a batch of each input.</summary>
    protected abstract Tensor Merge(IReadOnlyList<Tensor> inputs);

    /// <inheritdoc/>
    protected sealed override void ValidateInputShape(Shape inputShape)
    {
        if (!_building)
            throw new ArgumentException($"Layer '{Name}': a merge layer takes at least 2 inputs, got 1");
    }

    /// <inheritdoc/>
    protected sealed override Tensor Call(Tensor x, bool training) =>
        throw new ArgumentException($"Layer '{Name}': a merge layer takes at least 2 inputs, got 1");

    /// <summary>combine(…combine(combine(x₀, x₁), x₂)…, xₙ₋₁): the element-wise merges.</summary>
    protected static Tensor Fold(IReadOnlyList<Tensor> inputs, Func<Tensor, Tensor, Tensor> combine)
    {
        var y = inputs[0];
        for (int i = 1; i < inputs.Count; i++)
            y = combine(y, inputs[i]);
        return y;
    }

    /// <summary>"[batch, 3], [batch, 4]".</summary>
    protected static string FormatShapes(IEnumerable<Shape> shapes) =>
        string.Join(", ", shapes.Select(s => $"[batch, {string.Join(", ", s.ToArray())}]"));

    private void CheckInputShapes(IReadOnlyList<Shape> shapes)
    {
        if (shapes.Count < 2)
            throw new ArgumentException($"Layer '{Name}': a merge layer takes at least 2 inputs, got {shapes.Count}");
        if (Built)
        {
            if (!shapes.SequenceEqual(_inputShapes))
                throw new ArgumentException($"Layer '{Name}': built for inputs {FormatShapes(_inputShapes)}, got {FormatShapes(shapes)}");
            return;
        }
        ValidateInputShapes(shapes);
    }
}

/// <summary>Element-wise sum of its inputs (the usual skip connection).</summary>
public sealed class Add(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc/>
    public override Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes) => inputShapes[0];

    /// <inheritdoc/>
    protected override Tensor Merge(IReadOnlyList<Tensor> inputs) => Fold(inputs, Tensor.Add);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new MergeConfig(Name, "Add");
}

/// <summary>The first input minus the second (exactly two inputs).</summary>
public sealed class Subtract(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc/>
    public override Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes) => inputShapes[0];

    /// <inheritdoc/>
    protected override void ValidateInputShapes(IReadOnlyList<Shape> inputShapes)
    {
        if (inputShapes.Count != 2)
            throw new ArgumentException($"Layer '{Name}': Subtract takes exactly 2 inputs, got {inputShapes.Count}");
        base.ValidateInputShapes(inputShapes);
    }

    /// <inheritdoc/>
    protected override Tensor Merge(IReadOnlyList<Tensor> inputs) => inputs[0] - inputs[1];

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new MergeConfig(Name, "Subtract");
}

/// <summary>Element-wise product of its inputs.</summary>
public sealed class Multiply(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc/>
    public override Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes) => inputShapes[0];

    /// <inheritdoc/>
    protected override Tensor Merge(IReadOnlyList<Tensor> inputs) => Fold(inputs, Tensor.Mul);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new MergeConfig(Name, "Multiply");
}

/// <summary>Element-wise mean of its inputs.</summary>
public sealed class Average(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc/>
    public override Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes) => inputShapes[0];

    /// <inheritdoc/>
    protected override Tensor Merge(IReadOnlyList<Tensor> inputs) => Fold(inputs, Tensor.Add) * (1f / inputs.Count);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new MergeConfig(Name, "Average");
}

/// <summary>Element-wise maximum of its inputs.</summary>
public sealed class Maximum(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc/>
    public override Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes) => inputShapes[0];

    /// <inheritdoc/>
    protected override Tensor Merge(IReadOnlyList<Tensor> inputs) => Fold(inputs, Tensor.Maximum);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new MergeConfig(Name, "Maximum");
}

/// <summary>Element-wise minimum of its inputs.</summary>
public sealed class Minimum(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc/>
    public override Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes) => inputShapes[0];

    /// <inheritdoc/>
    protected override Tensor Merge(IReadOnlyList<Tensor> inputs) => Fold(inputs, Tensor.Minimum);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new MergeConfig(Name, "Minimum");
}

/// <summary>
/// Joins its inputs along an axis. As in Keras the axis counts the batch axis (the default −1 is the
/// last axis; 1 is the first per-sample axis); all other axes must agree.
/// </summary>
public sealed class Concatenate : MergeLayer
{
    /// <param name="axis">The axis to join along, counting the batch axis (default −1, the last; 0 is refused).</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">Axis 0, the batch axis.</exception>
    public Concatenate(int axis = -1, string? name = null) : base(name)
    {
        if (axis == 0)
            throw new ArgumentOutOfRangeException(nameof(axis), $"Concatenate '{Name}': cannot join along the batch axis (0)");
        Axis = axis;
    }

    /// <summary>The axis, counting the batch axis.</summary>
    public int Axis { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(IReadOnlyList<Shape> inputShapes)
    {
        int a = SampleAxis(inputShapes[0].Rank);
        var dims = inputShapes[0].ToArray();
        dims[a] = inputShapes.Sum(s => s[a]);
        return new Shape(dims);
    }

    /// <inheritdoc/>
    protected override void ValidateInputShapes(IReadOnlyList<Shape> inputShapes)
    {
        int rank = inputShapes[0].Rank;
        int a = SampleAxis(rank);
        foreach (var s in inputShapes)
        {
            bool ok = s.Rank == rank;
            for (int d = 0; ok && d < rank; d++)
                ok = d == a || s[d] == inputShapes[0][d];
            if (!ok)
                throw new ArgumentException($"Concatenate '{Name}': inputs must match on every axis but {Axis}, got {FormatShapes(inputShapes)}");
        }
    }

    /// <inheritdoc/>
    protected override Tensor Merge(IReadOnlyList<Tensor> inputs) => Tensor.Concat(inputs, SampleAxis(inputs[0].Rank - 1) + 1);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new ConcatenateConfig(Name, Axis);

    /// <summary>The axis within a sample of the given rank.</summary>
    private int SampleAxis(int sampleRank)
    {
        int full = Axis < 0 ? Axis + sampleRank + 1 : Axis;
        if (full < 1 || full > sampleRank)
            throw new ArgumentException($"Concatenate '{Name}': axis {Axis} is out of range for inputs [batch, ...] of rank {sampleRank + 1}");
        return full - 1;
    }
}

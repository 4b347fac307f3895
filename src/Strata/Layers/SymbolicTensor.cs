namespace Strata.Layers;

/// <summary>
/// A placeholder for a layer's output in the functional API: it knows its per-sample shape and the
/// layer (and inputs) that produce it, but holds no data. Start from <see cref="Input.Create"/>, chain
/// with <see cref="Layer.Apply"/>, and hand the ends to <c>new Model(inputs, output)</c>.
/// </summary>
public sealed class SymbolicTensor
{
    internal SymbolicTensor(Shape shape, Layer layer, SymbolicTensor[] inputs)
    {
        Shape = shape;
        Layer = layer;
        Inputs = inputs;
    }

    /// <summary>The per-sample shape (without the batch axis).</summary>
    public Shape Shape { get; }

    /// <summary>The layer that produces this value (an <see cref="Input"/> for a model input).</summary>
    public Layer Layer { get; }

    /// <summary>The values the layer consumes (none for an input).</summary>
    public IReadOnlyList<SymbolicTensor> Inputs { get; }

    /// <summary>The shape and the producing layer: "SymbolicTensor([batch, 128] from 'dense')".</summary>
    public override string ToString() => $"SymbolicTensor([batch, {string.Join(", ", Shape.ToArray())}] from '{Layer.Name}')";
}

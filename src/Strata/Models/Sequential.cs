using Strata.Autograd;
using Strata.Layers;

namespace Strata.Models;

/// <summary>A plain stack of layers, each feeding the next: <c>new Sequential([new Flatten(), new Dense(10)])</c>.</summary>
public sealed class Sequential : Model
{
    private readonly List<Layer> _layers = [];
    private readonly ulong _seed;

    /// <param name="layers">The initial layers.</param>
    /// <param name="seed">Seeds every layer's initializers and dropout (layer i gets its own stream).</param>
    /// <param name="name">Model name.</param>
    public Sequential(IEnumerable<Layer>? layers = null, ulong seed = 0, string? name = null) : base(name ?? "sequential")
    {
        _seed = seed;
        foreach (var l in layers ?? [])
            Add(l);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Appends a layer (built with the previous layer's output shape when that is known).</summary>
    public void Add(Layer layer)
    {
        if (_layers.Any(l => l.Name == layer.Name))
            throw new ArgumentException($"Sequential '{Name}': a layer named '{layer.Name}' is already in the model");
        layer.Rng = new Rng(_seed * 0x9E3779B97F4A7C15UL + (ulong)_layers.Count + 1);
        _layers.Add(layer);
        InvalidatePlans();
        if (layer is Input input)
            layer.Build(input.Shape);
        else if (_layers.Count > 1 && _layers[^2].Built)
            layer.Build(_layers[^2].OutputShape);
    }

    /// <summary>Builds every layer for a per-sample input shape.</summary>
    public void Build(params int[] inputShape)
    {
        var shape = new Shape(inputShape);
        foreach (var l in _layers)
        {
            l.Build(shape);
            shape = l.OutputShape;
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x, bool training = false)
    {
        if (_layers.Count == 0)
            throw new InvalidOperationException($"Sequential '{Name}' has no layers");
        // Masks (from Embedding with mask_zero, or Masking) travel with the values, as in Keras.
        Tensor? mask = null;
        foreach (var l in _layers)
            x = l.Forward(x, mask, training, out mask);
        return x;
    }
}

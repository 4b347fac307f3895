using Strata.Layers;

namespace Strata.Onnx;

/// <summary>What an <see cref="OnnxActivationExport"/> gets: the activation, its input value, and a way to add nodes.</summary>
public sealed class OnnxActivationContext
{
    private readonly OnnxExporter _exporter;

    internal OnnxActivationContext(OnnxExporter exporter, ActivationFunction activation, string input, int channelAxis, string layer)
    {
        _exporter = exporter;
        Activation = activation;
        Input = input;
        ChannelAxis = channelAxis;
        Layer = layer;
    }

    /// <summary>The activation being exported (its settings are in its <see cref="ActivationFunction.GetConfig"/>).</summary>
    public ActivationFunction Activation { get; }

    /// <summary>The name of the value the activation applies to.</summary>
    public string Input { get; }

    /// <summary>The channel (feature) axis of <see cref="Input"/>: 1 when the value is channels-first (ONNX's layout for images), else −1.</summary>
    public int ChannelAxis { get; }

    /// <summary>The name of the layer the activation belongs to.</summary>
    public string Layer { get; }

    /// <summary>Adds one node of the default ONNX domain (opset 17) with one output, named after the layer; returns that output's name.</summary>
    public string Node(string opType, IEnumerable<string> inputs, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        return _exporter.Op(opType, Layer, inputs, [.. attributes.Select(a => a.Proto)]);
    }

    /// <summary>Adds a float constant (an initializer) of the given dimensions; returns its name.</summary>
    /// <exception cref="ArgumentException">The dimensions do not hold exactly the values given.</exception>
    public string Constant(float[] values, params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(values);
        long size = dims.Aggregate(1L, (a, d) => a * d);
        if (dims.Any(d => d < 0) || size != values.Length)
            throw new ArgumentException($"ExportOnnx: activation '{Activation.Name}': a constant of dimensions [{string.Join(", ", dims)}] needs {size} values, got {values.Length}");
        return _exporter.Constant($"{Layer}/{Activation.Name}", values, dims);
    }
}

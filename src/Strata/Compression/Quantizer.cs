using Strata.Autograd;
using Strata.Kernels;
using Strata.Layers;
using Strata.Models;
using Strata.Serialization;

namespace Strata.Compression;

/// <summary>How static quantization picks each activation's range from the calibration data.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,

    /// <summary>The <see cref="QuantizationOptions.Percentile"/>-th percentile at each end (outliers clipped).</summary>
    Percentile,
}

/// <summary>Options of <see cref="Quantizer.QuantizeStatic"/>.</summary>
/// <param name="Method">How activation ranges are calibrated.</param>
/// <param name="Percentile">For <see cref="CalibrationMethod.Percentile"/>: the percentile kept at the top (and 100 − it at the bottom), in (50, 100].</param>
/// <param name="BatchSize">Calibration batch size.</param>
/// <param name="Layers">The names of the layers to quantize (null: every Dense and DepthwiseConv2D, and every Conv2D and Conv1D whose window holds at least <see cref="Quantizer.MinWindow"/> values).</param>
public sealed record QuantizationOptions(CalibrationMethod Method = CalibrationMethod.MinMax, double Percentile = 99.99, int BatchSize = 256,
    IReadOnlyCollection<string>? Layers = null);

/// <summary>
/// Post-training quantization of a trained <see cref="Sequential"/> model into a new one:
/// <see cref="QuantizeStatic"/> (weights symmetric per output channel, activations per tensor from a
/// calibration sample) and <see cref="QuantizeDynamic"/> (Dense layers; activations from each batch).
/// Dense, Conv2D, Conv1D and DepthwiseConv2D become <see cref="QuantizedDense"/> / <see cref="QuantizedConvolution"/> /
/// <see cref="QuantizedDepthwiseConvolution"/> (static only);
/// max pooling, flatten, reshape, zero padding and dropout keep their float layers, which pass the
/// values of one activation grid on unchanged, so the next quantized layer reads them exactly; every
/// other layer stays float. The result is a <see cref="Model"/> like any other: Predict, Evaluate
/// (compile it first), Summary, Save / Load (integer kernels as I8), ExportOnnx.
/// </summary>
public static class Quantizer
{
    private const int SamplesPerBatch = 1 << 16;

    /// <summary>The smallest convolution window (KH·KW·C values) quantized by default.</summary>
    public const int MinWindow = 32; // values kept per batch and activation for the percentile method

    /// <summary>Static int8 quantization calibrated on <paramref name="calibration"/> (a sample of training inputs, [n, ...input shape]).</summary>
    /// <exception cref="ArgumentException">The model is not built, the calibration set is empty or of the wrong shape, a named layer cannot be quantized, or the options are out of range.</exception>
    public static Sequential QuantizeStatic(Sequential model, Tensor calibration, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        var o = options ?? new QuantizationOptions();
        if (o.Method == CalibrationMethod.Percentile && !(o.Percentile > 50 && o.Percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(options), $"Quantizer: the percentile must be in (50, 100], got {o.Percentile}");
        if (o.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"Quantizer: the batch size must be at least 1, got {o.BatchSize}");
        var layers = Selected(model, o.Layers, dynamic: false);
        var inputShape = CheckBuilt(model);
        if (calibration.Rank < 1 || calibration.Shape[0] == 0)
            throw new ArgumentException($"Quantizer: the calibration set is empty (shape {calibration.Shape}); give a sample of training inputs");
        var sample = new Shape(calibration.Shape.Dims[1..]);
        if (sample != inputShape)
            throw new ArgumentException($"Quantizer: model '{model.Name}' takes samples of shape {inputShape}, the calibration set holds {sample} (shape {calibration.Shape})");

        var stats = Calibrate(model, calibration, o);
        var result = new Sequential(name: $"{model.Name}_int8");
        QuantParams? grid = null; // the grid the current values lie on, when they come from a quantized layer
        var all = model.Layers;
        for (int i = 0; i < all.Count; i++)
        {
            var layer = all[i];
            bool last = i == all.Count - 1;
            if (layers.Contains(layer))
            {
                var input = grid ?? stats[i].Input.Params(o);
                var activation = ActivationOf(layer);
                bool fused = QuantizedWeights.Fuses(activation);
                QuantParams? output = fused && !last ? stats[i].Output.Params(o) : null;
                var q = Replace(layer, activation, dynamic: false);
                result.Add(q);
                Fill(q, layer, input, output);
                grid = output;
                continue;
            }
            result.Add(Copy(layer));
            if (!KeepsGrid(layer))
                grid = null;
        }
        CopyClassNames(model, result);
        return result;
    }

    /// <summary>Dynamic int8 quantization: Dense layers with int8 weights, their inputs quantized per batch at run time.</summary>
    /// <exception cref="ArgumentException">The model is not built or a named layer is not a Dense layer.</exception>
    public static Sequential QuantizeDynamic(Sequential model, IReadOnlyCollection<string>? layerNames = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = Selected(model, layerNames, dynamic: true);
        CheckBuilt(model);
        var result = new Sequential(name: $"{model.Name}_dynamic_int8");
        foreach (var layer in model.Layers)
        {
            if (!layers.Contains(layer))
            {
                result.Add(Copy(layer));
                continue;
            }
            var q = Replace(layer, ActivationOf(layer), dynamic: true);
            result.Add(q);
            Fill(q, layer, null, null);
        }
        CopyClassNames(model, result);
        return result;
    }

    private static HashSet<Layer> Selected(Sequential model, IReadOnlyCollection<string>? names, bool dynamic)
    {
        bool Quantizable(Layer l) => l is Dense || (!dynamic && l is Conv2D or Conv1D or DepthwiseConv2D);
        string kinds = dynamic ? "Dense" : "Dense, Conv2D, Conv1D and DepthwiseConv2D";
        // By default a convolution whose window holds fewer than MinWindow values (a first layer on 1–3
        // channels) stays float: its int8 GEMM would be all overhead, and the float path has a direct kernel.
        if (names is null)
            return new HashSet<Layer>(model.Layers.Where(l => Quantizable(l)
                && !(l is ConvolutionLayer c && c.Built && c.GeometryOf(c.InputShape).K < MinWindow)), ReferenceEqualityComparer.Instance);
        var set = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        foreach (var name in names)
        {
            var l = model.Layers.FirstOrDefault(x => x.Name == name)
                ?? throw new ArgumentException($"Quantizer: model '{model.Name}' has no layer '{name}' (layers: {string.Join(", ", model.Layers.Select(x => x.Name))})");
            if (!Quantizable(l))
                throw new ArgumentException($"Quantizer: layer '{name}' is a {l.GetType().Name}, which cannot be quantized{(dynamic ? " dynamically" : "")}; the quantized kinds are {kinds}");
            set.Add(l);
        }
        return set;
    }

    private static Shape CheckBuilt(Sequential model)
    {
        if (model.Layers.Count == 0)
            throw new ArgumentException($"Quantizer: model '{model.Name}' has no layers");
        foreach (var l in model.Layers)
            if (!l.Built)
                throw new ArgumentException($"Quantizer: layer '{l.Name}' of model '{model.Name}' is not built, so it has no trained weights; train or load the model before quantizing it");
        return model.Layers[0].InputShape;
    }

    private static ActivationFunction ActivationOf(Layer l) => l switch
    {
        Dense d => d.Activation,
        ConvolutionLayer c => c.Activation,
        DepthwiseConv2D d => d.Activation,
        _ => throw new ArgumentException($"Quantizer: layer '{l.Name}' ({l.GetType().Name}) cannot be quantized"),
    };

    private static Layer Replace(Layer layer, ActivationFunction activation, bool dynamic) => layer switch
    {
        Dense d => new QuantizedDense(d.Units, activation, d.UseBias, dynamic, d.Name),
        Conv2D or Conv1D => new QuantizedConvolution(layer is Conv1D ? "Conv1D" : "Conv2D", ((ConvolutionLayer)layer).Filters,
            ((ConvolutionLayer)layer).GeometryOf(layer.InputShape), activation, ((ConvolutionLayer)layer).UseBias, layer.Name),
        DepthwiseConv2D d => new QuantizedDepthwiseConvolution(d.DepthMultiplier, d.Geometry(d.InputShape), activation, d.UseBias, d.Name),
        _ => throw new ArgumentException($"Quantizer: layer '{layer.Name}' ({layer.GetType().Name}) cannot be quantized"),
    };

    // Max pooling, flattening, reshaping, zero padding (0 is exact) and inference-time dropout move or pick
    // values without changing them: what leaves them is on the grid that entered.
    private static bool KeepsGrid(Layer l) => l is MaxPooling2D or MaxPooling1D or GlobalMaxPooling2D or GlobalMaxPooling1D
        or Flatten or Reshape or ZeroPadding2D or Dropout or Input;

    private static Layer Copy(Layer layer)
    {
        var copy = LayerRegistry.FromConfig(layer, layer.GetConfig());
        if (layer.Built && !copy.Built)
            copy.Build(layer.InputShape);
        var from = layer.Weights.ToArray();
        var to = copy.Weights.ToArray();
        if (from.Length != to.Length)
            throw new InvalidOperationException($"Quantizer: the copy of layer '{layer.Name}' has {to.Length} weights, the layer {from.Length}");
        for (int i = 0; i < from.Length; i++)
            from[i].Value.Span.CopyTo(to[i].Value.AsWritableSpan());
        return copy;
    }

    // Weights symmetric per output channel: scale = max |w| / 127 over the channel's column, codes −127..127
    // (a depthwise kernel [KH, KW, C, M] is read as [KH·KW, C·M]: its columns are the output channels).
    private static void Fill(Layer q, Layer source, QuantParams? input, QuantParams? output)
    {
        Weight kernel = source switch
        {
            Dense d => d.Kernel, ConvolutionLayer c => c.Kernel, DepthwiseConv2D d => d.Kernel, _ => throw new InvalidOperationException(),
        };
        Weight? bias = source switch { Dense d => d.Bias, ConvolutionLayer c => c.Bias, DepthwiseConv2D d => d.Bias, _ => null };
        var (qk, qs, qa, qb) = q switch
        {
            QuantizedDense d => (d.Kernel, d.KernelScale, d.ActivationQuant, d.Bias),
            QuantizedConvolution c => (c.Kernel, c.KernelScale, c.ActivationQuant, c.Bias),
            QuantizedDepthwiseConvolution d => (d.Kernel, d.KernelScale, d.ActivationQuant, d.Bias),
            _ => throw new InvalidOperationException(),
        };
        if (!q.Built)
            throw new InvalidOperationException($"Quantizer: layer '{q.Name}' was not built");
        var w = kernel.Value.Span;
        int n = qs.Value.Size, k = w.Length / n;
        var codes = qk.Value.AsWritableSpan();
        var scales = qs.Value.AsWritableSpan();
        for (int j = 0; j < n; j++)
        {
            float max = 0;
            for (int r = 0; r < k; r++)
            {
                float v = w[r * n + j];
                if (!float.IsFinite(v))
                    throw new ArgumentException($"Quantizer: layer '{source.Name}' has a non-finite kernel value ({v}) at row {r}, column {j}");
                max = Math.Max(max, Math.Abs(v));
            }
            float s = max > 0 ? max / 127f : 1f;
            scales[j] = s;
            for (int r = 0; r < k; r++)
                codes[r * n + j] = Math.Clamp(MathF.Round(w[r * n + j] / s, MidpointRounding.ToEven), -127, 127);
        }
        bias?.Value.Span.CopyTo(qb!.Value.AsWritableSpan());
        var a = qa.Value.AsWritableSpan();
        a[0] = input?.Scale ?? 0;
        a[1] = input?.ZeroPoint ?? 0;
        a[2] = output?.Scale ?? 0;
        a[3] = output?.ZeroPoint ?? 0;
    }

    private static void CopyClassNames(Model from, Model to)
    {
        if (from.ClassNames is { } names)
            to.ClassNames = names;
    }

    // ---------------------------------------------------------------- calibration

    private sealed class ActivationRange
    {
        public float Min = float.PositiveInfinity, Max = float.NegativeInfinity;
        public List<float> Sample { get; } = [];

        public void Observe(ReadOnlySpan<float> v, bool sample)
        {
            for (int i = 0; i < v.Length; i++)
            {
                if (!float.IsFinite(v[i]))
                    throw new ArgumentException($"Quantizer: a calibration activation is not finite ({v[i]}); check the calibration data");
            }
            Min = Math.Min(Min, System.Numerics.Tensors.TensorPrimitives.Min(v));
            Max = Math.Max(Max, System.Numerics.Tensors.TensorPrimitives.Max(v));
            if (!sample)
                return;
            int stride = Math.Max(1, v.Length / SamplesPerBatch);
            for (int i = 0; i < v.Length; i += stride)
                Sample.Add(v[i]);
        }

        public QuantParams Params(QuantizationOptions o)
        {
            if (o.Method == CalibrationMethod.MinMax || Sample.Count == 0)
                return QuantParams.FromRange(Min, Max);
            var sorted = Sample.ToArray();
            Array.Sort(sorted);
            float At(double p) => sorted[(int)Math.Clamp(Math.Round(p / 100 * (sorted.Length - 1)), 0, sorted.Length - 1)];
            return QuantParams.FromRange(At(100 - o.Percentile), At(o.Percentile));
        }
    }

    private sealed record LayerStats(ActivationRange Input, ActivationRange Output);

    // Runs the float model layer by layer over the calibration set, observing each layer's input and output.
    private static LayerStats[] Calibrate(Sequential model, Tensor calibration, QuantizationOptions o)
    {
        var layers = model.Layers;
        var stats = layers.Select(_ => new LayerStats(new ActivationRange(), new ActivationRange())).ToArray();
        bool sample = o.Method == CalibrationMethod.Percentile;
        int n = calibration.Shape[0];
        using var _ = GradMode.Disable();
        for (int b0 = 0; b0 < n; b0 += o.BatchSize)
        {
            int rows = Math.Min(o.BatchSize, n - b0);
            var x = calibration.Slice(0, b0, rows);
            for (int i = 0; i < layers.Count; i++)
            {
                stats[i].Input.Observe(x.Span, sample);
                x = layers[i].Forward(x, training: false);
                stats[i].Output.Observe(x.Span, sample);
            }
        }
        return stats;
    }
}

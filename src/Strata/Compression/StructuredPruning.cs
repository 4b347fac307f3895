using Strata.Layers;
using Strata.Models;
using Strata.Serialization;

namespace Strata.Compression;

/// <summary>
/// Structured pruning: whole filters of a Conv2D / Conv1D or units of a Dense, those of smallest
/// kernel norm, are removed, and the layers after them rewritten to match — the next convolution's
/// input channels, the rows of a Dense (after a Flatten of NHWC activations, channel c of every
/// spatial position), a BatchNormalization's per-channel weights in between — giving a new, smaller
/// <see cref="Sequential"/> that really runs faster (fewer multiply-adds, not zeros). Fine-tune it
/// with <c>Fit</c> afterwards. When the removed filters' outputs are exactly zero (zero kernel and
/// bias, a zero-preserving activation such as relu), the new model computes the same outputs.
/// </summary>
public static class StructuredPruning
{
    /// <summary>The norm of each filter (Conv2D, Conv1D) or unit (Dense) of a layer: over its kernel's slice [..., f] (the bias is not counted).</summary>
    /// <exception cref="ArgumentException">The layer is not a built Dense, Conv2D or Conv1D.</exception>
    public static float[] FilterNorms(Layer layer, FilterNorm norm = FilterNorm.L1)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var kernel = SourceKernel(layer, "StructuredPruning.FilterNorms");
        int f = kernel.Shape[-1];
        using (GradMode.Disable())
        {
            var columns = kernel.Reshape(kernel.Size / f, f);
            var norms = norm == FilterNorm.L1 ? columns.Abs().Sum(0) : (columns * columns).Sum(0).Sqrt();
            return norms.ToArray();
        }
    }

    /// <summary>
    /// A new model with a fraction of the filters (units) of each named layer removed: per layer,
    /// round(fraction·filters) of smallest <paramref name="norm"/>, ties broken by position, the rest
    /// kept in their order. Every other weight is copied; the original model is left as it was.
    /// </summary>
    /// <param name="model">A built Sequential.</param>
    /// <param name="fractions">Layer name → fraction of its filters to remove, in [0, 1).</param>
    /// <param name="norm">How filters are ranked.</param>
    /// <param name="seed">Seeds the new model's layers (their dropout streams).</param>
    /// <exception cref="ArgumentOutOfRangeException">A fraction outside [0, 1), or one that would remove every filter.</exception>
    /// <exception cref="ArgumentException">An unknown layer, a layer that is not a Dense / Conv2D / Conv1D, the model's last layer (it would change the output), or a layer after a pruned one that cannot be rewritten.</exception>
    public static Sequential RemoveFilters(Sequential model, IReadOnlyDictionary<string, float> fractions, FilterNorm norm = FilterNorm.L1, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(fractions);
        const string owner = "StructuredPruning.RemoveFilters";
        var layers = model.Layers;
        if (layers.Count == 0 || !layers[0].Built)
            throw new ArgumentException($"{owner}: model '{model.Name}' is not built");
        var keep = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var (name, fraction) in fractions)
        {
            int at = -1;
            for (int i = 0; i < layers.Count; i++)
                at = layers[i].Name == name ? i : at;
            if (at < 0)
                throw new ArgumentException($"{owner}: model '{model.Name}' has no layer '{name}' (its layers: {string.Join(", ", layers.Select(l => l.Name))})");
            var layer = layers[at];
            if (at == layers.Count - 1)
                throw new ArgumentException($"{owner}: layer '{name}' is the model's last layer; removing its {(layer is Dense ? "units" : "filters")} would change the model's output");
            var norms = FilterNorms(layer, norm);
            if (!(fraction is >= 0 and < 1))
                throw new ArgumentOutOfRangeException(nameof(fractions), $"{owner}: the fraction to remove from layer '{name}' must be in [0, 1), got {fraction}");
            int remove = (int)Math.Round(fraction * (double)norms.Length);
            if (remove >= norms.Length)
                throw new ArgumentOutOfRangeException(nameof(fractions), $"{owner}: removing {fraction} of the {norms.Length} filters of layer '{name}' would leave none");
            keep[name] = Kept(norms, remove);
        }
        return Rebuild(model, keep, seed, owner);
    }

    /// <summary>One layer: <c>RemoveFilters(model, "conv2d", 0.5f)</c>.</summary>
    public static Sequential RemoveFilters(Sequential model, string layer, float fraction, FilterNorm norm = FilterNorm.L1, ulong seed = 0) =>
        RemoveFilters(model, new Dictionary<string, float> { [layer] = fraction }, norm, seed);

    /// <summary>The positions kept: all but the <paramref name="remove"/> of smallest norm, in order.</summary>
    private static int[] Kept(float[] norms, int remove)
    {
        var order = Enumerable.Range(0, norms.Length).ToArray();
        Array.Sort(order, (a, b) => norms[a] != norms[b] ? norms[a].CompareTo(norms[b]) : a.CompareTo(b));
        var kept = order[remove..];
        Array.Sort(kept);
        return kept;
    }

    private static Tensor SourceKernel(Layer layer, string owner)
    {
        var kernel = layer switch
        {
            Dense d => d.Built ? d.Kernel.Value : null,
            Conv2D or Conv1D => layer.Built ? ((ConvolutionLayer)layer).Kernel.Value : null,
            _ => throw new ArgumentException($"{owner}: layer '{layer.Name}' is a {layer.GetType().Name}; whole filters or units can be removed from Dense, Conv2D and Conv1D layers"),
        };
        return kernel ?? throw new ArgumentException($"{owner}: layer '{layer.Name}' is not built yet");
    }

    /// <summary>Layers that keep the channel axis as it is and hold no weights: a pruned channel set passes through them.</summary>
    private static bool PassesChannels(Layer l) => l.Weights.Count == 0 && l is Pooling2D or MaxPooling1D or AveragePooling1D
        or GlobalPooling2D or GlobalAveragePooling1D or GlobalMaxPooling1D or ZeroPadding2D or UpSampling2D or Activation or Dropout or SpatialDropout;

    private static Sequential Rebuild(Sequential model, Dictionary<string, int[]> keep, ulong seed, string owner)
    {
        var old = model.Layers;
        var fresh = new List<Layer>(old.Count);
        // Per layer: for each weight, the kept positions along each axis (null: all).
        var gathers = new List<(int Axis, int[] Index)[]>(old.Count);
        int[]? channels = null; // the kept positions of the last axis of the current activation (null: all)
        string? from = null;    // the layer whose removal they come from
        foreach (var l in old)
        {
            var config = l.GetConfig();
            var weightGathers = new List<(int, int[])>();
            int[]? outChannels = channels;
            if (channels is not null)
            {
                switch (l)
                {
                    case Dense or Conv2D or Conv1D:
                        // Kernel [..., C, F]: the input channels are its second-to-last axis.
                        weightGathers.Add((KernelOf(l).Rank - 2, channels));
                        outChannels = null;
                        break;
                    case BatchNormalization:
                        weightGathers.Add((0, channels)); // every one of its weights is per channel
                        break;
                    case Flatten:
                        // NHWC flattened: position p·C + c, channel c at every spatial position p.
                        int c = l.InputShape[-1], positions = l.InputShape.Size / c;
                        outChannels = [.. Enumerable.Range(0, positions).SelectMany(p => channels.Select(k => p * c + k))];
                        break;
                    case var _ when PassesChannels(l):
                        break;
                    default:
                        throw new ArgumentException($"{owner}: layer '{l.Name}' ({l.GetType().Name}) follows '{from}', whose filters are removed, and cannot be rewritten for fewer channels " +
                            "(supported in between: pooling, padding, up-sampling, Activation, Dropout, BatchNormalization, Flatten; then Dense, Conv2D or Conv1D)");
                }
            }
            if (keep.TryGetValue(l.Name, out var kept))
            {
                int axis = KernelOf(l).Rank - 1;
                config = config switch
                {
                    DenseConfig d => d with { Units = kept.Length },
                    Conv2DConfig c2 => c2 with { Filters = kept.Length },
                    Conv1DConfig c1 => c1 with { Filters = kept.Length },
                    _ => throw new ArgumentException($"{owner}: layer '{l.Name}' cannot lose filters"),
                };
                weightGathers.Add((axis, kept));
                outChannels = kept;
                from = l.Name;
            }
            gathers.Add([.. weightGathers]);
            fresh.Add(LayerRegistry.FromConfig(l, config));
            channels = outChannels;
        }
        if (channels is not null)
            throw new ArgumentException($"{owner}: no Dense or convolution after '{from}' takes its fewer channels; the model's output would change");

        var result = new Sequential(fresh, seed, model.Name);
        if (!fresh[0].Built)
            result.Build(old[0].InputShape.ToArray());
        using (GradMode.Disable())
        {
            for (int i = 0; i < old.Count; i++)
            {
                var (ow, nw) = (old[i].Weights, fresh[i].Weights);
                for (int j = 0; j < ow.Count; j++)
                {
                    var t = ow[j].Value;
                    foreach (var (axis, index) in gathers[i])
                    {
                        // A bias or a per-channel weight has one axis: the output axis for a pruned
                        // layer's bias, axis 0 for BatchNormalization.
                        int a = t.Rank == 1 ? 0 : axis;
                        bool biasOfInput = t.Rank == 1 && old[i] is Dense or Conv2D or Conv1D && axis == KernelOf(old[i]).Rank - 2;
                        if (!biasOfInput)
                            t = t.IndexSelect(a, index);
                    }
                    if (t.Shape != nw[j].Value.Shape)
                        throw new InvalidOperationException($"{owner}: weight '{ow[j].Name}' became {t.Shape}, the rebuilt layer wants {nw[j].Value.Shape}");
                    t.Span.CopyTo(nw[j].Value.AsWritableSpan());
                }
            }
        }
        result.ClassNames = model.ClassNames;
        return result;
    }

    private static Tensor KernelOf(Layer l) => Pruning.KernelOf(l)!.Value;
}

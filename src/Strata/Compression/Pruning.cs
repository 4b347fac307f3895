using Strata.Layers;
using Strata.Models;

namespace Strata.Compression;

/// <summary>
/// Unstructured magnitude pruning (TF-MOT's prune_low_magnitude): the kernels of Dense, Conv2D, Conv1D,
/// DepthwiseConv2D and Conv2DTranspose layers (never biases) lose their smallest-magnitude weights,
/// set to exactly zero. A mask keeps round(n·(1 − sparsity)) weights of a kernel of n (per layer), or
/// that many of all the pruned kernels together (global: one threshold across layers); ties in
/// magnitude are broken by position, so the count is exact. <see cref="MagnitudePruning"/> applies
/// this during Fit on a schedule; <see cref="Strip"/> gives the plain model to ship.
/// </summary>
public static class Pruning
{
    /// <summary>The layer types whose kernels can be pruned.</summary>
    public static IReadOnlyList<string> PrunableTypes { get; } = ["Dense", "Conv2D", "Conv1D", "DepthwiseConv2D", "Conv2DTranspose"];

    /// <summary>
    /// The layers whose kernels are pruned: those named (in model order), or every prunable layer of
    /// the model when <paramref name="layers"/> is null.
    /// </summary>
    /// <exception cref="ArgumentException">A name the model does not have, a layer with no prunable kernel, a layer not built, or no prunable layer at all.</exception>
    public static IReadOnlyList<Layer> PrunableLayers(Model model, IEnumerable<string>? layers = null) =>
        Select(model, layers, "Pruning").Layers;

    /// <summary>
    /// Prunes now, once: zeroes the smallest-magnitude weights of the kernels until each (or, with
    /// <paramref name="global"/>, all of them together) has the given sparsity. The weights are written
    /// in place (compiled plans keep running on them).
    /// </summary>
    /// <returns>The fraction of zeros in each pruned kernel, by layer name.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A sparsity outside [0, 1).</exception>
    /// <exception cref="ArgumentException">As <see cref="PrunableLayers"/>.</exception>
    public static IReadOnlyDictionary<string, float> Prune(Model model, float sparsity, IEnumerable<string>? layers = null, bool global = false)
    {
        CheckSparsity("Pruning.Prune", sparsity);
        var (chosen, kernels) = Select(model, layers, "Pruning.Prune");
        Apply(kernels, SelectPruned(kernels, sparsity, global));
        return Sparsity(chosen);
    }

    /// <summary>The fraction of exactly-zero weights in each prunable kernel (the named layers, or all), by layer name.</summary>
    /// <exception cref="ArgumentException">As <see cref="PrunableLayers"/>.</exception>
    public static IReadOnlyDictionary<string, float> Sparsity(Model model, IEnumerable<string>? layers = null) =>
        Sparsity(Select(model, layers, "Pruning.Sparsity").Layers);

    /// <summary>
    /// The model to ship after pruning (TF-MOT's strip_pruning): a new, uncompiled model with the same
    /// architecture and weights (the zeros included) and class names, without the optimizer state or
    /// any tie to a <see cref="MagnitudePruning"/> callback. Save it with
    /// <c>Save(path, compressWeights: true)</c> for a file that shrinks with the sparsity.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, or cannot be described by its config (a Model subclass, an unregistered layer).</exception>
    public static Model Strip(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var copy = Model.FromConfig(Serialization.ModelFile.ArchitectureJson(model));
        copy.SetWeights(model.GetWeights());
        copy.ClassNames = model.ClassNames;
        return copy;
    }

    /// <summary>A layer's prunable kernel, or null for a layer without one.</summary>
    internal static Weight? KernelOf(Layer layer) => layer switch
    {
        Dense d => d.Kernel,
        ConvolutionLayer c => c.Kernel, // Conv2D, Conv1D
        DepthwiseConv2D d => d.Kernel,
        Conv2DTranspose t => t.Kernel,
        _ => null,
    };

    internal static void CheckSparsity(string owner, float sparsity)
    {
        if (!(sparsity is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(sparsity), $"{owner}: sparsity must be in [0, 1), got {sparsity}");
    }

    /// <summary>The layers to prune and their kernels' tensors, checked.</summary>
    internal static (IReadOnlyList<Layer> Layers, IReadOnlyList<Tensor> Kernels) Select(Model model, IEnumerable<string>? names, string owner)
    {
        ArgumentNullException.ThrowIfNull(model);
        var all = model.Layers;
        List<Layer> chosen;
        if (names is null)
        {
            chosen = [.. all.Where(l => KernelOf(l) is not null)];
            if (chosen.Count == 0)
                throw new ArgumentException($"{owner}: model '{model.Name}' has no prunable layer ({string.Join(", ", PrunableTypes)}); its layers: {string.Join(", ", all.Select(l => $"'{l.Name}' ({l.GetType().Name})"))}");
        }
        else
        {
            var wanted = names.ToList();
            if (wanted.Count == 0)
                throw new ArgumentException($"{owner}: no layers named; give null to prune every prunable layer");
            foreach (var n in wanted)
            {
                var layer = all.FirstOrDefault(l => l.Name == n)
                    ?? throw new ArgumentException($"{owner}: model '{model.Name}' has no layer '{n}' (its layers: {string.Join(", ", all.Select(l => l.Name))})");
                if (KernelOf(layer) is null)
                    throw new ArgumentException($"{owner}: layer '{n}' is a {layer.GetType().Name}, which has no prunable kernel (prunable: {string.Join(", ", PrunableTypes)})");
            }
            chosen = [.. all.Where(l => wanted.Contains(l.Name))];
        }
        foreach (var l in chosen)
        {
            if (!l.Built)
                throw new ArgumentException($"{owner}: layer '{l.Name}' is not built yet (build the model or run it once first)");
        }
        return (chosen, [.. chosen.Select(l => KernelOf(l)!.Value)]);
    }

    private static IReadOnlyDictionary<string, float> Sparsity(IReadOnlyList<Layer> layers)
    {
        var result = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var l in layers)
        {
            var w = KernelOf(l)!.Value.Span;
            result[l.Name] = w.Length == 0 ? 0 : (float)CountZeros(w) / w.Length;
        }
        return result;
    }

    private static int CountZeros(ReadOnlySpan<float> w)
    {
        int n = 0;
        foreach (float v in w)
        {
            if (v == 0)
                n++;
        }
        return n;
    }

    /// <summary>
    /// For each kernel, the sorted positions to set to zero: the n − round(n·(1 − sparsity)) smallest
    /// magnitudes of that kernel, or with <paramref name="global"/> of all kernels together.
    /// </summary>
    internal static int[][] SelectPruned(IReadOnlyList<Tensor> kernels, float sparsity, bool global)
    {
        var result = new int[kernels.Count][];
        if (global)
        {
            long total = kernels.Sum(k => (long)k.Size);
            var keys = new ulong[total];
            long at = 0;
            foreach (var k in kernels)
                at = FillKeys(k.Span, keys, at);
            Array.Sort(keys);
            long prune = total - (long)Math.Round(total * (1.0 - sparsity));
            // Back from global positions to (kernel, position): the kernels' starts, in order.
            var starts = new long[kernels.Count + 1];
            for (int i = 0; i < kernels.Count; i++)
                starts[i + 1] = starts[i] + kernels[i].Size;
            var lists = kernels.Select(_ => new List<int>()).ToArray();
            for (long j = 0; j < prune; j++)
            {
                long g = (long)(keys[j] & 0xFFFF_FFFFUL);
                int i = Array.BinarySearch(starts, g);
                i = i >= 0 ? i : ~i - 1;
                while (starts[i + 1] == g) // an empty kernel shares its start with the next
                    i++;
                lists[i].Add((int)(g - starts[i]));
            }
            for (int i = 0; i < kernels.Count; i++)
            {
                lists[i].Sort();
                result[i] = [.. lists[i]];
            }
            return result;
        }
        for (int i = 0; i < kernels.Count; i++)
        {
            var w = kernels[i].Span;
            var keys = new ulong[w.Length];
            FillKeys(w, keys, 0);
            Array.Sort(keys);
            int prune = w.Length - (int)Math.Round(w.Length * (1.0 - sparsity));
            var idx = new int[prune];
            for (int j = 0; j < prune; j++)
                idx[j] = (int)(keys[j] & 0xFFFF_FFFFUL);
            Array.Sort(idx);
            result[i] = idx;
        }
        return result;
    }

    // A magnitude's bits order like the magnitude (non-negative floats compare as their bit patterns),
    // so (|w| bits, position) packed in a ulong sorts by magnitude with ties broken by position.
    private static long FillKeys(ReadOnlySpan<float> w, ulong[] keys, long at)
    {
        if (at + w.Length > 1L << 32)
            throw new ArgumentException($"Pruning: more than 2^32 weights to rank together");
        for (int i = 0; i < w.Length; i++)
            keys[at + i] = ((ulong)(BitConverter.SingleToUInt32Bits(w[i]) & 0x7FFF_FFFFu) << 32) | (ulong)(at + i);
        return at + w.Length;
    }

    /// <summary>Sets the listed positions of each kernel to +0, in place.</summary>
    internal static void Apply(IReadOnlyList<Tensor> kernels, int[][] pruned)
    {
        for (int i = 0; i < kernels.Count; i++)
        {
            var w = kernels[i].AsWritableSpan();
            foreach (int p in pruned[i])
                w[p] = 0;
        }
    }

    /// <summary>The positions that are exactly zero in each kernel (the masks a pruned model carries in its zeros).</summary>
    internal static int[][] ZerosOf(IReadOnlyList<Tensor> kernels)
    {
        var result = new int[kernels.Count][];
        for (int i = 0; i < kernels.Count; i++)
        {
            var w = kernels[i].Span;
            var list = new List<int>();
            for (int p = 0; p < w.Length; p++)
            {
                if (w[p] == 0)
                    list.Add(p);
            }
            result[i] = [.. list];
        }
        return result;
    }
}

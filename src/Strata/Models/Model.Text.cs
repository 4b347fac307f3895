using Strata.Layers;

namespace Strata.Models;

public partial class Model
{
    /// <summary>
    /// The outputs for raw texts: a model whose first layer (after its Input, if any) is a
    /// <see cref="TextVectorization"/> vectorizes them through it, then predicts as
    /// <see cref="Predict(Tensor, int)"/> does (in chunks, so wide multi-hot rows are never all in memory).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model does not start with a TextVectorization, or it has no vocabulary.</exception>
    public Tensor Predict(IReadOnlyList<string> texts, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var vectorizer = TextInput ?? throw new InvalidOperationException(
            $"Model '{Name}': Predict on texts needs a TextVectorization as the first layer, but the first layer is {FirstLayerDescription()}; vectorize the texts yourself and call Predict(tensor)");
        if (InputCount != 1)
            throw new InvalidOperationException($"Model '{Name}': Predict on texts needs a model with one input, this one has {InputCount}");
        const int chunk = 1024;
        if (texts.Count <= chunk)
            return Predict(vectorizer.Vectorize(texts), batchSize);
        var parts = new List<Tensor>();
        for (int start = 0; start < texts.Count; start += chunk)
        {
            var slice = new string[Math.Min(chunk, texts.Count - start)];
            for (int i = 0; i < slice.Length; i++)
                slice[i] = texts[start + i];
            parts.Add(Predict(vectorizer.Vectorize(slice), batchSize));
        }
        return Tensor.Concat(parts, 0);
    }

    /// <summary>The TextVectorization that the model's input goes through first, or null when the first layer is another.</summary>
    public TextVectorization? TextInput => Layers.FirstOrDefault(l => l is not Input) as TextVectorization;

    private string FirstLayerDescription() => Layers.FirstOrDefault(l => l is not Input)?.ToString() ?? "missing";
}

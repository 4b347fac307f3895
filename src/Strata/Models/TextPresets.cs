using Strata.Layers;

namespace Strata.Models;

/// <summary>
/// The text models by name, uncompiled, each starting with its <see cref="TextVectorization"/> (so a
/// saved model takes raw strings): <c>lstm</c> — Embedding(64, mask_zero) → Bidirectional(LSTM(32)) →
/// Dense(classes, softmax); <c>gru</c> — the same with a GRU; <c>rcnn</c>, the recurrent-convolutional
/// network — Embedding(64, mask_zero) → Conv1D(64, 5, relu) → MaxPooling1D(4) → LSTM(32) → Dense;
/// <c>bow</c>, the bag-of-words baseline — tf-idf over the vocabulary → Dropout(0.3) → Dense. The
/// sequence models read the first <c>sequenceLength</c> tokens, post-padded (the mask skips the padding).
/// </summary>
public static class TextPresets
{
    /// <summary>The preset names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["lstm", "gru", "rcnn", "bow"];

    /// <summary>The vocabulary size <see cref="Vectorizer"/> keeps by default, special tokens included.</summary>
    public const int DefaultMaxTokens = 20000;

    /// <summary>The tokens per text the sequence models read by default.</summary>
    public const int DefaultSequenceLength = 400;

    /// <summary>Whether <paramref name="name"/> is a text preset.</summary>
    public static bool IsTextPreset(string name) => Names.Contains(name);

    /// <summary>
    /// The vectorizer a preset starts with, adapted on <paramref name="texts"/>: int ids
    /// (<paramref name="sequenceLength"/> of them) for the sequence models, tf-idf for <c>bow</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name, or sizes below 1.</exception>
    public static TextVectorization Vectorizer(string name, IEnumerable<string> texts, int maxTokens = DefaultMaxTokens, int sequenceLength = DefaultSequenceLength)
    {
        CheckName(name);
        if (sequenceLength < 1)
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), $"TextPresets: sequence length must be at least 1, got {sequenceLength}");
        var v = name == "bow"
            ? new TextVectorization(maxTokens, outputMode: TextOutputMode.TfIdf, ngrams: 2)
            : new TextVectorization(maxTokens, outputSequenceLength: sequenceLength);
        v.Adapt(texts);
        return v;
    }

    /// <summary>The preset <paramref name="name"/> on an adapted <paramref name="vectorizer"/>.</summary>
    /// <exception cref="ArgumentException">An unknown name, fewer than 2 classes, or a vectorizer of the wrong mode or without a vocabulary.</exception>
    public static Sequential Create(string name, TextVectorization vectorizer, int classes = 2, ulong seed = 0)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(vectorizer);
        if (classes < 2)
            throw new ArgumentException($"TextPresets: '{name}' needs at least 2 classes, got {classes}", nameof(classes));
        if (!vectorizer.HasVocabulary)
            throw new ArgumentException($"TextPresets: '{name}': {vectorizer} has no vocabulary; Adapt it first", nameof(vectorizer));
        bool bow = name == "bow";
        if (bow != (vectorizer.OutputMode != TextOutputMode.Int) || (!bow && vectorizer.OutputSequenceLength is null))
            throw new ArgumentException($"TextPresets: '{name}' needs {(bow ? "a multi_hot, count or tf_idf" : "an int-mode (with output_sequence_length)")} vectorizer, got {vectorizer.OutputMode}", nameof(vectorizer));
        int width = vectorizer.OutputWidth;
        List<Layer> layers = [new Input([width]), vectorizer];
        if (bow)
            layers.AddRange([new Dropout(0.3f), new Dense(classes, "softmax")]);
        else
        {
            layers.Add(new Embedding(vectorizer.VocabularySize, 64, maskZero: true));
            layers.AddRange(name switch
            {
                "lstm" => [new Bidirectional(new Lstm(32))],
                "gru" => [new Bidirectional(new Gru(32))],
                _ => (Layer[])[new Conv1D(64, 5, activation: "relu"), new MaxPooling1D(4), new Lstm(32)],
            });
            layers.Add(new Dense(classes, "softmax"));
        }
        return new Sequential(layers, seed, name);
    }

    private static void CheckName(string name)
    {
        if (!IsTextPreset(name))
            throw new ArgumentException($"TextPresets: unknown preset '{name}' (expected {string.Join(", ", Names)})", nameof(name));
    }
}

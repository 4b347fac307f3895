using Strata.Layers;

namespace Strata.Data;

/// <summary>
/// Labelled texts: a list of (text, class index) with the class names (Keras'
/// <c>text_dataset_from_directory</c> result before batching). Made from a folder per class
/// (<see cref="FromDirectory"/>), a CSV file (<see cref="FromCsv"/>) or in code; turned into a numeric
/// <see cref="Dataset"/> for Fit through a <see cref="TextVectorization"/> layer (<see cref="ToDataset"/>).
/// Immutable: Shuffle, Split and Subset return new sets.
/// </summary>
public sealed partial class TextDataset : IReadOnlyList<(string Text, int Label)>
{
    private readonly string[] _texts;
    private readonly int[] _labels;
    private readonly string[] _classNames;

    /// <exception cref="ArgumentException">Texts and labels differ in number, a text is null, or a label is not a class index.</exception>
    public TextDataset(IReadOnlyList<string> texts, IReadOnlyList<int> labels, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (texts.Count != labels.Count)
            throw new ArgumentException($"TextDataset: {texts.Count} texts but {labels.Count} labels");
        if (classNames.Count == 0)
            throw new ArgumentException("TextDataset: no class names");
        _texts = [.. texts];
        _labels = [.. labels];
        _classNames = [.. classNames];
        for (int i = 0; i < _texts.Length; i++)
        {
            if (_texts[i] is null)
                throw new ArgumentException($"TextDataset: text {i} is null");
            if ((uint)_labels[i] >= (uint)_classNames.Length)
                throw new ArgumentException($"TextDataset: label {_labels[i]} of text {i} is not a class index in [0, {_classNames.Length})");
        }
    }

    /// <summary>The texts, in order.</summary>
    public IReadOnlyList<string> Texts => _texts;

    /// <summary>The class index of each text.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>The class names, index by index.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>The number of texts.</summary>
    public int Count => _texts.Length;

    /// <summary>The text at <paramref name="index"/> and its class index.</summary>
    public (string Text, int Label) this[int index] => (_texts[index], _labels[index]);

    /// <summary>Texts per class, in class order.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[_classNames.Length];
        foreach (int l in _labels)
            counts[l]++;
        return counts;
    }

    /// <summary>The texts at <paramref name="indices"/>, in that order.</summary>
    public TextDataset Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        foreach (int i in indices)
        {
            if ((uint)i >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"TextDataset.Subset: index {i} is outside [0, {Count})");
        }
        return new TextDataset(indices.Select(i => _texts[i]).ToArray(), indices.Select(i => _labels[i]).ToArray(), _classNames);
    }

    /// <summary>The same texts in a seeded random order.</summary>
    public TextDataset Shuffle(ulong seed)
    {
        var order = Enumerable.Range(0, Count).ToArray();
        new Rng(seed).Shuffle(order.AsSpan());
        return Subset(order);
    }

    /// <summary>
    /// Keras' validation split: the last ⌊<paramref name="validationFraction"/> · Count⌋ texts are the
    /// validation part, the rest the training part, in the current order (shuffle first, or load with
    /// shuffling, so that the validation part is not one class).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in (0, 1) or leaves a part empty.</exception>
    public (TextDataset Train, TextDataset Validation) Split(float validationFraction)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"TextDataset.Split: the validation fraction must be in (0, 1), got {validationFraction}");
        int nVal = (int)(validationFraction * (double)Count);
        if (nVal == 0 || nVal == Count)
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"TextDataset.Split: {validationFraction} of {Count} texts leaves an empty part");
        int nTrain = Count - nVal;
        return (Subset(Enumerable.Range(0, nTrain).ToArray()), Subset(Enumerable.Range(nTrain, nVal).ToArray()));
    }

    /// <summary>
    /// A numeric data set for Fit / Evaluate: each text vectorized by <paramref name="vectorizer"/> (adapted
    /// or given a vocabulary), the label as a class index (target []) or a one-hot row. Samples are
    /// [output_sequence_length] token ids in int mode (without an output_sequence_length, every text is
    /// padded to the longest), else [vocabulary width]. Vectorized once up front when the result is at most
    /// 16M floats; larger ones (wide multi-hot / tf-idf sets) vectorize each text as it is read.
    /// </summary>
    /// <exception cref="InvalidOperationException">The vectorizer has no vocabulary.</exception>
    public Dataset ToDataset(TextVectorization vectorizer, LabelMode labelMode = LabelMode.Int)
    {
        ArgumentNullException.ThrowIfNull(vectorizer);
        int classes = _classNames.Length;
        void WriteTarget(int i, Span<float> target)
        {
            if (labelMode == LabelMode.Int)
                target[0] = _labels[i];
            else
            {
                target[..classes].Clear();
                target[_labels[i]] = 1;
            }
        }
        var targetShape = labelMode == LabelMode.Int ? Shape.Scalar : new Shape(classes);
        int? width = vectorizer.FixedOutputWidth;
        if (width is null || (long)width.Value * Count <= 16L << 20)
        {
            var x = vectorizer.Vectorize(_texts);
            var y = Tensor.Zeros([Count, .. targetShape.Dims]);
            var yb = y.AsWritableSpan();
            for (int i = 0; i < Count; i++)
                WriteTarget(i, yb.Slice(i * targetShape.Size, targetShape.Size));
            return Dataset.FromTensors(x, y, _classNames);
        }
        return Dataset.FromFunction(Count, new Shape(width.Value), targetShape, (i, sample, target) =>
        {
            vectorizer.VectorizeInto(_texts[i], sample);
            WriteTarget(i, target);
        }, _classNames);
    }

    /// <summary>The (text, label) pairs, in order.</summary>
    public IEnumerator<(string Text, int Label)> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
            yield return (_texts[i], _labels[i]);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

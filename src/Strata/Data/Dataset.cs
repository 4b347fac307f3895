namespace Strata.Data;

/// <summary>
/// A data set of samples reachable by index (PyTorch's map-style dataset): each sample is a float
/// array of <see cref="SampleShape"/> and a target of <see cref="TargetShape"/> (a class index has
/// the scalar shape []). <see cref="Read"/> must be safe to call from several threads at once: a
/// <see cref="DataLoader"/>'s workers read in parallel.
/// </summary>
public abstract class Dataset
{
    /// <summary>The number of samples.</summary>
    public abstract int Count { get; }

    /// <summary>The shape of one sample (without the batch axis).</summary>
    public abstract Shape SampleShape { get; }

    /// <summary>The shape of one target: [] for a class index, [classes] for one-hot rows.</summary>
    public abstract Shape TargetShape { get; }

    /// <summary>The class names, index by index, when the targets are classes; else null.</summary>
    public virtual IReadOnlyList<string>? ClassNames => null;

    /// <summary>Writes sample <paramref name="index"/> into <paramref name="sample"/> and its target into <paramref name="target"/>.</summary>
    public abstract void Read(int index, Span<float> sample, Span<float> target);

    /// <summary>
    /// Splits into a training and a validation part: the last <paramref name="validationFraction"/> of
    /// the samples, after a seeded shuffle of the indices when <paramref name="shuffle"/> is set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in (0, 1) or leaves a part empty.</exception>
    public (Dataset Train, Dataset Validation) Split(float validationFraction, ulong seed = 0, bool shuffle = true)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"Dataset.Split: the validation fraction must be in (0, 1), got {validationFraction}");
        int nVal = (int)Math.Round(Count * (double)validationFraction);
        if (nVal == 0 || nVal == Count)
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"Dataset.Split: {validationFraction} of {Count} samples leaves an empty part");
        var order = Enumerable.Range(0, Count).ToArray();
        if (shuffle)
            new Rng(seed).Shuffle(order.AsSpan());
        return (new SubsetDataset(this, order[..(Count - nVal)]), new SubsetDataset(this, order[(Count - nVal)..]));
    }

    /// <summary>The samples at <paramref name="indices"/>, in that order (a view: nothing is copied).</summary>
    public Dataset Subset(int[] indices) => new SubsetDataset(this, indices);

    /// <summary>
    /// Reads every sample into two tensors: [Count, ...SampleShape] and [Count, ...TargetShape]
    /// (in parallel: <see cref="Read"/> is thread-safe). A failing sample's own exception is thrown.
    /// </summary>
    public (Tensor X, Tensor Y) ToTensors()
    {
        var x = Tensor.Zeros([Count, .. SampleShape.Dims]);
        var y = Tensor.Zeros([Count, .. TargetShape.Dims]);
        int xs = SampleShape.Size, ys = TargetShape.Size;
        var xb = x.Buffer;
        var yb = y.Buffer;
        try
        {
            Parallel.For(0, Count, i => Read(i, xb.AsSpan(i * xs, xs), yb.AsSpan(i * ys, ys)));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The first failing sample's exception (it names the file), not the parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return (x, y);
    }

    /// <summary>A data set over tensors already in memory: x [n, ...] and y [n, ...].</summary>
    public static Dataset FromTensors(Tensor x, Tensor y, IReadOnlyList<string>? classNames = null) => new TensorDataset(x, y, classNames);

    /// <summary>
    /// A lazily loaded data set: <paramref name="read"/> produces sample i (into the two spans) when it
    /// is asked for, from any thread.
    /// </summary>
    public static Dataset FromFunction(int count, Shape sampleShape, Shape targetShape, SampleReader read, IReadOnlyList<string>? classNames = null) =>
        new FunctionDataset(count, sampleShape, targetShape, read, classNames);

    /// <summary>Throws unless the index is a sample of this data set.</summary>
    protected void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{GetType().Name}: index {index} is outside [0, {Count})");
    }
}

/// <summary>Writes sample <paramref name="index"/> and its target.</summary>
public delegate void SampleReader(int index, Span<float> sample, Span<float> target);

/// <summary>Samples held in two tensors (rows of x and y).</summary>
public sealed class TensorDataset : Dataset
{
    private readonly Tensor _x, _y;
    private readonly IReadOnlyList<string>? _classNames;

    /// <exception cref="ArgumentException">x and y hold different numbers of rows, or either is a scalar.</exception>
    public TensorDataset(Tensor x, Tensor y, IReadOnlyList<string>? classNames = null)
    {
        if (x.Rank < 1 || y.Rank < 1 || x.Shape[0] != y.Shape[0])
            throw new ArgumentException($"TensorDataset: x and y need the same number of rows, got {x.Shape} and {y.Shape}");
        _x = x;
        _y = y;
        _classNames = classNames;
    }

    /// <inheritdoc/>
    public override int Count => _x.Shape[0];

    /// <inheritdoc/>
    public override Shape SampleShape => new(_x.Shape.Dims[1..]);

    /// <inheritdoc/>
    public override Shape TargetShape => new(_y.Shape.Dims[1..]);

    /// <inheritdoc/>
    public override IReadOnlyList<string>? ClassNames => _classNames;

    /// <inheritdoc/>
    public override void Read(int index, Span<float> sample, Span<float> target)
    {
        CheckIndex(index);
        int xs = _x.Size / Count, ys = _y.Size / Count;
        _x.Span.Slice(index * xs, xs).CopyTo(sample);
        _y.Span.Slice(index * ys, ys).CopyTo(target);
    }
}

/// <summary>A view of some samples of another data set.</summary>
internal sealed class SubsetDataset : Dataset
{
    private readonly Dataset _source;
    private readonly int[] _indices;

    public SubsetDataset(Dataset source, int[] indices)
    {
        foreach (int i in indices)
        {
            if ((uint)i >= (uint)source.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Dataset.Subset: index {i} is outside [0, {source.Count})");
        }
        _source = source;
        _indices = indices;
    }

    public override int Count => _indices.Length;

    public override Shape SampleShape => _source.SampleShape;

    public override Shape TargetShape => _source.TargetShape;

    public override IReadOnlyList<string>? ClassNames => _source.ClassNames;

    public override void Read(int index, Span<float> sample, Span<float> target)
    {
        CheckIndex(index);
        _source.Read(_indices[index], sample, target);
    }
}

internal sealed class FunctionDataset(int count, Shape sampleShape, Shape targetShape, SampleReader read, IReadOnlyList<string>? classNames) : Dataset
{
    public override int Count { get; } = count >= 0 ? count : throw new ArgumentOutOfRangeException(nameof(count), $"Dataset.FromFunction: count must be ≥ 0, got {count}");

    public override Shape SampleShape => sampleShape;

    public override Shape TargetShape => targetShape;

    public override IReadOnlyList<string>? ClassNames => classNames;

    public override void Read(int index, Span<float> sample, Span<float> target)
    {
        CheckIndex(index);
        read(index, sample, target);
    }
}

/// <summary>
/// A per-sample transform applied by a <see cref="DataLoader"/> as it assembles batches (an
/// augmentation): it changes the sample in place, drawing any randomness from the generator it is
/// given, which the loader seeds from (seed, epoch, sample index) so that the result
/// does not depend on the number of workers or on timing. Must be safe to call from several threads.
/// </summary>
public interface ISampleTransform
{
    /// <summary>Changes <paramref name="sample"/> in place.</summary>
    /// <param name="sample">One sample's values, laid out as <paramref name="sampleShape"/> (HWC for images).</param>
    /// <param name="sampleShape">The shape of one sample (no batch axis).</param>
    /// <param name="rng">The generator to draw from, seeded per (seed, epoch, sample index).</param>
    void Apply(Span<float> sample, Shape sampleShape, Rng rng);
}

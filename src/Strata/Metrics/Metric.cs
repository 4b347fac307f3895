namespace Strata.Metrics;

/// <summary>The settings a metric saves: its name; a metric with settings of its own derives a record from this one.</summary>
public record MetricConfig(string Name);

/// <summary>Config of metrics that decide at a threshold (binary accuracy, precision, recall).</summary>
public sealed record ThresholdMetricConfig(string Name, float Threshold) : MetricConfig(Name);

/// <summary>Config of <see cref="TopKCategoricalAccuracy"/>.</summary>
public sealed record TopKMetricConfig(string Name, int K, bool Sparse) : MetricConfig(Name);

/// <summary>Config of <see cref="Auc"/>.</summary>
public sealed record AucConfig(string Name, int Thresholds) : MetricConfig(Name);

/// <summary>
/// A streaming metric: <see cref="Update"/> with each batch, <see cref="Result"/> at any time,
/// <see cref="Reset"/> between epochs. Metrics read values only (no gradients). A metric given to
/// <c>Compile</c> as an object is saved through <see cref="Serialization.MetricRegistry"/>: a custom one
/// returns its settings from <see cref="GetConfig"/> and registers once.
/// </summary>
public abstract class Metric(string name)
{
    /// <summary>The name used in logs and History ("accuracy", "mae", ...).</summary>
    public string Name { get; } = name;

    /// <summary>The settings a model file saves, as the config type the metric is registered with (by default its name).</summary>
    public virtual MetricConfig GetConfig() => new(Name);

    /// <summary>Accumulates one batch.</summary>
    public abstract void Update(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null);

    /// <summary>The value over everything accumulated since the last reset.</summary>
    public abstract float Result();

    /// <summary>Forgets everything accumulated.</summary>
    public abstract void Reset();

    /// <summary>Whether a larger result is better (accuracy, AUC) rather than worse (errors); tools that rank by a metric read it.</summary>
    public virtual bool HigherIsBetter => true;

    /// <summary>
    /// What has been accumulated, as numbers a mid-epoch checkpoint stores so that a resumed epoch's
    /// result covers the whole epoch; null for a metric that cannot say (a custom one): its resumed
    /// epoch then counts only the batches after the resume.
    /// </summary>
    internal virtual double[]? GetState() => null;

    /// <summary>Restores <see cref="GetState"/>'s numbers.</summary>
    /// <exception cref="ArgumentException">Not as many numbers as <see cref="GetState"/> gives.</exception>
    internal virtual void SetState(double[] state) =>
        throw new ArgumentException($"metric '{Name}': has no state to restore");

    private protected void CheckState(double[] state, int expected)
    {
        if (state.Length != expected)
            throw new ArgumentException($"metric '{Name}': expected a state of {expected} numbers, got {state.Length}");
    }

    /// <summary>The name and the current result: "accuracy: 0.9875".</summary>
    public override string ToString() => $"{Name}: {Result()}";

    /// <summary>Weight of sample i (1 without weights).</summary>
    protected static float WeightOf(Tensor? sampleWeight, int i) => sampleWeight is null ? 1 : sampleWeight.Span[i];
}

/// <summary>The weighted mean of per-sample values; the base of most metrics (and of the loss in logs).</summary>
public class Mean(string name = "mean") : Metric(name)
{
    private double _total, _count;

    /// <summary>Adds values with weights.</summary>
    public void Add(float value, float weight = 1)
    {
        _total += (double)value * weight;
        _count += weight;
    }

    /// <summary>Treats yPred as the values (yTrue ignored).</summary>
    public override void Update(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null)
    {
        var v = yPred.Span;
        for (int i = 0; i < v.Length; i++)
            Add(v[i], WeightOf(sampleWeight, i));
    }

    /// <inheritdoc/>
    public override float Result() => _count == 0 ? 0 : (float)(_total / _count);

    /// <summary>The total weight added since the last reset (0: no values).</summary>
    public double Count => _count;

    /// <inheritdoc/>
    public override void Reset() => _total = _count = 0;

    internal override double[]? GetState() => [_total, _count];

    internal override void SetState(double[] state)
    {
        CheckState(state, 2);
        (_total, _count) = (state[0], state[1]);
    }
}

/// <summary>A mean of a per-sample score computed from (yTrue, yPred).</summary>
public abstract class MeanPerSample(string name) : Mean(name)
{
    /// <inheritdoc/>
    public override void Update(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null)
    {
        if (yPred.Rank < 1)
            throw new ArgumentException($"{Name}: predictions need a batch axis, got {yPred.Shape}");
        int batch = yPred.Shape[0];
        if (yTrue.Rank < 1 || yTrue.Shape[0] != batch)
            throw new ArgumentException($"{Name}: targets {yTrue.Shape} and predictions {yPred.Shape} have different batch sizes");
        for (int i = 0; i < batch; i++)
            Add(Score(yTrue, yPred, i), WeightOf(sampleWeight, i));
    }

    /// <summary>The score of sample i.</summary>
    protected abstract float Score(Tensor yTrue, Tensor yPred, int i);

    /// <summary>The values of sample i (its row of a [batch, ...] tensor).</summary>
    protected static ReadOnlySpan<float> Row(Tensor t, int i)
    {
        int per = t.Shape[0] == 0 ? 0 : t.Size / t.Shape[0];
        return t.Span.Slice(i * per, per);
    }
}

using Strata.Kernels;

namespace Strata.Metrics;

/// <summary>Fraction of samples whose values all equal the targets exactly.</summary>
public sealed class Accuracy(string name = "accuracy") : MeanPerSample(name)
{
    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i) => Row(yTrue, i).SequenceEqual(Row(yPred, i)) ? 1 : 0;
}

/// <summary>Fraction of elements where (ŷ &gt; threshold) equals the 0/1 target, averaged per sample.</summary>
public sealed class BinaryAccuracy(float threshold = 0.5f, string name = "binary_accuracy") : MeanPerSample(name)
{
    /// <summary>A prediction above it counts as 1 (default ½, for probabilities; 0 for logits).</summary>
    public float Threshold { get; } = threshold;

    /// <inheritdoc/>
    public override MetricConfig GetConfig() => new ThresholdMetricConfig(Name, Threshold);

    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i)
    {
        var t = Row(yTrue, i);
        var p = Row(yPred, i);
        int hits = 0;
        for (int j = 0; j < p.Length; j++)
            hits += (p[j] > Threshold ? 1f : 0f) == t[j] ? 1 : 0;
        return p.Length == 0 ? 0 : hits / (float)p.Length;
    }
}

/// <summary>Fraction of samples whose top score is the one-hot target's class.</summary>
public sealed class CategoricalAccuracy(string name = "categorical_accuracy") : MeanPerSample(name)
{
    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i) => ArgMax(Row(yTrue, i)) == ArgMax(Row(yPred, i)) ? 1 : 0;

    internal static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int j = 1; j < v.Length; j++)
        {
            if (v[j] > v[best])
                best = j;
        }
        return best;
    }
}

/// <summary>Fraction of samples whose top score is the integer target class.</summary>
public sealed class SparseCategoricalAccuracy(string name = "sparse_categorical_accuracy") : MeanPerSample(name)
{
    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i) =>
        CategoricalAccuracy.ArgMax(Row(yPred, i)) == (int)Row(yTrue, i)[0] ? 1 : 0;
}

/// <summary>Fraction of samples whose target class is among the k highest scores (one-hot or integer targets).</summary>
public sealed class TopKCategoricalAccuracy(int k = 5, bool sparse = false, string? name = null)
    : MeanPerSample(name ?? (sparse ? "sparse_top_k_categorical_accuracy" : "top_k_categorical_accuracy"))
{
    /// <summary>How many of the highest scores may hold the target class (default 5).</summary>
    public int K { get; } = k;
    /// <summary>Whether targets are class indices rather than one-hot rows.</summary>
    public bool Sparse { get; } = sparse;

    /// <inheritdoc/>
    public override MetricConfig GetConfig() => new TopKMetricConfig(Name, K, Sparse);

    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i)
    {
        var p = Row(yPred, i);
        int target = Sparse ? (int)Row(yTrue, i)[0] : CategoricalAccuracy.ArgMax(Row(yTrue, i));
        float v = p[target];
        int higher = 0;
        for (int j = 0; j < p.Length; j++)
        {
            if (p[j] > v)
                higher++;
        }
        return higher < K ? 1 : 0;
    }
}

/// <summary>Mean absolute error per sample, averaged.</summary>
public sealed class MeanAbsoluteErrorMetric(string name = "mae") : MeanPerSample(name)
{
    /// <inheritdoc/>
    public override bool HigherIsBetter => false;

    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i)
    {
        var t = Row(yTrue, i);
        var p = Row(yPred, i);
        return p.Length == 0 ? 0 : Summation.SumOfAbsoluteDifferences(p, t) / p.Length;
    }
}

/// <summary>Mean squared error per sample, averaged.</summary>
public sealed class MeanSquaredErrorMetric(string name = "mse") : MeanPerSample(name)
{
    /// <inheritdoc/>
    public override bool HigherIsBetter => false;

    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i)
    {
        var t = Row(yTrue, i);
        var p = Row(yPred, i);
        return p.Length == 0 ? 0 : Summation.SumOfSquaredDifferences(p, t) / p.Length;
    }
}

/// <summary>
/// Root mean squared error: √(Σᵢ wᵢ·mseᵢ / Σᵢ wᵢ), where mseᵢ is sample i's mean squared error, the square root
/// taken once over everything accumulated (not per batch), as Keras' RootMeanSquaredError.
/// </summary>
public sealed class RootMeanSquaredErrorMetric(string name = "rmse") : MeanPerSample(name)
{
    /// <inheritdoc/>
    public override bool HigherIsBetter => false;

    /// <inheritdoc/>
    public override float Result() => MathF.Sqrt(base.Result());

    /// <inheritdoc/>
    protected override float Score(Tensor yTrue, Tensor yPred, int i)
    {
        var t = Row(yTrue, i);
        var p = Row(yPred, i);
        return p.Length == 0 ? 0 : Summation.SumOfSquaredDifferences(p, t) / p.Length;
    }
}

/// <summary>Counts of a binary decision at a threshold over every element (multi-label style, as Keras).</summary>
public abstract class ConfusionMetric(string name, float threshold) : Metric(name)
{
    /// <summary>The counts accumulated since the last <see cref="Metric.Reset"/>.</summary>
    protected double TruePositives, FalsePositives, FalseNegatives;

    /// <summary>A prediction above it counts as positive (default ½).</summary>
    public float Threshold { get; } = threshold;

    /// <inheritdoc/>
    public override MetricConfig GetConfig() => new ThresholdMetricConfig(Name, Threshold);

    /// <inheritdoc/>
    public override void Update(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null)
    {
        if (yTrue.Size != yPred.Size)
            throw new ArgumentException($"{Name}: targets {yTrue.Shape} and predictions {yPred.Shape} differ in size");
        var t = yTrue.Span;
        var p = yPred.Span;
        int per = yPred.Rank == 0 || yPred.Shape[0] == 0 ? 1 : yPred.Size / yPred.Shape[0];
        for (int j = 0; j < p.Length; j++)
        {
            float w = WeightOf(sampleWeight, j / per);
            bool predicted = p[j] > Threshold, actual = t[j] > 0.5f;
            if (predicted && actual) TruePositives += w;
            else if (predicted) FalsePositives += w;
            else if (actual) FalseNegatives += w;
        }
    }

    /// <inheritdoc/>
    public override void Reset() => TruePositives = FalsePositives = FalseNegatives = 0;

    internal override double[]? GetState() => [TruePositives, FalsePositives, FalseNegatives];

    internal override void SetState(double[] state)
    {
        CheckState(state, 3);
        (TruePositives, FalsePositives, FalseNegatives) = (state[0], state[1], state[2]);
    }
}

/// <summary>TP / (TP + FP) at a threshold.</summary>
public sealed class Precision(float threshold = 0.5f, string name = "precision") : ConfusionMetric(name, threshold)
{
    /// <inheritdoc/>
    public override float Result() => TruePositives + FalsePositives == 0 ? 0 : (float)(TruePositives / (TruePositives + FalsePositives));
}

/// <summary>TP / (TP + FN) at a threshold.</summary>
public sealed class Recall(float threshold = 0.5f, string name = "recall") : ConfusionMetric(name, threshold)
{
    /// <inheritdoc/>
    public override float Result() => TruePositives + FalseNegatives == 0 ? 0 : (float)(TruePositives / (TruePositives + FalseNegatives));
}

/// <summary>
/// Area under the ROC curve, from true/false positive counts at evenly spaced thresholds in [0, 1]
/// (Keras: 200), integrated with the trapezoid rule. Predictions are probabilities.
/// </summary>
public sealed class Auc : Metric
{
    private readonly double[] _tp, _fp;
    private double _positives, _negatives;

    /// <param name="thresholds">How many evenly spaced thresholds in [0, 1] the curve is built from (≥ 2, default 200).</param>
    /// <param name="name">The metric's name in the logs.</param>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 2 thresholds.</exception>
    public Auc(int thresholds = 200, string name = "auc") : base(name)
    {
        if (thresholds < 2)
            throw new ArgumentOutOfRangeException(nameof(thresholds), $"auc: needs at least 2 thresholds, got {thresholds}");
        _tp = new double[thresholds];
        _fp = new double[thresholds];
    }

    /// <summary>How many evenly spaced thresholds in [0, 1] the curve is built from.</summary>
    public int Thresholds => _tp.Length;

    /// <inheritdoc/>
    public override MetricConfig GetConfig() => new AucConfig(Name, Thresholds);

    /// <inheritdoc/>
    public override void Update(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null)
    {
        if (yTrue.Size != yPred.Size)
            throw new ArgumentException($"{Name}: targets {yTrue.Shape} and predictions {yPred.Shape} differ in size");
        var t = yTrue.Span;
        var p = yPred.Span;
        int n = _tp.Length;
        int per = yPred.Rank == 0 || yPred.Shape[0] == 0 ? 1 : yPred.Size / yPred.Shape[0];
        for (int j = 0; j < p.Length; j++)
        {
            float w = WeightOf(sampleWeight, j / per);
            bool actual = t[j] > 0.5f;
            if (actual) _positives += w; else _negatives += w;
            // Threshold i is i/(n−1); the prediction counts as positive at every threshold below it.
            int above = Math.Clamp((int)Math.Ceiling(p[j] * (n - 1)), 0, n);
            for (int i = 0; i < above && i < n; i++)
            {
                if (i / (float)(n - 1) < p[j])
                {
                    if (actual) _tp[i] += w; else _fp[i] += w;
                }
            }
        }
    }

    /// <inheritdoc/>
    public override float Result()
    {
        if (_positives == 0 || _negatives == 0)
            return 0;
        double area = 0;
        // Thresholds rise from 0 (TPR = FPR = 1) to 1 (both near 0); add one end point at (0, 0).
        double prevTpr = 1, prevFpr = 1;
        for (int i = 0; i <= _tp.Length; i++)
        {
            double tpr = i < _tp.Length ? _tp[i] / _positives : 0;
            double fpr = i < _tp.Length ? _fp[i] / _negatives : 0;
            area += (prevFpr - fpr) * (prevTpr + tpr) / 2;
            (prevTpr, prevFpr) = (tpr, fpr);
        }
        return (float)area;
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        Array.Clear(_tp);
        Array.Clear(_fp);
        _positives = _negatives = 0;
    }

    /// <summary>[positives, negatives, tp at each threshold..., fp at each threshold...].</summary>
    internal override double[]? GetState() => [_positives, _negatives, .. _tp, .. _fp];

    internal override void SetState(double[] state)
    {
        CheckState(state, 2 + 2 * _tp.Length);
        (_positives, _negatives) = (state[0], state[1]);
        state.AsSpan(2, _tp.Length).CopyTo(_tp);
        state.AsSpan(2 + _tp.Length, _fp.Length).CopyTo(_fp);
    }
}

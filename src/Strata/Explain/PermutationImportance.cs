using System.Globalization;
using System.Text;
using Strata.Data;
using Strata.Metrics;
using Strata.Models;
using Strata.Serialization;

namespace Strata.Explain;

/// <summary>One feature's permutation importance: how much the score worsens when the feature's values are shuffled across samples.</summary>
/// <param name="Feature">The feature's name (from a CSV header, or "feature 3").</param>
/// <param name="Index">Its position on the input's last axis.</param>
/// <param name="Mean">The mean worsening over the repeats (positive: the model relies on the feature; ≈ 0: it does not).</param>
/// <param name="StandardDeviation">The spread of the worsening over the repeats (sample standard deviation; 0 for one repeat).</param>
/// <param name="Drops">The worsening of each repeat.</param>
public sealed record FeatureImportance(string Feature, int Index, float Mean, float StandardDeviation, IReadOnlyList<float> Drops);

/// <summary>The result of <see cref="PermutationImportance.Compute(Model, Tensor, Tensor, Metric?, int, ulong, IReadOnlyList{string}?, int)"/>.</summary>
public sealed class PermutationImportanceResult
{
    internal PermutationImportanceResult(string metric, bool higherIsBetter, float baseline, FeatureImportance[] features)
    {
        Metric = metric;
        HigherIsBetter = higherIsBetter;
        BaselineScore = baseline;
        Features = features;
        Ranked = [.. features.OrderByDescending(f => f.Mean).ThenBy(f => f.Index)];
    }

    /// <summary>The score's name (a metric's, or "loss").</summary>
    public string Metric { get; }

    /// <summary>Whether a larger score is better; the worsening is baseline − permuted when it is, permuted − baseline when not.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>The score on the data as given.</summary>
    public float BaselineScore { get; }

    /// <summary>Every feature, in input order.</summary>
    public IReadOnlyList<FeatureImportance> Features { get; }

    /// <summary>Every feature, most important first.</summary>
    public IReadOnlyList<FeatureImportance> Ranked { get; }

    /// <summary>A plain-text table, most important first: feature, mean worsening, spread.</summary>
    public string ToTable()
    {
        int width = Math.Max("feature".Length, Features.Max(f => f.Feature.Length));
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"permutation importance ({Metric}: {BaselineScore:0.0000} as given; the worsening when a feature is shuffled)\n");
        sb.Append("feature".PadRight(width)).Append("       mean        std\n");
        foreach (var f in Ranked)
            sb.Append(CultureInfo.InvariantCulture, $"{f.Feature.PadRight(width)} {f.Mean,10:0.0000} {f.StandardDeviation,10:0.0000}\n");
        return sb.ToString();
    }
}

/// <summary>
/// Permutation feature importance (Breiman, 2001; Fisher et al., 2019) for any model, data set and
/// metric: the score on the data, then, for each feature and each repeat, the score with that feature's
/// values shuffled across the samples (the other features untouched). A feature is a position on the
/// input's last axis: a column of a table [samples, features], or one variable at every step of a sequence.
/// </summary>
public static class PermutationImportance
{
    /// <param name="model">A trained model with one input.</param>
    /// <param name="x">The inputs [samples, ..., features].</param>
    /// <param name="y">The targets, as the metric (or the model's loss) takes them.</param>
    /// <param name="metric">The score (reset and updated here); null: a new instance of the model's first compiled metric, else its compiled loss.</param>
    /// <param name="repeats">Shuffles per feature.</param>
    /// <param name="seed">Seeds the shuffles.</param>
    /// <param name="featureNames">One name per feature (a CSV header's); null: "feature 0", "feature 1", ...</param>
    /// <param name="batchSize">Rows per prediction batch.</param>
    /// <exception cref="ArgumentException">The data does not fit the model, the names do not match the features, or no score can be chosen.</exception>
    public static PermutationImportanceResult Compute(Model model, Tensor x, Tensor y, Metric? metric = null, int repeats = 5, ulong seed = 0,
        IReadOnlyList<string>? featureNames = null, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (repeats < 1)
            throw new ArgumentOutOfRangeException(nameof(repeats), $"PermutationImportance: repeats must be at least 1, got {repeats}");
        if (model.InputCount != 1)
            throw new ArgumentException($"PermutationImportance: model '{model.Name}' has {model.InputCount} inputs; it takes single-input models");
        if (x.Rank < 2 || x.Shape[0] < 2)
            throw new ArgumentException($"PermutationImportance: expected at least 2 samples [samples, ..., features], got {x.Shape}");
        if (y.Rank < 1 || y.Shape[0] != x.Shape[0])
            throw new ArgumentException($"PermutationImportance: x {x.Shape} and y {y.Shape} must have the same number of samples");
        var sample = new Shape(x.Shape.Dims[1..]);
        if (model.InputShapes is { } shapes && shapes[0] != sample)
        {
            var expected = shapes[0];
            throw new ArgumentException(expected.Rank == 1 && sample.Rank == 1
                ? $"PermutationImportance: model '{model.Name}' takes {expected[0]} features, the data has {sample[0]}" + (featureNames is null ? "" : $" ({string.Join(", ", featureNames)})")
                : $"PermutationImportance: model '{model.Name}' takes inputs [samples, {string.Join(", ", expected.ToArray())}], got {x.Shape}");
        }
        int features = x.Shape[x.Rank - 1];
        if (featureNames is not null && featureNames.Count != features)
            throw new ArgumentException($"PermutationImportance: {featureNames.Count} feature names for {features} features");
        var names = featureNames?.ToArray() ?? [.. Enumerable.Range(0, features).Select(i => $"feature {i}")];
        var score = Scorer(model, metric, y, batchSize, out string metricName, out bool higher);

        float baseline = score(x);
        int n = x.Shape[0], row = x.Size / n, positions = row / features;
        var data = x.ToArray();
        var shuffled = Tensor.Wrap(data, x.Shape);
        var src = x.Span;
        var rng = new Rng(seed);
        var order = new int[n];
        var result = new FeatureImportance[features];
        for (int f = 0; f < features; f++)
        {
            var drops = new float[repeats];
            for (int r = 0; r < repeats; r++)
            {
                for (int i = 0; i < n; i++)
                    order[i] = i;
                rng.Shuffle(order.AsSpan());
                for (int i = 0; i < n; i++)
                {
                    for (int p = 0; p < positions; p++)
                        data[i * row + p * features + f] = src[order[i] * row + p * features + f];
                }
                float permuted = score(shuffled);
                drops[r] = higher ? baseline - permuted : permuted - baseline;
            }
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < positions; p++)
                    data[i * row + p * features + f] = src[i * row + p * features + f];
            }
            double mean = drops.Average();
            double sd = repeats < 2 ? 0 : Math.Sqrt(drops.Sum(d => (d - mean) * (d - mean)) / (repeats - 1));
            result[f] = new FeatureImportance(names[f], f, (float)mean, (float)sd, drops);
        }
        return new PermutationImportanceResult(metricName, higher, baseline, result);
    }

    /// <summary>Permutation importance on a loaded CSV table: its features, its labels and its header's names.</summary>
    /// <exception cref="ArgumentException">The CSV's feature columns do not match the model's input (both counts and the columns named).</exception>
    public static PermutationImportanceResult Compute(Model model, CsvData data, Metric? metric = null, int repeats = 5, ulong seed = 0, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Compute(model, data.Features, data.Labels, metric, repeats, seed, data.FeatureNames, batchSize);
    }

    /// <summary>A new instance of the model's first compiled metric (the model's own keeps its running state).</summary>
    private static Metric Fresh(Model model)
    {
        if (model.MetricNames[0] is { } name)
            return MetricRegistry.FromName(name, model.Loss!);
        using var doc = System.Text.Json.JsonDocument.Parse(MetricRegistry.ToJson(model.Metrics[0]).ToJsonString());
        return MetricRegistry.FromJson(doc.RootElement, $"model '{model.Name}''s metric");
    }

    private static Func<Tensor, float> Scorer(Model model, Metric? metric, Tensor y, int batchSize, out string name, out bool higher)
    {
        metric ??= model.Metrics.Count > 0 ? Fresh(model) : null;
        if (metric is not null)
        {
            name = metric.Name;
            higher = metric.HigherIsBetter;
            var m = metric;
            return x =>
            {
                var pred = model.Predict(x, batchSize);
                m.Reset();
                m.Update(y, pred);
                return m.Result();
            };
        }
        var loss = model.Loss ?? throw new ArgumentException($"PermutationImportance: model '{model.Name}' is not compiled and no metric was given; pass a metric");
        name = "loss";
        higher = false;
        return x => loss.Compute(y, model.Predict(x, batchSize)).ToScalar();
    }
}

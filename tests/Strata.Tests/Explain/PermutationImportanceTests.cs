using Strata.Data;
using Strata.Explain;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Explain;

public sealed class PermutationImportanceTests
{
    /// <summary>Six standard-normal features; the class is whether x0 + 2·x1 − 1.5·x2 > 0; x3..x5 are noise.</summary>
    private static (Tensor X, Tensor Y) Table(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[n * 6];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < 6; k++)
                x[i * 6 + k] = rng.NextNormal();
            y[i] = x[i * 6] + 2 * x[i * 6 + 1] - 1.5f * x[i * 6 + 2] > 0 ? 1 : 0;
        }
        return (Tensor.FromArray(x, n, 6), Tensor.FromArray(y));
    }

    private static Sequential Trained()
    {
        var (x, y) = Table(3000, 1);
        var model = new Sequential([new Input([6]), new Dense(16, "relu"), new Dense(2, "softmax")], seed: 2);
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(x, y, epochs: 8, batchSize: 64, seed: 1);
        return model;
    }

    [Fact]
    public void Informative_features_rank_first_and_noise_features_get_about_zero()
    {
        var model = Trained();
        var (x, y) = Table(1000, 2);
        string[] names = ["a", "b", "c", "noise1", "noise2", "noise3"];
        var result = PermutationImportance.Compute(model, x, y, repeats: 5, seed: 3, featureNames: names);
        Assert.True(result.BaselineScore > 0.95f, $"accuracy {result.BaselineScore}");
        Assert.True(result.HigherIsBetter);
        Assert.Equal(["b", "c", "a"], result.Ranked.Take(3).Select(f => f.Feature));
        foreach (var f in result.Features.Take(3))
            Assert.True(f.Mean > 0.1f, $"{f.Feature}: {f.Mean}");
        foreach (var f in result.Features.Skip(3))
            Assert.True(MathF.Abs(f.Mean) < 0.01f && f.StandardDeviation < 0.01f, $"{f.Feature}: {f.Mean} ± {f.StandardDeviation}");
        Assert.All(result.Features, f => Assert.Equal(5, f.Drops.Count));
        Assert.Contains("noise3", result.ToTable());
        // The data given is left as it was.
        Assert.Equal(Table(1000, 2).X.ToArray(), x.ToArray());
    }

    [Fact]
    public void Lower_is_better_metrics_and_the_loss_count_worsening_as_a_rise()
    {
        var model = Trained();
        var (x, y) = Table(500, 4);
        var loss = PermutationImportance.Compute(model, x, y, metric: null, repeats: 2);
        Assert.Equal("accuracy", loss.Metric); // the compiled metric by default
        var uncompiled = new Sequential([new Input([6]), new Dense(2, "softmax")]);
        var e = Assert.Throws<ArgumentException>(() => PermutationImportance.Compute(uncompiled, x, y));
        Assert.Contains("pass a metric", e.Message);
        var regression = new Sequential([new Input([6]), new Dense(1)], seed: 1);
        var w = regression.Layers[1].Weights[0].Value.AsWritableSpan();
        w.Clear();
        w[0] = 3; // y = 3·x0 exactly
        var target = Tensor.FromArray([.. Enumerable.Range(0, 500).Select(i => 3 * x.Span[i * 6])], 500, 1);
        var mse = PermutationImportance.Compute(regression, x, target, new MeanSquaredErrorMetric(), repeats: 3);
        Assert.False(mse.HigherIsBetter);
        Assert.Equal(0, mse.BaselineScore, 1e-6f);
        Assert.True(mse.Features[0].Mean > 5, $"{mse.Features[0].Mean}"); // ≈ 2 · 9 · var(x0)
        Assert.All(mse.Features.Skip(1), f => Assert.Equal(0, f.Mean, 1e-6f));
    }

    [Fact]
    public void A_csv_whose_columns_do_not_match_the_model_is_named()
    {
        var dir = Directory.CreateTempSubdirectory("strata-pi");
        try
        {
            string path = Path.Combine(dir.FullName, "t.csv");
            File.WriteAllText(path, "p,q,r,label\n1,2,3,0\n4,5,6,1\n7,8,9,0\n");
            var data = Csv.Load(path, labelColumn: "label");
            var model = new Sequential([new Input([6]), new Dense(2, "softmax")]);
            var e = Assert.Throws<ArgumentException>(() => PermutationImportance.Compute(model, data, new Accuracy()));
            Assert.Contains("takes 6 features, the data has 3 (p, q, r)", e.Message);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Names_must_match_the_features()
    {
        var model = new Sequential([new Input([6]), new Dense(2, "softmax")]);
        var (x, y) = Table(10, 1);
        var e = Assert.Throws<ArgumentException>(() => PermutationImportance.Compute(model, x, y, new Accuracy(), featureNames: ["a"]));
        Assert.Contains("1 feature names for 6 features", e.Message);
    }
}

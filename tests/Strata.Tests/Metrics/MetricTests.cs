using Strata.Metrics;

namespace Strata.Tests.Metrics;

public sealed class MetricTests
{
    [Fact]
    public void Accuracy_family_on_hand_examples()
    {
        var probs = Tensor.FromArray([0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f, 0.2f, 0.3f, 0.5f], 3, 3);
        var labels = Tensor.FromArray([1f, 1f, 2f]);
        var sparse = new SparseCategoricalAccuracy();
        sparse.Update(labels, probs);
        Assert.Equal(2f / 3, sparse.Result(), 5);
        var cat = new CategoricalAccuracy();
        cat.Update(Tensor.OneHot([1, 1, 2], 3), probs);
        Assert.Equal(2f / 3, cat.Result(), 5);
        var top2 = new TopKCategoricalAccuracy(2, sparse: true);
        top2.Update(labels, probs);
        Assert.Equal(1f, top2.Result()); // sample 1's label is second best
        // Streaming: a second batch of one wrong sample → 2/4; then reset.
        sparse.Update(Tensor.FromArray([0f]), Tensor.FromArray([0f, 1f, 0f], 1, 3));
        Assert.Equal(0.5f, sparse.Result(), 5);
        sparse.Reset();
        Assert.Equal(0f, sparse.Result());
        var bin = new BinaryAccuracy();
        bin.Update(Tensor.FromArray([1f, 0f, 1f, 0f], 4, 1), Tensor.FromArray([0.9f, 0.2f, 0.4f, 0.6f], 4, 1));
        Assert.Equal(0.5f, bin.Result(), 5);
    }

    [Fact]
    public void Precision_recall_and_regression_metrics()
    {
        var y = Tensor.FromArray([1f, 1f, 0f, 0f, 1f]);
        var p = Tensor.FromArray([0.9f, 0.3f, 0.8f, 0.1f, 0.6f]);
        // Predicted positive: 0, 2, 4 → TP 2, FP 1; actual positives 3 → FN 1.
        var precision = new Precision();
        precision.Update(y, p);
        Assert.Equal(2f / 3, precision.Result(), 5);
        var recall = new Recall();
        recall.Update(y, p);
        Assert.Equal(2f / 3, recall.Result(), 5);
        var mae = new MeanAbsoluteErrorMetric();
        mae.Update(Tensor.FromArray([1f, 2f], 1, 2), Tensor.FromArray([2f, 4f], 1, 2));
        Assert.Equal(1.5f, mae.Result(), 5);
        var mse = new MeanSquaredErrorMetric();
        mse.Update(Tensor.FromArray([1f, 2f], 1, 2), Tensor.FromArray([2f, 4f], 1, 2));
        Assert.Equal(2.5f, mse.Result(), 5);
    }

    [Fact]
    public void Root_mean_squared_error_takes_the_root_once_over_all_batches()
    {
        // Squared errors 1 and 4 in the first batch, 9 in the second: RMSE = √(14 / 3) = 2.16025; the mean of the
        // per-batch roots, (√2.5 + 3) / 2 = 2.29057, would be wrong. MAE over the same: (1 + 2 + 3) / 3 = 2.
        var rmse = new RootMeanSquaredErrorMetric();
        var mae = new MeanAbsoluteErrorMetric();
        foreach (var m in new Metric[] { rmse, mae })
        {
            m.Update(Tensor.FromArray([1f, 2f], 2, 1), Tensor.FromArray([2f, 4f], 2, 1));
            m.Update(Tensor.FromArray([0f], 1, 1), Tensor.FromArray([3f], 1, 1));
        }
        Assert.Equal(2.16025f, rmse.Result(), 5);
        Assert.Equal(2f, mae.Result(), 5);
        Assert.False(rmse.HigherIsBetter);
        rmse.Reset();
        Assert.Equal(0f, rmse.Result());
        // Compile takes it by name and by alias; it logs as "rmse" and a model file names its class.
        var model = new Strata.Models.Sequential([new Strata.Layers.Input([1]), new Strata.Layers.Dense(1)]);
        model.Compile(new Strata.Optimizers.Adam(), new Strata.Losses.MeanSquaredError(), "rmse", "root_mean_squared_error");
        Assert.Equal(["rmse", "rmse"], model.Metrics.Select(m => m.Name));
        Assert.True(Strata.Serialization.MetricRegistry.IsRegistered("root_mean_squared_error"));
    }

    [Fact]
    public void Auc_is_one_for_perfect_ranking_and_about_a_half_for_noise()
    {
        var perfect = new Auc();
        perfect.Update(Tensor.FromArray([0f, 0f, 1f, 1f]), Tensor.FromArray([0.1f, 0.4f, 0.6f, 0.95f]));
        Assert.Equal(1f, perfect.Result(), 2);
        // Pairs (pos, neg) ranked right in 3 of 4: the exact ROC AUC is 0.75.
        var partial = new Auc(1000);
        partial.Update(Tensor.FromArray([0f, 1f, 0f, 1f]), Tensor.FromArray([0.2f, 0.3f, 0.5f, 0.8f]));
        Assert.Equal(0.75f, partial.Result(), 2);
        var rng = new Rng(3);
        var noise = new Auc();
        var labels = Enumerable.Range(0, 20000).Select(i => (float)(i % 2)).ToArray();
        var scores = Enumerable.Range(0, 20000).Select(_ => rng.NextFloat()).ToArray();
        noise.Update(Tensor.FromArray(labels), Tensor.FromArray(scores));
        Assert.InRange(noise.Result(), 0.48f, 0.52f);
    }
}

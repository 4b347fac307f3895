using Strata.Layers;

namespace Strata.Tests.Layers;

public sealed class NormalizationTests
{
    [Fact]
    public void LayerNormalization_gives_zero_mean_unit_variance_rows()
    {
        var ln = new LayerNormalization(epsilon: 1e-6f);
        var y = ln.Forward(Tensor.RandomNormal([4, 50], 3f, 2f, seed: 1));
        var mean = y.Mean(1).ToArray();
        var variance = y.Variance([1]).ToArray();
        Assert.All(mean, m => Assert.Equal(0f, m, 4));
        Assert.All(variance, v => Assert.Equal(1f, v, 3));
    }

    [Fact]
    public void BatchNormalization_normalizes_batches_in_training_and_uses_moving_statistics_in_inference()
    {
        var bn = new BatchNormalization(momentum: 0.5f, epsilon: 1e-6f);
        var x = Tensor.FromArray([1f, 10f, 3f, 20f, 5f, 30f], 3, 2);
        var y = bn.Forward(x, training: true);
        // Channel 0: mean 3, biased variance 8/3 → (1−3)/√(8/3) = −1.2247.
        Assert.Equal(-2 / Math.Sqrt(8.0 / 3), y[0, 0], 4);
        Assert.Equal(0f, y.Mean(0).ToArray()[1], 4);
        // Moving stats after one update with momentum 0.5 from (0, 1): mean (1.5, 10), variance (0.5 + 4/3, 0.5 + 100/3).
        Assert.Equal([1.5f, 10f], bn.MovingMean.ToArray());
        Assert.Equal(0.5 + 4.0 / 3, bn.MovingVariance[0], 4);
        // Inference: (x − moving mean)/√(moving var + ε).
        var inf = bn.Forward(Tensor.FromArray([1.5f, 10f], 1, 2));
        Assert.Equal([0f, 0f], inf.ToArray());
        Assert.False(bn.Weights[2].Trainable);
        Assert.False(bn.Weights[3].Trainable);
    }

    [Fact]
    public void BatchNormalization_training_gradient_matches_finite_differences()
    {
        var bn = new BatchNormalization(momentum: 0.9f);
        var x = Tensor.RandomUniform([4, 3], -1f, 1f, 2);
        bn.Forward(x, training: false);
        x.RequiresGrad = true;
        // The moving statistics change on every call but do not enter the training output.
        var check = GradientChecker.Check(t => bn.Forward(t[0], training: true), [x]);
        Assert.True(check.Passed, check.Worst);
    }

    [Fact]
    public void Summary_counts_non_trainable_parameters()
    {
        var model = new Strata.Models.Sequential([new Dense(4), new BatchNormalization()], seed: 1);
        model.Build(3);
        string summary = model.Summary();
        Assert.Contains("Total params: 32", summary); // 3·4 + 4 + 4·4
        Assert.Contains("Non-trainable params: 8", summary);
    }
}

using Strata.Losses;

namespace Strata.Tests.Losses;

public sealed class LossTests
{
    private static void Near(double expected, Tensor actual) => Assert.Equal(expected, actual.ToScalar(), 5);

    [Fact]
    public void Regression_losses_match_hand_values()
    {
        var y = Tensor.FromArray([0f, 1f, 2f, 4f], 2, 2);
        var p = Tensor.FromArray([1f, 1f, 0f, 4.5f], 2, 2);
        // Errors (1, 0 | −2, 0.5). MSE per sample: (1 + 0)/2, (4 + 0.25)/2 → mean 1.3125.
        Near(1.3125, new MeanSquaredError().Compute(y, p));
        // MAE: (1 + 0)/2, (2 + 0.5)/2 → 0.875.
        Near(0.875, new MeanAbsoluteError().Compute(y, p));
        // Huber δ=1: |1| → 0.5, 0 → 0, |2| → 1·(2 − 0.5) = 1.5, 0.5 → 0.125; per sample 0.25, 0.8125 → 0.53125.
        Near(0.53125, new Huber().Compute(y, p));
        Near(0.25 + 0.8125, new Huber(reduction: LossReduction.Sum).Compute(y, p));
        Assert.Equal([0.5f, 2.125f], new MeanSquaredError(LossReduction.None).Compute(y, p).ToArray());
        // Sample weights (2, 0): (0.5·2 + 0) / 2 = 0.5.
        Near(0.5, new MeanSquaredError().Compute(y, p, Tensor.FromArray([2f, 0f])));
    }

    [Fact]
    public void Cross_entropies_match_hand_values_and_agree_between_logits_and_probabilities()
    {
        var logits = Tensor.FromArray([2f, 1f, 0.1f, 0.5f, 2.5f, -1f], 2, 3);
        var probs = logits.Softmax();
        var labels = Tensor.FromArray([0f, 1f]);
        var oneHot = Tensor.OneHot([0, 1], 3);
        // −log softmax: row 0: log(e² + e + e^0.1) − 2; row 1: log(e^0.5 + e^2.5 + e^−1) − 2.5.
        double r0 = Math.Log(Math.Exp(2) + Math.Exp(1) + Math.Exp(0.1)) - 2;
        double r1 = Math.Log(Math.Exp(0.5) + Math.Exp(2.5) + Math.Exp(-1)) - 2.5;
        double expected = (r0 + r1) / 2;
        Near(expected, new SparseCategoricalCrossentropy(fromLogits: true).Compute(labels, logits));
        Near(expected, new SparseCategoricalCrossentropy().Compute(labels, probs));
        Near(expected, new CategoricalCrossentropy(fromLogits: true).Compute(oneHot, logits));
        Near(expected, new CategoricalCrossentropy().Compute(oneHot, probs));

        var z = Tensor.FromArray([0.3f, -2f, 40f, -40f], 4, 1);
        var t = Tensor.FromArray([1f, 0f, 1f, 0f], 4, 1);
        // BCE from logits: softplus(z) − y·z; rows 3 and 4 are ≈ 0 without overflow.
        double bce = (Math.Log(1 + Math.Exp(0.3)) - 0.3 + Math.Log(1 + Math.Exp(-2))) / 4;
        Near(bce, new BinaryCrossentropy(fromLogits: true).Compute(t, z));
        Near(bce, new BinaryCrossentropy().Compute(t, z.Sigmoid()));
        // KL(y‖p) with y = (0.5, 0.5), p = (0.25, 0.75).
        Near(0.5 * Math.Log(2) + 0.5 * Math.Log(0.5 / 0.75),
            new KLDivergence().Compute(Tensor.FromArray([0.5f, 0.5f], 1, 2), Tensor.FromArray([0.25f, 0.75f], 1, 2)));
    }

    [Fact]
    public void Logit_losses_stay_finite_for_extreme_logits()
    {
        var logits = Tensor.FromArray([1000f, -1000f, 0f], 1, 3);
        var loss = new SparseCategoricalCrossentropy(fromLogits: true).Compute(Tensor.FromArray([1f]), logits);
        Assert.Equal(2000f, loss.ToScalar(), 1);
    }

    public static TheoryData<string> GradientCases() => new() { "mse", "mae", "huber", "bce_logits", "bce", "cce_logits", "cce", "scce_logits", "scce", "kld" };

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Loss_gradients_match_finite_differences(string name)
    {
        var y = Tensor.FromArray([0.2f, 0.7f, 0.1f, 0.3f, 0.3f, 0.4f], 2, 3);
        var labels = Tensor.FromArray([1f, 2f]);
        var bin = Tensor.FromArray([1f, 0f, 1f, 0f, 0f, 1f], 2, 3);
        Func<Tensor[], Tensor> f = name switch
        {
            "mse" => x => new MeanSquaredError().Compute(y, x[0]),
            "mae" => x => new MeanAbsoluteError().Compute(y, x[0]),
            "huber" => x => new Huber(0.5f).Compute(y, x[0]),
            "bce_logits" => x => new BinaryCrossentropy(true).Compute(bin, x[0]),
            "bce" => x => new BinaryCrossentropy().Compute(bin, x[0].Sigmoid()),
            "cce_logits" => x => new CategoricalCrossentropy(true).Compute(y, x[0]),
            "cce" => x => new CategoricalCrossentropy().Compute(y, x[0].Softmax()),
            "scce_logits" => x => new SparseCategoricalCrossentropy(true).Compute(labels, x[0]),
            "scce" => x => new SparseCategoricalCrossentropy().Compute(labels, x[0].Softmax()),
            _ => x => new KLDivergence().Compute(y, x[0].Softmax()),
        };
        var input = Tensor.FromArray([0.33f, -1.2f, 0.9f, 1.7f, -0.4f, 0.05f], 2, 3);
        input.RequiresGrad = true;
        var result = GradientChecker.Check(f, [input]);
        Assert.True(result.Passed, result.Worst);
    }

    [Fact]
    public void Bad_targets_are_explained()
    {
        var p = Tensor.Zeros(4, 3);
        Assert.Contains("[4, 2]", Assert.Throws<ArgumentException>(() => new MeanSquaredError().Compute(Tensor.Zeros(4, 2), p)).Message);
        Assert.Contains("class indices", Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy().Compute(Tensor.Zeros(3), p)).Message);
        Assert.Contains("label 3", Assert.Throws<ArgumentException>(() =>
            new SparseCategoricalCrossentropy(true).Compute(Tensor.FromArray([0f, 1f, 2f, 3f]), p)).Message);
        Assert.Contains("sample weights", Assert.Throws<ArgumentException>(() => new MeanSquaredError().Compute(p, p, Tensor.Ones(3))).Message);
    }
}

using Strata.Metrics;

namespace Strata.Tests.Metrics;

/// <summary>
/// The generative scores against closed forms: the Fréchet distance of diagonal, scaled and 2×2
/// covariances, translations; the classifier score of uniform, one-hot and hand-computed outputs.
/// </summary>
public sealed class GenerativeScoresTests
{
    private static FeatureStatistics Stats(double[] mean, double[] covariance) =>
        new(mean, covariance, mean.Length, 100);

    private static double[] Diagonal(params double[] d)
    {
        var m = new double[d.Length * d.Length];
        for (int i = 0; i < d.Length; i++)
            m[i * d.Length + i] = d[i];
        return m;
    }

    /// <summary>Random [n, d] features with correlated columns (each column mixes the previous one in) and an offset.</summary>
    private static Tensor Features(int n, int d, ulong seed, float offset = 0)
    {
        var x = TestData.Random(n * d, seed);
        for (int i = 0; i < n; i++)
        {
            for (int j = 1; j < d; j++)
                x[i * d + j] += 0.7f * x[i * d + j - 1];
            for (int j = 0; j < d; j++)
                x[i * d + j] += offset + j;
        }
        return Tensor.FromArray(x, n, d);
    }

    [Fact]
    public void Statistics_are_the_mean_and_the_unbiased_covariance()
    {
        // Rows (1, 2), (3, 5), (4, 4): μ = (8/3, 11/3); deviations (−5/3, 1/3, 4/3) and (−5/3, 4/3, 1/3), so
        // var = (25 + 1 + 16)/9 / 2 = 7/3 for both, cov = (25 + 4 + 4)/9 / 2 = 11/6 (numpy.cov divides by n − 1).
        var s = FeatureStatistics.Of(Tensor.FromArray([1f, 2f, 3f, 5f, 4f, 4f], 3, 2));
        Assert.Equal(2, s.Dimension);
        Assert.Equal(3, s.Count);
        Assert.Equal(8.0 / 3, s.Mean[0], 1e-12);
        Assert.Equal(11.0 / 3, s.Mean[1], 1e-12);
        Assert.Equal(7.0 / 3, s.Covariance[0], 1e-12);
        Assert.Equal(11.0 / 6, s.Covariance[1], 1e-12);
        Assert.Equal(11.0 / 6, s.Covariance[2], 1e-12);
        Assert.Equal(7.0 / 3, s.Covariance[3], 1e-12);
    }

    [Fact]
    public void Identical_sets_are_at_distance_zero_and_the_distance_is_symmetric()
    {
        var a = Features(400, 12, 1);
        var b = Features(300, 12, 2, offset: 0.25f);
        var sa = FeatureStatistics.Of(a);
        double trace = Enumerable.Range(0, 12).Sum(i => sa.Covariance[i * 12 + i]);
        Assert.True(GenerativeScores.FrechetDistance(a, a) <= 1e-10 * trace, $"FD(a, a) = {GenerativeScores.FrechetDistance(a, a):G3}");
        double ab = GenerativeScores.FrechetDistance(a, b), ba = GenerativeScores.FrechetDistance(b, a);
        Assert.True(ab > 0.25 * 0.25 * 12 * 0.5, $"FD(a, b) = {ab}");
        Assert.Equal(ab, ba, 1e-9 * ab);
    }

    [Fact]
    public void Diagonal_covariances_in_closed_form()
    {
        // Diagonal Σ commute: Tr √(Σa^½ Σb Σa^½) = Σ √(aᵢbᵢ), so FD = ‖Δμ‖² + Σ (√aᵢ − √bᵢ)².
        double[] va = [4, 1, 0.25, 9, 0], vb = [1, 1, 2, 16, 3];
        double[] ma = [0, 1, 2, 3, 4], mb = [1, 1, 0, 3, 4.5];
        double expected = 0;
        for (int i = 0; i < 5; i++)
            expected += (ma[i] - mb[i]) * (ma[i] - mb[i]) + Math.Pow(Math.Sqrt(va[i]) - Math.Sqrt(vb[i]), 2);
        // = (1 + 0 + 4 + 0 + 0.25) + (1 + 0 + (0.5 − √2)² + 1 + 3)
        Assert.Equal(expected, GenerativeScores.FrechetDistance(Stats(ma, Diagonal(va)), Stats(mb, Diagonal(vb))), 1e-12);
    }

    [Fact]
    public void Two_by_two_against_the_closed_form_trace()
    {
        // For 2×2 PSD matrices the eigenvalues λ₁, λ₂ of Σa·Σb are those of Σa^½ Σb Σa^½, so
        // Tr √(…) = √λ₁ + √λ₂ = √(λ₁ + λ₂ + 2√(λ₁λ₂)) = √(tr(Σa·Σb) + 2√(det Σa · det Σb)): no eigensolver involved.
        double[] sa = [2, 0.8, 0.8, 1], sb = [0.5, -0.3, -0.3, 3];
        double trProduct = sa[0] * sb[0] + sa[1] * sb[2] + sa[2] * sb[1] + sa[3] * sb[3];
        double detA = sa[0] * sa[3] - sa[1] * sa[2], detB = sb[0] * sb[3] - sb[1] * sb[2];
        double traceRoot = Math.Sqrt(trProduct + 2 * Math.Sqrt(detA * detB));
        double[] ma = [1, -1], mb = [0.5, 2];
        double expected = 0.25 + 9 + (sa[0] + sa[3]) + (sb[0] + sb[3]) - 2 * traceRoot;
        Assert.Equal(expected, GenerativeScores.FrechetDistance(Stats(ma, sa), Stats(mb, sb)), 1e-12);
    }

    [Fact]
    public void A_scaled_covariance_in_closed_form()
    {
        // Σb = c²Σa (any Σa, here a full 12×12 one): Tr √(Σa^½ c²Σa Σa^½) = c·Tr Σa, so FD = ‖Δμ‖² + (1 − c)²·Tr Σa.
        var sa = FeatureStatistics.Of(Features(500, 12, 3));
        const double c = 1.7;
        var sb = new FeatureStatistics(sa.Mean.Select(m => m + 0.5).ToArray(), sa.Covariance.Select(v => c * c * v).ToArray(), 12, 500);
        double trace = Enumerable.Range(0, 12).Sum(i => sa.Covariance[i * 12 + i]);
        double expected = 12 * 0.25 + (1 - c) * (1 - c) * trace;
        Assert.Equal(expected, GenerativeScores.FrechetDistance(sa, sb), 1e-9 * expected);
    }

    [Fact]
    public void A_translation_adds_the_squared_shift()
    {
        // Shifting every feature vector by t leaves Σ alone and moves μ by t: FD = ‖t‖² (float features: rounding of 1e-6).
        var a = Features(400, 6, 4);
        var x = a.ToArray();
        float[] t = [0.5f, -1f, 0f, 2f, 0.25f, -0.75f];
        for (int i = 0; i < x.Length; i++)
            x[i] += t[i % 6];
        double expected = t.Sum(v => (double)v * v);
        Assert.Equal(expected, GenerativeScores.FrechetDistance(a, Tensor.FromArray(x, 400, 6)), 1e-4);
    }

    [Fact]
    public void Uniform_outputs_score_one_and_balanced_one_hot_outputs_score_the_class_count()
    {
        Assert.Equal(1.0, GenerativeScores.ClassifierScore(Tensor.Full(0.1f, 50, 10)), 12);
        // Each class as often, each sample certain: KL(eᵢ ‖ uniform) = log k, so the score is k.
        int[] labels = [.. Enumerable.Range(0, 40).Select(i => i % 4)];
        Assert.Equal(4.0, GenerativeScores.ClassifierScore(Tensor.OneHot(labels, 4)), 12);
        // All samples the same certain class: p̄ = pᵢ, score 1.
        Assert.Equal(1.0, GenerativeScores.ClassifierScore(Tensor.OneHot(new int[20], 4)), 12);
    }

    [Fact]
    public void Imbalanced_and_soft_outputs_against_hand_computations()
    {
        // One-hot with class counts 3 and 1: p̄ = (3/4, 1/4), KL = log(1/p̄_c), so the score is
        // exp((3·log(4/3) + log 4)/4) = (4/3)^(3/4)·4^(1/4) = exp(entropy of p̄).
        var imbalanced = Tensor.OneHot([0, 0, 1, 0], 2);
        Assert.Equal(Math.Pow(4.0 / 3, 0.75) * Math.Pow(4, 0.25), GenerativeScores.ClassifierScore(imbalanced), 12);
        // Rows (1/2, 1/2) and (1, 0): p̄ = (3/4, 1/4); KL₁ = ½log(2/3) + ½log 2 = ½log(4/3), KL₂ = log(4/3) (its 0·log 0 term is 0),
        // so the score is exp(¾·log(4/3)) = (4/3)^(3/4).
        var soft = Tensor.FromArray([0.5f, 0.5f, 1f, 0f], 2, 2);
        Assert.Equal(Math.Pow(4.0 / 3, 0.75), GenerativeScores.ClassifierScore(soft), 12);
    }

    [Fact]
    public void Splits_score_each_part_with_its_own_marginal()
    {
        // Rows 0–3 are classes 0, 1, 0, 1 (score 2), rows 4–7 all class 0 (score 1): mean 1.5, population std 0.5.
        var p = Tensor.OneHot([0, 1, 0, 1, 0, 0, 0, 0], 2);
        var (mean, std) = GenerativeScores.ClassifierScore(p, splits: 2);
        Assert.Equal(1.5, mean, 12);
        Assert.Equal(0.5, std, 12);
        // One split is the plain score.
        var (whole, zero) = GenerativeScores.ClassifierScore(p, splits: 1);
        Assert.Equal(GenerativeScores.ClassifierScore(p), whole, 12);
        Assert.Equal(0, zero);
        // 5 rows in 2 splits: rows [0, ⌊5/2⌋) = 0–1 (classes 0, 1: score 2) and 2–4 (all class 0: score 1).
        var (mean5, std5) = GenerativeScores.ClassifierScore(Tensor.OneHot([0, 1, 0, 0, 0], 2), splits: 2);
        Assert.Equal(1.5, mean5, 12);
        Assert.Equal(0.5, std5, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => GenerativeScores.ClassifierScore(p, splits: 0));
        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => GenerativeScores.ClassifierScore(p, splits: 9));
        Assert.Contains("8 rows", tooMany.Message);
    }

    [Fact]
    public void Class_agreement_counts_argmax_matches()
    {
        var p = Tensor.FromArray([0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f, 0.2f, 0.5f, 0.3f, 0.4f, 0.4f, 0.2f], 4, 3);
        // Argmax rows: 0, 2, 1, 0 (a tie goes to the first class).
        Assert.Equal(0.75, GenerativeScores.ClassAgreement(p, [0, 2, 1, 1]));
        Assert.Equal(1.0, GenerativeScores.ClassAgreement(p, [0, 2, 1, 0]));
        var length = Assert.Throws<ArgumentException>(() => GenerativeScores.ClassAgreement(p, [0, 1]));
        Assert.Contains("expected 4", length.Message);
        var range = Assert.Throws<ArgumentException>(() => GenerativeScores.ClassAgreement(p, [0, 1, 3, 0]));
        Assert.Contains("class 3 at position 2", range.Message);
        Assert.Contains("[0, 3)", range.Message);
    }

    [Fact]
    public void Logits_and_malformed_probabilities_are_refused_with_the_row()
    {
        var logits = Tensor.FromArray([0.2f, 0.8f, 2.5f, 1.0f], 2, 2);
        var sum = Assert.Throws<ArgumentException>(() => GenerativeScores.ClassifierScore(logits));
        Assert.StartsWith("ClassifierScore: row 1 sums to 3.5", sum.Message);
        Assert.Contains("softmax", sum.Message);
        var negative = Assert.Throws<ArgumentException>(() => GenerativeScores.ClassifierScore(Tensor.FromArray([0.5f, 0.5f, 1.5f, -0.5f], 2, 2), 2));
        Assert.Contains("row 1 holds -0.5 at class 1", negative.Message);
        var nan = Assert.Throws<ArgumentException>(() => GenerativeScores.ClassifierScore(Tensor.FromArray([float.NaN, 1f], 1, 2)));
        Assert.Contains("row 0 holds NaN", nan.Message);
        var rank = Assert.Throws<ArgumentException>(() => GenerativeScores.ClassifierScore(Tensor.FromArray([0.5f, 0.5f])));
        Assert.Contains("[n, classes]", rank.Message);
        Assert.Contains("[2]", rank.Message);
        // Within the tolerance of 1e-3 is accepted (float softmax rounding).
        Assert.True(GenerativeScores.ClassifierScore(Tensor.FromArray([0.5f, 0.5005f], 1, 2)) > 0);
    }

    [Fact]
    public void Bad_feature_sets_are_refused_with_what_was_received()
    {
        var one = Assert.Throws<ArgumentException>(() => FeatureStatistics.Of(Tensor.FromArray([1f, 2f, 3f], 1, 3)));
        Assert.Contains("at least 2", one.Message);
        Assert.Contains("[1, 3]", one.Message);
        var rank = Assert.Throws<ArgumentException>(() => FeatureStatistics.Of(Tensor.FromArray([1f, 2f, 3f])));
        Assert.Contains("[n, d]", rank.Message);
        var nan = Assert.Throws<ArgumentException>(() => FeatureStatistics.Of(Tensor.FromArray([1f, 2f, float.NaN, 4f], 2, 2)));
        Assert.Contains("[1, 0] is NaN", nan.Message);
        var dims = Assert.Throws<ArgumentException>(() => GenerativeScores.FrechetDistance(Features(10, 3, 1), Features(10, 4, 2)));
        Assert.Contains("[10, 3]", dims.Message);
        Assert.Contains("[10, 4]", dims.Message);
        var stats = Assert.Throws<ArgumentException>(() => GenerativeScores.FrechetDistance(Stats([0, 0], Diagonal(1, 1)), Stats([0, 0, 0], Diagonal(1, 1, 1))));
        Assert.Contains("a 2", stats.Message);
        Assert.Contains("b 3", stats.Message);
        var inconsistent = Assert.Throws<ArgumentException>(() => GenerativeScores.FrechetDistance(new FeatureStatistics([0, 0], new double[3], 2, 5), Stats([0, 0], Diagonal(1, 1))));
        Assert.Contains("statistics a", inconsistent.Message);
    }
}

namespace Strata.Metrics;

/// <summary>
/// The mean and covariance of a set of feature vectors, in double precision: what
/// <see cref="GenerativeScores.FrechetDistance(FeatureStatistics, FeatureStatistics)"/> compares.
/// Keep one for the real data and score each generated set against it.
/// </summary>
/// <param name="Mean">μ, <paramref name="Dimension"/> values.</param>
/// <param name="Covariance">Σ, <paramref name="Dimension"/>² values, row-major (symmetric).</param>
/// <param name="Dimension">d, the length of one feature vector.</param>
/// <param name="Count">The number of vectors the statistics were computed from.</param>
public sealed record FeatureStatistics(double[] Mean, double[] Covariance, int Dimension, int Count)
{
    /// <summary>
    /// The statistics of the rows of <paramref name="features"/> [n, d]: μ = (1/n)·Σᵢ xᵢ and the unbiased
    /// covariance Σ = (1/(n − 1))·Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ (numpy.cov with rowvar=False), every sum in double.
    /// </summary>
    /// <exception cref="ArgumentException">Not a [n, d] tensor, fewer than 2 rows (a covariance needs n − 1 ≥ 1), or a NaN / infinite value.</exception>
    public static FeatureStatistics Of(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        const string op = "FeatureStatistics.Of";
        if (features.Rank != 2)
            throw new ArgumentException($"{op}: expected features [n, d], got {features.Shape}", nameof(features));
        int n = features.Shape[0], d = features.Shape[1];
        if (n < 2)
            throw new ArgumentException($"{op}: a covariance needs at least 2 feature vectors, got {n} ({features.Shape})", nameof(features));
        if (d < 1)
            throw new ArgumentException($"{op}: expected features of at least one dimension, got {features.Shape}", nameof(features));
        var x = features.Span;
        var mean = new double[d];
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * d, d);
            for (int j = 0; j < d; j++)
            {
                if (!float.IsFinite(row[j]))
                    throw new ArgumentException($"{op}: feature [{i}, {j}] is {row[j]}; expected finite values", nameof(features));
                mean[j] += row[j];
            }
        }
        for (int j = 0; j < d; j++)
            mean[j] /= n;

        // Upper triangle of Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ, one row of deviations at a time (two passes: the
        // centred form, so that large means do not cancel the covariance away).
        var cov = new double[d * d];
        var dev = new double[d];
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * d, d);
            for (int j = 0; j < d; j++)
                dev[j] = row[j] - mean[j];
            for (int j = 0; j < d; j++)
            {
                double dj = dev[j];
                var covRow = cov.AsSpan(j * d, d);
                for (int k = j; k < d; k++)
                    covRow[k] += dj * dev[k];
            }
        }
        double inv = 1.0 / (n - 1);
        for (int j = 0; j < d; j++)
        {
            for (int k = j; k < d; k++)
                cov[k * d + j] = cov[j * d + k] *= inv;
        }
        return new FeatureStatistics(mean, cov, d, n);
    }

    /// <summary>Checks that the arrays match <see cref="Dimension"/> (the record can be built by hand).</summary>
    internal void Validate(string op, string which)
    {
        if (Mean is null || Covariance is null || Dimension < 1 || Mean.Length != Dimension || Covariance.Length != (long)Dimension * Dimension)
            throw new ArgumentException($"{op}: statistics {which} are inconsistent: dimension {Dimension}, a mean of {Mean?.Length.ToString() ?? "null"} values and a covariance of {Covariance?.Length.ToString() ?? "null"} (expected {Dimension} and {(long)Dimension * Dimension})");
    }
}

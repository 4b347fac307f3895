using Strata.Kernels;

namespace Strata.Metrics;

/// <summary>
/// Scores of a generative model's samples, computed from a trained classifier's outputs: the
/// classifier score (the Inception-score formula), the Fréchet distance between feature statistics
/// (the FID formula) and the agreement with requested classes (for conditional generators). The
/// formulas are the published ones; the classifier is whatever network the caller trusts (for MNIST,
/// <c>GanScorer.LoadMnist</c> in Strata.Models), so the numbers compare runs under the same classifier,
/// not with figures computed with Inception-v3.
/// </summary>
public static class GenerativeScores
{
    /// <summary>How far a row of probabilities may sum from 1.</summary>
    public const double SumTolerance = 1e-3;

    /// <summary>
    /// exp(meanᵢ KL(pᵢ ‖ p̄)) with p̄ = meanᵢ pᵢ, the mean of the rows: from 1 (every sample gets the same
    /// class distribution) to k, the number of classes (every sample confidently classified, the classes
    /// equally often). Computed in double; 0·log 0 = 0.
    /// </summary>
    /// <param name="probabilities">[n, k] class probabilities (softmax outputs): each row non-negative, summing to 1 within <see cref="SumTolerance"/>.</param>
    /// <exception cref="ArgumentException">Not [n, k] with n ≥ 1, or a row that is not a probability distribution (the message names the row and its sum).</exception>
    public static double ClassifierScore(Tensor probabilities)
    {
        var (n, k) = CheckProbabilities("ClassifierScore", probabilities);
        return Math.Exp(MeanKl(probabilities.Span, 0, n, k));
    }

    /// <summary>
    /// The classifier score of each of <paramref name="splits"/> consecutive parts of the rows (part i holds
    /// rows ⌊i·n/splits⌋ to ⌊(i + 1)·n/splits⌋ − 1, each with its own p̄), and the mean and the population
    /// standard deviation of the parts' scores: the usual way the Inception score is reported (10 splits).
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="ClassifierScore(Tensor)"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="splits"/> is not between 1 and n.</exception>
    public static (double Mean, double Std) ClassifierScore(Tensor probabilities, int splits)
    {
        var (n, k) = CheckProbabilities("ClassifierScore", probabilities);
        if (splits < 1 || splits > n)
            throw new ArgumentOutOfRangeException(nameof(splits), $"ClassifierScore: splits must be between 1 and the {n} rows, got {splits}");
        var scores = new double[splits];
        for (int i = 0; i < splits; i++)
        {
            int start = (int)((long)i * n / splits), end = (int)((long)(i + 1) * n / splits);
            scores[i] = Math.Exp(MeanKl(probabilities.Span, start, end - start, k));
        }
        double mean = scores.Average();
        double variance = scores.Sum(s => (s - mean) * (s - mean)) / splits;
        return (mean, Math.Sqrt(variance));
    }

    /// <summary>
    /// The Fréchet distance between two Gaussians fitted to feature sets:
    /// ‖μa − μb‖² + Tr Σa + Tr Σb − 2·Tr √(Σa^½·Σb·Σa^½) (the FID formula; 0 for identical statistics).
    /// The square roots come from <see cref="SymmetricEigen"/>, tiny negative eigenvalues (rounding in a
    /// singular covariance) clamped to 0; a result a few ulps below 0 is returned as 0.
    /// </summary>
    /// <exception cref="ArgumentException">The two dimensions differ, or statistics whose arrays do not match their dimension.</exception>
    public static double FrechetDistance(FeatureStatistics a, FeatureStatistics b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        const string op = "FrechetDistance";
        a.Validate(op, "a");
        b.Validate(op, "b");
        if (a.Dimension != b.Dimension)
            throw new ArgumentException($"{op}: the statistics have different dimensions: a {a.Dimension} (from {a.Count} vectors), b {b.Dimension} (from {b.Count} vectors)");
        int d = a.Dimension;
        double meanTerm = 0, traces = 0;
        for (int i = 0; i < d; i++)
        {
            double diff = a.Mean[i] - b.Mean[i];
            meanTerm += diff * diff;
            traces += a.Covariance[i * d + i] + b.Covariance[i * d + i];
        }
        // Σa^½ Σb Σa^½ is symmetric positive semi-definite and has the eigenvalues of Σa·Σb, so the trace of its
        // square root is the trace of (Σa·Σb)^½ without a non-symmetric square root.
        var rootA = SquareRoot(a.Covariance, d);
        var inner = Multiply(Multiply(rootA, b.Covariance, d), rootA, d);
        Symmetrize(inner, d);
        var values = new double[d];
        SymmetricEigen.Decompose(inner, values, new double[d * d]);
        double traceRoot = 0;
        foreach (double v in values)
            traceRoot += Math.Sqrt(Math.Max(v, 0));
        return Math.Max(0, meanTerm + traces - 2 * traceRoot);
    }

    /// <summary>The Fréchet distance between the statistics of two feature sets [n, d] and [m, d] (<see cref="FeatureStatistics.Of"/> of each).</summary>
    /// <exception cref="ArgumentException">Not two [n, d] tensors with n ≥ 2, or their d differ.</exception>
    public static double FrechetDistance(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank == 2 && b.Rank == 2 && a.Shape[1] != b.Shape[1])
            throw new ArgumentException($"FrechetDistance: the feature sets have different dimensions: a {a.Shape}, b {b.Shape}");
        return FrechetDistance(FeatureStatistics.Of(a), FeatureStatistics.Of(b));
    }

    /// <summary>
    /// The fraction of rows whose most probable class (the first on a tie) is the requested one: how
    /// often a conditional generator draws the class it was asked for, as the classifier sees it.
    /// </summary>
    /// <param name="probabilities">[n, k] class scores (probabilities or logits: only the argmax counts).</param>
    /// <param name="requested">n class indices in [0, k).</param>
    /// <exception cref="ArgumentException">Not [n, k] with n ≥ 1, a length other than n, or a class outside [0, k).</exception>
    public static double ClassAgreement(Tensor probabilities, ReadOnlySpan<int> requested)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        const string op = "ClassAgreement";
        var (n, k) = CheckMatrix(op, probabilities);
        if (requested.Length != n)
            throw new ArgumentException($"{op}: expected {n} requested classes (one per row of {probabilities.Shape}), got {requested.Length}", nameof(requested));
        var p = probabilities.Span;
        int agree = 0;
        for (int i = 0; i < n; i++)
        {
            int c = requested[i];
            if (c < 0 || c >= k)
                throw new ArgumentException($"{op}: requested class {c} at position {i} is outside [0, {k}) for {k} classes", nameof(requested));
            var row = p.Slice(i * k, k);
            int best = 0;
            for (int j = 1; j < k; j++)
            {
                if (row[j] > row[best])
                    best = j;
            }
            if (best == c)
                agree++;
        }
        return (double)agree / n;
    }

    /// <summary>meanᵢ Σⱼ pᵢⱼ·(log pᵢⱼ − log p̄ⱼ) over rows [start, start + rows), p̄ their mean.</summary>
    private static double MeanKl(ReadOnlySpan<float> p, int start, int rows, int k)
    {
        var marginal = new double[k];
        for (int i = start; i < start + rows; i++)
        {
            var row = p.Slice(i * k, k);
            for (int j = 0; j < k; j++)
                marginal[j] += row[j];
        }
        var logMarginal = new double[k];
        for (int j = 0; j < k; j++)
            logMarginal[j] = Math.Log(marginal[j] / rows); // −∞ only for a column of zeros, whose terms are skipped
        double sum = 0;
        for (int i = start; i < start + rows; i++)
        {
            var row = p.Slice(i * k, k);
            for (int j = 0; j < k; j++)
            {
                double pij = row[j];
                if (pij > 0) // 0·log 0 = 0; pᵢⱼ > 0 implies p̄ⱼ > 0
                    sum += pij * (Math.Log(pij) - logMarginal[j]);
            }
        }
        return sum / rows;
    }

    private static (int N, int K) CheckProbabilities(string op, Tensor probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        var (n, k) = CheckMatrix(op, probabilities);
        var p = probabilities.Span;
        for (int i = 0; i < n; i++)
        {
            var row = p.Slice(i * k, k);
            double sum = 0;
            for (int j = 0; j < k; j++)
            {
                if (!(row[j] >= 0) || float.IsPositiveInfinity(row[j]))
                    throw new ArgumentException($"{op}: row {i} holds {row[j]} at class {j}; expected probabilities in [0, 1] (softmax outputs, not logits)", nameof(probabilities));
                sum += row[j];
            }
            if (Math.Abs(sum - 1) > SumTolerance)
                throw new ArgumentException($"{op}: row {i} sums to {sum:G6}, expected 1 within {SumTolerance:G}; pass class probabilities (softmax outputs), not logits", nameof(probabilities));
        }
        return (n, k);
    }

    private static (int N, int K) CheckMatrix(string op, Tensor t)
    {
        if (t.Rank != 2 || t.Shape[0] < 1 || t.Shape[1] < 1)
            throw new ArgumentException($"{op}: expected class probabilities [n, classes] with n ≥ 1, got {t.Shape}");
        return (t.Shape[0], t.Shape[1]);
    }

    /// <summary>V·diag(√max(λ, 0))·Vᵀ for the symmetric positive semi-definite d×d matrix <paramref name="m"/>.</summary>
    private static double[] SquareRoot(double[] m, int d)
    {
        var values = new double[d];
        var vectors = new double[d * d];
        SymmetricEigen.Decompose(m, values, vectors);
        var root = new double[d * d];
        for (int e = 0; e < d; e++)
        {
            double r = Math.Sqrt(Math.Max(values[e], 0));
            if (r == 0)
                continue;
            for (int i = 0; i < d; i++)
            {
                double vi = r * vectors[i * d + e];
                for (int j = 0; j < d; j++)
                    root[i * d + j] += vi * vectors[j * d + e];
            }
        }
        return root;
    }

    /// <summary>The product of two d×d row-major matrices.</summary>
    private static double[] Multiply(double[] x, double[] y, int d)
    {
        var z = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int l = 0; l < d; l++)
            {
                double xil = x[i * d + l];
                for (int j = 0; j < d; j++)
                    z[i * d + j] += xil * y[l * d + j];
            }
        }
        return z;
    }

    /// <summary>m ← (m + mᵀ)/2: removes the rounding asymmetry of a product that is symmetric in exact arithmetic.</summary>
    private static void Symmetrize(double[] m, int d)
    {
        for (int i = 0; i < d; i++)
        {
            for (int j = i + 1; j < d; j++)
                m[i * d + j] = m[j * d + i] = 0.5 * (m[i * d + j] + m[j * d + i]);
        }
    }
}

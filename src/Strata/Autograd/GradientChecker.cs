namespace Strata;

/// <summary>The outcome of a finite-difference gradient check.</summary>
/// <param name="Passed">Whether every entry agreed within tolerance.</param>
/// <param name="MaxError">The largest |analytic − numeric| / (atol + rtol·|numeric|) seen (≤ 1 passes).</param>
/// <param name="Worst">Where the largest error was, with both values, for the failure message.</param>
public sealed record GradientCheckResult(bool Passed, double MaxError, string Worst);

/// <summary>
/// Checks the gradients that <see cref="Tensor.Backward"/> computes against central finite
/// differences. The function's output is reduced to a scalar with fixed random weights
/// (L = Σ w ⊙ f(x)), so that every output element, and every mix of them, is checked.
/// </summary>
public static class GradientChecker
{
    /// <summary>
    /// Compares ∂L/∂xᵢ from backpropagation with (L(x + ε) − L(x − ε)) / 2ε for every element of every
    /// input that requires gradients.
    /// </summary>
    /// <param name="f">The function under test; it must be deterministic.</param>
    /// <param name="inputs">The inputs; those with RequiresGrad = true are checked.</param>
    /// <param name="epsilon">The finite-difference step (relative to max(1, |x|)).</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="seed">Seed of the output weights.</param>
    public static GradientCheckResult Check(Func<Tensor[], Tensor> f, Tensor[] inputs, float epsilon = 1e-2f,
        double atol = 2e-3, double rtol = 2e-2, ulong seed = 7)
    {
        foreach (var x in inputs)
            x.Grad = null;
        var output = f(inputs);
        var weights = Tensor.RandomUniform(output.Shape.ToArray(), -1f, 1f, seed);
        var loss = (output * weights).Sum();
        loss.Backward();

        double worst = 0;
        string where = "no checked input";
        for (int t = 0; t < inputs.Length; t++)
        {
            var x = inputs[t];
            if (!x.RequiresGrad)
                continue;
            var analytic = x.Grad?.ToArray() ?? new float[x.Size];
            var data = x.Data;
            for (int i = 0; i < x.Size; i++)
            {
                float original = data[i];
                float h = epsilon * MathF.Max(1f, MathF.Abs(original));
                data[i] = original + h;
                double plus = Objective(f, inputs, weights);
                data[i] = original - h;
                double minus = Objective(f, inputs, weights);
                data[i] = original;
                double numeric = (plus - minus) / (2.0 * h);
                double err = Math.Abs(analytic[i] - numeric) / (atol + rtol * Math.Abs(numeric));
                if (err > worst || double.IsNaN(err))
                {
                    worst = double.IsNaN(err) ? double.PositiveInfinity : err;
                    where = $"input {t} {x.Shape}, element {i}: analytic {analytic[i]:G6}, numeric {numeric:G6}";
                }
            }
        }
        return new GradientCheckResult(worst <= 1, worst, where);
    }

    private static double Objective(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor weights)
    {
        using var _ = GradMode.Disable();
        var y = f(inputs).Span;
        var w = weights.Span;
        double sum = 0;
        for (int i = 0; i < y.Length; i++)
            sum += (double)y[i] * w[i];
        return sum;
    }
}

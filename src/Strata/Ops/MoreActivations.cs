using System.Numerics.Tensors;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>ELU: x where x &gt; 0, else alpha·(eˣ − 1). ∂/∂x = 1, or alpha·eˣ = y + alpha below 0.</summary>
    public Tensor Elu(float alpha = 1f) => Pointwise("elu",
        (x, d) => { for (int i = 0; i < d.Length; i++) d[i] = x[i] > 0 ? x[i] : alpha * (MathF.Exp(x[i]) - 1); },
        (x, g, d) => { for (int i = 0; i < d.Length; i++) d[i] = x[i] > 0 ? g[i] : g[i] * alpha * MathF.Exp(x[i]); },
        BackwardFrom.Input);

    // SELU constants (Klambauer et al., 2017).
    private const float SeluAlpha = 1.6732632423543772f, SeluScale = 1.0507009873554805f;

    /// <summary>SELU: scale · ELU(x, alpha) with the self-normalizing constants.</summary>
    public Tensor Selu() => Pointwise("selu",
        (x, d) => { for (int i = 0; i < d.Length; i++) d[i] = SeluScale * (x[i] > 0 ? x[i] : SeluAlpha * (MathF.Exp(x[i]) - 1)); },
        (x, g, d) => { for (int i = 0; i < d.Length; i++) d[i] = g[i] * SeluScale * (x[i] > 0 ? 1 : SeluAlpha * MathF.Exp(x[i])); },
        BackwardFrom.Input);

    /// <summary>
    /// GELU, exact form (Keras' default): x·Φ(x) = ½x(1 + erf(x/√2)).
    /// ∂/∂x = Φ(x) + x·φ(x), φ the standard normal density.
    /// </summary>
    public Tensor Gelu() => Pointwise("gelu",
        (x, d) => { for (int i = 0; i < d.Length; i++) d[i] = 0.5f * x[i] * (1 + Erf(x[i] * 0.70710678f)); },
        (x, g, d) =>
        {
            for (int i = 0; i < d.Length; i++)
            {
                float cdf = 0.5f * (1 + Erf(x[i] * 0.70710678f));
                float pdf = 0.39894228f * MathF.Exp(-0.5f * x[i] * x[i]);
                d[i] = g[i] * (cdf + x[i] * pdf);
            }
        },
        BackwardFrom.Input);

    /// <summary>Swish (SiLU): x·sigmoid(x). ∂/∂x = s + x·s(1 − s).</summary>
    public Tensor Swish() => Pointwise("swish",
        (x, d) => { TensorPrimitives.Sigmoid(x, d); TensorPrimitives.Multiply(d, x, d); },
        (x, g, d) =>
        {
            for (int i = 0; i < d.Length; i++)
            {
                float s = 1f / (1f + MathF.Exp(-x[i]));
                d[i] = g[i] * (s + x[i] * s * (1 - s));
            }
        },
        BackwardFrom.Input);

    /// <summary>softplus: log(1 + eˣ), computed as max(x, 0) + log(1 + e^−|x|) so it never overflows. ∂/∂x = sigmoid(x).</summary>
    public Tensor Softplus() => Pointwise("softplus",
        (x, d) => { for (int i = 0; i < d.Length; i++) d[i] = MathF.Max(x[i], 0) + MathF.Log(1 + MathF.Exp(-MathF.Abs(x[i]))); },
        (x, g, d) => { for (int i = 0; i < d.Length; i++) d[i] = g[i] / (1f + MathF.Exp(-x[i])); },
        BackwardFrom.Input);

    /// <summary>
    /// erf(x), Abramowitz and Stegun 7.1.26 evaluated in double (absolute error below 1.5e-7, under
    /// float resolution near 1).
    /// </summary>
    internal static float Erf(float xf)
    {
        double x = xf;
        double sign = Math.Sign(x);
        x = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.3275911 * x);
        double y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return (float)(sign * y);
    }
}

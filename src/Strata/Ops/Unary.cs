using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>eˣ. ∂/∂x = eˣ.</summary>
    public Tensor Exp() => Run(new PointwiseNode(PointwiseKind.Exp, this));

    /// <summary>Natural logarithm. ∂/∂x = 1/x.</summary>
    public Tensor Log() => Run(new PointwiseNode(PointwiseKind.Log, this));

    /// <summary>√x. ∂/∂x = 1/(2√x).</summary>
    public Tensor Sqrt() => Run(new PointwiseNode(PointwiseKind.Sqrt, this));

    /// <summary>|x|. ∂/∂x = sign(x) (0 at 0).</summary>
    public Tensor Abs() => Run(new PointwiseNode(PointwiseKind.Abs, this));

    /// <summary>x², a shortcut for x·x.</summary>
    public Tensor Square() => Mul(this, this);

    /// <summary>
    /// Clamps into [min, max]. The gradient passes where min ≤ x ≤ max (inclusive, as in PyTorch) and is 0 outside.
    /// </summary>
    /// <exception cref="ArgumentException">min &gt; max.</exception>
    public Tensor Clamp(float min, float max)
    {
        if (min > max)
            throw new ArgumentException($"clamp: min ({min}) must not exceed max ({max})");
        return Run(new PointwiseNode(PointwiseKind.Clamp, this, min, max));
    }

    /// <summary>max(x, 0). ∂/∂x = 1 where x &gt; 0, else 0 (0 at x = 0).</summary>
    public Tensor Relu() => Run(new PointwiseNode(PointwiseKind.Relu, this));

    /// <summary>x where x &gt; 0, else alpha·x (Keras' default alpha is 0.3; PyTorch's is 0.01).</summary>
    public Tensor LeakyRelu(float alpha = 0.01f) => Run(new PointwiseNode(PointwiseKind.LeakyRelu, this, alpha));

    /// <summary>1/(1+e^−x), saturating without overflow. ∂/∂x = y(1−y).</summary>
    public Tensor Sigmoid() => Run(new PointwiseNode(PointwiseKind.Sigmoid, this));

    /// <summary>tanh x. ∂/∂x = 1 − y².</summary>
    public Tensor Tanh() => Run(new PointwiseNode(PointwiseKind.Tanh, this));

    /// <summary>ELU: x where x &gt; 0, else alpha·(eˣ − 1). ∂/∂x = 1, or alpha·eˣ below 0.</summary>
    public Tensor Elu(float alpha = 1f) => Run(new PointwiseNode(PointwiseKind.Elu, this, alpha));

    /// <summary>SELU: scale · ELU(x, alpha) with the self-normalizing constants.</summary>
    public Tensor Selu() => Run(new PointwiseNode(PointwiseKind.Selu, this));

    /// <summary>
    /// GELU, exact form (Keras' default): x·Φ(x) = ½x(1 + erf(x/√2)).
    /// ∂/∂x = Φ(x) + x·φ(x), φ the standard normal density.
    /// </summary>
    public Tensor Gelu() => Run(new PointwiseNode(PointwiseKind.Gelu, this));

    /// <summary>Swish (SiLU): x·sigmoid(x). ∂/∂x = s + x·s(1 − s).</summary>
    public Tensor Swish() => Run(new PointwiseNode(PointwiseKind.Swish, this));

    /// <summary>softplus: log(1 + eˣ), computed as max(x, 0) + log(1 + e^−|x|) so it never overflows. ∂/∂x = sigmoid(x).</summary>
    public Tensor Softplus() => Run(new PointwiseNode(PointwiseKind.Softplus, this));

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

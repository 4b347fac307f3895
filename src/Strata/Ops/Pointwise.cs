using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Kernels;

namespace Strata.Ops;

/// <summary>The elementwise functions of one input.</summary>
internal enum PointwiseKind { Neg, PowConst, Exp, Log, Sqrt, Abs, Clamp, Relu, LeakyRelu, Sigmoid, Tanh, Elu, Selu, Gelu, Swish, Softplus }

/// <summary>
/// The one definition of every elementwise function of one input: y = f(x) and d = g ⊙ f′, each a
/// kernel over spans. <see cref="PointwiseNode"/> (the op) and the fused bias + activation of Dense
/// and convolutions (<see cref="Layers.ActivationFunction"/>) both call these.
/// </summary>
internal static class PointwiseMath
{
    // SELU constants (Klambauer et al., 2017).
    private const float SeluAlpha = 1.6732632423543772f, SeluScale = 1.0507009873554805f;

    /// <summary>y = f(x); y may be x (in place) for the <see cref="FromOutput"/> functions.</summary>
    public static void Forward(PointwiseKind kind, float a, float b, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length is > 0 and < ShortSpan && System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            // TensorPrimitives computes a span shorter than a vector with scalar math (float.Exp, float.Tanh),
            // whose last bit can differ from its vector algorithm's: a short span goes through a padded
            // vector, so that a value's result does not depend on how many values it is computed with
            // (a Dense(1, "sigmoid") on one sample, in a batch, or in the GEMM's blocks).
            Span<float> tx = stackalloc float[ShortSpan], ty = stackalloc float[ShortSpan];
            tx.Clear();
            x.CopyTo(tx);
            Compute(kind, a, b, tx, ty);
            ty[..x.Length].CopyTo(y);
            return;
        }
        Compute(kind, a, b, x, y);
    }

    // The lanes of the narrowest vector TensorPrimitives uses.
    private const int ShortSpan = 4;

    private static void Compute(PointwiseKind kind, float a, float b, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (kind)
        {
            case PointwiseKind.Neg: TensorPrimitives.Negate(x, y); break;
            case PointwiseKind.PowConst: TensorPrimitives.Pow(x, a, y); break;
            case PointwiseKind.Exp: TensorPrimitives.Exp(x, y); break;
            case PointwiseKind.Log: TensorPrimitives.Log(x, y); break;
            case PointwiseKind.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case PointwiseKind.Abs: TensorPrimitives.Abs(x, y); break;
            case PointwiseKind.Clamp: TensorPrimitives.Clamp(x, a, b, y); break;
            case PointwiseKind.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case PointwiseKind.LeakyRelu: ActivationKernels.LeakyRelu(x, a, y); break;
            case PointwiseKind.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case PointwiseKind.Tanh: TensorPrimitives.Tanh(x, y); break;
            case PointwiseKind.Elu:
                for (int i = 0; i < y.Length; i++) y[i] = x[i] > 0 ? x[i] : a * (MathF.Exp(x[i]) - 1);
                break;
            case PointwiseKind.Selu:
                for (int i = 0; i < y.Length; i++) y[i] = SeluScale * (x[i] > 0 ? x[i] : SeluAlpha * (MathF.Exp(x[i]) - 1));
                break;
            case PointwiseKind.Gelu:
                for (int i = 0; i < y.Length; i++) y[i] = 0.5f * x[i] * (1 + Tensor.Erf(x[i] * 0.70710678f));
                break;
            case PointwiseKind.Swish: // NOTE: not in place (y is read after it is written)
                TensorPrimitives.Sigmoid(x, y);
                TensorPrimitives.Multiply(y, x, y);
                break;
            default: // softplus: max(x, 0) + log(1 + e^−|x|), which never overflows
                for (int i = 0; i < y.Length; i++) y[i] = MathF.Max(x[i], 0) + MathF.Log(1 + MathF.Exp(-MathF.Abs(x[i])));
                break;
        }
    }

    /// <summary>
    /// Whether the derivative follows from the output alone (so a fused layer may apply f in place):
    /// relu, sigmoid, tanh, and leaky relu with alpha ≥ 0.
    /// </summary>
    public static bool FromOutput(PointwiseKind kind, float a) => kind switch
    {
        PointwiseKind.Relu or PointwiseKind.Sigmoid or PointwiseKind.Tanh => true,
        PointwiseKind.LeakyRelu => a >= 0,
        _ => false,
    };

    /// <summary>d = g ⊙ f′ (d may be g). x is read only by functions that are not <see cref="FromOutput"/>.</summary>
    public static void Backward(PointwiseKind kind, float a, float b, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> g, Span<float> d)
    {
        switch (kind)
        {
            case PointwiseKind.Neg: TensorPrimitives.Negate(g, d); break;
            case PointwiseKind.PowConst: // p·x^(p−1)
                for (int i = 0; i < d.Length; i++) d[i] = g[i] * a * MathF.Pow(x[i], a - 1);
                break;
            case PointwiseKind.Exp: TensorPrimitives.Multiply(g, y, d); break;
            case PointwiseKind.Log: TensorPrimitives.Divide(g, x, d); break;
            case PointwiseKind.Sqrt: // 1/(2√x) = 1/(2y)
                for (int i = 0; i < d.Length; i++) d[i] = g[i] / (2f * y[i]);
                break;
            case PointwiseKind.Abs: // sign(x), 0 at 0
                for (int i = 0; i < d.Length; i++) d[i] = g[i] * MathF.Sign(x[i]);
                break;
            case PointwiseKind.Clamp: // passes inside [min, max], inclusive as in PyTorch
                for (int i = 0; i < d.Length; i++) d[i] = x[i] >= a && x[i] <= b ? g[i] : 0f;
                break;
            case PointwiseKind.Relu: ActivationKernels.ReluBackward(y, g, d); break; // y > 0 exactly where x > 0
            case PointwiseKind.LeakyRelu:
                // NOTE: with alpha ≥ 0 the output keeps the input's sign, so the mask can come from y (fused layers
                // overwrite x); a negative alpha flips it and needs x.
                ActivationKernels.LeakyReluBackward(a >= 0 ? y : x, g, a, d);
                break;
            case PointwiseKind.Sigmoid: ActivationKernels.SigmoidBackward(y, g, d); break; // y(1 − y)
            case PointwiseKind.Tanh: ActivationKernels.TanhBackward(y, g, d); break; // 1 − y²
            case PointwiseKind.Elu: // 1 above 0, alpha·eˣ below
                for (int i = 0; i < d.Length; i++) d[i] = x[i] > 0 ? g[i] : g[i] * a * MathF.Exp(x[i]);
                break;
            case PointwiseKind.Selu:
                for (int i = 0; i < d.Length; i++) d[i] = g[i] * SeluScale * (x[i] > 0 ? 1 : SeluAlpha * MathF.Exp(x[i]));
                break;
            case PointwiseKind.Gelu: // Φ(x) + x·φ(x)
                for (int i = 0; i < d.Length; i++)
                {
                    float cdf = 0.5f * (1 + Tensor.Erf(x[i] * 0.70710678f));
                    float pdf = 0.39894228f * MathF.Exp(-0.5f * x[i] * x[i]);
                    d[i] = g[i] * (cdf + x[i] * pdf);
                }
                break;
            case PointwiseKind.Swish: // s + x·s(1 − s)
                for (int i = 0; i < d.Length; i++)
                {
                    float s = 1f / (1f + MathF.Exp(-x[i]));
                    d[i] = g[i] * (s + x[i] * s * (1 - s));
                }
                break;
            default: // softplus′ = sigmoid
                for (int i = 0; i < d.Length; i++) d[i] = g[i] / (1f + MathF.Exp(-x[i]));
                break;
        }
    }

    /// <summary>Whether <see cref="Backward"/> reads x (it reads y exactly when <see cref="BackwardReadsY"/>).</summary>
    public static bool BackwardReadsX(PointwiseKind kind, float a) => kind switch
    {
        PointwiseKind.Neg or PointwiseKind.Exp or PointwiseKind.Sqrt or PointwiseKind.Relu or PointwiseKind.Sigmoid or PointwiseKind.Tanh => false,
        PointwiseKind.LeakyRelu => a < 0,
        _ => true,
    };

    /// <summary>Whether <see cref="Backward"/> reads y.</summary>
    public static bool BackwardReadsY(PointwiseKind kind, float a) => kind switch
    {
        PointwiseKind.Exp or PointwiseKind.Sqrt or PointwiseKind.Relu or PointwiseKind.Sigmoid or PointwiseKind.Tanh => true,
        PointwiseKind.LeakyRelu => a >= 0,
        _ => false,
    };

    public static string Name(PointwiseKind kind) => kind switch
    {
        PointwiseKind.PowConst => "pow",
        PointwiseKind.LeakyRelu => "leaky_relu",
        _ => kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>An elementwise function of one input (see <see cref="PointwiseMath"/>).</summary>
internal sealed class PointwiseNode(PointwiseKind kind, Tensor x, float a = 0, float b = 0)
    : OpNode(PointwiseMath.Name(kind), [x], x.Shape)
{
    public override string Attributes => $"{a},{b}";

    public override bool BackwardReadsInput(int i, bool[] wants) => PointwiseMath.BackwardReadsX(kind, a);

    public override bool BackwardReadsOutput(bool[] wants) => PointwiseMath.BackwardReadsY(kind, a);

    public override void Forward() => PointwiseMath.Forward(kind, a, b, Inputs[0].Span, Output.Data);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        PointwiseMath.Backward(kind, a, b, Inputs[0].Span, Output.Span, gy, gy); // in place: gy is ours
        Put(grads, 0, gy);
    }
}

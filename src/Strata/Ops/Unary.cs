using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>eˣ. ∂/∂x = eˣ.</summary>
    public Tensor Exp()
    {
        var x = this;
        var r = Empty(Shape);
        TensorPrimitives.Exp(Span, r.Data);
        if (NeedsGrad(x))
            r.Record("exp", g => x.Flow(Mul(g, r), true), x);
        return r;
    }

    /// <summary>Natural logarithm. ∂/∂x = 1/x.</summary>
    public Tensor Log()
    {
        var x = this;
        var r = Empty(Shape);
        TensorPrimitives.Log(Span, r.Data);
        if (NeedsGrad(x))
            r.Record("log", g => x.Flow(Div(g, x), true), x);
        return r;
    }

    /// <summary>√x. ∂/∂x = 1/(2√x).</summary>
    public Tensor Sqrt()
    {
        var x = this;
        var r = Empty(Shape);
        TensorPrimitives.Sqrt(Span, r.Data);
        if (NeedsGrad(x))
            r.Record("sqrt", g => x.Flow(Div(g, Mul(r, 2f)), true), x);
        return r;
    }

    /// <summary>|x|. ∂/∂x = sign(x) (0 at 0).</summary>
    public Tensor Abs()
    {
        var x = this;
        var r = Empty(Shape);
        TensorPrimitives.Abs(Span, r.Data);
        if (NeedsGrad(x))
        {
            r.Record("abs", g =>
            {
                var sign = Empty(x.Shape);
                var xs = x.Span;
                var s = sign.Data;
                for (int i = 0; i < s.Length; i++)
                    s[i] = MathF.Sign(xs[i]);
                x.Flow(Mul(g, sign), true);
            }, x);
        }
        return r;
    }

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
        var x = this;
        var r = Empty(Shape);
        TensorPrimitives.Clamp(Span, min, max, r.Data);
        if (NeedsGrad(x))
        {
            r.Record("clamp", g =>
            {
                var d = Empty(x.Shape);
                var xs = x.Span;
                var gs = g.Span;
                var ds = d.Data;
                for (int i = 0; i < ds.Length; i++)
                    ds[i] = xs[i] >= min && xs[i] <= max ? gs[i] : 0;
                x.Flow(d, true);
            }, x);
        }
        return r;
    }

    /// <summary>max(x, 0). ∂/∂x = 1 where x &gt; 0, else 0 (0 at x = 0).</summary>
    public Tensor Relu() => Pointwise("relu", static (x, d) => TensorPrimitives.Max(x, 0f, d),
        ActivationKernels.ReluBackward, BackwardFrom.Input);

    /// <summary>x where x &gt; 0, else alpha·x (Keras' default alpha is 0.3; PyTorch's is 0.01).</summary>
    public Tensor LeakyRelu(float alpha = 0.01f) => Pointwise("leaky_relu", (x, d) => ActivationKernels.LeakyRelu(x, alpha, d),
        (x, g, d) => ActivationKernels.LeakyReluBackward(x, g, alpha, d), BackwardFrom.Input);

    /// <summary>1/(1+e^−x), saturating without overflow. ∂/∂x = y(1−y).</summary>
    public Tensor Sigmoid() => Pointwise("sigmoid", TensorPrimitives.Sigmoid, ActivationKernels.SigmoidBackward, BackwardFrom.Output);

    /// <summary>tanh x. ∂/∂x = 1 − y².</summary>
    public Tensor Tanh() => Pointwise("tanh", TensorPrimitives.Tanh, ActivationKernels.TanhBackward, BackwardFrom.Output);

    private delegate void SpanMap(ReadOnlySpan<float> x, Span<float> d);

    private delegate void SpanBackward(ReadOnlySpan<float> saved, ReadOnlySpan<float> g, Span<float> d);

    /// <summary>Which tensor a pointwise backward kernel reads besides g.</summary>
    private enum BackwardFrom { Input, Output }

    /// <summary>
    /// A pointwise op whose backward is one fused kernel over (saved, g), where saved is the input
    /// (ReLU-like masks) or the output (sigmoid, tanh: the derivative is cheapest in terms of y).
    /// </summary>
    private Tensor Pointwise(string op, SpanMap forward, SpanBackward backward, BackwardFrom from)
    {
        var x = this;
        var r = Empty(Shape);
        forward(Span, r.Data);
        if (NeedsGrad(x))
        {
            r.Record(op, g =>
            {
                var d = Empty(x.Shape);
                backward(from == BackwardFrom.Input ? x.Span : r.Span, g.Span, d.Data);
                x.Flow(d, true);
            }, x);
        }
        return r;
    }
}

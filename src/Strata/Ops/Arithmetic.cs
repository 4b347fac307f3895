using System.Numerics.Tensors;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>Elementwise a + b with broadcasting. ∂/∂a = 1, ∂/∂b = 1 (summed over broadcast axes).</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var r = BinaryForward<AddOp>(a, b, "add");
        if (NeedsGrad(a, b))
            r.Record("add", g => { a.FlowSum(g); b.FlowSum(g); }, a, b);
        return r;
    }

    /// <summary>Elementwise a − b with broadcasting. ∂/∂a = 1, ∂/∂b = −1.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var r = BinaryForward<SubOp>(a, b, "sub");
        if (NeedsGrad(a, b))
            r.Record("sub", g => { a.FlowSum(g); if (b.RequiresGrad) b.Flow(Neg(g).SumTo(b.Shape), true); }, a, b);
        return r;
    }

    /// <summary>Elementwise a · b with broadcasting. ∂/∂a = b, ∂/∂b = a.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var r = BinaryForward<MulOp>(a, b, "mul");
        if (NeedsGrad(a, b))
        {
            r.Record("mul", g =>
            {
                if (a.RequiresGrad) a.Flow(Mul(g, b).SumTo(a.Shape), true);
                if (b.RequiresGrad) b.Flow(Mul(g, a).SumTo(b.Shape), true);
            }, a, b);
        }
        return r;
    }

    /// <summary>Elementwise a / b with broadcasting. ∂/∂a = 1/b, ∂/∂b = −a/b².</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var r = BinaryForward<DivOp>(a, b, "div");
        if (NeedsGrad(a, b))
        {
            r.Record("div", g =>
            {
                if (a.RequiresGrad) a.Flow(Div(g, b).SumTo(a.Shape), true);
                // −g·a/b² = −g·r/b
                if (b.RequiresGrad) b.Flow(Neg(Div(Mul(g, r), b)).SumTo(b.Shape), true);
            }, a, b);
        }
        return r;
    }

    /// <summary>Elementwise a^b with broadcasting. ∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a (defined for a &gt; 0).</summary>
    public static Tensor Pow(Tensor a, Tensor b)
    {
        var r = BinaryForward<PowOp>(a, b, "pow");
        if (NeedsGrad(a, b))
        {
            r.Record("pow", g =>
            {
                if (a.RequiresGrad) a.Flow(Mul(g, Mul(b, Pow(a, Sub(b, 1f)))).SumTo(a.Shape), true);
                if (b.RequiresGrad) b.Flow(Mul(g, Mul(r, a.Log())).SumTo(b.Shape), true);
            }, a, b);
        }
        return r;
    }

    /// <summary>Elementwise x^p for a constant exponent. ∂/∂x = p·x^(p−1).</summary>
    public Tensor Pow(float p)
    {
        var x = this;
        var r = Empty(Shape);
        TensorPrimitives.Pow(Span, p, r.Data);
        if (NeedsGrad(x))
            r.Record("pow", g => x.Flow(Mul(g, Mul(p, x.Pow(p - 1))), true), x);
        return r;
    }

    /// <summary>Elementwise minimum with broadcasting; at a tie the gradient is split evenly.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => MinMax<MinOp>(a, b, "minimum", isMax: false);

    /// <summary>Elementwise maximum with broadcasting; at a tie the gradient is split evenly.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => MinMax<MaxOp>(a, b, "maximum", isMax: true);

    private static Tensor MinMax<TOp>(Tensor a, Tensor b, string op, bool isMax) where TOp : IBinaryOp
    {
        var r = BinaryForward<TOp>(a, b, op);
        if (NeedsGrad(a, b))
        {
            r.Record(op, g =>
            {
                // NOTE: where a == b both receive half, as in PyTorch; elsewhere the larger (smaller) one takes all.
                var aWins = isMax ? Greater(a, b) : Less(a, b);
                var tie = Equal(a, b);
                var shareA = Add(aWins, Mul(tie, 0.5f));
                if (a.RequiresGrad) a.Flow(Mul(g, shareA).SumTo(a.Shape), true);
                if (b.RequiresGrad) b.Flow(Mul(g, Sub(1f, shareA)).SumTo(b.Shape), true);
            }, a, b);
        }
        return r;
    }

    /// <summary>−x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var r = Empty(x.Shape);
        TensorPrimitives.Negate(x.Span, r.Data);
        if (NeedsGrad(x))
            r.Record("neg", g => x.Flow(Neg(g), true), x);
        return r;
    }

    /// <summary>this + other (see <see cref="Add(Tensor, Tensor)"/>).</summary>
    public Tensor Add(Tensor other) => Add(this, other);

    /// <summary>this − other.</summary>
    public Tensor Sub(Tensor other) => Sub(this, other);

    /// <summary>this · other (elementwise).</summary>
    public Tensor Mul(Tensor other) => Mul(this, other);

    /// <summary>this / other (elementwise).</summary>
    public Tensor Div(Tensor other) => Div(this, other);

    /// <summary>Matrix product with another tensor (see <see cref="MatMul(Tensor, Tensor, bool, bool)"/>).</summary>
    public Tensor MatMul(Tensor other) => MatMul(this, other);

    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);
    public static Tensor operator -(Tensor x) => Neg(x);

    /// <summary>Runs a broadcasting binary kernel into a new tensor.</summary>
    private static Tensor BinaryForward<TOp>(Tensor a, Tensor b, string op) where TOp : IBinaryOp
    {
        var shape = Shape.Broadcast(a.Shape, b.Shape, op);
        var r = Empty(shape);
        Broadcasting.Apply<TOp>(shape, a.Span, a.Shape, b.Span, b.Shape, r.Data);
        return r;
    }

    /// <summary>
    /// Sums this tensor down to <paramref name="target"/>, undoing a broadcast: leading axes and axes
    /// where the target has size 1 are summed. Returns this tensor when the shapes already agree.
    /// </summary>
    internal Tensor SumTo(Shape target)
    {
        if (Shape == target)
            return this;
        int lead = Rank - target.Rank;
        var axes = new List<int>();
        for (int i = 0; i < Rank; i++)
        {
            if (i < lead || (target.Dims[i - lead] == 1 && Shape.Dims[i] != 1))
                axes.Add(i);
        }
        return Sum(axes.ToArray(), keepDims: false).Reshape(target.ToArray());
    }
}

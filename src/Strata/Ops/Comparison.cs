using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    // Comparisons return 1 where the relation holds and 0 elsewhere; they are not differentiable.

    /// <summary>1 where a == b, else 0 (broadcasting).</summary>
    public static Tensor Equal(Tensor a, Tensor b) => BinaryForward<CompareOp<EqualRel>>(a, b, "equal");

    /// <summary>1 where a != b, else 0 (broadcasting).</summary>
    public static Tensor NotEqual(Tensor a, Tensor b) => BinaryForward<CompareOp<NotEqualRel>>(a, b, "not_equal");

    /// <summary>1 where a &gt; b, else 0 (broadcasting).</summary>
    public static Tensor Greater(Tensor a, Tensor b) => BinaryForward<CompareOp<GreaterRel>>(a, b, "greater");

    /// <summary>1 where a ≥ b, else 0 (broadcasting).</summary>
    public static Tensor GreaterEqual(Tensor a, Tensor b) => BinaryForward<CompareOp<GreaterEqualRel>>(a, b, "greater_equal");

    /// <summary>1 where a &lt; b, else 0 (broadcasting).</summary>
    public static Tensor Less(Tensor a, Tensor b) => BinaryForward<CompareOp<LessRel>>(a, b, "less");

    /// <summary>1 where a ≤ b, else 0 (broadcasting).</summary>
    public static Tensor LessEqual(Tensor a, Tensor b) => BinaryForward<CompareOp<LessEqualRel>>(a, b, "less_equal");

    /// <summary>
    /// Picks a where the condition is non-zero, else b; all three broadcast together.
    /// ∂/∂a = cond ≠ 0, ∂/∂b = cond = 0; the condition gets no gradient.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        var shape = Shape.Broadcast(Shape.Broadcast(condition.Shape, a.Shape, "where"), b.Shape, "where");
        var mask = NotEqual(condition, 0f);
        var c = mask.Shape == shape ? mask.Span : Broadcasting.Expand(mask.Span, mask.Shape, shape);
        var av = a.Shape == shape ? a.Span : Broadcasting.Expand(a.Span, a.Shape, shape);
        var bv = b.Shape == shape ? b.Span : Broadcasting.Expand(b.Span, b.Shape, shape);
        var r = Empty(shape);
        var d = r.Data;
        for (int i = 0; i < d.Length; i++)
            d[i] = c[i] != 0 ? av[i] : bv[i];
        if (NeedsGrad(a, b))
        {
            r.Record("where", g =>
            {
                if (a.RequiresGrad) a.Flow(Mul(g, mask).SumTo(a.Shape), true);
                if (b.RequiresGrad) b.Flow(Mul(g, Sub(1f, mask)).SumTo(b.Shape), true);
            }, a, b);
        }
        return r;
    }
}

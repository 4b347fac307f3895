using Strata.Autograd;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    // Comparisons return 1 where the relation holds and 0 elsewhere; they are not differentiable.

    /// <summary>1 where a == b (with broadcasting), else 0.</summary>
    public static Tensor Equal(Tensor a, Tensor b) => Run(new CompareNode<EqualRel>("equal", a, b));

    /// <summary>1 where a ≠ b, else 0.</summary>
    public static Tensor NotEqual(Tensor a, Tensor b) => Run(new CompareNode<NotEqualRel>("not_equal", a, b));

    /// <summary>1 where a &gt; b, else 0.</summary>
    public static Tensor Greater(Tensor a, Tensor b) => Run(new CompareNode<GreaterRel>("greater", a, b));

    /// <summary>1 where a ≥ b, else 0.</summary>
    public static Tensor GreaterEqual(Tensor a, Tensor b) => Run(new CompareNode<GreaterEqualRel>("greater_equal", a, b));

    /// <summary>1 where a &lt; b, else 0.</summary>
    public static Tensor Less(Tensor a, Tensor b) => Run(new CompareNode<LessRel>("less", a, b));

    /// <summary>1 where a ≤ b, else 0.</summary>
    public static Tensor LessEqual(Tensor a, Tensor b) => Run(new CompareNode<LessEqualRel>("less_equal", a, b));

    /// <summary>
    /// a where condition ≠ 0, else b (all three broadcast together). ∂/∂a = g where the condition
    /// holds, ∂/∂b = g elsewhere; the condition gets no gradient.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => Run(new WhereNode(condition, a, b));
}

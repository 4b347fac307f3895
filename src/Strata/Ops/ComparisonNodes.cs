using Strata.Autograd;
using Strata.Ops;

namespace Strata.Ops;

/// <summary>A comparison: 1 where the relation holds, else 0; no gradient.</summary>
internal sealed class CompareNode<TRel>(string op, Tensor a, Tensor b)
    : OpNode(op, [a, b], Shape.Broadcast(a.Shape, b.Shape, op)) where TRel : struct, IRelation
{
    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward() =>
        Broadcasting.Apply<CompareOp<TRel>>(OutputShape, Inputs[0].Span, Inputs[0].Shape, Inputs[1].Span, Inputs[1].Shape, Output.Data);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        // Not differentiable: a comparison passes no gradient.
    }
}

internal sealed class WhereNode(Tensor condition, Tensor a, Tensor b)
    : OpNode("where", [condition, a, b], Shape.Broadcast(Shape.Broadcast(condition.Shape, a.Shape, "where"), b.Shape, "where"))
{
    // The condition again, not the values chosen.
    public override bool BackwardReadsInput(int i, bool[] wants) => i == 0;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        var s = OutputShape;
        var c = Expanded(0, 0);
        var av = Expanded(1, 1);
        var bv = Expanded(2, 2);
        var d = Output.Data;
        for (int i = 0; i < d.Length; i++)
            d[i] = c[i] != 0 ? av[i] : bv[i];
    }

    /// <summary>Input i at the output's shape (its own data when it already has it).</summary>
    private ReadOnlySpan<float> Expanded(int i, int slot)
    {
        var t = Inputs[i];
        if (t.Shape == OutputShape)
            return t.Span;
        var e = Scratch(slot, OutputShape.Size);
        Broadcasting.Apply<Broadcasting.FirstOp>(OutputShape, t.Span, t.Shape, e, OutputShape, e);
        return e;
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        var c = Expanded(0, 0);
        var t = Scratch(1, gy.Length);
        for (int k = 1; k <= 2; k++)
        {
            if (!grads.Wants(this, k))
                continue;
            for (int i = 0; i < t.Length; i++)
                t[i] = (c[i] != 0) == (k == 1) ? gy[i] : 0f;
            PutReduced(grads, k, t, OutputShape);
        }
    }
}

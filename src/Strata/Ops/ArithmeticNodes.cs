using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Ops;

namespace Strata.Ops;

internal enum BinaryKind { Add, Sub, Mul, Div, Pow, Min, Max }

/// <summary>The broadcasting binary ops: forward through <see cref="Broadcasting"/>, gradients summed back over broadcast axes.</summary>
internal sealed class BinaryNode : OpNode
{
    private readonly BinaryKind _kind;

    public BinaryNode(BinaryKind kind, Tensor a, Tensor b)
        : base(Name(kind), [a, b], Shape.Broadcast(a.Shape, b.Shape, Name(kind))) => _kind = kind;

    private static string Name(BinaryKind k) => k switch
    {
        BinaryKind.Add => "add",
        BinaryKind.Sub => "sub",
        BinaryKind.Mul => "mul",
        BinaryKind.Div => "div",
        BinaryKind.Pow => "pow",
        BinaryKind.Min => "minimum",
        _ => "maximum",
    };

    // Add and sub read nothing; mul the other operand of each wanted gradient; div b (and its output
    // for ∂b); pow a for both gradients, b for ∂a, its output for ∂b; min and max both operands (the shares).
    public override bool BackwardReadsInput(int i, bool[] wants) => _kind switch
    {
        BinaryKind.Add or BinaryKind.Sub => false,
        BinaryKind.Mul => wants[1 - i],
        BinaryKind.Div => i == 1,
        BinaryKind.Pow => i == 0 || wants[0],
        _ => true,
    };

    public override bool BackwardReadsOutput(bool[] wants) => _kind is BinaryKind.Div or BinaryKind.Pow && wants[1];

    public override void Forward()
    {
        Tensor a = Inputs[0], b = Inputs[1];
        var s = OutputShape;
        var d = Output.Data;
        switch (_kind)
        {
            case BinaryKind.Add: Broadcasting.Apply<AddOp>(s, a.Span, a.Shape, b.Span, b.Shape, d); break;
            case BinaryKind.Sub: Broadcasting.Apply<SubOp>(s, a.Span, a.Shape, b.Span, b.Shape, d); break;
            case BinaryKind.Mul: Broadcasting.Apply<MulOp>(s, a.Span, a.Shape, b.Span, b.Shape, d); break;
            case BinaryKind.Div: Broadcasting.Apply<DivOp>(s, a.Span, a.Shape, b.Span, b.Shape, d); break;
            case BinaryKind.Pow: Broadcasting.Apply<PowOp>(s, a.Span, a.Shape, b.Span, b.Shape, d); break;
            case BinaryKind.Min: Broadcasting.Apply<MinOp>(s, a.Span, a.Shape, b.Span, b.Shape, d); break;
            default: Broadcasting.Apply<MaxOp>(s, a.Span, a.Shape, b.Span, b.Shape, d); break;
        }
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        Tensor a = Inputs[0], b = Inputs[1];
        var s = OutputShape;
        bool wa = grads.Wants(this, 0), wb = grads.Wants(this, 1);
        switch (_kind)
        {
            case BinaryKind.Add:
                if (wa) PutReduced(grads, 0, gy, s);
                if (wb) PutReduced(grads, 1, gy, s);
                break;
            case BinaryKind.Sub:
                if (wa) PutReduced(grads, 0, gy, s);
                if (wb)
                {
                    var t = Scratch(0, gy.Length);
                    TensorPrimitives.Negate(gy, t);
                    PutReduced(grads, 1, t, s);
                }
                break;
            case BinaryKind.Mul:
                if (wa) PutProduct<MulOp>(grads, 0, gy, b);
                if (wb) PutProduct<MulOp>(grads, 1, gy, a);
                break;
            case BinaryKind.Div:
                if (wa) PutProduct<DivOp>(grads, 0, gy, b);
                if (wb)
                {
                    // −g·a/b² = −g·y/b
                    var t = Scratch(0, gy.Length);
                    TensorPrimitives.Multiply(gy, Output.Span, t);
                    TensorPrimitives.Negate(t, t);
                    Broadcasting.Apply<DivOp>(s, t, s, b.Span, b.Shape, t);
                    PutReduced(grads, 1, t, s);
                }
                break;
            case BinaryKind.Pow:
                if (wa)
                {
                    // g·b·a^(b−1)
                    var t = Scratch(0, gy.Length);
                    var am = Scratch(1, gy.Length);
                    Broadcasting.Apply<SubOp>(s, b.Span, b.Shape, [1f], Shape.Scalar, t);           // b − 1 at the output shape
                    Broadcasting.Apply<PowOp>(s, a.Span, a.Shape, t, s, am);                         // a^(b−1)
                    Broadcasting.Apply<MulOp>(s, am, s, b.Span, b.Shape, am);                        // · b
                    TensorPrimitives.Multiply(am, gy, am);
                    PutReduced(grads, 0, am, s);
                }
                if (wb)
                {
                    // g·y·ln a
                    var t = Scratch(0, gy.Length);
                    Broadcasting.Apply<Broadcasting.FirstOp>(s, a.Span, a.Shape, t, s, t);
                    TensorPrimitives.Log(t, t);
                    TensorPrimitives.Multiply(t, Output.Span, t);
                    TensorPrimitives.Multiply(t, gy, t);
                    PutReduced(grads, 1, t, s);
                }
                break;
            default:
                {
                    // NOTE: where a == b both receive half, as in PyTorch; elsewhere the larger (smaller) one takes all.
                    bool isMax = _kind == BinaryKind.Max;
                    var share = Scratch(1, gy.Length); // a's share of g
                    if (isMax)
                        Broadcasting.Apply<ShareOp<MaxShareRel>>(s, a.Span, a.Shape, b.Span, b.Shape, share);
                    else
                        Broadcasting.Apply<ShareOp<MinShareRel>>(s, a.Span, a.Shape, b.Span, b.Shape, share);
                    var t = Scratch(0, gy.Length);
                    if (wa)
                    {
                        TensorPrimitives.Multiply(gy, share, t);
                        PutReduced(grads, 0, t, s);
                    }
                    if (wb)
                    {
                        TensorPrimitives.Subtract(1f, share, t);
                        TensorPrimitives.Multiply(t, gy, t);
                        PutReduced(grads, 1, t, s);
                    }
                    break;
                }
        }
    }

    /// <summary>Passes op(g, other) — g times or over the other operand — summed to input i's shape.</summary>
    private void PutProduct<TOp>(GradSink grads, int i, ReadOnlySpan<float> gy, Tensor other) where TOp : IBinaryOp
    {
        var s = OutputShape;
        if (Inputs[i].Shape == s && other.Shape == s)
        {
            var target = grads.Target(this, i, out bool add);
            if (!add)
            {
                TOp.Apply(gy, other.Span, target);
                return;
            }
            if (typeof(TOp) == typeof(MulOp))
            {
                TensorPrimitives.FusedMultiplyAdd(gy, other.Span, target, target);
                return;
            }
            var u = Scratch(0, gy.Length);
            TOp.Apply(gy, other.Span, u);
            TensorPrimitives.Add(target, u, target);
            return;
        }
        var t = Scratch(0, gy.Length);
        Broadcasting.Apply<TOp>(s, gy, s, other.Span, other.Shape, t);
        PutReduced(grads, i, t, s);
    }
}

/// <summary>a's share of a maximum's gradient: 1 where a &gt; b, ½ at a tie, else 0.</summary>
internal struct MaxShareRel : IShareRelation
{
    public static float Share(float a, float b) => a > b ? 1f : a == b ? 0.5f : 0f;
}

/// <summary>a's share of a minimum's gradient: 1 where a &lt; b, ½ at a tie, else 0.</summary>
internal struct MinShareRel : IShareRelation
{
    public static float Share(float a, float b) => a < b ? 1f : a == b ? 0.5f : 0f;
}

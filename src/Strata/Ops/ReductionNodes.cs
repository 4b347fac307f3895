using Strata.Autograd;
using Strata.Ops;

namespace Strata.Ops;

/// <summary>Sum, max or min over some axes. Sum's gradient is g broadcast back; max and min share it evenly among tied extremes.</summary>
internal sealed class ReduceNode(ReduceKind kind, string op, Tensor x, bool[] reduced, Shape keptShape, Shape outShape)
    : OpNode(op, [x], outShape)
{
    public override string Attributes => string.Concat(reduced.Select(r => r ? '1' : '0'));

    // Sum's gradient is a broadcast; max and min find their extremes again (input equal to output).
    public override bool BackwardReadsInput(int i, bool[] wants) => kind != ReduceKind.Sum;

    public override bool BackwardReadsOutput(bool[] wants) => kind != ReduceKind.Sum;

    public override void Forward() => Reduction.Run(kind, Inputs[0].Span, Inputs[0].Shape, reduced, Output.Data);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        var x = Inputs[0];
        var xs = x.Shape;
        if (kind == ReduceKind.Sum)
        {
            var target = grads.Target(this, 0, out bool add);
            if (add)
                Broadcasting.Apply<AddOp>(xs, target, xs, gy, keptShape, target);
            else
                Broadcasting.Apply<Broadcasting.FirstOp>(xs, gy, keptShape, target, xs, target);
            return;
        }
        // NOTE: ties share the gradient evenly (each of k tied extremes gets g/k).
        var hit = Scratch(0, x.Size);
        Broadcasting.Apply<CompareOp<EqualRel>>(xs, x.Span, xs, Output.Span, keptShape, hit);
        var count = Scratch(1, Output.Size);
        Reduction.Run(ReduceKind.Sum, hit, xs, reduced, count);
        System.Numerics.Tensors.TensorPrimitives.Divide(gy, count, count);
        Broadcasting.Apply<MulOp>(xs, hit, xs, count, keptShape, hit);
        Put(grads, 0, hit);
    }
}

/// <summary>The index of the first maximum along an axis (as a float); NaN counts as the maximum. No gradient.</summary>
internal sealed class ArgMaxNode(Tensor x, int n, int inner, Shape outShape) : OpNode("argmax", [x], outShape)
{
    public override string Attributes => $"{n},{inner}";

    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        var s = Inputs[0].Span;
        var d = Output.Data;
        int outer = s.Length / (n * inner);
        for (int o = 0; o < outer; o++)
        {
            for (int j = 0; j < inner; j++)
            {
                int baseOff = o * n * inner + j, best = 0;
                float bestV = s[baseOff];
                for (int k = 1; k < n; k++)
                {
                    float v = s[baseOff + k * inner];
                    if (v > bestV || (float.IsNaN(v) && !float.IsNaN(bestV)))
                    {
                        bestV = v;
                        best = k;
                    }
                }
                d[o * inner + j] = best;
            }
        }
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        // Not differentiable.
    }
}

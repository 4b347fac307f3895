using Strata.Autograd;
using Strata.Ops;

namespace Strata.Ops;

/// <summary>The same data under another shape: the output shares the input's buffer; the gradient is g under the input's shape.</summary>
internal sealed class ReshapeNode(Tensor x, Shape shape) : OpNode("reshape", [x], shape)
{
    public override bool AliasesInput => true;

    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    // A plan may have pointed the input at another array (its batch): follow it.
    public override void Forward()
    {
        if (!ReferenceEquals(Output.Buffer, Inputs[0].Buffer) || Output.Start != Inputs[0].Start)
            Output.Rebind(Inputs[0].Buffer, Inputs[0].Start);
    }

    public override void Backward(Span<float> gy, GradSink grads) => Put(grads, 0, gy);
}

/// <summary>The same values without a gradient path (<see cref="Tensor.Detach"/> inside a traced step).</summary>
internal sealed class StopGradientNode(Tensor x) : OpNode("stop_gradient", [x], x.Shape)
{
    public override bool AliasesInput => true;

    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        if (!ReferenceEquals(Output.Buffer, Inputs[0].Buffer) || Output.Start != Inputs[0].Start)
            Output.Rebind(Inputs[0].Buffer, Inputs[0].Start);
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        // No gradient flows back.
    }
}

/// <summary>A broadcast materialized; the gradient sums g back over the broadcast axes.</summary>
internal sealed class BroadcastNode(Tensor x, Shape target) : OpNode("broadcast_to", [x], target)
{
    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward() =>
        Broadcasting.Apply<Broadcasting.FirstOp>(OutputShape, Inputs[0].Span, Inputs[0].Shape, Output.Data, OutputShape, Output.Data);

    public override void Backward(Span<float> gy, GradSink grads) => PutReduced(grads, 0, gy, OutputShape);
}

/// <summary>Axes reordered (a copy); the gradient is g permuted back.</summary>
internal sealed class PermuteNode(Tensor x, int[] perm, Shape shape) : OpNode("permute", [x], shape)
{
    private readonly int[] _inverse = Inverse(perm);

    private static int[] Inverse(int[] p)
    {
        var inv = new int[p.Length];
        for (int i = 0; i < p.Length; i++)
            inv[p[i]] = i;
        return inv;
    }

    public override string Attributes => string.Join(",", perm);

    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward() => Tensor.PermuteCopy(Inputs[0].Span, Inputs[0].Shape, perm, Output.Data);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        var d = Scratch(0, gy.Length);
        Tensor.PermuteCopy(gy, OutputShape, _inverse, d);
        Put(grads, 0, d);
    }
}

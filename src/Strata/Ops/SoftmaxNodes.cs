using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Ops;

namespace Strata.Ops;

/// <summary>Softmax or log-softmax along one axis, viewed as [outer, n, inner].</summary>
internal sealed class SoftmaxNode(Tensor x, int outer, int n, int inner, bool log)
    : OpNode(log ? "log_softmax" : "softmax", [x], x.Shape)
{
    public override string Attributes => $"{outer},{n},{inner}";

    /// <summary>A softmax (not log-softmax) over the last axis: what the cross-entropies can fuse with (<see cref="Tensor.SoftmaxInput"/>).</summary>
    public bool OverLastAxis { get; } = !log && inner == 1 && x.Rank > 0 && n == x.Shape[-1];

    // The derivative follows from the output alone.
    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => true;

    public override void Forward() => Tensor.SoftmaxForward(Inputs[0].Span, Output.Data, outer, n, inner, log);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        Tensor.SoftmaxBackward(Output.Span, gy, outer, n, inner, log); // in place: gy is ours
        Put(grads, 0, gy);
    }
}

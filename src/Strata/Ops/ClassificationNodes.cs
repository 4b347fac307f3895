using Strata.Autograd;
using Strata.Ops;

namespace Strata.Ops;

/// <summary>Reads class indices from a tensor each time an op runs; a bad label throws, naming the op that asked.</summary>
internal static class LabelIndices
{
    public static void Read(ReadOnlySpan<float> labels, int classes, string owner, Span<int> idx)
    {
        for (int i = 0; i < idx.Length; i++)
        {
            float v = labels[i];
            if (!(v >= 0 && v < classes) || v != MathF.Floor(v))
                throw new ArgumentException($"{owner}: label {v} at position {i} is not a class index in 0..{classes - 1}");
            idx[i] = (int)v;
        }
    }
}

internal sealed class SparseSoftmaxCrossEntropyNode(Tensor logits, Tensor labels, string owner)
    : OpNode("sparse_softmax_cross_entropy", [logits, labels], new Shape(logits.Shape[0]))
{
    private readonly int[] _idx = new int[logits.Shape[0]];
    private readonly int _classes = logits.Shape[1];

    // Log-softmax and the label indices are kept by the node (scratch slot 0, _idx).
    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        int rows = _idx.Length, classes = _classes;
        LabelIndices.Read(Inputs[1].Span, classes, owner, _idx);
        var logSm = Scratch(0, rows * classes);
        Tensor.SoftmaxForward(Inputs[0].Span, logSm, rows, classes, 1, log: true);
        var d = Output.Data;
        for (int i = 0; i < rows; i++)
            d[i] = -logSm[i * classes + _idx[i]];
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        int rows = _idx.Length, classes = _classes;
        // NOTE: slot 0 still holds log-softmax from Forward (a plan runs forward before backward on the same node).
        var grad = Scratch(0, rows * classes);
        System.Numerics.Tensors.TensorPrimitives.Exp(grad, grad); // softmax
        for (int i = 0; i < rows; i++)
        {
            var row = grad.Slice(i * classes, classes);
            row[_idx[i]] -= 1;
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, gy[i], row);
        }
        Put(grads, 0, grad);
    }
}

internal sealed class PickPerRowNode(Tensor x, Tensor labels, string owner)
    : OpNode("pick_per_row", [x, labels], new Shape(x.Shape[0]))
{
    private readonly int[] _idx = new int[x.Shape[0]];
    private readonly int _classes = x.Shape[1];

    // The label indices are kept by the node (_idx).
    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        LabelIndices.Read(Inputs[1].Span, _classes, owner, _idx);
        var s = Inputs[0].Span;
        var d = Output.Data;
        for (int i = 0; i < _idx.Length; i++)
            d[i] = s[i * _classes + _idx[i]];
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        var target = grads.Target(this, 0, out bool add);
        if (!add)
            target.Clear();
        for (int i = 0; i < _idx.Length; i++)
            target[i * _classes + _idx[i]] += gy[i];
    }
}

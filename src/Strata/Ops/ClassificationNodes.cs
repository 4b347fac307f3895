using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Kernels;
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
        int rows = _idx.Length, classes = _classes;
        // ∂(−log softmax(z)[t])/∂z = softmax(z) − onehot(t); softmax = exp(log-softmax) from slot 0, which
        // Forward wrote (a plan runs forward before backward) and which is only read here, so a retained
        // graph can backpropagate twice.
        var logSm = Scratch(0, rows * classes);
        var grad = BeginWrite(grads, 0, 1, out var target, out bool add);
        if (grad.IsEmpty)
            return;
        TensorPrimitives.Exp(logSm, grad);
        for (int i = 0; i < rows; i++)
        {
            var row = grad.Slice(i * classes, classes);
            row[_idx[i]] -= 1;
            TensorPrimitives.Multiply(row, gy[i], row);
        }
        EndWrite(grad, target, add);
    }
}

/// <summary>
/// Cross-entropy of softmax(logits) against target distributions over the last axis, per row:
/// −Σ y ⊙ log-softmax(z). ∂/∂z = g·(softmax(z)·Σy − y) (softmax(z) − y for targets that sum to 1);
/// ∂/∂y = −g·log-softmax(z).
/// </summary>
internal sealed class SoftmaxCrossEntropyNode(Tensor logits, Tensor targets)
    : OpNode("softmax_cross_entropy", [logits, targets], new Shape(logits.Shape.Dims[..^1]))
{
    private readonly int _classes = logits.Shape[-1];

    public override void Forward()
    {
        int rows = OutputShape.Size, classes = _classes;
        var logSm = Scratch(0, rows * classes);
        Tensor.SoftmaxForward(Inputs[0].Span, logSm, rows, classes, 1, log: true);
        var y = Inputs[1].Span;
        var d = Output.Data;
        for (int i = 0; i < rows; i++)
            d[i] = -Summation.Dot(y.Slice(i * classes, classes), logSm.Slice(i * classes, classes));
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        int rows = OutputShape.Size, classes = _classes;
        // Slot 0 holds log-softmax from Forward and is only read here (a retained graph may run this twice).
        var logSm = Scratch(0, rows * classes);
        var y = Inputs[1].Span;
        var dz = BeginWrite(grads, 0, 1, out var tz, out bool az);
        if (!dz.IsEmpty)
        {
            TensorPrimitives.Exp(logSm, dz);
            for (int i = 0; i < rows; i++)
            {
                var row = dz.Slice(i * classes, classes);
                var yr = y.Slice(i * classes, classes);
                // L = −Σ y·(z − lse(z)) ⇒ ∂L/∂z = softmax(z)·Σy − y.
                TensorPrimitives.Multiply(row, Summation.Sum(yr), row);
                TensorPrimitives.Subtract(row, yr, row);
                TensorPrimitives.Multiply(row, gy[i], row);
            }
        }
        EndWrite(dz, tz, az);
        var dy = BeginWrite(grads, 1, 2, out var ty, out bool ay);
        if (!dy.IsEmpty)
        {
            for (int i = 0; i < rows; i++)
                TensorPrimitives.Multiply(logSm.Slice(i * classes, classes), -gy[i], dy.Slice(i * classes, classes));
        }
        EndWrite(dy, ty, ay);
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

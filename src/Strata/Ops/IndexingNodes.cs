using System.Numerics.Tensors;
using Strata.Autograd;

namespace Strata.Ops;

/// <summary>
/// Slice (the output is a block of the input at <c>starts</c>) or pad (the input is a block of the
/// output, the rest filled with a value); the gradient copies the same block the other way.
/// </summary>
internal sealed class BlockNode(string op, Tensor x, int[] starts, Shape outShape, bool fromBlock, float fill = 0)
    : OpNode(op, [x], outShape)
{
    public override string Attributes => $"{string.Join(",", starts)};{fill}";

    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        var x = Inputs[0];
        if (fromBlock)
        {
            Output.Data.Fill(fill);
            Tensor.CopyBlock(x.Span, x.Shape, starts, Output.Data, OutputShape, toBlock: false);
        }
        else
        {
            Tensor.CopyBlock(x.Span, x.Shape, starts, Output.Data, OutputShape, toBlock: true);
        }
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        var xs = Inputs[0].Shape;
        var d = Scratch(0, xs.Size);
        if (fromBlock)
        {
            Tensor.CopyBlock(gy, OutputShape, starts, d, xs, toBlock: true);
        }
        else
        {
            d.Clear();
            Tensor.CopyBlock(gy, OutputShape, starts, d, xs, toBlock: false);
        }
        Put(grads, 0, d);
    }
}

/// <summary>Concatenation along an axis; each input's gradient is its block of g.</summary>
internal sealed class ConcatNode(Tensor[] inputs, int axis, Shape outShape) : OpNode("concat", inputs, outShape)
{
    private readonly int[] _starts = new int[outShape.Rank];

    public override string Attributes => $"{axis}";

    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        Array.Clear(_starts);
        foreach (var t in Inputs)
        {
            Tensor.CopyBlock(t.Span, t.Shape, _starts, Output.Data, OutputShape, toBlock: false);
            _starts[axis] += t.Shape.Dims[axis];
        }
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        Array.Clear(_starts);
        for (int i = 0; i < Inputs.Length; i++)
        {
            var t = Inputs[i];
            if (grads.Wants(this, i))
            {
                var d = Scratch(0, t.Size);
                Tensor.CopyBlock(gy, OutputShape, _starts, d, t.Shape, toBlock: true);
                Put(grads, i, d);
            }
            _starts[axis] += t.Shape.Dims[axis];
        }
    }
}

/// <summary>Rows picked by fixed indices along an axis; the gradient adds each picked row back (repeats accumulate).</summary>
internal sealed class IndexSelectNode(Tensor x, int[] idx, int outer, int n, int inner, Shape outShape)
    : OpNode("index_select", [x], outShape)
{
    public override string Attributes => $"{outer},{n},{inner};{string.Join(",", idx)}";

    public override bool BackwardReadsInput(int i, bool[] wants) => false;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward()
    {
        var s = Inputs[0].Span;
        var d = Output.Data;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.Length; j++)
                s.Slice((o * n + idx[j]) * inner, inner).CopyTo(d.Slice((o * idx.Length + j) * inner, inner));
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        var target = grads.Target(this, 0, out bool add);
        if (!add)
            target.Clear();
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.Length; j++)
            {
                var t = target.Slice((o * n + idx[j]) * inner, inner);
                TensorPrimitives.Add(t, gy.Slice((o * idx.Length + j) * inner, inner), t);
            }
    }
}

/// <summary>
/// Rows of a table [n, ...] picked by an index tensor that is read each time the op runs (an
/// embedding lookup): [...indices, ...row]. The gradient adds each looked-up row's g back into its
/// table row; the indices get none.
/// </summary>
internal sealed class GatherNode(Tensor table, Tensor indices, string owner = "gather")
    : OpNode("gather", [table, indices], new Shape([.. indices.Shape.Dims, .. table.Shape.Dims[1..]]))
{
    private int Row => Inputs[0].Shape.Dims[0] == 0 ? 0 : Inputs[0].Size / Inputs[0].Shape.Dims[0];

    // The indices again, not the table's values.
    public override bool BackwardReadsInput(int i, bool[] wants) => i == 1;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    private int Index(int i)
    {
        float v = Inputs[1].Span[i];
        int n = Inputs[0].Shape.Dims[0];
        if (v != MathF.Floor(v) || v < 0 || v >= n)
            throw new ArgumentException($"{owner}: index {v} at position {i} is not a row of the table {Inputs[0].Shape} (0..{n - 1})");
        return (int)v;
    }

    public override void Forward()
    {
        var s = Inputs[0].Span;
        var d = Output.Data;
        int row = Row;
        for (int i = 0; i < Inputs[1].Size; i++)
            s.Slice(Index(i) * row, row).CopyTo(d.Slice(i * row, row));
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        var target = grads.Target(this, 0, out bool add);
        if (!add)
            target.Clear();
        int row = Row;
        for (int i = 0; i < Inputs[1].Size; i++)
        {
            var t = target.Slice(Index(i) * row, row);
            TensorPrimitives.Add(t, gy.Slice(i * row, row), t);
        }
    }
}

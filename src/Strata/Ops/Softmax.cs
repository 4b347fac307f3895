using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Kernels;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// softmax(x)ᵢ = e^(xᵢ − max x) / Σⱼ e^(xⱼ − max x) along an axis (subtracting the max keeps it finite).
    /// ∂/∂x = y ⊙ (g − Σ g⊙y).
    /// </summary>
    public Tensor Softmax(int axis = -1)
    {
        var (outer, n, inner) = AxisLayout(axis, "softmax");
        return Run(new SoftmaxNode(this, outer, n, inner, log: false));
    }

    /// <summary>
    /// log(softmax(x)) along an axis, computed as x − max − log Σ exp(x − max) (stable).
    /// ∂/∂x = g − softmax(x)·Σg.
    /// </summary>
    public Tensor LogSoftmax(int axis = -1)
    {
        var (outer, n, inner) = AxisLayout(axis, "log_softmax");
        return Run(new SoftmaxNode(this, outer, n, inner, log: true));
    }

    /// <summary>
    /// The logits z when <paramref name="probabilities"/> is softmax(z) over its last axis, straight from the
    /// softmax op of a recorded graph (nothing in between); else null. A node exists only where gradients
    /// are recorded, so with recording off (inference, <see cref="GradMode.Disable"/>) this is always null.
    /// </summary>
    internal static Tensor? SoftmaxInput(Tensor probabilities) =>
        probabilities.Node is SoftmaxNode { OverLastAxis: true, Released: false } node ? node.Inputs[0] : null;

    private (int Outer, int N, int Inner) AxisLayout(int axis, string op)
    {
        int ax = Shape.NormalizeAxis(axis, Rank, op);
        int n = Shape.Dims[ax], inner = 1;
        for (int i = ax + 1; i < Rank; i++)
            inner *= Shape.Dims[i];
        int outer = n * inner == 0 ? 0 : Size / (n * inner);
        return (outer, n, inner);
    }

    /// <summary>Softmax (or log-softmax) of each row of a [rows, width] buffer; y may be x.</summary>
    internal static void SoftmaxRows(ReadOnlySpan<float> x, Span<float> y, int rows, int width, bool log = false) =>
        SoftmaxForward(x, y, rows, width, 1, log);

    // Rows up to this wide take the loops of the narrow path (measured: 1,000 rows of 10 in 51 µs through the per-row primitives).
    private const int NarrowRow = 16;

    // e ← e / Σ e over one row of exponentials.
    private static void ScaleToOne(Span<float> e, bool narrow)
    {
        float scale = 1f / Summation.Sum(e);
        if (!narrow)
        {
            TensorPrimitives.Multiply(e, scale, e);
            return;
        }
        for (int j = 0; j < e.Length; j++)
            e[j] *= scale;
    }

    internal static void SoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner, bool log)
    {
        if (n == 0)
            return;
        if (inner == 1)
        {
            // Each row: its max and the shift x − max — as loops for narrow rows, where a call of a vector
            // primitive per row costs more than its few values — then exp, the sum, and the scale (softmax)
            // or − log Σ (log-softmax, whose row keeps x − max: its exp goes to a scratch row, rented once).
            // Narrow softmax rows of at least a vector's four lanes take exp over the whole block in one
            // call, with the bits each lane gets in a row of its own; rows under four lanes keep a call
            // each (alone they take the scalar exp, in a block the vector one: a row's result would depend
            // on its batch).
            bool narrow = n <= NarrowRow;
            bool blockExp = !log && narrow && n >= System.Runtime.Intrinsics.Vector128<float>.Count;
            float[]? scratch = log ? System.Buffers.ArrayPool<float>.Shared.Rent(n) : null;
            for (int o = 0; o < outer; o++)
            {
                var row = x.Slice(o * n, n);
                var dst = y.Slice(o * n, n);
                if (narrow)
                {
                    float rowMax = row[0];
                    for (int j = 1; j < n; j++)
                        rowMax = MathF.Max(rowMax, row[j]); // NaN propagates, as in TensorPrimitives.Max
                    for (int j = 0; j < n; j++)
                        dst[j] = row[j] - rowMax;
                }
                else
                    TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), dst);
                if (log)
                {
                    TensorPrimitives.Exp(dst, scratch!.AsSpan(0, n));
                    float lse = MathF.Log(Summation.Sum(scratch.AsSpan(0, n)));
                    TensorPrimitives.Subtract(dst, lse, dst);
                }
                else if (!blockExp)
                {
                    TensorPrimitives.Exp(dst, dst);
                    ScaleToOne(dst, narrow);
                }
            }
            if (blockExp)
            {
                TensorPrimitives.Exp(y[..(outer * n)], y[..(outer * n)]);
                for (int o = 0; o < outer; o++)
                    ScaleToOne(y.Slice(o * n, n), narrow: true);
            }
            if (scratch is not null)
                System.Buffers.ArrayPool<float>.Shared.Return(scratch);
            return;
        }
        // Strided axis: work on whole [inner] rows, vectorized across the inner dimension.
        var max = new float[inner];
        var sum = new float[inner];
        for (int o = 0; o < outer; o++)
        {
            var block = x.Slice(o * n * inner, n * inner);
            var dstBlock = y.Slice(o * n * inner, n * inner);
            block[..inner].CopyTo(max);
            for (int k = 1; k < n; k++)
                TensorPrimitives.Max(max, block.Slice(k * inner, inner), max);
            for (int k = 0; k < n; k++)
            {
                var d = dstBlock.Slice(k * inner, inner);
                TensorPrimitives.Subtract(block.Slice(k * inner, inner), max, d);
                TensorPrimitives.Exp(d, d);
            }
            Summation.ColumnSums(dstBlock, n, inner, sum); // pairwise over a long axis
            if (log)
            {
                TensorPrimitives.Log(sum, sum);
                TensorPrimitives.Add(sum, max, sum); // log-sum-exp
                for (int k = 0; k < n; k++)
                    TensorPrimitives.Subtract(block.Slice(k * inner, inner), sum, dstBlock.Slice(k * inner, inner));
            }
            else
            {
                for (int k = 0; k < n; k++)
                    TensorPrimitives.Divide(dstBlock.Slice(k * inner, inner), sum, dstBlock.Slice(k * inner, inner));
            }
        }
    }

    /// <summary>
    /// In place, g ← ∂L/∂x from the output y along the axis: softmax y ⊙ (g − Σ g⊙y); log-softmax
    /// g − eʸ·Σg (eʸ is the softmax).
    /// </summary>
    internal static void SoftmaxBackward(ReadOnlySpan<float> y, Span<float> g, int outer, int n, int inner, bool log)
    {
        if (n == 0)
            return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var yr = y.Slice(o * n, n);
                var gr = g.Slice(o * n, n);
                if (log)
                {
                    float sum = Summation.Sum(gr);
                    for (int i = 0; i < n; i++)
                        gr[i] -= MathF.Exp(yr[i]) * sum;
                }
                else
                {
                    float dot = Summation.Dot(yr, gr);
                    TensorPrimitives.Subtract(gr, dot, gr);
                    TensorPrimitives.Multiply(gr, yr, gr);
                }
            }
            return;
        }
        // Strided axis: Σg (or Σg⊙y) per inner position as column sums over the axis, then the update.
        float[] sums = System.Buffers.ArrayPool<float>.Shared.Rent(inner);
        var acc = sums.AsSpan(0, inner);
        for (int o = 0; o < outer; o++)
        {
            int b = o * n * inner;
            var gb = g.Slice(b, n * inner);
            if (log)
                Summation.ColumnSums(gb, n, inner, acc);
            else
                Summation.ColumnDots(gb, y.Slice(b, n * inner), n, inner, acc);
            for (int k = 0; k < n; k++)
            {
                for (int j = 0; j < inner; j++)
                {
                    int i = b + k * inner + j;
                    g[i] = log ? g[i] - MathF.Exp(y[i]) * acc[j] : y[i] * (g[i] - acc[j]);
                }
            }
        }
        System.Buffers.ArrayPool<float>.Shared.Return(sums);
    }
}

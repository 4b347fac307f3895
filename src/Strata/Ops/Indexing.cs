using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// A sub-block: one C# range per leading axis (missing axes are taken whole), e.g.
    /// <c>x.Slice(.., 1..3)</c>. A copy. ∂/∂x = g placed back into zeros.
    /// </summary>
    /// <exception cref="ArgumentException">More ranges than axes, or a range outside an axis.</exception>
    public Tensor Slice(params Range[] ranges)
    {
        if (ranges.Length > Rank)
            throw new ArgumentException($"slice: {ranges.Length} ranges for shape {Shape}");
        var starts = new int[Rank];
        var lengths = Shape.ToArray();
        for (int i = 0; i < ranges.Length; i++)
        {
            int d = Shape.Dims[i];
            int s = ranges[i].Start.IsFromEnd ? d - ranges[i].Start.Value : ranges[i].Start.Value;
            int e = ranges[i].End.IsFromEnd ? d - ranges[i].End.Value : ranges[i].End.Value;
            if (s < 0 || e > d || s > e)
                throw new ArgumentException($"slice: range {ranges[i]} is outside axis {i} of shape {Shape} (size {d})");
            starts[i] = s;
            lengths[i] = e - s;
        }
        return Run(new BlockNode("slice", this, starts, new Shape(lengths), fromBlock: false));
    }

    /// <summary>length entries of one axis starting at start.</summary>
    public Tensor Slice(int axis, int start, int length)
    {
        int a = Shape.NormalizeAxis(axis, Rank, "slice");
        var ranges = new Range[a + 1];
        for (int i = 0; i < a; i++)
            ranges[i] = Range.All;
        ranges[a] = start..(start + length);
        return Slice(ranges);
    }

    /// <summary>
    /// Copies between a full tensor (shape full) and a block of it (shape block, at offsets start).
    /// toBlock: full → block; otherwise block → full (the block's region is overwritten).
    /// </summary>
    internal static void CopyBlock(ReadOnlySpan<float> src, Shape srcShape, int[] start, Span<float> dst, Shape dstShape, bool toBlock)
    {
        var full = toBlock ? srcShape : dstShape;
        var block = toBlock ? dstShape : srcShape;
        if (block.Size == 0)
            return;
        int rank = full.Rank;
        if (rank == 0)
        {
            dst[0] = src[0];
            return;
        }
        var fullStrides = full.Strides();
        int inner = block.Dims[rank - 1];
        var counter = new int[rank];
        int baseOff = 0;
        for (int i = 0; i < rank; i++)
            baseOff += start[i] * fullStrides[i];
        int fullOff = baseOff;
        for (int b = 0; b < block.Size; b += inner)
        {
            if (toBlock)
                src.Slice(fullOff, inner).CopyTo(dst.Slice(b, inner));
            else
                src.Slice(b, inner).CopyTo(dst.Slice(fullOff, inner));
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                fullOff += fullStrides[ax];
                if (++counter[ax] < block.Dims[ax])
                    break;
                fullOff -= fullStrides[ax] * block.Dims[ax];
                counter[ax] = 0;
            }
        }
    }

    /// <summary>Joins tensors along an existing axis; all other sizes must agree. ∂ = the matching slices of g.</summary>
    /// <exception cref="ArgumentException">No tensors, differing ranks or sizes off the axis.</exception>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0)
            throw new ArgumentException("concat: needs at least one tensor");
        var first = tensors[0];
        int a = Shape.NormalizeAxis(axis, first.Rank, "concat");
        var dims = first.Shape.ToArray();
        dims[a] = 0;
        foreach (var t in tensors)
        {
            if (t.Rank != first.Rank)
                throw new ArgumentException($"concat: ranks differ: {first.Shape} and {t.Shape}");
            for (int i = 0; i < t.Rank; i++)
            {
                if (i != a && t.Shape.Dims[i] != first.Shape.Dims[i])
                    throw new ArgumentException($"concat: shapes {first.Shape} and {t.Shape} differ off axis {axis}");
            }
            dims[a] += t.Shape.Dims[a];
        }
        return Run(new ConcatNode(tensors.ToArray(), a, new Shape(dims)));
    }

    /// <summary>Joins same-shaped tensors along a new axis.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0)
            throw new ArgumentException("stack: needs at least one tensor");
        foreach (var t in tensors)
        {
            if (t.Shape != tensors[0].Shape)
                throw new ArgumentException($"stack: shapes differ: {tensors[0].Shape} and {t.Shape}");
        }
        int a = Shape.NormalizeAxis(axis, tensors[0].Rank + 1, "stack");
        return Concat(tensors.Select(t => t.Unsqueeze(a)).ToArray(), a);
    }

    /// <summary>
    /// Pads with a constant: pads[i] = (before, after) for axis i (missing trailing axes are not padded).
    /// ∂/∂x = the interior of g.
    /// </summary>
    public Tensor Pad((int Before, int After)[] pads, float value = 0)
    {
        if (pads.Length > Rank)
            throw new ArgumentException($"pad: {pads.Length} pairs for shape {Shape}");
        var dims = Shape.ToArray();
        var starts = new int[Rank];
        for (int i = 0; i < pads.Length; i++)
        {
            if (pads[i].Before < 0 || pads[i].After < 0)
                throw new ArgumentException($"pad: padding must be non-negative, got ({pads[i].Before}, {pads[i].After}) on axis {i}");
            dims[i] += pads[i].Before + pads[i].After;
            starts[i] = pads[i].Before;
        }
        return Run(new BlockNode("pad", this, starts, new Shape(dims), fromBlock: true, value));
    }

    /// <summary>
    /// Picks entries of one axis by index (repeats allowed): the result's axis has indices.Length entries.
    /// ∂/∂x = g scattered back, adding where an index repeats.
    /// </summary>
    /// <exception cref="ArgumentException">An index is out of range.</exception>
    /// <summary>
    /// Copies the rows (first-axis entries) <paramref name="indices"/> into <paramref name="destination"/>
    /// [indices.Length, ...]: a batch gather into a buffer the caller reuses. No gradient.
    /// </summary>
    internal void GatherRowsInto(ReadOnlySpan<int> indices, Tensor destination)
    {
        int n = Shape[0], row = n == 0 ? 0 : Size / n;
        if (destination.Rank != Rank || destination.Shape[0] != indices.Length || destination.Size != indices.Length * row)
            throw new ArgumentException($"gather_rows: destination {destination.Shape} does not hold {indices.Length} rows of {Shape}");
        var s = Span;
        var d = destination.Data;
        for (int j = 0; j < indices.Length; j++)
        {
            int ix = indices[j];
            if ((uint)ix >= (uint)n)
                throw new ArgumentException($"gather_rows: index {ix} is out of range for {n} rows");
            s.Slice(ix * row, row).CopyTo(d.Slice(j * row, row));
        }
    }

    /// <summary>
    /// The slices at <paramref name="indices"/> along <paramref name="axis"/>, in that order (repeats
    /// allowed): the result has that axis resized to indices.Length. ∂: the gradient rows are added back
    /// at their indices.
    /// </summary>
    /// <exception cref="ArgumentException">An index outside the axis, or an axis outside the rank.</exception>
    public Tensor IndexSelect(int axis, ReadOnlySpan<int> indices)
    {
        int a = Shape.NormalizeAxis(axis, Rank, "index_select");
        int n = Shape.Dims[a], inner = 1;
        for (int i = a + 1; i < Rank; i++)
            inner *= Shape.Dims[i];
        int outer = n * inner == 0 ? 0 : Size / (n * inner);
        var idx = indices.ToArray();
        foreach (int ix in idx)
        {
            if (ix < 0 || ix >= n)
                throw new ArgumentException($"index_select: index {ix} is out of range for axis {axis} of shape {Shape} (size {n})");
        }
        var dims = Shape.ToArray();
        dims[a] = idx.Length;
        return Run(new IndexSelectNode(this, idx, outer, n, inner, new Shape(dims)));
    }

    /// <summary>
    /// Embedding lookup: rows of this [vocab, ...] table picked by an index tensor of any shape; the
    /// result has shape indices.Shape + table.Shape[1..]. Indices are whole numbers stored as float.
    /// </summary>
    public Tensor Gather(Tensor indices)
    {
        if (Rank < 1)
            throw new ArgumentException($"gather: the table needs rank ≥ 1, got {Shape}");
        return Run(new GatherNode(this, indices));
    }

    /// <summary>The lookup with the calling layer's name in its messages.</summary>
    internal Tensor Gather(Tensor indices, string owner) => Run(new GatherNode(this, indices, owner));

    /// <summary>One-hot rows: [labels.Length, classes] with 1 at each label. Not differentiable.</summary>
    /// <exception cref="ArgumentException">A label outside 0..classes−1.</exception>
    public static Tensor OneHot(ReadOnlySpan<int> labels, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        var r = Zeros(labels.Length, classes);
        var d = r.Data;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classes)
                throw new ArgumentException($"one_hot: label {labels[i]} at position {i} is outside 0..{classes - 1}");
            d[i * classes + labels[i]] = 1;
        }
        return r;
    }
}

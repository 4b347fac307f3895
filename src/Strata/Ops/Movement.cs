using Strata.Autograd;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// The same elements with another shape (one dimension may be −1: inferred). Shares the data
    /// (no copy). ∂/∂x = g reshaped back.
    /// </summary>
    /// <exception cref="ArgumentException">The element counts differ or more than one dimension is −1.</exception>
    public Tensor Reshape(params int[] shape)
    {
        var dims = (int[])shape.Clone();
        int infer = -1, known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0)
                    throw new ArgumentException($"reshape: only one dimension may be -1, got {Shape.Format(shape)}");
                infer = i;
            }
            else
            {
                known *= dims[i];
            }
        }
        if (infer >= 0)
        {
            if (known == 0 || Size % known != 0)
                throw new ArgumentException($"reshape: cannot reshape {Shape} ({Size} elements) into {Shape.Format(shape)}");
            dims[infer] = Size / known;
        }
        var s = new Shape(dims);
        if (s.Size != Size)
            throw new ArgumentException($"reshape: cannot reshape {Shape} ({Size} elements) into {s} ({s.Size} elements)");
        return Run(new ReshapeNode(this, s));
    }

    /// <summary>Flattens all axes after the first: [n, ...] → [n, rest].</summary>
    public Tensor Flatten() => Rank == 0 ? Reshape(1, 1) : Reshape(Shape.Dims[0], -1);

    /// <summary>Inserts an axis of size 1.</summary>
    public Tensor Unsqueeze(int axis)
    {
        int a = Shape.NormalizeAxis(axis, Rank + 1, "unsqueeze");
        var dims = new List<int>(Shape.ToArray());
        dims.Insert(a, 1);
        return Reshape(dims.ToArray());
    }

    /// <summary>Removes an axis of size 1.</summary>
    public Tensor Squeeze(int axis)
    {
        int a = Shape.NormalizeAxis(axis, Rank, "squeeze");
        if (Shape.Dims[a] != 1)
            throw new ArgumentException($"squeeze: axis {axis} of shape {Shape} has size {Shape.Dims[a]}, expected 1");
        var dims = new List<int>(Shape.ToArray());
        dims.RemoveAt(a);
        return Reshape(dims.ToArray());
    }

    /// <summary>Broadcasts to a larger shape (a copy). ∂/∂x = g summed back.</summary>
    public Tensor BroadcastTo(params int[] shape)
    {
        var target = new Shape(shape);
        if (Shape.Broadcast(Shape, target, "broadcast_to") != target)
            throw new ArgumentException($"broadcast_to: cannot broadcast {Shape} to {target}");
        return Run(new BroadcastNode(this, target));
    }

    /// <summary>Reorders the axes: result axis i is input axis perm[i]. ∂/∂x = g permuted by the inverse.</summary>
    /// <exception cref="ArgumentException">perm is not a permutation of 0..rank−1.</exception>
    public Tensor Permute(params int[] perm)
    {
        if (perm.Length != Rank)
            throw new ArgumentException($"permute: expected {Rank} axes for shape {Shape}, got {Shape.Format(perm)}");
        var seen = new bool[Rank];
        var p = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            p[i] = Shape.NormalizeAxis(perm[i], Rank, "permute");
            if (seen[p[i]])
                throw new ArgumentException($"permute: {Shape.Format(perm)} is not a permutation of the axes of {Shape}");
            seen[p[i]] = true;
        }
        var dims = new int[Rank];
        for (int i = 0; i < Rank; i++)
            dims[i] = Shape.Dims[p[i]];
        return Run(new PermuteNode(this, p, new Shape(dims)));
    }

    /// <summary>Swaps two axes (default: the last two).</summary>
    public Tensor Transpose(int axis0 = -2, int axis1 = -1)
    {
        var perm = Enumerable.Range(0, Rank).ToArray();
        int a0 = Shape.NormalizeAxis(axis0, Rank, "transpose"), a1 = Shape.NormalizeAxis(axis1, Rank, "transpose");
        (perm[a0], perm[a1]) = (perm[a1], perm[a0]);
        return Permute(perm);
    }

    /// <summary>The transpose of a matrix (rank 2).</summary>
    public Tensor T => Rank == 2 ? Transpose() : throw new InvalidOperationException($"T: expected a matrix, got shape {Shape}");

    internal static unsafe void PermuteCopy(ReadOnlySpan<float> src, Shape shape, int[] perm, Span<float> dst)
    {
        int rank = shape.Rank;
        if (src.Length == 0)
            return;
        var inStrides = shape.Strides();
        var outDims = new int[rank];
        var strides = new int[rank]; // input stride of each output axis
        for (int i = 0; i < rank; i++)
        {
            outDims[i] = shape.Dims[perm[i]];
            strides[i] = inStrides[perm[i]];
        }
        if (rank == 2 && perm[0] == 1)
        {
            fixed (float* ps = src)
            fixed (float* pd = dst)
                Kernels.Transpose.Block(ps, shape.Dims[1], pd, shape.Dims[0], shape.Dims[0], shape.Dims[1]);
            return;
        }
        var counter = new int[rank];
        int inner = outDims[rank - 1], innerStride = strides[rank - 1];
        int off = 0;
        for (int o = 0; o < dst.Length; o += inner)
        {
            var d = dst.Slice(o, inner);
            if (innerStride == 1)
                src.Slice(off, inner).CopyTo(d);
            else
                for (int j = 0; j < inner; j++)
                    d[j] = src[off + j * innerStride];
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                off += strides[ax];
                if (++counter[ax] < outDims[ax])
                    break;
                off -= strides[ax] * outDims[ax];
                counter[ax] = 0;
            }
        }
    }
}

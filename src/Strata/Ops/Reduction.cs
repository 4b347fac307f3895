using System.Buffers;
using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Ops;

internal enum ReduceKind { Sum, Max, Min }

/// <summary>
/// Reduces a contiguous tensor over a set of axes. Adjacent axes of the same kind (reduced or
/// kept) are merged, so the innermost run is contiguous; then the reduced groups are removed from
/// the innermost out, each sum through <see cref="Summation"/> (pairwise, over spans or columns).
/// </summary>
internal static class Reduction
{
    public static void Run(ReduceKind kind, ReadOnlySpan<float> src, Shape shape, bool[] reduced, Span<float> dst)
    {
        // Merge axes into (dim, isReduced) groups, dropping size-1 axes.
        int maxRank = Math.Max(1, shape.Rank);
        Span<int> dims = maxRank <= 16 ? stackalloc int[maxRank] : new int[maxRank];
        Span<bool> red = maxRank <= 16 ? stackalloc bool[maxRank] : new bool[maxRank];
        int rank = 0;
        for (int i = 0; i < shape.Rank; i++)
        {
            int d = shape.Dims[i];
            if (d == 1)
                continue;
            if (rank > 0 && red[rank - 1] == reduced[i])
                dims[rank - 1] *= d;
            else
            {
                dims[rank] = d;
                red[rank] = reduced[i];
                rank++;
            }
        }
        if (src.Length == 0)
        {
            if (kind != ReduceKind.Sum && dst.Length > 0)
                throw new ArgumentException($"{kind}: cannot reduce an empty axis of shape {shape}");
            dst.Clear();
            return;
        }
        if (rank == 0)
        {
            src[..1].CopyTo(dst);
            return;
        }

        // Collapse the innermost reduced group one stage at a time: a reduced inner run is one span
        // reduction per output element, a reduced group above a kept inner run is a column reduction
        // per outer block. Each stage removes one reduced group; the last one writes dst.
        int stages = 0;
        for (int i = 0; i < rank; i++)
            stages += red[i] ? 1 : 0;
        if (stages == 0)
        {
            src.CopyTo(dst); // only size-1 axes are reduced
            return;
        }
        float[]? ping = null, pong = null;
        try
        {
            var cur = src;
            for (int stage = 1; stage <= stages; stage++)
            {
                int size = cur.Length;
                int outSize = size / dims[red[rank - 1] ? rank - 1 : rank - 2];
                Span<float> next;
                if (stage == stages)
                    next = dst;
                else
                {
                    // Two scratch buffers in turn (the first stage's output is the largest).
                    ref float[]? buffer = ref (stage % 2 == 1 ? ref ping : ref pong);
                    buffer ??= ArrayPool<float>.Shared.Rent(outSize);
                    next = buffer.AsSpan(0, outSize);
                }
                if (red[rank - 1])
                {
                    int inner = dims[rank - 1];
                    for (int o = 0; o < outSize; o++)
                        next[o] = ReduceSpan(kind, cur.Slice(o * inner, inner));
                    rank--;
                }
                else
                {
                    int n = dims[rank - 2], inner = dims[rank - 1], outer = size / (n * inner);
                    for (int o = 0; o < outer; o++)
                        ReduceColumns(kind, cur.Slice(o * n * inner, n * inner), n, inner, next.Slice(o * inner, inner));
                    // Drop the reduced group; the kept groups on either side of it merge.
                    if (rank >= 3)
                    {
                        dims[rank - 3] *= inner;
                        rank -= 2;
                    }
                    else
                    {
                        dims[0] = inner;
                        red[0] = false;
                        rank = 1;
                    }
                }
                cur = next;
            }
        }
        finally
        {
            if (ping is not null)
                ArrayPool<float>.Shared.Return(ping);
            if (pong is not null)
                ArrayPool<float>.Shared.Return(pong);
        }
    }

    private static float ReduceSpan(ReduceKind kind, ReadOnlySpan<float> run) => kind switch
    {
        ReduceKind.Sum => Summation.Sum(run),
        ReduceKind.Max => TensorPrimitives.Max(run),
        _ => TensorPrimitives.Min(run),
    };

    /// <summary>dst = the reduction of each column of a row-major [rows, cols] block.</summary>
    private static void ReduceColumns(ReduceKind kind, ReadOnlySpan<float> block, int rows, int cols, Span<float> dst)
    {
        if (kind == ReduceKind.Sum)
        {
            // Pairwise over row blocks: a long batch axis (a bias gradient, batch statistics) stays accurate.
            Summation.ColumnSums(block, rows, cols, dst);
            return;
        }
        block[..cols].CopyTo(dst);
        for (int r = 1; r < rows; r++)
        {
            var row = block.Slice(r * cols, cols);
            if (kind == ReduceKind.Max)
                TensorPrimitives.Max(dst, row, dst);
            else
                TensorPrimitives.Min(dst, row, dst);
        }
    }

    /// <summary>
    /// The axes of <paramref name="valueShape"/> that a broadcast from <paramref name="target"/> added
    /// or stretched (leading axes, and axes where the target has size 1): summing over them undoes it.
    /// </summary>
    public static bool[] BroadcastAxes(Shape valueShape, Shape target)
    {
        int rank = valueShape.Rank, lead = rank - target.Rank;
        var reduced = new bool[rank];
        for (int i = 0; i < rank; i++)
            reduced[i] = i < lead || (target.Dims[i - lead] == 1 && valueShape.Dims[i] != 1);
        return reduced;
    }

    /// <summary>The indices of the true entries.</summary>
    public static int[] AxesOf(bool[] mask)
    {
        var axes = new List<int>();
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i])
                axes.Add(i);
        }
        return axes.ToArray();
    }
}

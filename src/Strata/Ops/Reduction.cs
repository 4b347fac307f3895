using System.Numerics.Tensors;

namespace Strata.Ops;

internal enum ReduceKind { Sum, Max, Min }

/// <summary>
/// Reduces a contiguous tensor over a set of axes. Adjacent axes of the same kind (reduced or
/// kept) are merged, so the innermost run is contiguous: a reduced inner run is one span
/// reduction per output element, a kept inner run is accumulated row-wise into the output.
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

        if (rank == 2 && red[0] && !red[1] && kind == ReduceKind.Sum)
        {
            // Sum over a leading (batch) axis, e.g. a bias gradient: accumulate whole rows.
            int cols = dims[1];
            src[..cols].CopyTo(dst);
            for (int r = 1; r < dims[0]; r++)
                TensorPrimitives.Add(dst, src.Slice(r * cols, cols), dst);
            return;
        }

        // Output strides of kept dims (0 for reduced ones).
        Span<int> dstStride = rank <= 16 ? stackalloc int[rank] : new int[rank];
        int o = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            dstStride[i] = red[i] ? 0 : o;
            if (!red[i])
                o *= dims[i];
        }

        int inner = dims[rank - 1];
        bool innerReduced = red[rank - 1];
        Span<bool> touched = dst.Length <= 4096 ? stackalloc bool[dst.Length] : new bool[dst.Length];
        touched.Clear();
        Span<int> counter = rank <= 16 ? stackalloc int[rank] : new int[rank];
        int dOff = 0;
        for (int sOff = 0; sOff < src.Length; sOff += inner)
        {
            var run = src.Slice(sOff, inner);
            if (innerReduced)
            {
                float v = kind switch
                {
                    ReduceKind.Sum => TensorPrimitives.Sum(run),
                    ReduceKind.Max => TensorPrimitives.Max(run),
                    _ => TensorPrimitives.Min(run),
                };
                if (!touched[dOff])
                {
                    dst[dOff] = v;
                    touched[dOff] = true;
                }
                else
                {
                    dst[dOff] = kind switch
                    {
                        ReduceKind.Sum => dst[dOff] + v,
                        ReduceKind.Max => MathF.Max(dst[dOff], v),
                        _ => MathF.Min(dst[dOff], v),
                    };
                }
            }
            else
            {
                var d = dst.Slice(dOff, inner);
                if (!touched[dOff])
                {
                    run.CopyTo(d);
                    touched[dOff] = true;
                }
                else if (kind == ReduceKind.Sum)
                    TensorPrimitives.Add(d, run, d);
                else if (kind == ReduceKind.Max)
                    TensorPrimitives.Max(d, run, d);
                else
                    TensorPrimitives.Min(d, run, d);
            }
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                dOff += dstStride[ax];
                if (++counter[ax] < dims[ax])
                    break;
                dOff -= dstStride[ax] * dims[ax];
                counter[ax] = 0;
            }
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

namespace Strata.Ops;

/// <summary>
/// Runs a binary op over two tensors with NumPy broadcasting. Dimensions that are contiguous in
/// both operands are merged first, so that the innermost run handed to the span kernel is as long
/// as possible ([32, 128] + [128] is 32 calls over 128 elements; same shapes is one call).
/// </summary>
internal static class Broadcasting
{
    public static void Apply<TOp>(Shape outShape, ReadOnlySpan<float> a, Shape aShape, ReadOnlySpan<float> b, Shape bShape,
        Span<float> dst) where TOp : IBinaryOp
    {
        if (outShape.Size == 0)
            return;
        if (aShape == bShape)
        {
            TOp.Apply(a, b, dst);
            return;
        }
        // NOTE: with a one-element operand the other has as many elements as the output (only ranks differ).
        if (bShape.Size == 1 && a.Length == dst.Length)
        {
            TOp.Apply(a, b[0], dst);
            return;
        }
        if (aShape.Size == 1 && b.Length == dst.Length)
        {
            TOp.Apply(a[0], b, dst);
            return;
        }

        int maxRank = outShape.Rank;
        Span<int> dims = maxRank <= 16 ? stackalloc int[maxRank] : new int[maxRank];
        Span<int> sa = maxRank <= 16 ? stackalloc int[maxRank] : new int[maxRank];
        Span<int> sb = maxRank <= 16 ? stackalloc int[maxRank] : new int[maxRank];
        int rank = Coalesce(outShape, aShape, bShape, dims, sa, sb);
        int inner = dims[rank - 1];
        int innerA = sa[rank - 1], innerB = sb[rank - 1];
        if (rank == 2 && innerA != 0 && innerB != 0)
        {
            // The common case (a bias or a per-row scale over a batch): a plain loop over rows.
            int rows = dims[0], stepA = sa[0], stepB = sb[0];
            for (int r = 0, oa = 0, ob = 0; r < rows; r++, oa += stepA, ob += stepB)
                TOp.Apply(a.Slice(oa, inner), b.Slice(ob, inner), dst.Slice(r * inner, inner));
            return;
        }
        Span<int> counter = rank <= 16 ? stackalloc int[rank] : new int[rank];
        int offA = 0, offB = 0;
        for (int o = 0; o < dst.Length; o += inner)
        {
            var d = dst.Slice(o, inner);
            if (innerA != 0 && innerB != 0)
                TOp.Apply(a.Slice(offA, inner), b.Slice(offB, inner), d);
            else if (innerA != 0)
                TOp.Apply(a.Slice(offA, inner), b[offB], d);
            else if (innerB != 0)
                TOp.Apply(a[offA], b.Slice(offB, inner), d);
            else
            {
                TOp.Apply(a.Slice(offA, 1), b[offB], d[..1]);
                d.Fill(d[0]);
            }
            // Advance the outer counter (odometer over dims[0..rank-1)).
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                offA += sa[ax];
                offB += sb[ax];
                if (++counter[ax] < dims[ax])
                    break;
                offA -= sa[ax] * dims[ax];
                offB -= sb[ax] * dims[ax];
                counter[ax] = 0;
            }
        }
    }

    /// <summary>Materializes a broadcast of src to the output shape.</summary>
    public static float[] Expand(ReadOnlySpan<float> src, Shape srcShape, Shape outShape)
    {
        var result = GC.AllocateUninitializedArray<float>(outShape.Size);
        // The second operand only supplies the output's layout: FirstOp never reads it.
        Apply<FirstOp>(outShape, src, srcShape, result, outShape, result);
        return result;
    }

    /// <summary>d = x (broadcast); y is ignored.</summary>
    internal struct FirstOp : IBinaryOp
    {
        public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => x.CopyTo(d);
        public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => x.CopyTo(d);
        public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => d.Fill(x);
    }

    /// <summary>
    /// Writes the output dims with each operand's strides (0 on broadcast axes), size-1 axes dropped and
    /// adjacent mergeable axes merged; returns the merged rank (at least 1).
    /// </summary>
    private static int Coalesce(Shape outShape, Shape aShape, Shape bShape, Span<int> dims, Span<int> sa, Span<int> sb)
    {
        int rank = outShape.Rank, count = 0;
        int offA = rank - aShape.Rank, offB = rank - bShape.Rank;
        // Row-major strides of each operand, built from the innermost axis out.
        Span<int> strideA = rank <= 16 ? stackalloc int[rank] : new int[rank];
        Span<int> strideB = rank <= 16 ? stackalloc int[rank] : new int[rank];
        int accA = 1, accB = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int da = i >= offA ? aShape.Dims[i - offA] : 1;
            int db = i >= offB ? bShape.Dims[i - offB] : 1;
            strideA[i] = da == 1 ? 0 : accA;
            strideB[i] = db == 1 ? 0 : accB;
            accA *= da;
            accB *= db;
        }
        for (int i = 0; i < rank; i++)
        {
            int d = outShape.Dims[i];
            if (d == 1)
                continue; // size-1 axes contribute nothing
            if (count > 0 && sa[count - 1] == strideA[i] * d && sb[count - 1] == strideB[i] * d)
            {
                dims[count - 1] *= d;
                sa[count - 1] = strideA[i];
                sb[count - 1] = strideB[i];
            }
            else
            {
                dims[count] = d;
                sa[count] = strideA[i];
                sb[count] = strideB[i];
                count++;
            }
        }
        if (count == 0)
        {
            dims[0] = 1;
            sa[0] = sb[0] = 0;
            return 1;
        }
        return count;
    }
}

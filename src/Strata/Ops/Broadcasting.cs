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

        var (dims, sa, sb) = Coalesce(outShape, aShape, bShape);
        int rank = dims.Length;
        int inner = dims[rank - 1];
        int innerA = sa[rank - 1], innerB = sb[rank - 1];
        Span<int> counter = stackalloc int[rank];
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
    private struct FirstOp : IBinaryOp
    {
        public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => x.CopyTo(d);
        public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => x.CopyTo(d);
        public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => d.Fill(x);
    }

    /// <summary>Output dims with each operand's strides (0 on broadcast axes), adjacent mergeable axes merged.</summary>
    private static (int[] Dims, int[] Sa, int[] Sb) Coalesce(Shape outShape, Shape aShape, Shape bShape)
    {
        int rank = outShape.Rank;
        var dims = outShape.ToArray();
        var sa = AlignedStrides(aShape, outShape);
        var sb = AlignedStrides(bShape, outShape);
        var rd = new List<int>(rank);
        var ra = new List<int>(rank);
        var rb = new List<int>(rank);
        for (int i = 0; i < rank; i++)
        {
            if (dims[i] == 1)
                continue; // size-1 axes contribute nothing
            int last = rd.Count - 1;
            if (last >= 0 && ra[last] == sa[i] * dims[i] && rb[last] == sb[i] * dims[i])
            {
                rd[last] *= dims[i];
                ra[last] = sa[i];
                rb[last] = sb[i];
            }
            else
            {
                rd.Add(dims[i]);
                ra.Add(sa[i]);
                rb.Add(sb[i]);
            }
        }
        if (rd.Count == 0)
            return ([1], [0], [0]);
        return (rd.ToArray(), ra.ToArray(), rb.ToArray());
    }

    private static int[] AlignedStrides(Shape s, Shape outShape)
    {
        int rank = outShape.Rank, offset = rank - s.Rank;
        var own = s.Strides();
        var strides = new int[rank];
        for (int i = 0; i < s.Rank; i++)
            strides[i + offset] = s.Dims[i] == 1 ? 0 : own[i];
        return strides;
    }
}

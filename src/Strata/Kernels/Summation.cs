using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Every float summation of the library: sums, sums of squares and of squared deviations, dot
/// products, and the same per column of a row-major [rows, cols] matrix (sums over a strided axis).
/// </summary>
/// <remarks>
/// Pairwise (cascade) summation: a span is halved, on block boundaries, until a block of a few hundred
/// elements is left; a block is summed in four vector accumulators (16 additions per lane), and the
/// halves' sums are added back up the tree. The rounding error grows with the block's 16 additions plus
/// log₂(n / block) levels instead of with n / lanes, as a single running accumulator's does
/// (<see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/>); the work per element is the same load and
/// add. Column sums do the same over blocks of <see cref="RowBlock"/> rows, into scratch rows, so a sum
/// over a long batch axis is as accurate as one over a contiguous span. <see cref="SummationReference"/>
/// holds the float64 loops the tests compare with.
/// </remarks>
internal static class Summation
{
    // Blocks: four accumulators × 16 additions per lane × the lanes of the vector.
    private const int Block512 = 4 * 16 * 16, Block256 = 4 * 16 * 8, Block128 = 4 * 16 * 4, BlockScalar = 4 * 16;

    /// <summary>Rows summed in sequence (four at a time) before the pairwise tree takes over.</summary>
    internal const int RowBlock = 32;

    /// <summary>Columns done at once by the column forms: keeps the scratch rows in L1/L2.</summary>
    private const int ColumnTile = 2048;

    /// <summary>Σ xᵢ (0 for an empty span).</summary>
    public static float Sum(ReadOnlySpan<float> x) => Reduce(new Values(x), x.Length);

    /// <summary>Σ xᵢ².</summary>
    public static float SumOfSquares(ReadOnlySpan<float> x) => Reduce(new Squares(x), x.Length);

    /// <summary>Σ (xᵢ − mean)².</summary>
    public static float SumOfSquaredDeviations(ReadOnlySpan<float> x, float mean) => Reduce(new SquaredDeviations(x, mean), x.Length);

    /// <summary>Σ xᵢ·yᵢ.</summary>
    /// <exception cref="ArgumentException">x and y differ in length.</exception>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Reduce(new Products(x, y), SameLength(x, y, "dot"));

    /// <summary>Σ (xᵢ − yᵢ)².</summary>
    /// <exception cref="ArgumentException">x and y differ in length.</exception>
    public static float SumOfSquaredDifferences(ReadOnlySpan<float> x, ReadOnlySpan<float> y) =>
        Reduce(new SquaredDifferences(x, y), SameLength(x, y, "sum of squared differences"));

    /// <summary>Σ |xᵢ − yᵢ|.</summary>
    /// <exception cref="ArgumentException">x and y differ in length.</exception>
    public static float SumOfAbsoluteDifferences(ReadOnlySpan<float> x, ReadOnlySpan<float> y) =>
        Reduce(new AbsoluteDifferences(x, y), SameLength(x, y, "sum of absolute differences"));

    /// <summary>dstⱼ (+)= Σᵣ x[r, j] for x a row-major [rows, cols] matrix: the sum over a leading axis (add: add to dst instead of overwriting it).</summary>
    /// <exception cref="ArgumentException">x is not rows × cols long, or dst not cols.</exception>
    public static void ColumnSums(ReadOnlySpan<float> x, int rows, int cols, Span<float> dst, bool add = false)
    {
        CheckMatrix(x.Length, rows, cols, dst.Length, "column sums");
        Columns(new Values(x), rows, cols, dst, add);
    }

    /// <summary>dstⱼ (+)= Σᵣ x[r, j]·y[r, j] for x, y row-major [rows, cols] matrices.</summary>
    /// <exception cref="ArgumentException">x or y is not rows × cols long, or dst not cols.</exception>
    public static void ColumnDots(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int rows, int cols, Span<float> dst, bool add = false)
    {
        CheckMatrix(x.Length, rows, cols, dst.Length, "column dots");
        SameLength(x, y, "column dots");
        Columns(new Products(x, y), rows, cols, dst, add);
    }

    /// <summary>dstⱼ (+)= Σᵣ (x[r, j] − meanⱼ)²: per-column (per-channel) sums of squared deviations.</summary>
    /// <exception cref="ArgumentException">x is not rows × cols long, or dst or mean not cols.</exception>
    public static void ColumnSumsOfSquaredDeviations(ReadOnlySpan<float> x, int rows, int cols, ReadOnlySpan<float> mean, Span<float> dst, bool add = false)
    {
        CheckMatrix(x.Length, rows, cols, dst.Length, "column sums of squared deviations");
        if (mean.Length != cols)
            throw new ArgumentException($"column sums of squared deviations: {cols} columns but {mean.Length} means");
        Columns(new ColumnSquaredDeviations(x, mean), rows, cols, dst, add);
    }

    /// <summary>dstⱼ (+)= Σᵣ g[r, j]·(x[r, j] − meanⱼ): per-channel sums of a gradient times the centred input.</summary>
    /// <exception cref="ArgumentException">g or x is not rows × cols long, or dst or mean not cols.</exception>
    public static void ColumnDotsWithDeviations(ReadOnlySpan<float> g, ReadOnlySpan<float> x, int rows, int cols, ReadOnlySpan<float> mean, Span<float> dst, bool add = false)
    {
        CheckMatrix(x.Length, rows, cols, dst.Length, "column dots with deviations");
        SameLength(g, x, "column dots with deviations");
        if (mean.Length != cols)
            throw new ArgumentException($"column dots with deviations: {cols} columns but {mean.Length} means");
        Columns(new ColumnProductsOfDeviations(g, x, mean), rows, cols, dst, add);
    }

    private static int SameLength(ReadOnlySpan<float> x, ReadOnlySpan<float> y, string what) =>
        x.Length == y.Length ? x.Length : throw new ArgumentException($"{what}: lengths differ ({x.Length} and {y.Length})");

    private static void CheckMatrix(int length, int rows, int cols, int dstLength, string what)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != length || dstLength != cols)
            throw new ArgumentException($"{what}: expected a [{rows}, {cols}] matrix ({(long)rows * cols} values) and {cols} outputs, got {length} values and {dstLength} outputs");
    }

    // ---- Flat sums: the widest vector the machine has (and that fits once), pairwise over blocks ----

    private static float Reduce<T>(T term, int n) where T : ISummand, allows ref struct
    {
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            int m = n & ~(Vector512<float>.Count - 1);
            return Tail(term, m, n, Vector512.Sum(Pairwise512(term, 0, m)));
        }
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            int m = n & ~(Vector256<float>.Count - 1);
            return Tail(term, m, n, Vector256.Sum(Pairwise256(term, 0, m)));
        }
        if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            int m = n & ~(Vector128<float>.Count - 1);
            return Tail(term, m, n, Vector128.Sum(Pairwise128(term, 0, m)));
        }
        return PairwiseScalar(term, 0, n);
    }

    /// <summary>s + the terms [from, n) one by one (fewer than a vector's lanes).</summary>
    private static float Tail<T>(T term, int from, int n, float s) where T : ISummand, allows ref struct
    {
        for (int i = from; i < n; i++)
            s += term.At(i, 0);
        return s;
    }

    /// <summary>Where a pairwise split of <paramref name="length"/> (over <paramref name="block"/>-sized blocks) falls: half the blocks.</summary>
    private static int Half(int length, int block) => ((length - 1) / block + 1) / 2 * block;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> Pairwise512<T>(T term, int start, int length) where T : ISummand, allows ref struct
    {
        if (length > Block512)
        {
            int half = Half(length, Block512);
            return Pairwise512(term, start, half) + Pairwise512(term, start + half, length - half);
        }
        // A block (length a multiple of 16): four independent add chains, then the odd vectors.
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = start, end = start + length;
        for (; i <= end - 64; i += 64)
        {
            a0 += term.At512(i, 0);
            a1 += term.At512(i + 16, 0);
            a2 += term.At512(i + 32, 0);
            a3 += term.At512(i + 48, 0);
        }
        for (; i < end; i += 16)
            a0 += term.At512(i, 0);
        return (a0 + a1) + (a2 + a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> Pairwise256<T>(T term, int start, int length) where T : ISummand, allows ref struct
    {
        if (length > Block256)
        {
            int half = Half(length, Block256);
            return Pairwise256(term, start, half) + Pairwise256(term, start + half, length - half);
        }
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = start, end = start + length;
        for (; i <= end - 32; i += 32)
        {
            a0 += term.At256(i, 0);
            a1 += term.At256(i + 8, 0);
            a2 += term.At256(i + 16, 0);
            a3 += term.At256(i + 24, 0);
        }
        for (; i < end; i += 8)
            a0 += term.At256(i, 0);
        return (a0 + a1) + (a2 + a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector128<float> Pairwise128<T>(T term, int start, int length) where T : ISummand, allows ref struct
    {
        if (length > Block128)
        {
            int half = Half(length, Block128);
            return Pairwise128(term, start, half) + Pairwise128(term, start + half, length - half);
        }
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = start, end = start + length;
        for (; i <= end - 16; i += 16)
        {
            a0 += term.At128(i, 0);
            a1 += term.At128(i + 4, 0);
            a2 += term.At128(i + 8, 0);
            a3 += term.At128(i + 12, 0);
        }
        for (; i < end; i += 4)
            a0 += term.At128(i, 0);
        return (a0 + a1) + (a2 + a3);
    }

    private static float PairwiseScalar<T>(T term, int start, int length) where T : ISummand, allows ref struct
    {
        if (length > BlockScalar)
        {
            int half = Half(length, BlockScalar);
            return PairwiseScalar(term, start, half) + PairwiseScalar(term, start + half, length - half);
        }
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int i = start, end = start + length;
        for (; i <= end - 4; i += 4)
        {
            a0 += term.At(i, 0);
            a1 += term.At(i + 1, 0);
            a2 += term.At(i + 2, 0);
            a3 += term.At(i + 3, 0);
        }
        for (; i < end; i++)
            a0 += term.At(i, 0);
        return (a0 + a1) + (a2 + a3);
    }

    // ---- Column sums: rows in sequence within a block of RowBlock rows, pairwise over the blocks ----

    private static void Columns<T>(T term, int rows, int cols, Span<float> dst, bool add) where T : ISummand, allows ref struct
    {
        if (!add)
            dst.Clear();
        if (rows == 0 || cols == 0)
            return;
        if (rows <= RowBlock)
        {
            AccumulateRows(term, 0, rows, cols, 0, dst);
            return;
        }
        // Scratch: one row of the tile per level of the tree (the left result waits there while the right half runs).
        int levels = BitOperations.Log2((uint)((rows - 1) / RowBlock)) + 2;
        int tile = Math.Min(cols, ColumnTile);
        float[] scratch = ArrayPool<float>.Shared.Rent(levels * tile);
        try
        {
            for (int j0 = 0; j0 < cols; j0 += tile)
            {
                int width = Math.Min(tile, cols - j0);
                var slots = scratch.AsSpan(0, levels * width);
                PairwiseRows(term, 0, rows, cols, j0, slots, width, 0);
                var d = dst.Slice(j0, width);
                TensorPrimitives.Add(d, slots[..width], d);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>Slot <paramref name="level"/> of <paramref name="slots"/> = the column sums of rows [r0, r0 + rows) over columns [j0, j0 + width).</summary>
    private static void PairwiseRows<T>(T term, int r0, int rows, int cols, int j0, Span<float> slots, int width, int level)
        where T : ISummand, allows ref struct
    {
        Debug.Assert((level + 1) * width <= slots.Length);
        var acc = slots.Slice(level * width, width);
        if (rows <= RowBlock)
        {
            acc.Clear();
            AccumulateRows(term, r0, rows, cols, j0, acc);
            return;
        }
        int half = Half(rows, RowBlock);
        PairwiseRows(term, r0, half, cols, j0, slots, width, level);
        PairwiseRows(term, r0 + half, rows - half, cols, j0, slots, width, level + 1);
        TensorPrimitives.Add(acc, slots.Slice((level + 1) * width, width), acc);
    }

    /// <summary>accⱼ += Σ term(r, j0 + j) over rows [r0, r0 + rows), four rows at a time (one pass over acc per four rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateRows<T>(T term, int r0, int rows, int cols, int j0, Span<float> acc) where T : ISummand, allows ref struct
    {
        ref float a = ref MemoryMarshal.GetReference(acc);
        int width = acc.Length, r = r0, end = r0 + rows;
        for (; r <= end - 4; r += 4)
        {
            int i0 = r * cols + j0, i1 = i0 + cols, i2 = i1 + cols, i3 = i2 + cols, j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j <= width - 16; j += 16)
                {
                    var s = (term.At512(i0 + j, j0 + j) + term.At512(i1 + j, j0 + j)) + (term.At512(i2 + j, j0 + j) + term.At512(i3 + j, j0 + j));
                    (Vector512.LoadUnsafe(ref a, (nuint)j) + s).StoreUnsafe(ref a, (nuint)j);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j <= width - 8; j += 8)
                {
                    var s = (term.At256(i0 + j, j0 + j) + term.At256(i1 + j, j0 + j)) + (term.At256(i2 + j, j0 + j) + term.At256(i3 + j, j0 + j));
                    (Vector256.LoadUnsafe(ref a, (nuint)j) + s).StoreUnsafe(ref a, (nuint)j);
                }
            }
            if (Vector128.IsHardwareAccelerated)
            {
                for (; j <= width - 4; j += 4)
                {
                    var s = (term.At128(i0 + j, j0 + j) + term.At128(i1 + j, j0 + j)) + (term.At128(i2 + j, j0 + j) + term.At128(i3 + j, j0 + j));
                    (Vector128.LoadUnsafe(ref a, (nuint)j) + s).StoreUnsafe(ref a, (nuint)j);
                }
            }
            for (; j < width; j++)
                Unsafe.Add(ref a, j) += (term.At(i0 + j, j0 + j) + term.At(i1 + j, j0 + j)) + (term.At(i2 + j, j0 + j) + term.At(i3 + j, j0 + j));
        }
        for (; r < end; r++)
        {
            int i0 = r * cols + j0, j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j <= width - 16; j += 16)
                    (Vector512.LoadUnsafe(ref a, (nuint)j) + term.At512(i0 + j, j0 + j)).StoreUnsafe(ref a, (nuint)j);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j <= width - 8; j += 8)
                    (Vector256.LoadUnsafe(ref a, (nuint)j) + term.At256(i0 + j, j0 + j)).StoreUnsafe(ref a, (nuint)j);
            }
            if (Vector128.IsHardwareAccelerated)
            {
                for (; j <= width - 4; j += 4)
                    (Vector128.LoadUnsafe(ref a, (nuint)j) + term.At128(i0 + j, j0 + j)).StoreUnsafe(ref a, (nuint)j);
            }
            for (; j < width; j++)
                Unsafe.Add(ref a, j) += term.At(i0 + j, j0 + j);
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Strata.Kernels;

/// <summary>
/// Strided block transposes used by GEMM packing: dst[j·dstStride + i] = src[i·srcStride + j]
/// for an rows×cols block. SIMD 8×8 and 4×4 tiles where the CPU has them, scalar elsewhere.
/// </summary>
internal static unsafe class Transpose
{
    /// <summary>Transposes a rows×cols block (any size).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block(float* src, nint srcStride, float* dst, nint dstStride, int rows, int cols)
    {
        int i = 0;
        if (Avx.IsSupported)
        {
            for (; i + 8 <= rows; i += 8)
            {
                int j = 0;
                for (; j + 8 <= cols; j += 8)
                    Tile8x8(src + i * srcStride + j, srcStride, dst + j * dstStride + i, dstStride);
                Scalar(src + i * srcStride + j, srcStride, dst + j * dstStride + i, dstStride, 8, cols - j);
            }
        }
        if (Sse.IsSupported)
        {
            for (; i + 4 <= rows; i += 4)
            {
                int j = 0;
                for (; j + 4 <= cols; j += 4)
                    Tile4x4(src + i * srcStride + j, srcStride, dst + j * dstStride + i, dstStride);
                Scalar(src + i * srcStride + j, srcStride, dst + j * dstStride + i, dstStride, 4, cols - j);
            }
        }
        Scalar(src + i * srcStride, srcStride, dst + i, dstStride, rows - i, cols);
    }

    /// <summary>
    /// Packs one GEMM panel from row pointers: dst[p·panelRows + i] = rows[i][p] for p in [0, len) and i in
    /// [0, panelRows); a null row reads as zeros (the padding rows of a partial panel, a convolution window
    /// over the border). The rows need not be evenly spaced, so the same code packs a matrix's rows and the
    /// runs of an image that im2col would have copied. Six rows (the AVX2 and 128-bit micro-kernels' MR) go
    /// through one 8×8 transpose per eight columns with two zero rows, each column stored as eight floats whose
    /// last two the next store overwrites (the last column stores six).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Panel(float** rows, int panelRows, float* dst, int len)
    {
        int p = 0;
        if (Avx.IsSupported && panelRows == 6)
        {
            float* q0 = rows[0], q1 = rows[1], q2 = rows[2], q3 = rows[3], q4 = rows[4], q5 = rows[5];
            var z = Vector256<float>.Zero;
            for (; p + 8 <= len; p += 8)
            {
                var r0 = Row8(q0, p);
                var r1 = Row8(q1, p);
                var r2 = Row8(q2, p);
                var r3 = Row8(q3, p);
                var r4 = Row8(q4, p);
                var r5 = Row8(q5, p);
                Transpose8x8(r0, r1, r2, r3, r4, r5, z, z, out var c0, out var c1, out var c2, out var c3,
                    out var c4, out var c5, out var c6, out var c7);
                float* d = dst + p * 6;
                Avx.Store(d, c0);
                Avx.Store(d + 6, c1);
                Avx.Store(d + 12, c2);
                Avx.Store(d + 18, c3);
                Avx.Store(d + 24, c4);
                Avx.Store(d + 30, c5);
                Avx.Store(d + 36, c6);
                Sse.Store(d + 42, c7.GetLower());
                Sse.StoreLow(d + 46, c7.GetUpper());
            }
            int tail = len - p;
            if (tail > 0)
            {
                // The last columns: masked loads (lanes past the run are neither read nor faulted on), the
                // transpose into a scratch block, six floats stored per column.
                var mask = Vector256.LessThan(Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f), Vector256.Create((float)tail));
                float* block = stackalloc float[64];
                Store8x8(Tail8(q0, p, mask), Tail8(q1, p, mask), Tail8(q2, p, mask), Tail8(q3, p, mask),
                    Tail8(q4, p, mask), Tail8(q5, p, mask), z, z, block, 8);
                float* d = dst + p * 6;
                for (int j = 0; j < tail; j++)
                {
                    Sse.Store(d + j * 6, Sse.LoadVector128(block + j * 8));
                    Sse.StoreLow(d + j * 6 + 4, Sse.LoadVector128(block + j * 8 + 4));
                }
            }
            return;
        }
        int i = 0;
        if (Avx.IsSupported)
        {
            for (; i + 8 <= panelRows; i += 8)
            {
                int j = 0;
                for (; j + 8 <= len; j += 8)
                    Tile8x8Rows(rows + i, j, dst + j * panelRows + i, panelRows);
                PanelColumns(rows, i, 8, j, len, dst, panelRows);
            }
        }
        if (Sse.IsSupported)
        {
            for (; i + 4 <= panelRows; i += 4)
            {
                int j = 0;
                for (; j + 4 <= len; j += 4)
                    Tile4x4Rows(rows + i, j, dst + j * panelRows + i, panelRows);
                PanelColumns(rows, i, 4, j, len, dst, panelRows);
            }
        }
        PanelColumns(rows, i, panelRows - i, 0, len, dst, panelRows);
    }

    /// <summary>The scalar part of <see cref="Panel"/>: rows [r0, r0 + count) over columns [j0, len).</summary>
    private static void PanelColumns(float** rows, int r0, int count, int j0, int len, float* dst, int panelRows)
    {
        for (int r = r0; r < r0 + count; r++)
        {
            float* q = rows[r];
            for (int j = j0; j < len; j++)
                dst[j * panelRows + r] = q is null ? 0f : q[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row8(float* q, int j) => q is null ? Vector256<float>.Zero : Avx.LoadVector256(q + j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tail8(float* q, int j, Vector256<float> mask) => q is null ? Vector256<float>.Zero : Avx.MaskLoad(q + j, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Row4(float* q, int j) => q is null ? Vector128<float>.Zero : Sse.LoadVector128(q + j);

    /// <summary>Tile8x8 over eight row pointers (null = zeros), columns [j, j + 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8x8Rows(float** q, int j, float* d, nint ds)
    {
        var r0 = Row8(q[0], j); var r1 = Row8(q[1], j); var r2 = Row8(q[2], j); var r3 = Row8(q[3], j);
        var r4 = Row8(q[4], j); var r5 = Row8(q[5], j); var r6 = Row8(q[6], j); var r7 = Row8(q[7], j);
        Store8x8(r0, r1, r2, r3, r4, r5, r6, r7, d, ds);
    }

    /// <summary>Tile4x4 over four row pointers (null = zeros), columns [j, j + 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x4Rows(float** q, int j, float* d, nint ds) =>
        Store4x4(Row4(q[0], j), Row4(q[1], j), Row4(q[2], j), Row4(q[3], j), d, ds);

    /// <summary>The reference: the plain double loop.</summary>
    public static void Scalar(float* src, nint srcStride, float* dst, nint dstStride, int rows, int cols)
    {
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
                dst[j * dstStride + i] = src[i * srcStride + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8x8(float* s, nint ss, float* d, nint ds) =>
        Store8x8(Avx.LoadVector256(s), Avx.LoadVector256(s + ss), Avx.LoadVector256(s + 2 * ss), Avx.LoadVector256(s + 3 * ss),
            Avx.LoadVector256(s + 4 * ss), Avx.LoadVector256(s + 5 * ss), Avx.LoadVector256(s + 6 * ss), Avx.LoadVector256(s + 7 * ss), d, ds);

    /// <summary>Stores the transpose of the 8×8 block whose rows are r0..r7: column j to d + j·ds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8x8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* d, nint ds)
    {
        Transpose8x8(r0, r1, r2, r3, r4, r5, r6, r7, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
        Avx.Store(d, c0);
        Avx.Store(d + ds, c1);
        Avx.Store(d + 2 * ds, c2);
        Avx.Store(d + 3 * ds, c3);
        Avx.Store(d + 4 * ds, c4);
        Avx.Store(d + 5 * ds, c5);
        Avx.Store(d + 6 * ds, c6);
        Avx.Store(d + 7 * ds, c7);
    }

    /// <summary>The columns c0..c7 of the 8×8 block whose rows are r0..r7, in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        c0 = Avx.Permute2x128(u0, u4, 0x20);
        c1 = Avx.Permute2x128(u1, u5, 0x20);
        c2 = Avx.Permute2x128(u2, u6, 0x20);
        c3 = Avx.Permute2x128(u3, u7, 0x20);
        c4 = Avx.Permute2x128(u0, u4, 0x31);
        c5 = Avx.Permute2x128(u1, u5, 0x31);
        c6 = Avx.Permute2x128(u2, u6, 0x31);
        c7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x4(float* s, nint ss, float* d, nint ds) =>
        Store4x4(Sse.LoadVector128(s), Sse.LoadVector128(s + ss), Sse.LoadVector128(s + 2 * ss), Sse.LoadVector128(s + 3 * ss), d, ds);

    /// <summary>Stores the transpose of the 4×4 block whose rows are r0..r3: column j to d + j·ds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4x4(Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3, float* d, nint ds)
    {
        var t0 = Sse.UnpackLow(r0, r1); var t1 = Sse.UnpackHigh(r0, r1);
        var t2 = Sse.UnpackLow(r2, r3); var t3 = Sse.UnpackHigh(r2, r3);
        Sse.Store(d, Sse.MoveLowToHigh(t0, t2));
        Sse.Store(d + ds, Sse.MoveHighToLow(t2, t0));
        Sse.Store(d + 2 * ds, Sse.MoveLowToHigh(t1, t3));
        Sse.Store(d + 3 * ds, Sse.MoveHighToLow(t3, t1));
    }
}

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
    private static void Tile8x8(float* s, nint ss, float* d, nint ds)
    {
        var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + ss);
        var r2 = Avx.LoadVector256(s + 2 * ss); var r3 = Avx.LoadVector256(s + 3 * ss);
        var r4 = Avx.LoadVector256(s + 4 * ss); var r5 = Avx.LoadVector256(s + 5 * ss);
        var r6 = Avx.LoadVector256(s + 6 * ss); var r7 = Avx.LoadVector256(s + 7 * ss);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ds, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ds, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ds, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ds, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ds, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ds, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ds, Avx.Permute2x128(u3, u7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x4(float* s, nint ss, float* d, nint ds)
    {
        var r0 = Sse.LoadVector128(s); var r1 = Sse.LoadVector128(s + ss);
        var r2 = Sse.LoadVector128(s + 2 * ss); var r3 = Sse.LoadVector128(s + 3 * ss);
        var t0 = Sse.UnpackLow(r0, r1); var t1 = Sse.UnpackHigh(r0, r1);
        var t2 = Sse.UnpackLow(r2, r3); var t3 = Sse.UnpackHigh(r2, r3);
        Sse.Store(d, Sse.MoveLowToHigh(t0, t2));
        Sse.Store(d + ds, Sse.MoveHighToLow(t2, t0));
        Sse.Store(d + 2 * ds, Sse.MoveLowToHigh(t1, t3));
        Sse.Store(d + 3 * ds, Sse.MoveHighToLow(t3, t1));
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// The register-blocked inner kernels of <see cref="Gemm"/>: C[MR×NR] (+)= Apanel·Bpanel over kc steps.
/// A is packed k-major (MR values per step) or, when transposed in memory, read in place (stride lda);
/// B is either packed (stride NR) or read in place (stride ldb). The accumulators stay in registers for the whole kc loop.
/// </summary>
internal static unsafe class GemmMicroKernels
{
    // AVX-512: 12 rows × 32 columns = 24 zmm accumulators + 2 for B + 1 broadcast (of 32 registers).
    public const int Mr512 = 12, Nr512 = 32;
    // AVX2: 6 rows × 16 columns = 12 ymm accumulators + 2 for B + 1 broadcast (of 16 registers).
    public const int Mr256 = 6, Nr256 = 16;
    // 128-bit (SSE, NEON): 6 rows × 8 columns, the AVX2 shape at half width (SSE has 16 registers too;
    // NEON's 32 would hold 12 rows, not measured: no ARM64 machine here).
    public const int Mr128 = 6, Nr128 = 8;
    // Portable fallback.
    public const int MrScalar = 4, NrScalar = 4;

    /// <summary>Row count of a micro-kernel instantiation (a constant once the JIT specializes on the struct).</summary>
    public interface IRows { static abstract int Value { get; } }
    public struct Rows12 : IRows { public static int Value => 12; }
    public struct Rows8 : IRows { public static int Value => 8; }
    public struct Rows6 : IRows { public static int Value => 6; }
    public struct Rows4 : IRows { public static int Value => 4; }

    /// <summary>
    /// C[R×2W] (+)= A·B over kc steps, W = TS.Count floats per vector and R = TRows.Value ≤ 12 (rows
    /// beyond R are compiled away): two vectors of C per row stay in registers for the whole loop.
    /// A advances aStride per step (MR when packed, lda when read in place); B advances bStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel<TV, TS, TRows>(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
        where TV : struct
        where TS : struct, ISimd<TV>
        where TRows : struct, IRows
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            // C's rows are ldc apart (often another page each): no hardware prefetcher sees them coming, and
            // the tile's first read of C at the end would wait for each row. Asked for now, they arrive
            // during the kc loop (measured: 0.68 → 0.77 of OpenBLAS at 1024³ on Zen 3, medians of 6 runs).
            for (int i = 0; i < TRows.Value; i++)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(c + i * ldc);
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(c + i * ldc + 2 * TS.Count - 1);
            }
        }
        TV c00 = TS.Zero, c01 = TS.Zero;
        TV c10 = TS.Zero, c11 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero;
        TV c30 = TS.Zero, c31 = TS.Zero;
        TV c40 = TS.Zero, c41 = TS.Zero;
        TV c50 = TS.Zero, c51 = TS.Zero;
        TV c60 = TS.Zero, c61 = TS.Zero;
        TV c70 = TS.Zero, c71 = TS.Zero;
        TV c80 = TS.Zero, c81 = TS.Zero;
        TV c90 = TS.Zero, c91 = TS.Zero;
        TV c100 = TS.Zero, c101 = TS.Zero;
        TV c110 = TS.Zero, c111 = TS.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TS.Load(b);
            var b1 = TS.Load(b + TS.Count);
            TV av;
            { av = TS.Create(a[0]); c00 = TS.FusedMultiplyAdd(av, b0, c00); c01 = TS.FusedMultiplyAdd(av, b1, c01); }
            { av = TS.Create(a[1]); c10 = TS.FusedMultiplyAdd(av, b0, c10); c11 = TS.FusedMultiplyAdd(av, b1, c11); }
            { av = TS.Create(a[2]); c20 = TS.FusedMultiplyAdd(av, b0, c20); c21 = TS.FusedMultiplyAdd(av, b1, c21); }
            { av = TS.Create(a[3]); c30 = TS.FusedMultiplyAdd(av, b0, c30); c31 = TS.FusedMultiplyAdd(av, b1, c31); }
            if (TRows.Value > 4) { av = TS.Create(a[4]); c40 = TS.FusedMultiplyAdd(av, b0, c40); c41 = TS.FusedMultiplyAdd(av, b1, c41); }
            if (TRows.Value > 5) { av = TS.Create(a[5]); c50 = TS.FusedMultiplyAdd(av, b0, c50); c51 = TS.FusedMultiplyAdd(av, b1, c51); }
            if (TRows.Value > 6) { av = TS.Create(a[6]); c60 = TS.FusedMultiplyAdd(av, b0, c60); c61 = TS.FusedMultiplyAdd(av, b1, c61); }
            if (TRows.Value > 7) { av = TS.Create(a[7]); c70 = TS.FusedMultiplyAdd(av, b0, c70); c71 = TS.FusedMultiplyAdd(av, b1, c71); }
            if (TRows.Value > 8) { av = TS.Create(a[8]); c80 = TS.FusedMultiplyAdd(av, b0, c80); c81 = TS.FusedMultiplyAdd(av, b1, c81); }
            if (TRows.Value > 9) { av = TS.Create(a[9]); c90 = TS.FusedMultiplyAdd(av, b0, c90); c91 = TS.FusedMultiplyAdd(av, b1, c91); }
            if (TRows.Value > 10) { av = TS.Create(a[10]); c100 = TS.FusedMultiplyAdd(av, b0, c100); c101 = TS.FusedMultiplyAdd(av, b1, c101); }
            if (TRows.Value > 11) { av = TS.Create(a[11]); c110 = TS.FusedMultiplyAdd(av, b0, c110); c111 = TS.FusedMultiplyAdd(av, b1, c111); }
            a += aStride;
            b += bStride;
        }
        Store<TV, TS>(c + 0 * ldc, c00, c01, accumulate);
        Store<TV, TS>(c + 1 * ldc, c10, c11, accumulate);
        Store<TV, TS>(c + 2 * ldc, c20, c21, accumulate);
        Store<TV, TS>(c + 3 * ldc, c30, c31, accumulate);
        if (TRows.Value > 4) Store<TV, TS>(c + 4 * ldc, c40, c41, accumulate);
        if (TRows.Value > 5) Store<TV, TS>(c + 5 * ldc, c50, c51, accumulate);
        if (TRows.Value > 6) Store<TV, TS>(c + 6 * ldc, c60, c61, accumulate);
        if (TRows.Value > 7) Store<TV, TS>(c + 7 * ldc, c70, c71, accumulate);
        if (TRows.Value > 8) Store<TV, TS>(c + 8 * ldc, c80, c81, accumulate);
        if (TRows.Value > 9) Store<TV, TS>(c + 9 * ldc, c90, c91, accumulate);
        if (TRows.Value > 10) Store<TV, TS>(c + 10 * ldc, c100, c101, accumulate);
        if (TRows.Value > 11) Store<TV, TS>(c + 11 * ldc, c110, c111, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TV, TS>(float* c, TV v0, TV v1, bool accumulate) where TV : struct where TS : struct, ISimd<TV>
    {
        if (accumulate)
        {
            v0 = TS.Add(v0, TS.Load(c));
            v1 = TS.Add(v1, TS.Load(c + TS.Count));
        }
        TS.Store(v0, c);
        TS.Store(v1, c + TS.Count);
    }

    public static void KernelScalar(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
    {
        float* acc = stackalloc float[MrScalar * NrScalar];
        new Span<float>(acc, MrScalar * NrScalar).Clear();
        for (int p = 0; p < kc; p++)
        {
            for (int i = 0; i < MrScalar; i++)
            {
                float av = a[i];
                for (int j = 0; j < NrScalar; j++)
                    acc[i * NrScalar + j] = MathF.FusedMultiplyAdd(av, b[j], acc[i * NrScalar + j]);
            }
            a += aStride;
            b += bStride;
        }
        for (int i = 0; i < MrScalar; i++)
        {
            for (int j = 0; j < NrScalar; j++)
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i * NrScalar + j] : acc[i * NrScalar + j];
        }
    }
}

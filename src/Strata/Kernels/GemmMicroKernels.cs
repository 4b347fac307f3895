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
    // Portable fallback.
    public const int MrScalar = 4, NrScalar = 4;

    /// <summary>Row count of a micro-kernel instantiation (a constant once the JIT specializes on the struct).</summary>
    public interface IRows { static abstract int Value { get; } }
    public struct Rows12 : IRows { public static int Value => 12; }
    public struct Rows8 : IRows { public static int Value => 8; }
    public struct Rows4 : IRows { public static int Value => 4; }

    /// <summary>
    /// C[R×32] (+)= A·B over kc steps, R = TRows.Value ≤ 12 (rows beyond R are compiled away).
    /// A advances aStride per step (MR when packed, lda when read in place); B advances bStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel512<TRows>(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
        where TRows : struct, IRows
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default;
        Vector512<float> c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default;
        Vector512<float> c70 = default, c71 = default;
        Vector512<float> c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default;
        Vector512<float> c100 = default, c101 = default;
        Vector512<float> c110 = default, c111 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> av;
            { av = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(av, b0, c00); c01 = Vector512.FusedMultiplyAdd(av, b1, c01); }
            { av = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(av, b0, c10); c11 = Vector512.FusedMultiplyAdd(av, b1, c11); }
            { av = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(av, b0, c20); c21 = Vector512.FusedMultiplyAdd(av, b1, c21); }
            { av = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(av, b0, c30); c31 = Vector512.FusedMultiplyAdd(av, b1, c31); }
            if (TRows.Value > 4) { av = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(av, b0, c40); c41 = Vector512.FusedMultiplyAdd(av, b1, c41); }
            if (TRows.Value > 5) { av = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(av, b0, c50); c51 = Vector512.FusedMultiplyAdd(av, b1, c51); }
            if (TRows.Value > 6) { av = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(av, b0, c60); c61 = Vector512.FusedMultiplyAdd(av, b1, c61); }
            if (TRows.Value > 7) { av = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(av, b0, c70); c71 = Vector512.FusedMultiplyAdd(av, b1, c71); }
            if (TRows.Value > 8) { av = Vector512.Create(a[8]); c80 = Vector512.FusedMultiplyAdd(av, b0, c80); c81 = Vector512.FusedMultiplyAdd(av, b1, c81); }
            if (TRows.Value > 9) { av = Vector512.Create(a[9]); c90 = Vector512.FusedMultiplyAdd(av, b0, c90); c91 = Vector512.FusedMultiplyAdd(av, b1, c91); }
            if (TRows.Value > 10) { av = Vector512.Create(a[10]); c100 = Vector512.FusedMultiplyAdd(av, b0, c100); c101 = Vector512.FusedMultiplyAdd(av, b1, c101); }
            if (TRows.Value > 11) { av = Vector512.Create(a[11]); c110 = Vector512.FusedMultiplyAdd(av, b0, c110); c111 = Vector512.FusedMultiplyAdd(av, b1, c111); }
            a += aStride;
            b += bStride;
        }
        Store512(c + 0 * ldc, c00, c01, accumulate);
        Store512(c + 1 * ldc, c10, c11, accumulate);
        Store512(c + 2 * ldc, c20, c21, accumulate);
        Store512(c + 3 * ldc, c30, c31, accumulate);
        if (TRows.Value > 4) Store512(c + 4 * ldc, c40, c41, accumulate);
        if (TRows.Value > 5) Store512(c + 5 * ldc, c50, c51, accumulate);
        if (TRows.Value > 6) Store512(c + 6 * ldc, c60, c61, accumulate);
        if (TRows.Value > 7) Store512(c + 7 * ldc, c70, c71, accumulate);
        if (TRows.Value > 8) Store512(c + 8 * ldc, c80, c81, accumulate);
        if (TRows.Value > 9) Store512(c + 9 * ldc, c90, c91, accumulate);
        if (TRows.Value > 10) Store512(c + 10 * ldc, c100, c101, accumulate);
        if (TRows.Value > 11) Store512(c + 11 * ldc, c110, c111, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector512.Load(c);
            v1 += Vector512.Load(c + 16);
        }
        v0.Store(c);
        v1.Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel256(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> av;
            av = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(av, b0, c00); c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(av, b0, c10); c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(av, b0, c20); c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(av, b0, c30); c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(av, b0, c40); c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(av, b0, c50); c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            a += aStride;
            b += bStride;
        }
        Store256(c, c00, c01, accumulate); c += ldc;
        Store256(c, c10, c11, accumulate); c += ldc;
        Store256(c, c20, c21, accumulate); c += ldc;
        Store256(c, c30, c31, accumulate); c += ldc;
        Store256(c, c40, c41, accumulate); c += ldc;
        Store256(c, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + 8);
        }
        v0.Store(c);
        v1.Store(c + 8);
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

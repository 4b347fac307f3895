namespace Strata.Kernels;

/// <summary>
/// The plain triple loop that defines SGEMM: C = alpha·op(A)·op(B) + beta·C, row-major.
/// It is the test oracle for <see cref="Gemm"/>; it accumulates in double so that it is the
/// more accurate of the two.
/// </summary>
internal static class GemmReference
{
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                // NOTE: beta == 0 overwrites C without reading it (BLAS semantics: NaN in C is ignored).
                float old = beta == 0 ? 0 : beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * sum) + old;
            }
        }
    }
}

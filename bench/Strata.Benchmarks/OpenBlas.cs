using System.Runtime.InteropServices;

namespace Strata.Benchmarks;

/// <summary>
/// OpenBLAS (Debian's libopenblas0), the peer the GEMM benchmarks compare with. Benchmarks only:
/// the library never calls native code.
/// </summary>
internal static unsafe partial class OpenBlas
{
    private const string Lib = "libopenblas.so.0";
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    [LibraryImport(Lib, EntryPoint = "cblas_sgemm")]
    private static partial void CblasSgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Lib, EntryPoint = "openblas_set_num_threads")]
    private static partial void SetNumThreads(int threads);

    [LibraryImport(Lib, EntryPoint = "openblas_get_corename")]
    private static partial nint GetCoreName();

    [LibraryImport("libc", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unsetenv(string name);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Setenv(string name, string value, int overwrite);

    /// <summary>
    /// The OpenBLAS kernel family to pin (<c>gemm --openblas-core Haswell</c>: its AVX2 kernels, for
    /// Strata's AVX2 path against them on purpose on an AVX-512 machine); null: OpenBLAS picks its best.
    /// </summary>
    public static string? ForcedCore { get; set; }

    private static bool s_ready;

    /// <summary>
    /// Removes the variables that pin OpenBLAS to its AVX2 (Haswell) kernel at about half speed,
    /// before the library is first loaded, so the peer runs at its best on this CPU.
    /// </summary>
    public static void Prepare()
    {
        if (s_ready)
            return;
        if (ForcedCore is { } core)
            Setenv("OPENBLAS_CORETYPE", core, 1);
        else
            Unsetenv("OPENBLAS_CORETYPE");
        Unsetenv("OPENBLAS_L2_SIZE");
        s_ready = true;
    }

    public static bool IsAvailable
    {
        get
        {
            Prepare();
            return NativeLibrary.TryLoad(Lib, out _);
        }
    }

    public static string CoreName
    {
        get
        {
            Prepare();
            return Marshal.PtrToStringUTF8(GetCoreName()) ?? "?";
        }
    }

    public static void Threads(int threads)
    {
        Prepare();
        SetNumThreads(threads);
    }

    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float[] a, int lda,
        float[] b, int ldb, float beta, float[] c, int ldc)
    {
        Prepare();
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
            CblasSgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb,
                beta, pc, ldc);
    }
}

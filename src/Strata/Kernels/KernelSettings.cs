namespace Strata.Kernels;

/// <summary>
/// Process-wide settings of the compute kernels.
/// </summary>
public static class KernelSettings
{
    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// The number of threads a kernel may use (default: the processor count). Work is split in
    /// fixed chunks that depend only on this number and the shapes, so a given value always
    /// gives bit-identical results.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxThreads));
            s_maxThreads = value;
        }
    }

    /// <summary>
    /// The vector instruction set the float kernels (GEMM, convolution, pooling, optimizers,
    /// activations) run on in this process: "AVX-512", "AVX2", "SSE (128-bit)", "NEON (128-bit)" or
    /// "scalar". The widest the CPU and runtime allow; <c>DOTNET_EnableAVX512=0</c> selects the AVX2 path
    /// and <c>DOTNET_EnableAVX=0</c> the 128-bit one on any x86 machine.
    /// </summary>
    public static string VectorPath => Simd.PathName;

    /// <summary>The int8 matrix-product path of quantized layers here: "AvxVnni", "Avx2" or "Scalar".</summary>
    public static string Int8Path => Int8Gemm.BestPath.ToString();
}

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
    /// The vector instruction set the float kernels (convolution, pooling, optimizers, activations,
    /// summation) run on in this process: "AVX-512", "AVX2", "SSE (128-bit)", "NEON (128-bit)" or
    /// "scalar". The widest the CPU and runtime allow; <c>DOTNET_EnableAVX512=0</c> selects the AVX2 path
    /// and <c>DOTNET_EnableAVX=0</c> the 128-bit one on any x86 machine.
    /// </summary>
    public static string VectorPath => Simd.PathName;

    /// <summary>The SGEMM micro-kernel in use and its register tile, e.g. "AVX2 + FMA (6×16 tiles)".</summary>
    public static string GemmPath => Gemm.SelectedKernel switch
    {
        GemmKernelKind.Avx512 => $"AVX-512 ({GemmMicroKernels.Mr512}×{GemmMicroKernels.Nr512} tiles)",
        GemmKernelKind.Avx2 => $"AVX2 + FMA ({GemmMicroKernels.Mr256}×{GemmMicroKernels.Nr256} tiles)",
        GemmKernelKind.Vector128 => $"{Simd.PathName} ({GemmMicroKernels.Mr128}×{GemmMicroKernels.Nr128} tiles)",
        _ => $"scalar ({GemmMicroKernels.MrScalar}×{GemmMicroKernels.NrScalar} tiles)",
    };

    /// <summary>
    /// The data caches read at run time and the SGEMM blocking chosen from them, e.g. "L1d 32 KiB, L2 512 KiB,
    /// L3 32 MiB shared by 2 threads (CPUID leaf 0x8000001D); GEMM blocks kc 320, mc 150, nc 6544".
    /// </summary>
    public static string CacheBlocking
    {
        get
        {
            var b = Gemm.BlocksFor(Gemm.SelectedKernel);
            return $"{CacheSizes.Machine}; GEMM blocks kc {b.Kc}, mc {b.McPanels * Gemm.TileOf(Gemm.SelectedKernel).Mr}, nc {b.Nc}" +
                (Gemm.SelectedKernel == GemmKernelKind.Avx512 ? " (the AVX-512 kernel's measured sizes)" : " (from the caches)");
        }
    }

    /// <summary>The int8 matrix-product path of quantized layers: "AVX-VNNI (vpdpbusd)", "AVX2 (vpmaddubsw + vpmaddwd)" or "scalar".</summary>
    public static string Int8Path => Int8Gemm.BestPath switch
    {
        Kernels.Int8Path.AvxVnni => "AVX-VNNI (vpdpbusd)",
        Kernels.Int8Path.Avx2 => "AVX2 (vpmaddubsw + vpmaddwd)",
        _ => "scalar",
    };

    /// <summary>The instruction sets the kernels can use that this CPU and the runtime's switches allow (e.g. "AVX2", "FMA").</summary>
    public static IReadOnlyList<string> CpuFeatures
    {
        get
        {
            var features = new List<string>();
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) features.Add("AVX-512F");
            if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) features.Add("AVX-512BW");
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) features.Add("AVX2");
            if (System.Runtime.Intrinsics.X86.Fma.IsSupported) features.Add("FMA");
            if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) features.Add("AVX-VNNI");
            if (System.Runtime.Intrinsics.X86.Sse41.IsSupported) features.Add("SSE4.1");
            if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) features.Add("AdvSIMD");
            return features;
        }
    }
}

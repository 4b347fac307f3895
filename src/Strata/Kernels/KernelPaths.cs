using System.Runtime.Intrinsics.X86;

namespace Strata.Kernels;

/// <summary>
/// The instruction-set paths the kernels take on this machine, as `strata info` reports them. Every
/// hand-written kernel picks its path at run time from the JIT's answers (<c>Vector512/256/128.IsHardwareAccelerated</c>,
/// <c>Avx2.IsSupported</c>, ...), so these read the same answers the kernels read: they change with the CPU and with
/// the runtime's switches (DOTNET_EnableAVX512F=0, DOTNET_EnableAVX2=0, ...), not with a setting of Strata's.
/// </summary>
internal static class KernelPaths
{
    /// <summary>The widest vectors the element-wise, reduction, pooling and convolution kernels use: 512, 256, 128, or 0 (scalar loops).</summary>
    public static int VectorBits => Simd.WidestCount > 1 ? Simd.WidestCount * 32 : 0;

    /// <summary>The SGEMM micro-kernel <see cref="Gemm"/> runs, with its register tile.</summary>
    public static string Gemm => Kernels.Gemm.SelectedKernel switch
    {
        GemmKernelKind.Avx512 => $"AVX-512 ({GemmMicroKernels.Mr512}×{GemmMicroKernels.Nr512} tiles)",
        GemmKernelKind.Avx2 => $"AVX2 + FMA ({GemmMicroKernels.Mr256}×{GemmMicroKernels.Nr256} tiles)",
        GemmKernelKind.Vector128 => $"{Simd.PathName} ({GemmMicroKernels.Mr128}×{GemmMicroKernels.Nr128} tiles)",
        _ => $"scalar ({GemmMicroKernels.MrScalar}×{GemmMicroKernels.NrScalar} tiles)",
    };

    /// <summary>The int8 GEMM path of quantized layers (<see cref="Int8Gemm.BestPath"/>).</summary>
    public static string Int8 => Int8Gemm.BestPath switch
    {
        Int8Path.AvxVnni => "AVX-VNNI (vpdpbusd)",
        Int8Path.Avx2 => "AVX2 (vpmaddubsw + vpmaddwd)",
        _ => "scalar",
    };

    /// <summary>One line: the GEMM path, the vector width elsewhere, the int8 path.</summary>
    public static string Summary => $"GEMM {Gemm}; other kernels {(VectorBits > 0 ? $"{VectorBits}-bit vectors" : "scalar loops")}; int8 GEMM {Int8}";

    /// <summary>The instruction sets the kernels can use that this CPU (and the runtime's switches) allow.</summary>
    public static IReadOnlyList<string> CpuFeatures
    {
        get
        {
            var features = new List<string>();
            if (Avx512F.IsSupported) features.Add("AVX-512F");
            if (Avx512BW.IsSupported) features.Add("AVX-512BW");
            if (Avx2.IsSupported) features.Add("AVX2");
            if (Fma.IsSupported) features.Add("FMA");
            if (AvxVnni.IsSupported) features.Add("AVX-VNNI");
            if (Sse41.IsSupported) features.Add("SSE4.1");
            if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) features.Add("AdvSIMD");
            return features;
        }
    }
}

using BenchmarkDotNet.Attributes;
using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// Strata SGEMM and OpenBLAS on the same operands, for BenchmarkDotNet's statistics and allocation
/// counts (the quick GFLOP/s table with ratios is the <c>gemm</c> command).
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    [Params(256, 512, 1024)]
    public int Size { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _a = Enumerable.Range(0, Size * Size).Select(_ => rng.NextFloat()).ToArray();
        _b = Enumerable.Range(0, Size * Size).Select(_ => rng.NextFloat()).ToArray();
        _c = new float[Size * Size];
        OpenBlas.Threads(Threads);
    }

    [Benchmark(Baseline = true)]
    public void OpenBlasSgemm() => OpenBlas.Sgemm(false, false, Size, Size, Size, 1, _a, Size, _b, Size, 0, _c, Size);

    [Benchmark]
    public void StrataSgemm() => Gemm.Sgemm(false, false, Size, Size, Size, 1, _a, Size, _b, Size, 0, _c, Size, Threads);
}

using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// The pairwise summation kernels against what they replaced, on the same data: a flat sum against
/// TensorPrimitives.Sum (target: within a few percent on long spans), a dot product against
/// TensorPrimitives.Dot, and a column sum (the sum over a batch axis) against adding rows one by one
/// with TensorPrimitives.Add.
/// </summary>
[MemoryDiagnoser]
public class SummationBenchmarks
{
    private float[] _x = [], _y = [], _columns = [];

    /// <summary>Values summed; the column sums read them as [Length / 64, 64].</summary>
    [Params(1_000, 65_536, 1_000_000)]
    public int Length { get; set; }

    private const int Cols = 64;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(3);
        _x = Enumerable.Range(0, Length).Select(_ => rng.NextFloat()).ToArray();
        _y = Enumerable.Range(0, Length).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        _columns = new float[Cols];
    }

    [Benchmark(Baseline = true)]
    public float Sum_TensorPrimitives() => TensorPrimitives.Sum(_x);

    [Benchmark]
    public float Sum_Pairwise() => Summation.Sum(_x);

    [Benchmark]
    public float Dot_TensorPrimitives() => TensorPrimitives.Dot(_x, _y);

    [Benchmark]
    public float Dot_Pairwise() => Summation.Dot(_x, _y);

    [Benchmark]
    public void ColumnSums_RowByRow()
    {
        int rows = Length / Cols;
        _x.AsSpan(0, Cols).CopyTo(_columns);
        for (int r = 1; r < rows; r++)
            TensorPrimitives.Add(_columns, _x.AsSpan(r * Cols, Cols), _columns);
    }

    [Benchmark]
    public void ColumnSums_Pairwise() => Summation.ColumnSums(_x.AsSpan(0, Length / Cols * Cols), Length / Cols, Cols, _columns);
}

using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Strata.Kernels;
using Strata.Ops;

namespace Strata.Benchmarks;

/// <summary>
/// Strata's elementwise and reduction paths against TensorPrimitives doing the same work directly,
/// on a training-sized activation (batch 128 × 512 = 65,536 floats). The target: within 10%.
/// </summary>
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    private const int Rows = 128, Cols = 512;
    private float[] _x = [], _y = [], _bias = [], _dst = [], _colSums = [];
    private Shape _shape, _biasShape;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(2);
        _x = Enumerable.Range(0, Rows * Cols).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        _y = Enumerable.Range(0, Rows * Cols).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        _bias = Enumerable.Range(0, Cols).Select(_ => rng.NextFloat()).ToArray();
        _dst = new float[Rows * Cols];
        _colSums = new float[Cols];
        _shape = new Shape(Rows, Cols);
        _biasShape = new Shape(Cols);
    }

    [Benchmark(Baseline = true)]
    public void AddSameShape_TensorPrimitives() => TensorPrimitives.Add(_x, _y, _dst);

    [Benchmark]
    public void AddSameShape_Strata() => Broadcasting.Apply<AddOp>(_shape, _x, _shape, _y, _shape, _dst);

    [Benchmark]
    public void AddBiasRows_TensorPrimitives()
    {
        for (int r = 0; r < Rows; r++)
            TensorPrimitives.Add(_x.AsSpan(r * Cols, Cols), _bias, _dst.AsSpan(r * Cols, Cols));
    }

    [Benchmark]
    public void AddBiasRows_Strata() => Broadcasting.Apply<AddOp>(_shape, _x, _shape, _bias, _biasShape, _dst);

    [Benchmark]
    public float SumAll_TensorPrimitives() => TensorPrimitives.Sum(_x);

    [Benchmark]
    public float SumAll_Strata()
    {
        Span<float> result = stackalloc float[1];
        Reduction.Run(ReduceKind.Sum, _x, _shape, [true, true], result);
        return result[0];
    }

    [Benchmark]
    public void SumOverBatch_TensorPrimitives()
    {
        _x.AsSpan(0, Cols).CopyTo(_colSums);
        for (int r = 1; r < Rows; r++)
            TensorPrimitives.Add(_colSums, _x.AsSpan(r * Cols, Cols), _colSums);
    }

    [Benchmark]
    public void SumOverBatch_Strata() => Reduction.Run(ReduceKind.Sum, _x, _shape, [true, false], _colSums);

    // TensorPrimitives has no ReLU mask or fused sigmoid backward: the peer for those two is
    // TensorPrimitives.Multiply, which moves the same bytes (two inputs read, one output written).
    [Benchmark]
    public void TwoInputs_TensorPrimitivesMultiply() => TensorPrimitives.Multiply(_x, _y, _dst);

    [Benchmark]
    public void ReluBackward_Strata() => ActivationKernels.ReluBackward(_x, _y, _dst);

    [Benchmark]
    public void SigmoidBackward_Strata() => ActivationKernels.SigmoidBackward(_x, _y, _dst);
}

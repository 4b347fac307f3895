using System.Numerics.Tensors;
using Strata.Kernels;
using Strata.Layers;
using Strata.Ops;

namespace Strata.Tests.Ops;

/// <summary>The dense op applies its bias and activation inside the GEMM (block by block) with the bits of the separate passes.</summary>
[Collection(ProcessWideSettingsCollection.Name)]
public sealed class LinearEpilogueTests : IDisposable
{
    public void Dispose() => Gemm.Blocks = null;

    [Theory]
    [InlineData("relu")]
    [InlineData("sigmoid")]
    [InlineData("tanh")]
    [InlineData("linear")]
    [InlineData("softmax")] // not elementwise: the passes after the GEMM, over whole rows
    public void The_fused_epilogue_gives_the_bits_of_the_gemm_then_the_bias_and_activation(string name)
    {
        var activation = ActivationFunction.Parse(name);
        // (rows, k, n, blocking, threads): one row; a batch over several row, k and column blocks; the MLP's first layer at inference on 1 and 2 threads.
        var cases = new (int Rows, int K, int N, Gemm.Blocking? Blocks, int Threads)[]
        {
            (1, 50, 37, null, 1), (97, 203, 301, new(64, 2, 128), 1), (1000, 784, 128, null, 1), (1000, 784, 128, null, 2),
        };
        ulong seed = 40;
        foreach (var (rows, k, n, blocks, threads) in cases)
        {
            Gemm.Blocks = blocks;
            int saved = KernelSettings.MaxThreads;
            KernelSettings.MaxThreads = threads;
            try
            {
                foreach (bool bias in new[] { true, false })
                {
                    var x = Tensor.FromArray(TestData.Random(rows * k, seed++), rows, k);
                    var w = Tensor.FromArray(TestData.Random(k * n, seed++), k, n);
                    var b = bias ? Tensor.FromArray(TestData.Random(n, seed++, -2, 2), n) : null;
                    var expected = new float[rows * n];
                    Gemm.Sgemm(false, false, rows, n, k, 1f, x.Span, k, w.Span, n, 0f, expected, n, threads);
                    for (int r = 0; bias && r < rows; r++)
                        TensorPrimitives.Add(expected.AsSpan(r * n, n), b!.Span, expected.AsSpan(r * n, n));
                    activation.ForwardInPlace(expected, rows, n);
                    var y = Tensor.Linear(x, w, b, activation).ToArray();
                    Assert.Equal(expected, y);
                    Assert.Contains(y, v => v != 0);
                }
            }
            finally
            {
                KernelSettings.MaxThreads = saved;
            }
        }
    }
}

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
    [InlineData("leaky_relu")]
    [InlineData("softmax")] // not elementwise: the passes after the GEMM, over whole rows
    public void The_fused_epilogue_gives_the_bits_of_the_gemm_then_the_bias_and_activation(string name)
    {
        var activation = ActivationFunction.Parse(name);
        // (rows, k, n, blocking, threads): one row; one and three units (spans under a vector: the same bits
        // alone, in a batch and block by block); a batch over several row, k and column blocks; one row past
        // a row block (mc 288 on AVX-512); the MLP's first layer at inference on 1 and 2 threads.
        var cases = new (int Rows, int K, int N, Gemm.Blocking? Blocks, int Threads)[]
        {
            (1, 50, 37, null, 1), (1, 20, 1, null, 1), (37, 20, 1, null, 1), (1, 20, 3, null, 1), (301, 20, 3, new(64, 2, 128), 1),
            (97, 203, 301, new(64, 2, 128), 1), (289, 64, 70, null, 1), (1000, 784, 128, null, 1), (1000, 784, 128, null, 2),
        };
        bool fuses = activation.IsElementwise;
        Assert.Equal(name != "softmax", fuses);
        long fusedBefore = LinearNode.FusedCalls;
        int fusedCalls = 0;
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
                    if (rows * n >= 16)
                        Assert.Contains(y, v => v != 0);
                    if (fuses && (bias || !activation.IsLinear))
                        fusedCalls++;
                    if (rows > 1 && rows * n < 2000)
                    {
                        // Each row alone gets the bits it gets inside the batch.
                        var row = Tensor.Linear(x.Slice(0, rows - 1, 1), w, b, activation).ToArray();
                        Assert.Equal(y.AsSpan((rows - 1) * n, n).ToArray(), row);
                    }
                }
            }
            finally
            {
                KernelSettings.MaxThreads = saved;
            }
        }
        Assert.True(LinearNode.FusedCalls - fusedBefore >= fusedCalls, $"{name}: the bias and activation ran inside the GEMM"); // other tests can only add to the count
    }
}

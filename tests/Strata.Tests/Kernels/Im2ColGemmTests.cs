using Strata.Kernels;

namespace Strata.Tests.Kernels;

/// <summary>The GEMM that packs a convolution's im2col columns from the images against im2col written out and multiplied.</summary>
[Collection(ProcessWideSettingsCollection.Name)] // switches ConvolutionEngine.ExplicitColumns
public sealed class Im2ColGemmTests
{
    // (n, h, w, c, kh, kw, f, stride h, stride w, dilation h, dilation w, same)
    public static TheoryData<int[], bool> Geometries => new()
    {
        { [2, 13, 13, 32, 3, 3, 64, 1, 1, 1, 1], false }, // the seed CNN's second layer
        { [3, 7, 9, 3, 3, 3, 5, 1, 1, 1, 1], true },      // padding on every side: taps over the border
        { [2, 9, 8, 4, 3, 2, 7, 2, 2, 1, 1], true },      // strides, extra padding bottom/right
        { [3, 10, 10, 3, 3, 3, 4, 1, 1, 2, 2], true },    // dilation: one tap at a time
        { [2, 7, 7, 64, 3, 3, 17, 1, 1, 1, 1], false },   // K = 576: two k blocks, the cut inside a window row
        { [2, 8, 8, 128, 3, 3, 9, 1, 1, 1, 1], true },    // K = 1,152: four k blocks with padding
        { [2, 5, 5, 2, 5, 5, 3, 1, 1, 1, 1], true },      // a window wider than half the image
        { [12, 30, 30, 16, 3, 3, 8, 1, 1, 1, 1], true },  // several chunks per strip, B packed (≥ 512 rows)
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Forward_gives_the_same_bits_as_explicit_columns_and_matches_the_loops(int[] d, bool same)
    {
        int n = d[0], f = d[6];
        var g = Conv2DGeometry.Create(d[1], d[2], d[3], d[4], d[5], d[7], d[8], d[9], d[10], same);
        var x = TestData.Tensor(11, n, g.H, g.W, g.C).ToArray();
        var w = TestData.Tensor(12, g.KH, g.KW, g.C, f).ToArray();
        var bias = TestData.Tensor(13, f).ToArray();
        var expected = ConvReference.Conv2D(x, n, w, f, g);
        for (int i = 0; i < expected.Length; i++)
            expected[i] += bias[i % f];
        try
        {
            ConvolutionEngine.Force = ConvKernel.Gemm;
            foreach (int threads in new[] { 1, 2 })
            {
                ConvolutionEngine.ExplicitColumns = true;
                var explicitY = new float[expected.Length];
                new ConvolutionEngine().Forward(x, w, bias, explicitY, n, g, f, null, threads);
                ConvolutionEngine.ExplicitColumns = false;
                var packedY = new float[expected.Length];
                Array.Fill(packedY, float.NaN);
                new ConvolutionEngine().Forward(x, w, bias, packedY, n, g, f, null, threads);
                Assert.Equal(explicitY, packedY);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(expected[i] - packedY[i]) <= 1e-4f * (1 + Math.Abs(expected[i])),
                        $"y[{i}] = {packedY[i]}, the loops give {expected[i]} ({threads} threads)");
            }
        }
        finally
        {
            ConvolutionEngine.Force = null;
            ConvolutionEngine.ExplicitColumns = false;
        }
    }
}

namespace Strata.Tests.Kernels;

public sealed unsafe class TransposeTests
{
    [Fact]
    public void Block_matches_scalar_for_awkward_sizes_and_strides()
    {
        foreach (int rows in new[] { 0, 1, 3, 4, 5, 7, 8, 9, 12, 17, 33 })
        {
            foreach (int cols in new[] { 0, 1, 3, 4, 7, 8, 9, 16, 31 })
            {
                int srcStride = cols + 2, dstStride = rows + 3;
                var src = TestData.Random(Math.Max(1, rows * srcStride), (ulong)(rows * 100 + cols));
                var expected = new float[Math.Max(1, cols * dstStride) + 8];
                var actual = new float[expected.Length];
                Array.Fill(expected, 7f);
                Array.Fill(actual, 7f);
                fixed (float* s = src)
                fixed (float* e = expected)
                fixed (float* a = actual)
                {
                    Strata.Kernels.Transpose.Scalar(s, srcStride, e, dstStride, rows, cols);
                    Strata.Kernels.Transpose.Block(s, srcStride, a, dstStride, rows, cols);
                }
                Assert.Equal(expected, actual);
            }
        }
    }
}

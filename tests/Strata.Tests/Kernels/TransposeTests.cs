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

    [Fact]
    public void Panel_packs_row_pointers_with_null_rows_as_zeros_and_writes_nothing_past_the_panel()
    {
        nint* pointers = stackalloc nint[16];
        foreach (int panelRows in new[] { 1, 4, 6, 8, 12, 16 })
        {
            foreach (int len in new[] { 0, 1, 3, 7, 8, 9, 16, 17, 33 })
            {
                var src = TestData.Random(panelRows * (len + 5) + 1, (ulong)(panelRows * 100 + len));
                var actual = new float[panelRows * len + 16];
                Array.Fill(actual, 7f);
                var expected = (float[])actual.Clone();
                fixed (float* s = src)
                fixed (float* a = actual)
                {
                    // Rows at uneven offsets; every third row (and the last) is padding.
                    float** rows = (float**)pointers;
                    for (int i = 0; i < panelRows; i++)
                        rows[i] = i % 3 == 2 || (i == panelRows - 1 && panelRows > 1) ? null : s + i * (len + 5) + i % 2;
                    for (int p = 0; p < len; p++)
                    {
                        for (int i = 0; i < panelRows; i++)
                            expected[p * panelRows + i] = rows[i] is null ? 0f : rows[i][p];
                    }
                    Strata.Kernels.Transpose.Panel(rows, panelRows, a, len);
                }
                Assert.Equal(expected, actual);
            }
        }
    }
}

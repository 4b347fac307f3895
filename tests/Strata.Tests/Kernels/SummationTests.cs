using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Tests.Kernels;

/// <summary>
/// The summation kernels against float64 loops at awkward lengths, with NaN sentinels around every
/// input (a read outside the span turns the result into NaN) and sentinels around every output.
/// </summary>
public sealed class SummationTests
{
    private const int Pad = 40;
    private const float OutSentinel = -999.5f;

    /// <summary>Block edges of every vector width (16-lane blocks of 1024, 8-lane of 512, 4-lane of 256, scalar 64), tails, and long spans.</summary>
    public static TheoryData<int> Lengths() => new()
    {
        0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 255, 256, 257, 511, 513, 1023, 1024, 1025, 4097, 100_003, 1_000_000,
    };

    /// <summary>x padded by NaN on both sides; the span is the middle.</summary>
    private static float[] Padded(float[] x)
    {
        var p = new float[x.Length + 2 * Pad];
        p.AsSpan().Fill(float.NaN);
        x.CopyTo(p, Pad);
        return p;
    }

    private static ReadOnlySpan<float> Middle(float[] padded, int n) => padded.AsSpan(Pad, n);

    /// <summary>|actual − reference| within 16 float epsilons of Σ|terms| (pairwise: a block's 16 additions plus log₂ of the blocks; sequential float would be n/lanes).</summary>
    private static void Close(double reference, double sumOfMagnitudes, float actual, string what)
    {
        double bound = 16 * 1.2e-7 * sumOfMagnitudes + 1e-30;
        Assert.False(float.IsNaN(actual), $"{what}: NaN, so the kernel read outside its span");
        Assert.True(Math.Abs(actual - reference) <= bound, $"{what}: {actual} vs float64 {reference}, error {Math.Abs(actual - reference):G3} over the bound {bound:G3}");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Flat_sums_match_float64_without_reading_outside(int n)
    {
        var xs = TestData.Random(n, (ulong)n + 1);
        var ys = TestData.Random(n, (ulong)n + 7);
        var x = Padded(xs);
        var y = Padded(ys);
        var abs = xs.Select(Math.Abs).ToArray();
        float mean = n == 0 ? 0 : 0.25f;

        Close(SummationReference.Sum(xs), SummationReference.Sum(abs), Summation.Sum(Middle(x, n)), $"sum of {n}");
        Close(SummationReference.SumOfSquares(xs), SummationReference.SumOfSquares(xs), Summation.SumOfSquares(Middle(x, n)), $"sum of squares of {n}");
        Close(SummationReference.SumOfSquaredDeviations(xs, mean), SummationReference.SumOfSquaredDeviations(xs, mean),
            Summation.SumOfSquaredDeviations(Middle(x, n), mean), $"squared deviations of {n}");
        Close(SummationReference.Dot(xs, ys), SummationReference.Dot(abs, ys.Select(Math.Abs).ToArray()), Summation.Dot(Middle(x, n), Middle(y, n)), $"dot of {n}");

        var diff = xs.Zip(ys, (a, b) => (double)a - b).ToArray();
        Close(diff.Sum(d => d * d), diff.Sum(d => d * d), Summation.SumOfSquaredDifferences(Middle(x, n), Middle(y, n)), $"squared differences of {n}");
        Close(diff.Sum(Math.Abs), diff.Sum(Math.Abs), Summation.SumOfAbsoluteDifferences(Middle(x, n), Middle(y, n)), $"absolute differences of {n}");
    }

    [Fact]
    public void Empty_spans_sum_to_zero_and_nan_or_infinity_propagates()
    {
        Assert.Equal(0f, Summation.Sum([]));
        Assert.Equal(0f, Summation.Dot([], []));
        foreach (int n in new[] { 3, 17, 1500 })
        {
            var x = TestData.Random(n, 9);
            x[n / 2] = float.NaN;
            Assert.True(float.IsNaN(Summation.Sum(x)));
            x[n / 2] = float.PositiveInfinity;
            Assert.Equal(float.PositiveInfinity, Summation.Sum(x));
            x[0] = float.NegativeInfinity;
            Assert.True(float.IsNaN(Summation.Sum(x)));
        }
    }

    [Fact]
    public void Rejects_mismatched_lengths()
    {
        Assert.Throws<ArgumentException>(() => Summation.Dot(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => Summation.ColumnSums(new float[12], 3, 5, new float[5]));
        Assert.Throws<ArgumentException>(() => Summation.ColumnSums(new float[12], 3, 4, new float[3]));
        Assert.Throws<ArgumentException>(() => Summation.ColumnSumsOfSquaredDeviations(new float[12], 3, 4, new float[3], new float[4]));
    }

    /// <summary>Rows around the 32-row block and its powers of two; columns around the vector widths and the 2,048-column tile.</summary>
    public static TheoryData<int, int> Matrices() => new()
    {
        { 0, 5 }, { 5, 0 }, { 1, 1 }, { 3, 7 }, { 4, 17 }, { 5, 33 }, { 31, 15 }, { 32, 16 }, { 33, 3 }, { 64, 9 }, { 65, 64 },
        { 100, 257 }, { 257, 2049 }, { 1000, 1 }, { 100_003, 3 }, { 12_345, 40 },
    };

    [Theory]
    [MemberData(nameof(Matrices))]
    public void Column_sums_match_float64_without_touching_outside(int rows, int cols)
    {
        int n = rows * cols;
        var xs = TestData.Random(n, (ulong)(rows * 31 + cols));
        var ys = TestData.Random(n, (ulong)(rows * 31 + cols + 5));
        var means = TestData.Random(cols, 3, -0.5f, 0.5f);
        var x = Padded(xs);
        var y = Padded(ys);
        var abs = xs.Select(Math.Abs).ToArray();
        var absProducts = xs.Zip(ys, (a, b) => Math.Abs(a * b)).ToArray();
        var sums = SummationReference.ColumnSums(xs, rows, cols);
        var magnitudes = SummationReference.ColumnSums(abs, rows, cols);
        var dots = SummationReference.ColumnSums(xs, rows, cols, ys);
        var dotMagnitudes = SummationReference.ColumnSums(absProducts, rows, cols);
        var deviations = SummationReference.ColumnSums(xs, rows, cols, means: means);

        foreach (bool add in new[] { false, true })
        {
            // Output with sentinels on both sides; add mode starts from 1 in every column.
            var dst = new float[cols + 2 * Pad];
            dst.AsSpan().Fill(OutSentinel);
            var d = dst.AsSpan(Pad, cols);
            double start = add ? 1 : 0;

            d.Fill(add ? 1 : 12345);
            Summation.ColumnSums(Middle(x, n), rows, cols, d, add);
            for (int j = 0; j < cols; j++)
                Close(start + sums[j], start + magnitudes[j], d[j], $"column {j} of [{rows}, {cols}] (add {add})");

            d.Fill(add ? 1 : 12345);
            Summation.ColumnDots(Middle(x, n), Middle(y, n), rows, cols, d, add);
            for (int j = 0; j < cols; j++)
                Close(start + dots[j], start + dotMagnitudes[j], d[j], $"column dot {j} of [{rows}, {cols}] (add {add})");

            d.Fill(add ? 1 : 12345);
            Summation.ColumnSumsOfSquaredDeviations(Middle(x, n), rows, cols, means, d, add);
            for (int j = 0; j < cols; j++)
                Close(start + deviations[j], start + deviations[j], d[j], $"column deviations {j} of [{rows}, {cols}] (add {add})");

            Assert.All(dst[..Pad], v => Assert.Equal(OutSentinel, v));
            Assert.All(dst[(Pad + cols)..], v => Assert.Equal(OutSentinel, v));
        }
    }

    [Fact]
    public void Column_sums_are_independent_of_the_tile_split()
    {
        // Columns 2,047..2,050 straddle the 2,048-column tile: the same column must sum the same in any position.
        const int rows = 77, cols = 2050;
        var x = TestData.Random(rows * cols, 12);
        var all = new float[cols];
        Summation.ColumnSums(x, rows, cols, all);
        for (int j = 2040; j < cols; j++)
        {
            var column = new float[rows];
            for (int r = 0; r < rows; r++)
                column[r] = x[r * cols + j];
            var one = new float[1];
            Summation.ColumnSums(column, rows, 1, one);
            Assert.Equal(one[0], all[j]);
        }
    }
}

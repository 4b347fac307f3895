using Strata.Kernels;

namespace Strata.Tests.Ops;

/// <summary>
/// Relative error against float64 of the tensor reductions on long inputs, with bounds that the
/// summation before issue 15 failed. The figures (same data as `Strata.Benchmarks summation-accuracy`,
/// docs/PERFORMANCE.md "Summation accuracy"; before = TensorPrimitives.Sum and rows added one by one):
///
/// | data               | before: sum | now: sum | PyTorch 1.13 sum | before: mean | now: mean |
/// | uniform, 10^5      | 1.3e-7      | 2.8e-8   | 5.0e-8           | 1.1e-7       | 6.4e-8    |
/// | normal(1, 1), 10^5 | 1.0e-7      | 2.6e-8   | 5.2e-8           | 8.3e-8       | 2.3e-8    |
/// | uniform, 10^6      | 7.8e-7      | 2.5e-8   | 2.5e-8           | 7.4e-7       | 2.9e-8    |
/// | normal(1, 1), 10^6 | 5.4e-7      | 3.6e-8   | 2.7e-8           | 5.2e-7       | 4.5e-8    |
/// | columns [250,000 × 4], worst | 1.1e-5 | 8.0e-8 | 1.5e-7        |              |           |
/// </summary>
public sealed class SummationAccuracyTests
{
    private static float[] Uniform(int n)
    {
        var rng = new Rng(15);
        return Enumerable.Range(0, n).Select(_ => rng.NextFloat()).ToArray();
    }

    private static float[] NormalMeanOne(int n)
    {
        var rng = new Rng(16);
        return Enumerable.Range(0, n).Select(_ => 1 + rng.NextNormal()).ToArray();
    }

    public static TheoryData<string, int> Cases() => new()
    {
        { "uniform", 100_000 }, { "normal", 100_000 }, { "uniform", 1_000_000 }, { "normal", 1_000_000 },
    };

    private static double Relative(double value, double exact) => Math.Abs(value - exact) / Math.Abs(exact);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sum_and_mean_of_long_tensors_are_within_float_rounding_of_float64(string kind, int n)
    {
        var x = kind == "uniform" ? Uniform(n) : NormalMeanOne(n);
        double exact = SummationReference.Sum(x);
        var t = Tensor.FromArray(x);

        // 8e-8 (under one float epsilon, 1.2e-7): every "before" sum failed it (1.0e-7 .. 7.8e-7).
        double sumError = Relative(t.Sum().ToScalar(), exact);
        Assert.True(sumError <= 8e-8, $"sum of {n} {kind} values: relative error {sumError:G3}");

        // Mean = sum · (1/n) adds up to about an epsilon of its own: 1.5e-7, which the 10^6 "before" means failed (5.2e-7, 7.4e-7).
        double meanError = Relative(t.Mean().ToScalar(), exact / n);
        Assert.True(meanError <= 1.5e-7, $"mean of {n} {kind} values: relative error {meanError:G3}");
    }

    [Fact]
    public void Sums_and_statistics_over_a_long_batch_axis_are_accurate()
    {
        // [250,000, 4] summed over the rows: a bias gradient or batch-normalization statistics over a long batch.
        const int rows = 250_000, cols = 4;
        var rng = new Rng(17);
        var x = Enumerable.Range(0, rows * cols).Select(_ => rng.NextFloat()).ToArray();
        var t = Tensor.FromArray(x, rows, cols);
        var exact = SummationReference.ColumnSums(x, rows, cols);
        var sums = t.Sum(0).ToArray();
        var means = t.Mean(0).ToArray();
        var variances = t.Variance([0]).ToArray();
        for (int j = 0; j < cols; j++)
        {
            // Before: 1.1e-5 for the worst column (rows added one by one).
            Assert.True(Relative(sums[j], exact[j]) <= 2e-7, $"column {j}: sum {sums[j]} vs {exact[j]}");
            double mean = exact[j] / rows;
            Assert.True(Relative(means[j], mean) <= 2e-7, $"column {j}: mean {means[j]} vs {mean}");
            double ss = 0;
            for (int r = 0; r < rows; r++)
                ss += (x[r * cols + j] - mean) * (x[r * cols + j] - mean);
            Assert.True(Relative(variances[j], ss / rows) <= 1e-6, $"column {j}: variance {variances[j]} vs {ss / rows}");
        }
    }

    [Fact]
    public void Softmax_over_a_long_strided_axis_sums_to_one()
    {
        // Softmax over axis 0 of [200,000, 3]: the denominators are column sums over the long axis.
        const int n = 200_000;
        var x = TestData.Random(n * 3, 21);
        var y = Tensor.FromArray(x, n, 3).Softmax(0).ToArray();
        for (int j = 0; j < 3; j++)
        {
            double total = 0;
            for (int k = 0; k < n; k++)
                total += y[k * 3 + j];
            Assert.True(Math.Abs(total - 1) <= 2e-6, $"column {j}: softmax sums to {total}");
        }
    }
}

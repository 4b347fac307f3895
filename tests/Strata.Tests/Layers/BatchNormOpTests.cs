using Strata.Autograd;
using Strata.Kernels;

namespace Strata.Tests.Layers;

/// <summary>The fused batch-normalization op and its kernels against plain references.</summary>
public sealed class BatchNormOpTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(65, 17)]
    [InlineData(130, 33)]
    [InlineData(300, 64)]
    public void Kernels_match_a_double_precision_reference_and_stay_inside_their_spans(int rows, int channels)
    {
        var rng = new Random(rows * 31 + channels);
        var x = Enumerable.Range(0, rows * channels).Select(_ => (float)(rng.NextDouble() * 4 + 3)).ToArray();
        var dy = Enumerable.Range(0, rows * channels).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var mean = new float[channels];
        var variance = new float[channels];
        NormalizationKernels.MeanVariance(x, rows, channels, mean, variance);
        var refMean = new double[channels];
        var refVar = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            for (int r = 0; r < rows; r++)
                refMean[c] += x[r * channels + c];
            refMean[c] /= rows;
            for (int r = 0; r < rows; r++)
                refVar[c] += Math.Pow(x[r * channels + c] - refMean[c], 2);
            refVar[c] /= rows;
            Assert.Equal(refMean[c], mean[c], 1e-5 * Math.Abs(refMean[c]));
            Assert.Equal(refVar[c], variance[c], 1e-5 * refVar[c] + 1e-7);
        }

        // Sums of the backward pass, into spans with sentinels either side.
        var sums = Enumerable.Repeat(-7f, 2 * channels + 2).ToArray();
        NormalizationKernels.GradientSums(dy, x, mean, rows, channels, sums.AsSpan(1, channels), sums.AsSpan(channels + 1, channels));
        Assert.Equal(-7f, sums[0]);
        Assert.Equal(-7f, sums[^1]);
        for (int c = 0; c < channels; c++)
        {
            double s1 = 0, s2 = 0;
            for (int r = 0; r < rows; r++)
            {
                s1 += dy[r * channels + c];
                s2 += dy[r * channels + c] * (x[r * channels + c] - (double)mean[c]);
            }
            Assert.Equal(s1, sums[1 + c], 1e-5 * rows);
            Assert.Equal(s2, sums[1 + channels + c], 1e-5 * rows);
        }

        // Scale-and-shift and combine, element by element.
        var a = Enumerable.Range(0, channels).Select(i => 0.5f + i).ToArray();
        var b = Enumerable.Range(0, channels).Select(i => -0.25f * i).ToArray();
        var k = Enumerable.Range(0, channels).Select(i => 1f - i).ToArray();
        var y = new float[rows * channels + 2];
        y[0] = y[^1] = 99f;
        NormalizationKernels.ScaleShift(x, a, k, y.AsSpan(1, rows * channels), rows, channels);
        var dx = new float[rows * channels];
        NormalizationKernels.Combine(dy, a, x, b, k, dx, rows, channels);
        Assert.Equal(99f, y[0]);
        Assert.Equal(99f, y[^1]);
        for (int i = 0; i < rows * channels; i++)
        {
            int c = i % channels;
            Assert.Equal(x[i] * a[c] + k[c], y[1 + i], 1e-5);
            Assert.Equal(dy[i] * a[c] + x[i] * b[c] + k[c], dx[i], 1e-4);
        }
    }

    [Fact]
    public void Blocked_statistics_are_accurate_for_many_rows_with_a_large_mean()
    {
        // 200,000 rows of one channel, mean 1,000: a plain float running sum loses about 3 digits here.
        int rows = 200_000;
        var rng = new Random(5);
        var x = Enumerable.Range(0, rows).Select(_ => (float)(1000 + rng.NextDouble())).ToArray();
        var mean = new float[1];
        var variance = new float[1];
        NormalizationKernels.MeanVariance(x, rows, 1, mean, variance);
        double m = x.Select(v => (double)v).Average();
        double v2 = x.Select(v => (v - m) * (v - m)).Average();
        Assert.Equal(m, mean[0], 1e-6 * m);
        Assert.Equal(v2, variance[0], 1e-3 * v2);
    }

    [Fact]
    public void Op_equals_the_formula_written_in_primitive_ops_and_updates_moving_statistics()
    {
        var x = Tensor.RandomNormal([3, 4, 5, 6], 2f, 3f, seed: 3);
        var gamma = Tensor.RandomUniform([6], 0.5f, 1.5f, 4);
        var beta = Tensor.RandomUniform([6], -1f, 1f, 5);
        var mm = Tensor.Zeros([6]);
        var mv = Tensor.Ones([6]);
        var y = Tensor.BatchNorm(x, gamma, beta, mm, mv, 0.9f, 1e-3f, training: true);

        int[] axes = [0, 1, 2];
        var mean = x.Mean(axes);
        var variance = (x - mean).Square().Mean(axes);
        var expected = (x - mean) / (variance + 1e-3f).Sqrt() * gamma + beta;
        AssertClose(expected.ToArray(), y.ToArray(), 1e-5f);
        AssertClose((mean * 0.1f).ToArray(), mm.ToArray(), 1e-5f);
        AssertClose((variance * 0.1f + 0.9f).ToArray(), mv.ToArray(), 1e-4f);

        var inference = Tensor.BatchNorm(x, gamma, beta, mm, mv, 0.9f, 1e-3f, training: false);
        var expectedInference = (x - mm) / (mv + 1e-3f).Sqrt() * gamma + beta;
        AssertClose(expectedInference.ToArray(), inference.ToArray(), 1e-5f);
    }

    [Theory]
    [InlineData(true, true, true)]
    [InlineData(true, false, true)]
    [InlineData(true, true, false)]
    [InlineData(false, true, true)]
    public void Gradients_match_finite_differences(bool training, bool withGamma, bool withBeta)
    {
        var x = Tensor.RandomNormal([4, 3, 5], 1f, 2f, seed: 7);
        var gamma = Tensor.RandomUniform([5], 0.5f, 1.5f, 8);
        var beta = Tensor.RandomUniform([5], -1f, 1f, 9);
        var mm = Tensor.RandomUniform([5], -0.5f, 0.5f, 10);
        var mv = Tensor.RandomUniform([5], 0.5f, 2f, 11);
        x.RequiresGrad = true;
        gamma.RequiresGrad = withGamma;
        beta.RequiresGrad = withBeta;
        // Momentum 0 in training would overwrite the moving statistics each call; they do not enter the training output.
        var check = GradientChecker.Check(
            t => Tensor.BatchNorm(t[0], withGamma ? t[1] : null, withBeta ? t[2] : null, mm, mv, 0.99f, 1e-3f, training),
            [x, gamma, beta]);
        Assert.True(check.Passed, check.Worst);
    }

    [Fact]
    public void Shapes_that_do_not_fit_are_named()
    {
        var x = Tensor.Zeros([2, 4]);
        var ex = Assert.Throws<ArgumentException>(() => Tensor.BatchNorm(x, Tensor.Ones([3]), null, Tensor.Zeros([4]), Tensor.Ones([4]), 0.9f, 1e-3f, true));
        Assert.Contains("batch_norm", ex.Message);
        Assert.Contains("[3]", ex.Message);
        Assert.Contains("[4]", ex.Message);
    }

    private static void AssertClose(float[] expected, float[] actual, float tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"at {i}: expected {expected[i]}, got {actual[i]}");
    }
}

using Strata.Kernels;

namespace Strata.Tests.Kernels;

public sealed class OptimizerKernelTests
{
    [Fact]
    public void Adam_kernel_matches_the_plain_loop_bit_for_bit_at_every_length()
    {
        for (int n = 0; n <= 70; n++)
        {
            var g = TestData.Random(n, 1);
            var w1 = TestData.Random(n, 2);
            var m1 = TestData.Random(n, 3, -0.1f, 0.1f);
            var v1 = TestData.Random(n, 4, 0f, 0.01f);
            var (w2, m2, v2) = ((float[])w1.Clone(), (float[])m1.Clone(), (float[])v1.Clone());
            for (int step = 0; step < 3; step++)
            {
                OptimizerKernels.Adam(w1, g, m1, v1, 0.9f, 0.999f, 1e-3f, 1 / 0.271f, 1 / 0.002997f, 1e-7f);
                OptimizerReference.Adam(w2, g, m2, v2, 0.9f, 0.999f, 1e-3f, 1 / 0.271f, 1 / 0.002997f, 1e-7f);
            }
            Assert.Equal(w2, w1);
            Assert.Equal(m2, m1);
            Assert.Equal(v2, v1);
        }
    }

    [Fact]
    public void Adam_kernel_rejects_mismatched_lengths()
    {
        var ex = Assert.Throws<ArgumentException>(() => OptimizerKernels.Adam(new float[4], new float[3], new float[4], new float[4], 0.9f, 0.999f, 1e-3f, 1, 1, 1e-7f));
        Assert.Contains("g 3", ex.Message);
    }
}

public sealed class OtherOptimizerKernelTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sgd_momentum_kernel_matches_the_plain_loop(bool nesterov)
    {
        for (int n = 0; n <= 70; n++)
        {
            var g = TestData.Random(n, 1);
            var w1 = TestData.Random(n, 2);
            var v1 = TestData.Random(n, 3, -0.1f, 0.1f);
            var (w2, v2) = ((float[])w1.Clone(), (float[])v1.Clone());
            for (int step = 0; step < 3; step++)
            {
                OptimizerKernels.SgdMomentum(w1, g, v1, 0.9f, 0.01f, nesterov);
                OptimizerReference.SgdMomentum(w2, g, v2, 0.9f, 0.01f, nesterov);
            }
            Assert.Equal(w2, w1);
            Assert.Equal(v2, v1);
        }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.8f)]
    public void RmsProp_kernel_matches_the_plain_loop(float momentum)
    {
        for (int n = 0; n <= 70; n++)
        {
            var g = TestData.Random(n, 1);
            var w1 = TestData.Random(n, 2);
            var s1 = TestData.Random(n, 3, 0f, 0.1f);
            var m1 = momentum > 0 ? TestData.Random(n, 4, -0.1f, 0.1f) : [];
            var (w2, s2, m2) = ((float[])w1.Clone(), (float[])s1.Clone(), (float[])m1.Clone());
            for (int step = 0; step < 3; step++)
            {
                OptimizerKernels.RmsProp(w1, g, s1, m1, 0.9f, momentum, 1e-3f, 1e-7f);
                OptimizerReference.RmsProp(w2, g, s2, m2, 0.9f, momentum, 1e-3f, 1e-7f);
            }
            Assert.Equal(w2, w1);
            Assert.Equal(s2, s1);
            Assert.Equal(m2, m1);
        }
    }

    [Fact]
    public void Adagrad_kernel_matches_the_plain_loop()
    {
        for (int n = 0; n <= 70; n++)
        {
            var g = TestData.Random(n, 1);
            var w1 = TestData.Random(n, 2);
            var a1 = TestData.Random(n, 3, 0.1f, 0.2f);
            var (w2, a2) = ((float[])w1.Clone(), (float[])a1.Clone());
            for (int step = 0; step < 3; step++)
            {
                OptimizerKernels.Adagrad(w1, g, a1, 1e-2f, 1e-7f);
                OptimizerReference.Adagrad(w2, g, a2, 1e-2f, 1e-7f);
            }
            Assert.Equal(w2, w1);
            Assert.Equal(a2, a1);
        }
    }
}

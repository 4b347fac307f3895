using Strata.Kernels;

namespace Strata.Tests.Kernels;

/// <summary>Each hand-written activation kernel against its reference, every length 0..257, with sentinels.</summary>
public sealed class ActivationKernelTests
{
    private const float Sentinel = -999.5f;

    private delegate void Kernel(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> d);

    public static TheoryData<string> Names() => new() { "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid_backward", "tanh_backward" };

    private static (Kernel Fast, Kernel Reference) Get(string name) => name switch
    {
        "relu_backward" => (ActivationKernels.ReluBackward, ActivationReference.ReluBackward),
        "leaky_relu" => ((x, _, d) => ActivationKernels.LeakyRelu(x, 0.2f, d), (x, _, d) => ActivationReference.LeakyRelu(x, 0.2f, d)),
        "leaky_relu_backward" => ((x, g, d) => ActivationKernels.LeakyReluBackward(x, g, 0.2f, d), (x, g, d) => ActivationReference.LeakyReluBackward(x, g, 0.2f, d)),
        "sigmoid_backward" => (ActivationKernels.SigmoidBackward, ActivationReference.SigmoidBackward),
        "tanh_backward" => (ActivationKernels.TanhBackward, ActivationReference.TanhBackward),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_reference_at_every_length(string name)
    {
        var (fast, reference) = Get(name);
        for (int n = 0; n <= 257; n++)
        {
            var x = TestData.Random(n, (ulong)n + 1);
            if (n > 3)
                x[3] = 0; // the boundary of the masks
            var g = TestData.Random(n, (ulong)n + 500);
            var expected = new float[n];
            reference(x, g, expected);
            var actual = new float[n + 16];
            actual.AsSpan(n).Fill(Sentinel);
            fast(x, g, actual.AsSpan(0, n));
            Assert.Equal(expected, actual[..n]);
            Assert.All(actual[n..], v => Assert.Equal(Sentinel, v));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Works_in_place(string name)
    {
        var (fast, reference) = Get(name);
        foreach (int n in new[] { 7, 8, 15, 16, 17, 33, 255 })
        {
            var x = TestData.Random(n, 3);
            var g = TestData.Random(n, 4);
            var expected = new float[n];
            reference(x, g, expected);
            var inPlace = (float[])g.Clone();
            fast(x, inPlace, inPlace);
            Assert.Equal(expected, inPlace);
        }
    }

    [Fact]
    public void Propagates_nan_and_infinity_like_the_reference()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0, -0f, 1, -1, float.NaN, 2, -2, 3, -3, 4, -4, 5, -5, 6];
        float[] g = [1, 2, 3, 4, 5, float.NaN, float.PositiveInfinity, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
        foreach (string name in Names())
        {
            var (fast, reference) = Get(name);
            var expected = new float[x.Length];
            var actual = new float[x.Length];
            reference(x, g, expected);
            fast(x, g, actual);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Rejects_mismatched_lengths()
    {
        var ex = Assert.Throws<ArgumentException>(() => ActivationKernels.ReluBackward(new float[3], new float[4], new float[3]));
        Assert.Contains("y 4", ex.Message);
    }
}

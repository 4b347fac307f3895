using Strata.Autograd;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Layers;

/// <summary>Conv1D, Conv2DTranspose, DepthwiseConv2D, 1-D pooling and spatial dropout.</summary>
public sealed class MoreConvolutionTests
{
    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"{what} [{i}]: {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(1, 1, Padding.Valid)]
    [InlineData(2, 1, Padding.Same)]
    [InlineData(1, 2, Padding.Causal)]
    [InlineData(2, 3, Padding.Causal)]
    public void Conv1d_matches_the_direct_loops_and_has_correct_gradients(int stride, int dilation, Padding padding)
    {
        int n = 2, steps = 9, c = 3, k = 3, f = 4;
        var x = TestData.Tensor(1, n, steps, c);
        var w = TestData.Tensor(2, k, c, f);
        var y = Tensor.Conv1D(x, w, stride, padding, dilation);
        int outSteps = padding == Padding.Valid ? (steps - dilation * (k - 1) - 1) / stride + 1 : (steps + stride - 1) / stride;
        Assert.Equal([n, outSteps, f], y.Shape.ToArray());
        // Direct loops; causal pads dilation·(k − 1) zeros on the left, same splits TensorFlow's way.
        int left = padding switch
        {
            Padding.Causal => dilation * (k - 1),
            Padding.Same => Math.Max((outSteps - 1) * stride + dilation * (k - 1) + 1 - steps, 0) / 2,
            _ => 0,
        };
        var expected = new float[n * outSteps * f];
        var xs = x.ToArray();
        var ws = w.ToArray();
        for (int b = 0; b < n; b++)
            for (int t = 0; t < outSteps; t++)
                for (int o = 0; o < f; o++)
                {
                    double s = 0;
                    for (int j = 0; j < k; j++)
                    {
                        int i = t * stride - left + j * dilation;
                        if (i < 0 || i >= steps)
                            continue;
                        for (int ch = 0; ch < c; ch++)
                            s += xs[(b * steps + i) * c + ch] * ws[(j * c + ch) * f + o];
                    }
                    expected[(b * outSteps + t) * f + o] = (float)s;
                }
        AssertClose(expected, y.ToArray(), $"conv1d {padding}");

        var check = GradientChecker.Check(t => Tensor.Conv1D(t[0], t[1], stride, padding, dilation), [TestData.Param(3, n, steps, c), TestData.Param(4, k, c, f)]);
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void Causal_conv1d_output_never_sees_later_steps()
    {
        var w = TestData.Tensor(5, 4, 2, 3);
        var x = TestData.Tensor(6, 1, 10, 2);
        var y = Tensor.Conv1D(x, w, padding: Padding.Causal, dilation: 2).ToArray();
        var changed = x.ToArray();
        for (int i = 6 * 2; i < changed.Length; i++)
            changed[i] += 5f; // steps 6..9
        var y2 = Tensor.Conv1D(Tensor.FromArray(changed, 1, 10, 2), w, padding: Padding.Causal, dilation: 2).ToArray();
        for (int i = 0; i < 6 * 3; i++)
            Assert.Equal(y[i], y2[i]); // outputs 0..5 unchanged
        Assert.NotEqual(y[6 * 3], y2[6 * 3]);
    }

    [Theory]
    [InlineData(1, 1, Padding.Valid)]
    [InlineData(2, 2, Padding.Valid)]
    [InlineData(2, 2, Padding.Same)]
    [InlineData(3, 2, Padding.Same)]
    public void Conv2d_transpose_is_the_input_gradient_of_conv2d(int sh, int sw, Padding padding)
    {
        int n = 2, h = 4, w = 3, c = 3, kh = 3, kw = 2, f = 2;
        var x = TestData.Tensor(7, n, h, w, c);
        var k = TestData.Tensor(8, kh, kw, f, c);
        var y = Tensor.Conv2DTranspose(x, k, (sh, sw), padding);
        int oh = padding == Padding.Same ? h * sh : (h - 1) * sh + kh, ow = padding == Padding.Same ? w * sw : (w - 1) * sw + kw;
        Assert.Equal([n, oh, ow, f], y.Shape.ToArray()); // Keras' output size
        // The oracle: the adjoint loops of the conv from [oh, ow, f] to [h, w, c], fed x as its output gradient.
        var g = Conv2DGeometry.Create(oh, ow, f, kh, kw, sh, sw, 1, 1, padding == Padding.Same);
        var (_, dx) = ConvReference.Conv2DBackward(new float[n * oh * ow * f], n, k.ToArray(), c, g, x.ToArray());
        AssertClose(dx, y.ToArray(), $"transpose {sh}×{sw} {padding}");

        var check = GradientChecker.Check(t => Tensor.Conv2DTranspose(t[0], t[1], (sh, sw), padding), [TestData.Param(9, n, h, w, c), TestData.Param(10, kh, kw, f, c)]);
        Assert.True(check.Passed, check.ToString());
    }

    [Theory]
    [InlineData(1, 1, Padding.Valid, 1)]
    [InlineData(1, 1, Padding.Same, 2)]
    [InlineData(2, 2, Padding.Same, 1)]
    [InlineData(1, 1, Padding.Valid, 3)]
    public void Depthwise_conv2d_matches_the_direct_loops_and_has_correct_gradients(int stride, int dilation, Padding padding, int multiplier)
    {
        int n = 2, h = 7, w = 6, c = 3;
        var x = TestData.Tensor(11, n, h, w, c);
        var k = TestData.Tensor(12, 3, 3, c, multiplier);
        var y = Tensor.DepthwiseConv2D(x, k, (stride, stride), padding, (dilation, dilation));
        var g = Conv2DGeometry.Create(h, w, c, 3, 3, stride, stride, dilation, dilation, padding == Padding.Same);
        Assert.Equal([n, g.OH, g.OW, c * multiplier], y.Shape.ToArray());
        AssertClose(DepthwiseReference.Forward(x.ToArray(), n, k.ToArray(), multiplier, g), y.ToArray(), "depthwise");
        var check = GradientChecker.Check(t => Tensor.DepthwiseConv2D(t[0], t[1], (stride, stride), padding, (dilation, dilation)),
            [TestData.Param(13, n, h, w, c), TestData.Param(14, 3, 3, c, multiplier)]);
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void One_dimensional_pooling_layers()
    {
        Assert.Equal(new Shape(3, 4), new MaxPooling1D(2).ComputeOutputShape(new Shape(7, 4)));
        Assert.Equal(new Shape(4, 4), new MaxPooling1D(2, padding: Padding.Same).ComputeOutputShape(new Shape(7, 4)));
        var x = Tensor.FromArray([1, 5, 2, 9, 3, 4, 8, 0], 1, 4, 2); // channels (1, 2, 3, 8) and (5, 9, 4, 0)
        Assert.Equal([2f, 9f, 8f, 4f], new MaxPooling1D(2).Forward(x).ToArray());
        Assert.Equal([3.5f, 4.5f], new GlobalAveragePooling1D().Forward(x).ToArray());
    }

    [Fact]
    public void Spatial_dropout_drops_whole_channels_in_training_only()
    {
        var layer = new SpatialDropout2D(0.4f);
        var y = layer.Forward(Tensor.Ones(50, 6, 5, 20), training: true).ToArray();
        int dropped = 0;
        for (int b = 0; b < 50; b++)
            for (int ch = 0; ch < 20; ch++)
            {
                var values = Enumerable.Range(0, 30).Select(p => y[(b * 30 + p) * 20 + ch]).Distinct().ToArray();
                Assert.Single(values); // one factor for the whole map
                Assert.True(values[0] == 0 || Math.Abs(values[0] - 1 / 0.6f) < 1e-6f, $"factor {values[0]}");
                dropped += values[0] == 0 ? 1 : 0;
            }
        Assert.InRange(dropped / 1000.0, 0.33, 0.47);
        var seq = new SpatialDropout1D(0.5f).Forward(Tensor.Ones(4, 6, 8), training: true).ToArray();
        Assert.Contains(0f, seq);
        Assert.Equal(Tensor.Ones(2, 3, 4).ToArray(), new SpatialDropout1D(0.5f).Forward(Tensor.Ones(2, 3, 4)).ToArray());
    }

    [Fact]
    public void Sequence_model_plans_match_the_graph()
    {
        // Conv1D (causal and strided same), 1-D pooling, spatial dropout: planned step against the graph.
        Sequential Build() => new(
        [
            new Input([12, 3]), new Conv1D(8, 3, padding: Padding.Causal, dilationRate: 2, activation: "relu"),
            new SpatialDropout1D(0.25f), new MaxPooling1D(2), new Conv1D(6, 2, strides: 2, padding: Padding.Same, activation: "tanh"),
            new AveragePooling1D(2, 1, Padding.Same), new GlobalMaxPooling1D(), new Dense(4, "softmax"),
        ], seed: 2);
        var x = Tensor.RandomUniform([10, 12, 3], -1f, 1f, 3);
        var y = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (float)(i % 4)).ToArray());
        var planned = Build();
        var graph = Build();
        planned.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy());
        graph.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy());
        graph.PlansEnabled = false;
        for (int step = 0; step < 3; step++)
        {
            var a = planned.TrainStep(x, y);
            var b = graph.TrainStep(x, y);
            Assert.True(Math.Abs(a["loss"] - b["loss"]) <= 1e-5f * (1 + b["loss"]), $"step {step}: {a["loss"]} vs {b["loss"]}");
        }
        Assert.True(planned.HasCompiledPlan("train"));
        var (wa, wb) = (planned.GetWeights(), graph.GetWeights());
        for (int i = 0; i < wa.Length; i++)
            for (int j = 0; j < wa[i].Length; j++)
                Assert.True(Math.Abs(wa[i][j] - wb[i][j]) <= 1e-5f, $"weight {i}[{j}] {wa[i][j]} vs {wb[i][j]}");

        var image = new Sequential([new Input([6, 6, 2]), new Conv2D(4, 3, activation: "relu"), new SpatialDropout2D(0.3f), new Flatten(), new Dense(3)], seed: 1);
        image.Compile(new Sgd(0.1f), new MeanSquaredError());
        var xi = Tensor.RandomUniform([5, 6, 6, 2], -1f, 1f, 4);
        for (int i = 0; i < 3; i++)
            image.TrainStep(xi, Tensor.Zeros(5, 3));
        Assert.True(image.HasCompiledPlan("train"));
    }

    [Fact]
    public void Bad_input_names_the_layer_and_the_shapes()
    {
        var c1 = Assert.Throws<ArgumentException>(() => new Conv1D(4, 3, name: "seq").Forward(Tensor.Zeros(2, 5, 5, 1)));
        Assert.Contains("'seq'", c1.Message);
        Assert.Contains("[batch, 5, 5, 1]", c1.Message);
        Assert.Contains("longer", Assert.Throws<ArgumentException>(() => new Conv1D(4, 6, name: "long").Forward(Tensor.Zeros(2, 5, 1))).Message);
        Assert.Throws<ArgumentException>(() => new Conv2D(4, (3, 3), padding: Padding.Causal));
        Assert.Contains("causal", Assert.Throws<ArgumentException>(() => Tensor.Conv2D(Tensor.Zeros(1, 5, 5, 1), Tensor.Zeros(3, 3, 1, 1), padding: Padding.Causal)).Message);
        var t = Assert.Throws<ArgumentException>(() => Tensor.Conv2DTranspose(Tensor.Zeros(1, 3, 3, 2), Tensor.Zeros(3, 3, 4, 5)));
        Assert.Contains("5 input channels", t.Message);
        Assert.Contains("'dw'", Assert.Throws<ArgumentException>(() => new DepthwiseConv2D(5, name: "dw").Forward(Tensor.Zeros(1, 3, 3, 2))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DepthwiseConv2D(3, depthMultiplier: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpatialDropout2D(1f));
        Assert.Contains("'sd'", Assert.Throws<ArgumentException>(() => new SpatialDropout2D(0.5f, "sd").Forward(Tensor.Zeros(2, 4, 3))).Message);
        Assert.Contains("'p1'", Assert.Throws<ArgumentException>(() => new MaxPooling1D(2, name: "p1").Forward(Tensor.Zeros(2, 4, 4, 1))).Message);
    }
}

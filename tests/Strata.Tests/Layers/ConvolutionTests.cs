using Strata.Autograd;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Layers;

public sealed class ConvolutionTests
{
    // (n, h, w, c, kh, kw, f, stride h, stride w, dilation h, dilation w, same)
    public static TheoryData<int[], bool> Geometries => new()
    {
        { [2, 7, 7, 1, 3, 3, 4, 1, 1, 1, 1], false },
        { [2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1], true },
        { [1, 8, 9, 2, 3, 2, 3, 2, 2, 1, 1], true },   // even input, stride 2: extra padding at the bottom/right
        { [1, 9, 8, 2, 3, 3, 2, 2, 3, 1, 1], false },
        { [2, 10, 10, 3, 3, 3, 4, 1, 1, 2, 2], false }, // dilation
        { [1, 10, 9, 2, 3, 3, 4, 2, 1, 2, 1], true },
        { [3, 5, 5, 4, 5, 5, 2, 1, 1, 1, 1], false },   // window = input: one output pixel
        { [1, 6, 6, 2, 1, 1, 3, 1, 1, 1, 1], false },   // 1×1: a per-pixel Dense
        { [3, 64, 64, 32, 5, 5, 4, 1, 1, 1, 1], true }, // im2col larger than its budget: chunks of images
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Conv2d_matches_the_direct_loops(int[] dims, bool same)
    {
        int n = dims[0], h = dims[1], w = dims[2], c = dims[3], kh = dims[4], kw = dims[5], f = dims[6];
        int sh = dims[7], sw = dims[8], dh = dims[9], dw = dims[10];
        var x = TestData.Tensor(1, n, h, w, c);
        var k = TestData.Tensor(2, kh, kw, c, f);
        var y = Tensor.Conv2D(x, k, (sh, sw), same ? Padding.Same : Padding.Valid, (dh, dw));
        var g = Conv2DGeometry.Create(h, w, c, kh, kw, sh, sw, dh, dw, same);
        if (same)
            Assert.Equal([n, (h + sh - 1) / sh, (w + sw - 1) / sw, f], y.Shape.ToArray());
        var expected = ConvReference.Conv2D(x.ToArray(), n, k.ToArray(), f, g);
        Assert.Equal([n, g.OH, g.OW, f], y.Shape.ToArray());
        var actual = y.ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"output {i}: {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(1, 1, 1, 1, false)]
    [InlineData(1, 1, 1, 1, true)]
    [InlineData(2, 2, 1, 1, true)]
    [InlineData(2, 1, 1, 1, false)]
    [InlineData(1, 1, 2, 2, false)]
    [InlineData(2, 2, 2, 1, true)]
    public void Conv2d_gradients_match_finite_differences(int sh, int sw, int dh, int dw, bool same)
    {
        var x = TestData.Param(3, 2, 6, 7, 2);
        var k = TestData.Param(4, 3, 2, 2, 3);
        var check = GradientChecker.Check(t => Tensor.Conv2D(t[0], t[1], (sh, sw), same ? Padding.Same : Padding.Valid, (dh, dw)), [x, k]);
        Assert.True(check.Passed, check.ToString());
    }

    private static float[] PoolReference(float[] x, int n, int h, int w, int c, int ph, int pw, int sh, int sw, bool same, bool max, out int[] shape)
    {
        var g = Conv2DGeometry.Create(h, w, c, ph, pw, sh, sw, 1, 1, same);
        shape = [n, g.OH, g.OW, c];
        var y = new float[n * g.OH * g.OW * c];
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        float acc = max ? float.NegativeInfinity : 0;
                        int count = 0;
                        for (int i = 0; i < ph; i++)
                            for (int j = 0; j < pw; j++)
                            {
                                int ih = oh * sh - g.PadTop + i, iw = ow * sw - g.PadLeft + j;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                                    continue;
                                float v = x[((b * h + ih) * w + iw) * c + ch];
                                acc = max ? Math.Max(acc, v) : acc + v;
                                count++;
                            }
                        y[((b * g.OH + oh) * g.OW + ow) * c + ch] = max ? acc : acc / count;
                    }
        return y;
    }

    [Theory]
    [InlineData(2, 2, 2, 2, false)]
    [InlineData(2, 2, 2, 2, true)]
    [InlineData(3, 3, 2, 2, true)]
    [InlineData(3, 2, 1, 2, false)]
    [InlineData(2, 3, 3, 1, true)]
    public void Pooling_matches_the_direct_loops_and_has_correct_gradients(int ph, int pw, int sh, int sw, bool same)
    {
        // Distinct values 0.01 apart, shuffled: no window has a near-tie for the finite differences to straddle.
        var values = Enumerable.Range(0, 2 * 7 * 6 * 3).Select(i => i * 0.01f - 1.26f).ToArray();
        new Rng(5).Shuffle(values.AsSpan());
        var x = Tensor.FromArray(values, 2, 7, 6, 3);
        foreach (bool max in new[] { true, false })
        {
            var y = max ? Tensor.MaxPool2D(x, (ph, pw), (sh, sw), same ? Padding.Same : Padding.Valid)
                : Tensor.AvgPool2D(x, (ph, pw), (sh, sw), same ? Padding.Same : Padding.Valid);
            var expected = PoolReference(x.ToArray(), 2, 7, 6, 3, ph, pw, sh, sw, same, max, out var shape);
            Assert.Equal(shape, y.Shape.ToArray());
            var actual = y.ToArray();
            for (int i = 0; i < expected.Length; i++)
                Assert.Equal(expected[i], actual[i], 5);

            var input = x.Clone();
            input.RequiresGrad = true;
            var check = GradientChecker.Check(t => max ? Tensor.MaxPool2D(t[0], (ph, pw), (sh, sw), same ? Padding.Same : Padding.Valid)
                : Tensor.AvgPool2D(t[0], (ph, pw), (sh, sw), same ? Padding.Same : Padding.Valid), [input], epsilon: 1e-3f);
            Assert.True(check.Passed, $"{(max ? "max" : "avg")}: {check}");
        }
    }

    [Fact]
    public void Pooling_layers()
    {
        Assert.Equal(new Shape(3, 3, 3), new MaxPooling2D(2).ComputeOutputShape(new Shape(6, 7, 3)));
        Assert.Equal(new Shape(3, 4, 3), new MaxPooling2D((2, 2), padding: Padding.Same).ComputeOutputShape(new Shape(6, 7, 3)));
    }

    [Fact]
    public void Bad_shapes_name_the_layer_and_the_shapes()
    {
        var conv = new Conv2D(4, 3, name: "c1");
        Assert.Contains("'c1'", Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(2, 8, 8))).Message);
        var big = Assert.Throws<ArgumentException>(() => new Conv2D(4, 5, name: "c2").Forward(Tensor.Zeros(1, 4, 4, 1)));
        Assert.Contains("'c2'", big.Message);
        Assert.Contains("5×5", big.Message);
        conv.Forward(Tensor.Zeros(1, 8, 8, 3));
        var channels = Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 8, 8, 2)));
        Assert.Contains("[batch, 8, 8, 3]", channels.Message);
        Assert.Contains("[1, 8, 8, 2]", channels.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPooling2D((0, 2)));
        var op = Assert.Throws<ArgumentException>(() => Tensor.Conv2D(Tensor.Zeros(1, 5, 5, 2), Tensor.Zeros(3, 3, 4, 1)));
        Assert.Contains("4 input channels", op.Message);
        Assert.Contains("has 2", op.Message);
        Assert.Contains("larger", Assert.Throws<ArgumentException>(() => Tensor.MaxPool2D(Tensor.Zeros(1, 2, 2, 1), (3, 3))).Message);
    }

    [Fact]
    public void Seed_cnn_learns_a_subset_of_real_mnist()
    {
        // CI-sized: 6,000 training images, one epoch (the full 5-epoch run is a benchmark).
        var (x, y) = Mnist.Load(RepoPaths.Mnist, train: true);
        var (tx, ty) = Mnist.Load(RepoPaths.Mnist, train: false);
        var model = Presets.Cnn(seed: 1);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var labels = Tensor.FromArray(y.Take(6000).Select(v => (float)v).ToArray());
        model.Fit(x.Slice(..6000), labels, epochs: 1, batchSize: 32, seed: 1);
        var test = model.Evaluate(tx.Slice(..2000), Tensor.FromArray(ty.Take(2000).Select(v => (float)v).ToArray()), batchSize: 500);
        Assert.True(test["accuracy"] >= 0.90f, $"test accuracy {test["accuracy"]:P2}");
    }
}

public sealed class ImageLayerTests
{
    [Fact]
    public void Global_pooling_layers()
    {
        var x = Tensor.FromArray([1f, 10f, 2f, 20f, 3f, 30f, 6f, 60f], 1, 2, 2, 2);
        Assert.Equal([3f, 30f], new GlobalAveragePooling2D().Forward(x).ToArray());
        Assert.Equal([6f, 60f], new GlobalMaxPooling2D().Forward(x).ToArray());
    }

    [Fact]
    public void Zero_padding_adds_zero_rows_and_columns()
    {
        var y = new ZeroPadding2D(1).Forward(Tensor.Ones(1, 1, 1, 1));
        Assert.Equal([1, 3, 3, 1], y.Shape.ToArray());
        Assert.Equal([0f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 0f], y.ToArray());
    }

    [Fact]
    public void Upsampling_repeats_each_pixel()
    {
        var y = new UpSampling2D(2).Forward(Tensor.FromArray([1f, 2f, 3f, 4f], 1, 2, 2, 1));
        Assert.Equal([1, 4, 4, 1], y.Shape.ToArray());
        Assert.Equal([1f, 1f, 2f, 2f, 1f, 1f, 2f, 2f, 3f, 3f, 4f, 4f, 3f, 3f, 4f, 4f], y.ToArray());
    }

    [Fact]
    public void Image_layers_reject_flat_input_naming_themselves()
    {
        foreach (var layer in new Layer[] { new GlobalAveragePooling2D(name: "g"), new ZeroPadding2D(name: "z"), new UpSampling2D(name: "u") })
        {
            var ex = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 5)));
            Assert.Contains($"'{layer.Name}'", ex.Message);
            Assert.Contains("[batch, 5]", ex.Message);
        }
    }
}

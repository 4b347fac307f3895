using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Compression;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Xunit;
using Xunit.Abstractions;

namespace Strata.Tests.Compression;

/// <summary>DepthwiseConv2D on int8: the kernel against plain sums, the layer against the float one, a trained model end to end.</summary>
public class QuantizedDepthwiseTests(ITestOutputHelper output)
{
    private static readonly Lazy<(Tensor Images, int[] Labels)> s_train = new(() => Mnist.Load(RepoPaths.Mnist, train: true));
    private static readonly Lazy<(Tensor Images, int[] Labels)> s_test = new(() => Mnist.Load(RepoPaths.Mnist, train: false));

    // (H, W, C, KH, KW, stride, dilation, same, M): channel counts around the 8-lane blocks, windows cut by every edge.
    public static TheoryData<int, int, int, int, int, int, int, bool, int> Shapes => new()
    {
        { 5, 5, 8, 3, 3, 1, 1, false, 1 },
        { 7, 6, 13, 3, 3, 1, 1, true, 1 },
        { 9, 11, 19, 5, 3, 2, 1, true, 1 },
        { 8, 8, 16, 3, 3, 1, 2, true, 1 },
        { 6, 7, 3, 2, 4, 2, 1, false, 1 },
        { 7, 7, 5, 3, 3, 1, 1, true, 2 },
        { 4, 9, 9, 1, 3, 1, 3, true, 3 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryPathMatchesThePlainSums(int h, int w, int c, int kh, int kw, int stride, int dilation, bool same, int m)
    {
        var rng = new Random(h * 1000 + c * 10 + m);
        var g = Conv2DGeometry.Create(h, w, c, kh, kw, stride, stride, dilation, dilation, same);
        int cm = c * m;
        var image = new byte[h * w * c];
        var weights = new sbyte[kh * kw * cm];
        for (int i = 0; i < image.Length; i++)
            image[i] = (byte)(i % 17 == 0 ? 127 : i % 23 == 0 ? 0 : rng.Next(0, 128)); // the ends of the 7-bit range among the rest
        for (int i = 0; i < weights.Length; i++)
            weights[i] = (sbyte)(i % 11 == 0 ? -127 : i % 13 == 0 ? 127 : rng.Next(-127, 128));
        int zp = 37;
        foreach (var path in new[] { Int8Path.Scalar, Int8Path.Avx2 })
        {
            if (!Int8Gemm.Supports(path))
                continue;
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    var acc = new int[cm + 3];
                    acc.AsSpan(cm).Fill(-555); // sentinels after the sums
                    Int8Depthwise.Pixel(image, zp, weights, m, g, oh, ow, acc.AsSpan(0, cm + 3), path);
                    for (int ch = 0; ch < c; ch++)
                        for (int j = 0; j < m; j++)
                        {
                            long s = 0;
                            for (int a = 0; a < kh; a++)
                                for (int b = 0; b < kw; b++)
                                {
                                    int ih = oh * stride - g.PadTop + a * dilation, iw = ow * stride - g.PadLeft + b * dilation;
                                    int code = ih >= 0 && ih < h && iw >= 0 && iw < w ? image[(ih * w + iw) * c + ch] : zp; // padding holds the zero point
                                    s += (long)(code - zp) * weights[((a * kw + b) * c + ch) * m + j];
                                }
                            Assert.True(s == acc[ch * m + j], $"{path} pixel ({oh}, {ow}) channel {ch}·{m}+{j}: {acc[ch * m + j]}, expected {s}");
                        }
                    Assert.All(acc[cm..], v => Assert.Equal(-555, v));
                }
        }
    }

    [Fact]
    public void TheLayerStaysWithinTheQuantizationErrorBound()
    {
        var rng = new Rng(3);
        int h = 9, w = 8, c = 6, m = 2;
        var model = new Sequential([new Input([h, w, c]), new DepthwiseConv2D((3, 3), padding: Padding.Same, depthMultiplier: m, activation: "relu", name: "dw"),
            new Flatten(), new Dense(3, name: "out")], seed: 5);
        var x = Tensor.RandomNormal([20, h, w, c], rng);
        model.Predict(x);
        var q = Quantizer.QuantizeStatic(model, x);
        var dq = Assert.IsType<QuantizedDepthwiseConvolution>(q.Layers.First(l => l.Name == "dw"));
        var dw = (DepthwiseConv2D)model.Layers.First(l => l.Name == "dw");
        var yf = dw.Forward(x).Span;
        var yq = dq.Forward(x).Span;
        var quant = dq.ActivationQuant.Value.Span;
        float sIn = quant[0], sOut = quant[2];
        Assert.True(sIn > 0 && sOut > 0);
        var scales = dq.KernelScale.Value.Span;
        var k = dw.Kernel.Value.Span;
        var xs = x.Span;
        var g = dq.Geometry;
        for (int b = 0; b < 20; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    for (int o = 0; o < c * m; o++)
                    {
                        double bound = sOut / 2;
                        for (int a = 0; a < 3; a++)
                            for (int e = 0; e < 3; e++)
                            {
                                int ih = oh - g.PadTop + a, iw = ow - g.PadLeft + e;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                                    continue;
                                float xv = xs[((b * h + ih) * w + iw) * c + o / m], wv = k[(a * 3 + e) * c * m + o];
                                bound += Math.Abs(xv) * scales[o] / 2 + Math.Abs(wv) * sIn / 2 + sIn * scales[o] / 4;
                            }
                        int at = ((b * g.OH + oh) * g.OW + ow) * c * m + o;
                        float err = Math.Abs(yf[at] - yq[at]);
                        Assert.True(err <= bound * 1.001 + 1e-5, $"[{b}, {oh}, {ow}, {o}]: error {err} > bound {bound}");
                    }
        Assert.NotEqual(dw.Forward(x).ToArray(), dq.Forward(x).ToArray());
        Assert.Contains("QuantizedDepthwiseConvolution", q.Summary());
    }

    [Fact]
    public void ADepthwiseSeparableMnistModelKeepsItsAccuracySavesLoadsAndExports()
    {
        var (train, labels) = s_train.Value;
        var (test, testLabels) = s_test.Value;
        var model = new Sequential([new Input([28, 28]), new Reshape([28, 28, 1]), new Conv2D(16, (3, 3), activation: "relu"),
            new DepthwiseConv2D((3, 3), padding: Padding.Same, activation: "relu", name: "dw1"), new Conv2D(24, (1, 1), activation: "relu", name: "pw1"),
            new MaxPooling2D((2, 2)), new DepthwiseConv2D((3, 3), strides: (2, 2), depthMultiplier: 2, activation: "relu", name: "dw2"),
            new Flatten(), new Dense(10, activation: "softmax", name: "out")], seed: 1);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var x = train.Slice(0, 0, 6000);
        model.Fit(x, Tensor.FromArray([.. labels[..6000].Select(v => (float)v)], 6000), epochs: 2, batchSize: 64, verbose: false);
        var q = Quantizer.QuantizeStatic(model, train.Slice(0, 10000, 500));
        Assert.Equal(2, q.Layers.Count(l => l is QuantizedDepthwiseConvolution));
        q.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var xt = test.Slice(0, 0, 2000);
        var yt = Tensor.FromArray([.. testLabels[..2000].Select(v => (float)v)], 2000);
        float fa = model.Evaluate(xt, yt)["accuracy"] * 100, qa = q.Evaluate(xt, yt)["accuracy"] * 100;
        output.WriteLine($"float {fa:F2}%, int8 {qa:F2}%");
        Assert.True(fa > 80, $"the float model reached only {fa}%"); // trained: chance is 10%
        Assert.True(Math.Abs(fa - qa) <= 0.5f, $"float {fa}%, int8 {qa}%");

        var dir = Directory.CreateTempSubdirectory("strata-qdw");
        try
        {
            string path = Path.Combine(dir.FullName, "q.strata");
            q.Save(path);
            var back = Model.Load(path);
            var probe = xt.Slice(0, 0, 100);
            var p = q.Predict(probe).ToArray();
            Assert.Equal(p, back.Predict(probe).ToArray());

            string onnx = Path.Combine(dir.FullName, "q.onnx");
            q.ExportOnnx(onnx);
            using var session = new InferenceSession(onnx, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL });
            var input = NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), new DenseTensor<float>(probe.ToArray(), probe.Shape.ToArray()));
            using var results = session.Run([input]);
            var ort = results.Single().AsEnumerable<float>().ToArray();
            float worst = 0;
            for (int i = 0; i < p.Length; i++)
                worst = Math.Max(worst, Math.Abs(p[i] - ort[i]));
            output.WriteLine($"Strata vs ONNX Runtime (QDQ reference): worst {worst}");
            Assert.True(worst < 0.02f, $"largest probability difference {worst}");
        }
        finally
        {
            dir.Delete(true);
        }
    }
}

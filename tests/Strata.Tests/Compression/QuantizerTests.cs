using Strata.Compression;
using Strata.Data;
using Strata.Layers;
using Strata.Models;
using Xunit;

namespace Strata.Tests.Compression;

public class QuantizerTests
{
    private static readonly Lazy<(Tensor Images, int[] Labels)> s_test = new(() => Mnist.Load(RepoPaths.Mnist, train: false));

    private static float Accuracy(Model m, Tensor x, int[] labels)
    {
        var p = m.Predict(x, 500);
        int classes = p.Shape[1], right = 0;
        var s = p.Span;
        for (int i = 0; i < labels.Length; i++)
        {
            int best = 0;
            for (int j = 1; j < classes; j++)
                if (s[i * classes + j] > s[i * classes + best])
                    best = j;
            right += best == labels[i] ? 1 : 0;
        }
        return 100f * right / labels.Length;
    }

    [Fact]
    public void StaticInt8SeedCnnKeepsItsAccuracyAndSavesSmaller()
    {
        var cnn = (Sequential)Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"));
        var (images, labels) = s_test.Value;
        int n = 3000;
        var x = images.Slice(0, 0, n);
        var y = labels[..n];
        var calibration = images.Slice(0, 5000, 1000); // images the evaluation does not use
        var q = Quantizer.QuantizeStatic(cnn, calibration);
        Assert.Contains(q.Layers, l => l is QuantizedConvolution);
        Assert.Contains(q.Layers, l => l is QuantizedDense);
        float fa = Accuracy(cnn, x, y), qa = Accuracy(q, x, y);
        Assert.True(Math.Abs(fa - qa) <= 0.3f, $"float {fa}%, int8 {qa}%");

        var dir = Directory.CreateTempSubdirectory("strata-q");
        try
        {
            string fp = Path.Combine(dir.FullName, "f.strata"), qp = Path.Combine(dir.FullName, "q.strata");
            cnn.Save(fp);
            q.Save(qp);
            double ratio = (double)new FileInfo(fp).Length / new FileInfo(qp).Length;
            Assert.True(ratio >= 3.5, $"float file / int8 file = {ratio:F2}");
            var back = Model.Load(qp);
            var a = q.Predict(x.Slice(0, 0, 64));
            var b = back.Predict(x.Slice(0, 0, 64));
            Assert.Equal(a.ToArray(), b.ToArray());
            Assert.Contains("QuantizedConvolution", back.Summary());
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void QuantizedPredictReplaysACompiledPlanAndMatchesEagerCalls()
    {
        var (images, _) = s_test.Value;
        var cnn = (Sequential)Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"));
        var q = Quantizer.QuantizeStatic(cnn, images.Slice(0, 0, 256), new QuantizationOptions(CalibrationMethod.Percentile, 99.9));
        var x = images.Slice(0, 300, 32);
        var first = q.Predict(x).ToArray();
        q.Predict(x);
        var third = q.Predict(x).ToArray();
        Assert.Equal(first, third);
        Assert.Contains("plan", q.ExecutionPath);
    }

    [Fact]
    public void AQuantizedLayerRepacksWhenItsKernelChangesBetweenCallsAndNotWithinOne()
    {
        var (images, _) = s_test.Value;
        var cnn = (Sequential)Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"));
        var q = Quantizer.QuantizeStatic(cnn, images.Slice(0, 0, 256));
        var x = images.Slice(0, 400, 96);
        var eager = (Func<Tensor>)(() =>
        {
            var h = x;
            foreach (var l in q.Layers)
                h = l.Forward(h); // eager calls, outside any Predict pass: each compares its kernel
            return h;
        });
        var expected = eager().ToArray();
        q.Predict(x, 96); // traces the plan and learns the slice size: later calls run 96 images in several slices
        var before = q.Predict(x, 96).ToArray();
        Assert.Equal(expected, before);

        var d = q.Layers.OfType<QuantizedDense>().First();
        var kernel = d.Kernel.Value.Data; // as a load or SetWeights writes it
        var saved = kernel.ToArray();
        for (int i = 0; i < kernel.Length; i++)
            kernel[i] = -kernel[i]; // other integer weights, written in place between two passes (no eager call in between)
        var changed = q.Predict(x, 96).ToArray();
        Assert.NotEqual(before, changed); // a pass trusted beyond its end would give the old outputs
        Assert.Equal(changed, q.Predict(x, 96).ToArray());
        Assert.Equal(eager().ToArray(), changed);

        saved.CopyTo(kernel);
        Assert.Equal(before, q.Predict(x, 96).ToArray());
        Assert.Equal(before, eager().ToArray()); // outside a pass a layer call sees the write at once

        // Within one pass the kernel is compared once: a write after that goes unseen until the pass ends.
        var h = x;
        foreach (var l in q.Layers.TakeWhile(l => l != d))
            h = l.Forward(h);
        var dense = d.Forward(h).ToArray();
        using (Strata.Ops.Int8WeightCache.Trust())
        {
            Assert.Equal(dense, d.Forward(h).ToArray());
            for (int i = 0; i < kernel.Length; i++)
                kernel[i] = -kernel[i];
            Assert.Equal(dense, d.Forward(h).ToArray());
        }
        Assert.NotEqual(dense, d.Forward(h).ToArray());
        saved.CopyTo(kernel);
        Assert.Equal(dense, d.Forward(h).ToArray());
    }

    [Fact]
    public void QuantizedDenseStaysWithinTheQuantizationErrorBound()
    {
        var rng = new Rng(11);
        int k = 50, units = 7, rows = 40;
        var model = new Sequential([new Input([k]), new Dense(units, "relu"), new Dense(3)], seed: 4);
        var x = Tensor.RandomNormal([rows, k], rng);
        var q = Quantizer.QuantizeStatic(model, x);
        var d = (QuantizedDense)q.Layers.First(l => l is QuantizedDense);
        var yf = ((Dense)model.Layers[1]).Forward(x);
        var yq = d.Forward(x);
        var quant = d.ActivationQuant.Value.Span;
        float sIn = quant[0], sOut = quant[2];
        var w = ((Dense)model.Layers[1]).Kernel.Value.Span;
        var scales = d.KernelScale.Value.Span;
        var xs = x.Span;
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < units; j++)
            {
                double bound = sOut / 2;
                for (int p = 0; p < k; p++)
                    bound += Math.Abs(xs[r * k + p]) * scales[j] / 2 + Math.Abs(w[p * units + j]) * sIn / 2 + sIn * scales[j] / 4;
                float err = Math.Abs(yf.Span[r * units + j] - yq.Span[r * units + j]);
                Assert.True(err <= bound * 1.001 + 1e-5, $"[{r}, {j}]: error {err} > bound {bound}");
            }
        }
        Assert.NotEqual(yf.ToArray(), yq.ToArray()); // it is quantized, not the float layer
    }

    [Fact]
    public void DynamicQuantizationOfTheSeedMlpTracksTheFloatModel()
    {
        var (images, _) = s_test.Value;
        var mlp = Presets.Create("mlp", [28, 28], 10, seed: 2);
        var x = images.Slice(0, 0, 200);
        var f = mlp.Predict(x).Span;
        var q = Quantizer.QuantizeDynamic((Sequential)mlp);
        Assert.All(q.Layers.OfType<QuantizedDense>(), l => Assert.True(l.Dynamic));
        var p = q.Predict(x).Span;
        float worst = 0;
        for (int i = 0; i < f.Length; i++)
            worst = Math.Max(worst, Math.Abs(f[i] - p[i]));
        Assert.True(worst < 0.05f, $"largest probability difference {worst}");
        Assert.True(worst > 0f);
    }

    [Fact]
    public void SafeTensorsWritesI8OneByteEachAndRefusesValuesThatAreNotInt8()
    {
        var t = Tensor.FromArray([-128f, 0f, 5f, 127f], 4);
        var ms = new MemoryStream();
        Strata.Serialization.SafeTensors.Write(ms, new Dictionary<string, Tensor> { ["w"] = t }, null, new HashSet<string> { "w" });
        Assert.Contains("\"I8\"", System.Text.Encoding.UTF8.GetString(ms.ToArray()));
        ms.Position = 0;
        var back = Strata.Serialization.SafeTensors.Read(ms, ms.Length);
        Assert.Equal(t.ToArray(), back.Tensors["w"].ToArray());
        var bad = Tensor.FromArray([1f, 0.5f], 2);
        var e = Assert.Throws<ArgumentException>(() => Strata.Serialization.SafeTensors.Write(new MemoryStream(), new Dictionary<string, Tensor> { ["b"] = bad }, null, new HashSet<string> { "b" }));
        Assert.Contains("element 1 is 0.5", e.Message);
    }

    [Fact]
    public void BadInputIsNamed()
    {
        var unbuilt = new Sequential([new Dense(3)]);
        Assert.Contains("not built", Assert.Throws<ArgumentException>(() => Quantizer.QuantizeDynamic(unbuilt)).Message);
        var model = new Sequential([new Input([4]), new Dense(3, "relu", name: "d1"), new BatchNormalization(name: "bn"), new Dense(2)]);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => Quantizer.QuantizeStatic(model, Tensor.Zeros(0, 4))).Message);
        var e = Assert.Throws<ArgumentException>(() => Quantizer.QuantizeStatic(model, Tensor.Zeros(5, 3)));
        Assert.Contains("[4]", e.Message);
        Assert.Contains("[3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Quantizer.QuantizeStatic(model, Tensor.Zeros(5, 4), new QuantizationOptions(Layers: ["bn"])));
        Assert.Contains("'bn'", e.Message);
        Assert.Contains("BatchNormalization", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Quantizer.QuantizeStatic(model, Tensor.Zeros(5, 4), new QuantizationOptions(CalibrationMethod.Percentile, 20)));
        var q = Quantizer.QuantizeStatic(model, Tensor.RandomNormal([8, 4], new Rng(1)));
        Assert.IsType<BatchNormalization>(q.Layers.First(l => l.Name == "bn")); // float where no int8 form exists
    }
}

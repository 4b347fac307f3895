using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Compression;
using Strata.Data;
using Strata.Layers;
using Strata.Models;
using Xunit;
using Xunit.Abstractions;

namespace Strata.Tests.Compression;

/// <summary>The QDQ ONNX export of quantized models, run by ONNX Runtime: its reference (unfused) semantics and its fused integer kernels.</summary>
public class QuantizedOnnxTests(ITestOutputHelper output)
{
    private static readonly Lazy<(Tensor Images, int[] Labels)> s_test = new(() => Mnist.Load(RepoPaths.Mnist, train: false));

    private static float[] RunOrt(string path, Tensor x, GraphOptimizationLevel level, string? optimizedPath = null)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level };
        if (optimizedPath is not null)
            options.OptimizedModelFilePath = optimizedPath;
        using var session = new InferenceSession(path, options);
        var input = NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), new DenseTensor<float>(x.ToArray(), x.Shape.ToArray()));
        using var results = session.Run([input]);
        return results.Single().AsEnumerable<float>().ToArray();
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++)
            if (row[j] > row[best])
                best = j;
        return best;
    }

    /// <summary>Largest |a − b| and the share of rows whose top class differs.</summary>
    private static (float Worst, double Disagree) Compare(float[] a, float[] b, int classes)
    {
        Assert.Equal(a.Length, b.Length);
        float worst = 0;
        int differ = 0;
        for (int i = 0; i < a.Length; i++)
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        for (int r = 0; r < a.Length / classes; r++)
            differ += ArgMax(a.AsSpan(r * classes, classes)) != ArgMax(b.AsSpan(r * classes, classes)) ? 1 : 0;
        return (worst, (double)differ / (a.Length / classes));
    }

    [Fact]
    public void StaticInt8SeedCnnExportsInQdqFormThatOnnxRuntimeRunsOnIntegerKernels()
    {
        var (images, _) = s_test.Value;
        var cnn = (Sequential)Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"));
        var x = images.Slice(0, 0, 500);
        var q = Quantizer.QuantizeStatic(cnn, x); // calibrated on the images compared: every value within its range
        var dir = Directory.CreateTempSubdirectory("strata-qdq");
        try
        {
            string path = Path.Combine(dir.FullName, "q.onnx"), optimized = Path.Combine(dir.FullName, "q.opt.onnx");
            q.ExportOnnx(path);
            var strata = q.Predict(x).ToArray();
            var reference = RunOrt(path, x, GraphOptimizationLevel.ORT_DISABLE_ALL);
            var fused = RunOrt(path, x, GraphOptimizationLevel.ORT_ENABLE_ALL, optimized);
            var (wr, dr) = Compare(strata, reference, 10);
            var (wf, df) = Compare(strata, fused, 10);
            output.WriteLine($"reference: worst {wr}, top-1 disagreement {dr:P2}; fused: worst {wf}, disagreement {df:P2}");
            // The two differ by the bias rounded to int32 codes and ONNX Runtime's own requantization rounding.
            Assert.True(wr < 0.01f && dr <= 0.002, $"ONNX Runtime (reference) against Strata: largest difference {wr}, top-1 disagreement {dr:P2}");
            Assert.True(wf < 0.01f && df <= 0.002, $"ONNX Runtime (fused) against Strata: largest difference {wf}, top-1 disagreement {df:P2}");
            var ops = Strata.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToList();
            output.WriteLine(string.Join(" ", ops));
            // Each int8 layer runs on an integer kernel; the first convolution (window 9 < MinWindow) stays float.
            Assert.Equal(q.Layers.Count(l => l is QuantizedConvolution), ops.Count(o => o == "QLinearConv"));
            Assert.Equal(q.Layers.Count(l => l is QuantizedDense), ops.Count(o => o == "QGemm"));
            Assert.Equal(q.Layers.Count(l => l is Conv2D), ops.Count(o => o == "Conv"));
            var file = Strata.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.Contains(file.Graph.Initializer, t => t.DataType == (int)Strata.Onnx.Proto.TensorProto.Types.DataType.Int8);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void DynamicInt8MlpExportsWithDynamicQuantizeLinear()
    {
        var (images, _) = s_test.Value;
        var mlp = (Sequential)Presets.Create("mlp", [28, 28], 10, seed: 3);
        var x = images.Slice(0, 0, 300);
        var q = Quantizer.QuantizeDynamic(mlp);
        var dir = Directory.CreateTempSubdirectory("strata-qdq");
        try
        {
            string path = Path.Combine(dir.FullName, "d.onnx");
            q.ExportOnnx(path);
            var file = Strata.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.Equal(q.Layers.Count(l => l is QuantizedDense), file.Graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear"));
            var strata = q.Predict(x).ToArray();
            var ort = RunOrt(path, x, GraphOptimizationLevel.ORT_ENABLE_ALL);
            // ONNX's DynamicQuantizeLinear uses 8-bit codes where Strata uses 7: close, not equal
            // (the untrained model's near-uniform probabilities make top-1 agreement meaningless here).
            var (worst, _) = Compare(strata, ort, 10);
            output.WriteLine($"worst {worst}");
            Assert.True(worst < 0.01f, $"largest probability difference {worst}");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void StaticInt8Conv1DAndPaddedConv2DMatchOnnxRuntime()
    {
        var rng = new Rng(7);
        var seq = new Sequential([new Input([40, 8]), new Conv1D(16, 5, padding: Padding.Same, activation: "relu", name: "c1"),
            new Conv1D(12, 3, strides: 2, activation: "relu", name: "c2"), new Flatten(), new Dense(4, name: "out")]);
        var image = new Sequential([new Input([9, 11, 6]), new Conv2D(10, (3, 3), strides: (2, 2), padding: Padding.Same, activation: "relu", name: "k1"),
            new Conv2D(8, (3, 2), dilationRate: (2, 1), name: "k2"), new Flatten(), new Dense(3, activation: "softmax", name: "out")]);
        foreach (var (model, shape) in new (Sequential, int[])[] { (seq, [40, 8]), (image, [9, 11, 6]) })
        {
            var x = Tensor.RandomNormal([64, .. shape], rng);
            model.Predict(x);
            var q = Quantizer.QuantizeStatic(model, x, new QuantizationOptions(Layers: [.. model.Layers.Where(l => l is ConvolutionLayer or Dense).Select(l => l.Name)]));
            Assert.All(q.Layers.Where(l => l is ConvolutionLayer), l => Assert.Fail($"{l.Name} stayed float"));
            var dir = Directory.CreateTempSubdirectory("strata-qdq");
            try
            {
                string path = Path.Combine(dir.FullName, "c.onnx");
                q.ExportOnnx(path);
                var strata = q.Predict(x).ToArray();
                var ort = RunOrt(path, x, GraphOptimizationLevel.ORT_DISABLE_ALL);
                float scale = strata.Max(Math.Abs), worst = 0;
                for (int i = 0; i < strata.Length; i++)
                    worst = Math.Max(worst, Math.Abs(strata[i] - ort[i]));
                output.WriteLine($"{model.Layers[1].GetType().Name}: worst {worst} of {scale}");
                Assert.True(worst <= 0.02f * scale, $"{model.Layers[1].GetType().Name}: largest difference {worst}, outputs up to {scale}");
            }
            finally
            {
                dir.Delete(true);
            }
        }
    }
}

using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Models;

namespace Strata.Tests.Serialization;

/// <summary>Runs an exported model in ONNX Runtime against Strata's own predictions.</summary>
internal static class OnnxRuntimeCheck
{
    /// <summary>Exports, runs ONNX Runtime on the inputs and checks |ort − strata| ≤ 1e-5·max(1, |strata|) everywhere; returns ONNX Runtime's outputs.</summary>
    public static float[] ExportAndCompare(string directory, Model model, params Tensor[] x)
    {
        var path = Path.Combine(directory, model.Name + ".onnx");
        model.ExportOnnx(path);
        var expected = model.Predict(x).ToArray();
        using var session = new InferenceSession(path);
        var names = session.InputMetadata.Keys.ToArray();
        Assert.Equal(x.Length, names.Length);
        var inputs = names.Select((n, i) => NamedOnnxValue.CreateFromTensor(n, new DenseTensor<float>(x[i].ToArray(), x[i].Shape.ToArray()))).ToList();
        using var results = session.Run(inputs);
        var actual = results.Single().AsEnumerable<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float tolerance = 1e-5f * Math.Max(1f, Math.Abs(expected[i]));
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance,
                $"{model.Name}: output {i} is {actual[i]} in ONNX Runtime, {expected[i]} in Strata");
        }
        return actual;
    }
}

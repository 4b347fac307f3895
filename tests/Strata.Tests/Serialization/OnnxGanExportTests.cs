using Strata.Data;
using Strata.Models;

namespace Strata.Tests.Serialization;

/// <summary>The DCGAN generators (Dense, batch norm, leaky ReLU, Reshape, Conv2DTranspose, Conv2D, tanh; Embedding and Concatenate in the conditional one) export to ONNX.</summary>
public sealed class OnnxGanExportTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-onnx-gan-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>64 MNIST test images in [−1, 1] and their digits.</summary>
    private static (Tensor X, Tensor Y) Real()
    {
        var (x, y) = Mnist.Load(RepoPaths.Mnist, train: false);
        return ((x.Slice(..64) * 2f - 1f).Reshape([64, 28, 28, 1]), Tensor.FromArray(y[..64].Select(v => (float)v).ToArray()));
    }

    /// <summary>The moving statistics of every batch normalization moved away from their initial 0 and 1.</summary>
    private static void AssertTrainedStatistics(Model generator)
    {
        var moving = generator.Weights.Where(w => w.Name.Contains("moving", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, moving.Count); // three batch norms, mean and variance each
        Assert.All(moving, w => Assert.Contains(w.Value.ToArray(), v => v != 0f && v != 1f));
    }

    [Fact]
    public void The_trained_dcgan_generator_matches_in_onnx_runtime()
    {
        var gan = GanPresets.Dcgan(latentDim: 8, width: 4, seed: 3);
        gan.Fit(Real().X, epochs: 1, batchSize: 16, seed: 1); // four steps: batch norms with non-trivial statistics
        AssertTrainedStatistics(gan.Generator);
        var z = gan.SampleLatent(5, seed: 9);
        var onnx = OnnxRuntimeCheck.ExportAndCompare(_dir.FullName, gan.Generator, z);
        Assert.Equal(5 * 28 * 28, onnx.Length);
        Assert.All(onnx, v => Assert.InRange(v, -1f, 1f)); // tanh
    }

    [Fact]
    public void The_trained_conditional_generator_matches_in_onnx_runtime()
    {
        var gan = (ConditionalGan)GanPresets.Dcgan(conditional: true, latentDim: 8, width: 4, seed: 5);
        var (x, y) = Real();
        gan.Fit(x, y, epochs: 1, batchSize: 16, seed: 2);
        AssertTrainedStatistics(gan.Generator);
        var z = gan.SampleLatent(10, seed: 4);
        var digits = Tensor.FromArray([.. Enumerable.Range(0, 10).Select(d => (float)(9 - d))]).Reshape([10, 1]);
        var onnx = OnnxRuntimeCheck.ExportAndCompare(_dir.FullName, gan.Generator, z, digits);
        Assert.Equal(10 * 28 * 28, onnx.Length);
        // The digit matters: the same latent vectors with other digits give other images.
        var other = gan.Generator.Predict([z, Tensor.Zeros(10, 1)]).ToArray();
        Assert.NotEqual(other, onnx);
    }
}

using Strata.Data;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests;

/// <summary>The README's GAN code runs as written (on a few images and small networks, as the other README tests shrink their data).</summary>
public sealed class ReadmeGanTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-readme-gan-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static readonly string Readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));

    private static (Tensor Digits, int[] Labels) FirstImages(int n)
    {
        var (digits, labels) = Mnist.Load(RepoPaths.Mnist, train: true);
        return (digits.Slice(..n), labels[..n]);
    }

    [Fact]
    public void The_gan_snippet_runs_and_matches_the_readme()
    {
        string[] lines =
        [
            "var real = (digits * 2f - 1f).Reshape([digits.Shape[0], 28, 28, 1]);",
            "var gan = GanPresets.Dcgan(latentDim: 100, seed: 1);",
            "gan.Fit(real, epochs: 5, batchSize: 64, callbacks: [new ModelCheckpoint(\"gan.strata\")]);",
            "var samples = gan.Generate(64, seed: 7);",
            "Images.SavePng(\"samples.png\", Images.Grid((samples + 1f) * 0.5f, columns: 8));",
            "var cgan = (ConditionalGan)GanPresets.Dcgan(conditional: true, seed: 1);",
            "cgan.Fit(real, Tensor.FromArray([.. labels.Select(l => (float)l)]), epochs: 5, batchSize: 64);",
            "var sevens = cgan.Generate(8, digit: 7);",
        ];
        foreach (string line in lines)
            Assert.Contains(line, Readme);

        var (digits, labels) = FirstImages(64);
        var real = (digits * 2f - 1f).Reshape([digits.Shape[0], 28, 28, 1]);
        var gan = GanPresets.Dcgan(latentDim: 8, width: 4, seed: 1);
        string checkpoint = Path.Combine(_dir.FullName, "gan.strata"), png = Path.Combine(_dir.FullName, "samples.png");
        var history = gan.Fit(real, epochs: 2, batchSize: 32, callbacks: [new ModelCheckpoint(checkpoint)]);
        var samples = gan.Generate(64, seed: 7);
        Images.SavePng(png, Images.Grid((samples + 1f) * 0.5f, columns: 8));
        Assert.Equal([64, 28, 28, 1], samples.Shape.ToArray());
        Assert.All(samples.ToArray(), v => Assert.InRange(v, -1f, 1f));
        Assert.Equal(2, history["d_loss"].Count);
        Assert.Equal(2, Gan.Load(checkpoint).CompletedEpochs);
        Assert.Equal(8 * 30 - 2, StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(png)).Width);

        var cgan = (ConditionalGan)GanPresets.Dcgan(conditional: true, latentDim: 8, width: 4, seed: 1);
        cgan.Fit(real, Tensor.FromArray([.. labels.Select(l => (float)l)]), epochs: 1, batchSize: 32);
        var sevens = cgan.Generate(8, digit: 7);
        Assert.Equal([8, 28, 28, 1], sevens.Shape.ToArray());
    }

    [Fact]
    public void The_hand_written_adversarial_loop_runs_and_matches_the_readme()
    {
        string[] lines =
        [
            "int latent = 100, batch = 64;",
            "var g = GanPresets.Generator(latent, seed: 1);",
            "var d = GanPresets.Discriminator(seed: 2);",
            "var gOptimizer = new Adam(2e-4f, beta1: 0.5f);",
            "var dOptimizer = new Adam(2e-4f, beta1: 0.5f);",
            "var bce = new BinaryCrossentropy(fromLogits: true);",
            "var gParams = g.TrainableWeights.Select(w => w.Value).ToArray();",
            "var dParams = d.TrainableWeights.Select(w => w.Value).ToArray();",
            "var noise = new Rng(3);",
            "for (int start = 0; start + batch <= real.Shape[0]; start += batch)",
            "var x = real.Slice(start..(start + batch));",
            "var fake = g.Forward(Tensor.RandomNormal([batch, latent], noise), training: true).Detach();",
            "var dLoss = bce.Compute(Tensor.Zeros(batch, 1), d.Forward(fake, training: true))",
            "+ bce.Compute(Tensor.Ones(batch, 1), d.Forward(x, training: true));",
            "dOptimizer.ApplyGradients(Model.ComputeGradients(dLoss, dParams).Zip(dParams));",
            "var generated = g.Forward(Tensor.RandomNormal([batch, latent], noise), training: true);",
            "var gLoss = bce.Compute(Tensor.Ones(batch, 1), d.Forward(generated, training: true));",
            "gOptimizer.ApplyGradients(Model.ComputeGradients(gLoss, gParams).Zip(gParams));",
        ];
        foreach (string line in lines)
            Assert.Contains(line, Readme);

        // The README's loop, statement for statement, on 96 images with latent 8 and width 4; each update checked.
        var (digits, _) = FirstImages(96);
        var real = (digits * 2f - 1f).Reshape([digits.Shape[0], 28, 28, 1]);
        int latent = 8, batch = 32;
        var g = GanPresets.Generator(latent, width: 4, seed: 1);
        var d = GanPresets.Discriminator(width: 4, seed: 2);
        var gOptimizer = new Adam(2e-4f, beta1: 0.5f);
        var dOptimizer = new Adam(2e-4f, beta1: 0.5f);
        var bce = new BinaryCrossentropy(fromLogits: true);
        var gParams = g.TrainableWeights.Select(w => w.Value).ToArray();
        var dParams = d.TrainableWeights.Select(w => w.Value).ToArray();
        var noise = new Rng(3);
        int steps = 0;
        for (int start = 0; start + batch <= real.Shape[0]; start += batch)
        {
            var x = real.Slice(start..(start + batch));
            var fake = g.Forward(Tensor.RandomNormal([batch, latent], noise), training: true).Detach();
            var dLoss = bce.Compute(Tensor.Zeros(batch, 1), d.Forward(fake, training: true))
                + bce.Compute(Tensor.Ones(batch, 1), d.Forward(x, training: true));
            var g0 = Values(gParams);
            var d0 = Values(dParams);
            dOptimizer.ApplyGradients(Model.ComputeGradients(dLoss, dParams).Zip(dParams));
            Assert.Equal(g0, Values(gParams)); // the discriminator's update leaves the generator alone
            Assert.NotEqual(d0, Values(dParams));
            var generated = g.Forward(Tensor.RandomNormal([batch, latent], noise), training: true);
            var gLoss = bce.Compute(Tensor.Ones(batch, 1), d.Forward(generated, training: true));
            var d1 = Values(dParams);
            gOptimizer.ApplyGradients(Model.ComputeGradients(gLoss, gParams).Zip(gParams));
            Assert.Equal(d1, Values(dParams)); // the generator's update goes through the discriminator without changing it
            Assert.NotEqual(g0, Values(gParams));
            Assert.True(float.IsFinite(dLoss.ToScalar()) && float.IsFinite(gLoss.ToScalar()));
            steps++;
        }
        Assert.Equal(3, steps);
        Assert.Equal(3, gOptimizer.Iterations);
        Assert.Equal(3, dOptimizer.Iterations);
    }

    private static float[][] Values(Tensor[] parameters) => [.. parameters.Select(p => p.ToArray())];
}

using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Models;

/// <summary>The library GAN: which update touches which network, gradients through the discriminator, a mixture learnt, files, bad input.</summary>
public sealed class GanTests
{
    private static Tensor MnistImages(int n)
    {
        var (x, _) = Mnist.Load(RepoPaths.Mnist, train: false);
        return (x.Slice(..n) * 2f - 1f).Reshape([n, 28, 28, 1]);
    }

    private static (Tensor X, Tensor Y) MnistWithLabels(int n)
    {
        var (x, y) = Mnist.Load(RepoPaths.Mnist, train: false);
        return ((x.Slice(..n) * 2f - 1f).Reshape([n, 28, 28, 1]), Tensor.FromArray(y[..n].Select(v => (float)v).ToArray()));
    }

    private static float[][] Values(Model m) => [.. m.Weights.Select(w => w.Value.ToArray())];

    private static float[][] TrainableValues(Model m) => [.. m.TrainableWeights.Select(w => w.Value.ToArray())];

    private static Gan SmallDcgan(bool conditional = false, ulong seed = 1) =>
        GanPresets.Dcgan(conditional, latentDim: 8, width: 4, seed: seed);

    /// <summary>A DCGAN whose step runs one of the two updates alone.</summary>
    private sealed class OneUpdate(bool discriminator) : Gan(GanPresets.Generator(8, 4, seed: 1), GanPresets.Discriminator(4, seed: 2), seed: 3)
    {
        public override Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null) => TracedStep("one", [x[0]], inputs =>
            new Dictionary<string, Tensor> { ["loss"] = discriminator ? DiscriminatorUpdate(inputs[0], null) : GeneratorUpdate(inputs[0].Shape[0], null) });
    }

    [Fact]
    public void Each_update_changes_only_its_own_network()
    {
        var images = MnistImages(16);
        var dummy = Tensor.Zeros(16);
        foreach (bool discriminator in (bool[])[true, false])
        {
            var gan = new OneUpdate(discriminator);
            GanPresets.Compile(gan);
            var g0 = Values(gan.Generator);
            var d0 = Values(gan.Discriminator);
            for (int i = 0; i < 3; i++) // eager, traced, then the compiled program
                gan.TrainStep([images], dummy);
            Assert.True(gan.HasCompiledPlan("step:one"));
            if (discriminator)
            {
                // The generator ran in training mode (its batch norms' moving statistics move); its trainable weights did not.
                Assert.Equal(TrainableOf(gan.Generator, g0), TrainableValues(gan.Generator));
                Assert.NotEqual(d0, Values(gan.Discriminator));
            }
            else
            {
                Assert.Equal(d0, Values(gan.Discriminator));
                Assert.NotEqual(TrainableOf(gan.Generator, g0), TrainableValues(gan.Generator));
            }
        }
    }

    private static float[][] TrainableOf(Model m, float[][] all) =>
        [.. m.Weights.Select((w, i) => (w, i)).Where(p => p.w.Trainable).Select(p => all[p.i])];

    [Fact]
    public void The_generator_loss_gradient_flows_through_the_discriminator()
    {
        // A tiny pair: latent 2 → Dense(3, tanh) → Dense(2); discriminator Dense(3, tanh) → Dense(1).
        var g = new Sequential([new Input([2]), new Dense(3, "tanh"), new Dense(2)], 3);
        var d = new Sequential([new Input([2]), new Dense(3, "tanh"), new Dense(1)], 4);
        var gan = new Gan(g, d);
        var z = Tensor.RandomNormal([5, 2], seed: 8);
        var bce = new BinaryCrossentropy(fromLogits: true);
        var gParams = g.TrainableWeights.Select(w => w.Value).ToArray();
        foreach (var p in gParams)
            p.RequiresGrad = true;
        var result = GradientChecker.Check(ps => bce.Compute(Tensor.Ones(5, 1), d.Forward(g.Forward(z, training: true), training: true)), gParams,
            epsilon: 1e-3f, atol: 1e-3, rtol: 1e-2);
        Assert.True(result.Passed, result.Worst);

        // ComputeGradients (what the step uses) gives the same numbers as the engine, and nothing for the discriminator.
        var loss = bce.Compute(Tensor.Ones(5, 1), d.Forward(g.Forward(z, training: true), training: true));
        var grads = Model.ComputeGradients(loss, gParams);
        Assert.All(grads, gr => Assert.Contains(gr.ToArray(), v => v != 0));
    }

    [Fact]
    public void A_tiny_gan_learns_both_modes_of_a_one_dimensional_mixture()
    {
        // Real data: ±2 with standard deviation 0.25, half each.
        var rng = new Rng(5);
        int n = 4096;
        var real = new float[n];
        for (int i = 0; i < n; i++)
            real[i] = (i % 2 == 0 ? -2f : 2f) + 0.25f * rng.NextNormal();
        var leaky = ActivationFunction.LeakyRelu(0.2f);
        var g = new Sequential([new Input([4]), new Dense(32, leaky), new Dense(32, leaky), new Dense(1)], 1);
        var d = new Sequential([new Input([1]), new Dense(32, leaky), new Dense(32, leaky), new Dense(1)], 2);
        var gan = new Gan(g, d, seed: 3);
        gan.Compile(new Adam(2e-3f, beta1: 0.5f), new Adam(2e-3f, beta1: 0.5f));
        gan.Fit(Tensor.FromArray(real).Reshape([n, 1]), epochs: 12, batchSize: 64, seed: 4);

        var samples = gan.Generate(2000, seed: 11).ToArray();
        double left = samples.Count(v => v < -1f) / 2000.0, right = samples.Count(v => v > 1f) / 2000.0;
        double between = samples.Count(v => Math.Abs(v) <= 1f) / 2000.0;
        Assert.True(left > 0.25 && right > 0.25, $"both modes: {left:P0} near −2, {right:P0} near +2, {between:P0} between");
        Assert.True(between < 0.15, $"little mass between the modes: {between:P0}");
        double meanLeft = samples.Where(v => v < -1f).Average(), meanRight = samples.Where(v => v > 1f).Average();
        Assert.InRange(meanLeft, -2.5, -1.5);
        Assert.InRange(meanRight, 1.5, 2.5);
    }

    [Fact]
    public void Save_load_and_resume_equal_an_uninterrupted_run_bit_for_bit()
    {
        var images = MnistImages(96);
        var dir = Directory.CreateTempSubdirectory("strata-gan-");
        try
        {
            var whole = SmallDcgan(seed: 7);
            whole.Fit(images, epochs: 2, batchSize: 32, seed: 5);

            var first = SmallDcgan(seed: 7);
            string path = Path.Combine(dir.FullName, "gan.strata");
            first.Fit(images, epochs: 1, batchSize: 32, seed: 5);
            first.Save(path);
            var resumed = Gan.Load(path);
            Assert.Equal(1, resumed.CompletedEpochs);
            Assert.Equal(first.LatentDim, resumed.LatentDim);
            Assert.Equal(Values(first), Values(resumed));
            resumed.Fit(images, epochs: 2, batchSize: 32, seed: 5, initialEpoch: 1);

            var a = Values(whole);
            var b = Values(resumed);
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++)
                Assert.True(a[i].SequenceEqual(b[i]), $"weight {i} ({whole.Weights.ElementAt(i).Name}) differs after resuming");
            Assert.Equal(whole.Generate(4, seed: 1).ToArray(), resumed.Generate(4, seed: 1).ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_generator_saves_alone_and_a_conditional_gan_round_trips()
    {
        var (x, y) = MnistWithLabels(64);
        var gan = (ConditionalGan)SmallDcgan(conditional: true);
        gan.Fit(x, y, epochs: 1, batchSize: 32, seed: 2);
        var dir = Directory.CreateTempSubdirectory("strata-cgan-");
        try
        {
            string genPath = Path.Combine(dir.FullName, "gen.strata"), ganPath = Path.Combine(dir.FullName, "cgan.strata");
            gan.Generator.Save(genPath);
            gan.Save(ganPath);
            var z = gan.SampleLatent(3, seed: 4);
            var labels = Tensor.FromArray([7f, 0f, 3f]).Reshape([3, 1]);
            var expected = gan.Generate(z, [7, 0, 3]).ToArray();
            Assert.Equal(expected, Model.Load(genPath).Predict([z, labels]).ToArray());
            var loaded = Assert.IsType<ConditionalGan>(Gan.Load(ganPath));
            Assert.Equal(10, loaded.Classes);
            Assert.Equal(expected, loaded.Generate(z, [7, 0, 3]).ToArray());
            Assert.Equal(gan.DiscriminatorOptimizer!.Iterations, loaded.DiscriminatorOptimizer!.Iterations);
            Assert.Equal(gan.GeneratorOptimizer!.Iterations, loaded.GeneratorOptimizer!.Iterations);
            Assert.Equal([28, 28, 1], gan.Generate(2, digit: 5).Shape.ToArray()[1..]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Mismatched_networks_are_refused_naming_the_part()
    {
        var g = GanPresets.Generator(latentDim: 8, width: 4);
        var wrongInput = new Sequential([new Input([32, 32, 3]), new Flatten(), new Dense(1)]);
        var e = Assert.Throws<ArgumentException>(() => new Gan(g, wrongInput));
        Assert.Contains("[28, 28, 1]", e.Message);
        Assert.Contains("[32, 32, 3]", e.Message);

        var twoOutputs = new Sequential([new Input([28, 28, 1]), new Flatten(), new Dense(2)]);
        e = Assert.Throws<ArgumentException>(() => new Gan(GanPresets.Generator(latentDim: 8, width: 4), twoOutputs));
        Assert.Contains("one logit per sample", e.Message);
        Assert.Contains("[2]", e.Message);

        var noInput = new Sequential([new Dense(4), new Dense(1)]);
        e = Assert.Throws<ArgumentException>(() => new Gan(noInput, new Sequential([new Input([1]), new Dense(1)])));
        Assert.Contains("latentDim", e.Message);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => new Gan(new Sequential([new Dense(4), new Dense(1)]), new Sequential([new Input([1]), new Dense(1)]), latentDim: 0));
        Assert.Contains("at least 1, got 0", zero.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => GanPresets.Generator(latentDim: 0));

        var gan = SmallDcgan();
        var shape = Assert.Throws<ArgumentException>(() => gan.TrainStep([Tensor.Zeros(2, 28, 28)], Tensor.Zeros(2)));
        Assert.Contains("[batch, 28, 28, 1]", shape.Message);
        Assert.Throws<ArgumentException>(() => gan.Compile(gan.DiscriminatorOptimizer!, gan.DiscriminatorOptimizer!));
        var latent = Assert.Throws<ArgumentException>(() => gan.Generate(Tensor.Zeros(2, 5)));
        Assert.Contains("[count, 8]", latent.Message);
        var uncompiled = new Gan(GanPresets.Generator(latentDim: 8, width: 4), GanPresets.Discriminator(width: 4));
        var notCompiled = Assert.Throws<InvalidOperationException>(() => uncompiled.Fit(MnistImages(4), epochs: 1));
        Assert.Contains("Compile(discriminatorOptimizer, generatorOptimizer)", notCompiled.Message);
    }

    [Fact]
    public void A_conditional_gan_refuses_classes_outside_its_range()
    {
        var gan = (ConditionalGan)SmallDcgan(conditional: true);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => gan.Generate(4, digit: 10));
        Assert.Contains("class 10 is outside 0 … 9", e.Message);
        Assert.Throws<ArgumentException>(() => gan.Generate(gan.SampleLatent(2, 0), [1, -1]));
        var (x, _) = MnistWithLabels(4);
        var labels = Assert.Throws<ArgumentException>(() => gan.Fit(x, Tensor.FromArray([1f, 2f, 12f, 3f]), epochs: 1, batchSize: 4));
        Assert.Contains("label 2 is 12", labels.Message);
        var unlabelled = Assert.Throws<InvalidOperationException>(() => gan.Fit(x, epochs: 1));
        Assert.Contains("class labels", unlabelled.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConditionalGan(GanPresets.ConditionalGenerator(), GanPresets.ConditionalDiscriminator(), classes: 0));
    }

    [Fact]
    public void A_diverging_run_stops_with_a_message_and_keeps_the_last_good_checkpoint()
    {
        var images = MnistImages(64);
        var dir = Directory.CreateTempSubdirectory("strata-gan-nan-");
        try
        {
            string path = Path.Combine(dir.FullName, "gan.strata");
            var gan = SmallDcgan();
            var checkpoint = new ModelCheckpoint(path);
            var poison = new PoisonAtEpoch(images, epoch: 1);
            gan.Fit(images, epochs: 4, batchSize: 32, seed: 1, callbacks: [poison, checkpoint]);
            Assert.True(gan.StopTraining);
            Assert.Contains("discriminator loss became NaN", gan.StopReason);
            Assert.Contains("epoch 2", gan.StopReason);
            Assert.Equal([1], checkpoint.Skipped);
            var saved = Gan.Load(path);
            Assert.Equal(1, saved.CompletedEpochs);
            Assert.All(saved.Weights, w => Assert.All(w.Value.ToArray(), v => Assert.True(float.IsFinite(v))));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Fit_on_a_gan_records_both_losses_and_schedules_both_rates()
    {
        var images = MnistImages(64);
        var gan = SmallDcgan();
        var output = new StringWriter();
        var logger = new ProgressLogger(output, interactive: false);
        var history = gan.Fit(images, epochs: 2, batchSize: 32, seed: 1,
            callbacks: [new LearningRateScheduler((epoch, rate) => epoch == 0 ? rate : rate / 2), logger]);
        Assert.Equal(2, history.Epochs);
        Assert.DoesNotContain("loss", history.Keys);
        Assert.All(history["d_loss"].Concat(history["g_loss"]), v => Assert.True(float.IsFinite(v) && v > 0));
        Assert.Equal([2e-4f, 1e-4f], history["discriminator_learning_rate"]);
        Assert.Equal([2e-4f, 1e-4f], history["generator_learning_rate"]);
        Assert.Contains("d_loss", output.ToString());
        Assert.Contains("g_loss", output.ToString());
        Assert.Null(gan.StopReason);
    }

    /// <summary>Writes a NaN into the real images when an epoch begins (the batches are gathered from them afterwards).</summary>
    private sealed class PoisonAtEpoch(Tensor images, int epoch) : Callback
    {
        public override void OnEpochBegin(int e)
        {
            if (e == epoch)
                images.AsWritableSpan().Fill(float.NaN);
        }
    }
}

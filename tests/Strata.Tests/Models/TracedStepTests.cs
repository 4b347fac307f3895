using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Models;

/// <summary>Custom training steps traced into compiled programs (a GAN's two updates) against the same steps run eagerly.</summary>
public sealed class TracedStepTests
{
    /// <summary>A small DCGAN on the library's <see cref="Gan"/>: Dense → Reshape → Conv2DTranspose + batch norm + leaky ReLU → tanh image; strided Conv2D critic.</summary>
    internal static class TinyGan
    {
        public const int Latent = 8;

        public static Gan Create(ulong seed)
        {
            var g = new Sequential([
                new Input([Latent]), new Dense(7 * 7 * 8), new Reshape([7, 7, 8]),
                new Conv2DTranspose(8, 4, strides: 2, padding: Padding.Same), new BatchNormalization(), new Activation(ActivationFunction.LeakyRelu(0.2f)),
                new Conv2DTranspose(1, 4, strides: 2, padding: Padding.Same, activation: ActivationFunction.Tanh),
            ], seed);
            var d = new Sequential([
                new Input([28, 28, 1]), new Conv2D(8, 4, strides: 2, padding: Padding.Same), new Activation(ActivationFunction.LeakyRelu(0.2f)), new Dropout(0.3f),
                new Flatten(), new Dense(1),
            ], seed + 1);
            var gan = new Gan(g, d, seed: seed + 2, name: "tiny_gan");
            gan.Compile(new Adam(2e-3f, beta1: 0.5f), new Adam(2e-3f, beta1: 0.5f), labelSmoothing: 0.1f);
            return gan;
        }
    }

    private static Tensor Batch(int i, int b) => Tensor.RandomUniform([b, 28, 28, 1], -1f, 1f, (ulong)(100 + i));

    [Fact]
    public void Gan_step_on_the_compiled_program_equals_the_eager_step()
    {
        var planned = TinyGan.Create(1);
        var eager = TinyGan.Create(1);
        eager.PlansEnabled = false;
        var dummy = Tensor.Zeros(4);
        Logs? lp = null, le = null;
        for (int i = 0; i < 6; i++)
        {
            lp = planned.TrainStep([Batch(i, 4)], dummy);
            le = eager.TrainStep([Batch(i, 4)], dummy);
        }
        Assert.Contains("step:gan", planned.ExecutionPath);
        Assert.Contains("compiled plan", planned.ExecutionPath);
        Assert.True(planned.HasCompiledPlan("step:gan"));
        Assert.Equal(le!["d_loss"], lp!["d_loss"]);
        Assert.Equal(le["g_loss"], lp["g_loss"]);
        var wp = planned.Weights.ToArray();
        var we = eager.Weights.ToArray();
        Assert.Equal(we.Length, wp.Length);
        for (int k = 0; k < wp.Length; k++)
        {
            var a = wp[k].Value.ToArray();
            var e = we[k].Value.ToArray();
            for (int j = 0; j < a.Length; j++)
                Assert.True(a[j] == e[j], $"{wp[k].Name}[{j}]: plan {a[j]}, eager {e[j]} (the plan replays the eager step's ops: bit for bit)");
        }
    }

    [Fact]
    public void Replayed_steps_draw_fresh_noise_and_change_the_weights()
    {
        var gan = TinyGan.Create(2);
        var dummy = Tensor.Zeros(4);
        for (int i = 0; i < 3; i++)
            gan.TrainStep([Batch(0, 4)], dummy); // two traces, then the plan
        Assert.True(gan.HasCompiledPlan("step:gan"));
        var z = Tensor.RandomNormal([2, TinyGan.Latent], seed: 9);
        var before = gan.Generator.Forward(z).ToArray();
        var dBefore = gan.Discriminator.Weights.First().Value.ToArray();
        gan.TrainStep([Batch(0, 4)], dummy);
        Assert.NotEqual(before, gan.Generator.Forward(z).ToArray());
        Assert.NotEqual(dBefore, gan.Discriminator.Weights.First().Value.ToArray());
    }

    /// <summary>A step that branches on a value: the two traces differ, and it stays eager, saying why.</summary>
    private sealed class BranchingStep : Model
    {
        private readonly Sequential _net = new([new Dense(2)], 3);
        private readonly Layer[] _layers;
        private readonly Sgd _opt = new(0.1f);

        public BranchingStep() : base("branching")
        {
            _net.Forward(Tensor.Zeros(1, 3));
            _layers = [.. _net.Layers];
        }

        public override IReadOnlyList<Layer> Layers => _layers;

        public override Tensor Forward(Tensor x, bool training = false) => _net.Forward(x, training);

        public int Calls { get; private set; }

        public override Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null) => TracedStep("branch", [x[0]], inputs =>
        {
            Calls++;
            var outp = _net.Forward(inputs[0], training: true);
            var loss = outp.Square().Mean();
            if (Calls % 2 == 0)
                loss = loss * 2f; // an extra op on every other call
            var ps = _net.TrainableWeights.Select(w => w.Value).ToArray();
            _opt.ApplyGradients(ComputeGradients(loss, ps).Zip(ps));
            return new Dictionary<string, Tensor> { ["loss"] = loss };
        });
    }

    [Fact]
    public void A_step_whose_ops_change_stays_eager_and_says_why()
    {
        var m = new BranchingStep();
        for (int i = 0; i < 5; i++)
            m.TrainStep([Tensor.RandomUniform([4, 3], seed: (ulong)i)], Tensor.Zeros(4));
        Assert.Equal(5, m.Calls);
        Assert.Contains("eager", m.ExecutionPath);
        Assert.Contains("changed", m.ExecutionPath);
    }
}

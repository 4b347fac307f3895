using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Layers;

/// <summary>
/// One call checks a layer the way every layer must be checked: output shape against
/// ComputeOutputShape, weight count, config stable, input gradient by finite differences, and one
/// training step (inside a Sequential) that changes every trainable weight.
/// </summary>
internal static class LayerHarness
{
    public static void Run(Func<Layer> create, int[] inputShape, int expectedWeights, long expectedParams, bool gradientCheck = true)
    {
        var layer = create();
        var x = Tensor.RandomUniform([3, .. inputShape], -1f, 1f, 11);
        var y = layer.Forward(x);
        Assert.Equal([3, .. layer.ComputeOutputShape(new Shape(inputShape)).Dims], y.Shape.ToArray());
        Assert.Equal(expectedWeights, layer.Weights.Count);
        Assert.Equal(expectedParams, layer.ParameterCount);
        Assert.Equal(layer.GetConfig(), layer.GetConfig());
        Assert.Equal(layer.Name, layer.GetConfig().Name);

        if (gradientCheck)
        {
            var input = x.Clone();
            input.RequiresGrad = true;
            var check = GradientChecker.Check(t => layer.Forward(t[0]), [input]);
            Assert.True(check.Passed, $"{layer}: {check.Worst}");
        }

        var model = new Sequential([create()], seed: 3);
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        var target = Tensor.RandomUniform([3, .. model.Layers[0].ComputeOutputShape(new Shape(inputShape)).Dims], -1f, 1f, 12);
        model.Forward(x); // build
        var before = model.GetWeights();
        model.TrainStep(x, target);
        var after = model.GetWeights();
        var trainable = model.Weights.Select(w => w.Trainable).ToArray();
        for (int i = 0; i < before.Length; i++)
        {
            if (trainable[i])
                Assert.NotEqual(before[i], after[i]);
        }
    }
}

public sealed class LayerTests
{
    [Fact]
    public void Dense() => LayerHarness.Run(() => new Dense(4, "tanh"), [5], expectedWeights: 2, expectedParams: 5 * 4 + 4);

    [Fact]
    public void Dense_without_bias_on_3d_input() => LayerHarness.Run(() => new Dense(3, useBias: false), [2, 5], 1, 15);

    [Fact]
    public void Activation_layer() => LayerHarness.Run(() => new Activation("gelu"), [4], 0, 0);

    [Fact]
    public void Flatten() => LayerHarness.Run(() => new Flatten(), [2, 3], 0, 0);

    [Fact]
    public void Reshape() => LayerHarness.Run(() => new Reshape([3, -1]), [6], 0, 0);

    [Fact]
    public void Dropout_is_identity_in_inference() => LayerHarness.Run(() => new Dropout(0.5f), [8], 0, 0);

    [Fact]
    public void Dropout_in_training_zeroes_about_rate_and_rescales()
    {
        var d = new Dropout(0.3f);
        var y = d.Forward(Tensor.Ones(100, 100), training: true).ToArray();
        float zeros = y.Count(v => v == 0) / (float)y.Length;
        Assert.InRange(zeros, 0.28f, 0.32f);
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(1 / 0.7f, v, 5));
    }

    [Fact]
    public void Dense_math_is_x_w_plus_b()
    {
        var dense = new Dense(2, kernelInitializer: Initializers.Ones, biasInitializer: Initializers.Ones);
        var y = dense.Forward(Tensor.FromArray([1f, 2f, 3f], 1, 3));
        Assert.Equal([7f, 7f], y.ToArray());
    }

    [Fact]
    public void Bad_input_names_the_layer_and_the_shapes()
    {
        var dense = new Dense(4, name: "dense_bad");
        dense.Forward(Tensor.Zeros(2, 8));
        var ex = Assert.Throws<ArgumentException>(() => dense.Forward(Tensor.Zeros(2, 6)));
        Assert.Contains("'dense_bad'", ex.Message);
        Assert.Contains("[batch, 8]", ex.Message);
        Assert.Contains("[2, 6]", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1f));
        Assert.Contains("unknown name", Assert.Throws<ArgumentException>(() => new Dense(2, "relux")).Message);
        Assert.Contains("Reshape", Assert.Throws<ArgumentException>(() => new Reshape([4]).Forward(Tensor.Zeros(2, 6))).Message);
    }

    public static TheoryData<string> ActivationNames() => new() { "linear", "exponential", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "elu", "selu", "gelu", "swish", "softplus" };

    [Theory]
    [MemberData(nameof(ActivationNames))]
    public void Every_activation_is_gradient_checked(string name)
    {
        var f = ActivationFunction.Parse(name);
        var x = Tensor.FromArray([-1.7f, -0.45f, 0.33f, 1.2f, 2.1f, -0.08f], 2, 3);
        x.RequiresGrad = true;
        var check = GradientChecker.Check(t => f.Apply(t[0]), [x]);
        Assert.True(check.Passed, $"{name}: {check.Worst}");
    }

    [Fact]
    public void Activations_match_their_formulas()
    {
        var x = Tensor.FromArray([-1f, 0.5f]);
        Assert.Equal(new[] { MathF.Exp(-1) - 1, 0.5f }, ActivationFunction.Elu().Apply(x).ToArray());
        Assert.Equal(1.0507009873554805 * 0.5, ActivationFunction.Selu.Apply(x)[1], 5);
        // GELU(0.5) = 0.5·Φ(0.5) = 0.5·0.6914625.
        Assert.Equal(0.5 * 0.6914625, ActivationFunction.Gelu.Apply(x)[1], 5);
        Assert.Equal(0.5 / (1 + Math.Exp(-0.5)), ActivationFunction.Swish.Apply(x)[1], 5);
        Assert.Equal(-0.2f, ActivationFunction.LeakyRelu().Apply(x)[0], 5);
        Assert.Equal(Math.Log(1 + Math.E), ActivationFunction.Softplus.Apply(Tensor.FromArray([1f]))[0], 5);
    }

    [Fact]
    public void Initializers_have_the_documented_spread()
    {
        var rng = new Rng(1);
        var glorot = Initializers.GlorotUniform.Create([200, 300], rng);
        float limit = MathF.Sqrt(6f / 500);
        Assert.InRange(glorot.Max().ToScalar(), 0.95f * limit, limit);
        Assert.InRange(glorot.Min().ToScalar(), -limit, -0.95f * limit);
        var he = Initializers.HeNormal.Create([400, 100], rng);
        Assert.InRange(MathF.Sqrt(he.Variance().ToScalar()), 0.95f * MathF.Sqrt(2f / 400), 1.05f * MathF.Sqrt(2f / 400));
        Assert.True(he.Abs().Max().ToScalar() <= 2 * MathF.Sqrt(2f / 400) / 0.87962566f + 1e-6f); // truncated at 2σ
        var lecun = Initializers.LecunUniform.Create([3, 3, 8, 16], rng); // conv: fan_in = 3·3·8
        Assert.InRange(lecun.Abs().Max().ToScalar(), 0.9f * MathF.Sqrt(3f / 72), MathF.Sqrt(3f / 72));
        Assert.Equal(Initializers.GlorotUniform.Create([4, 4], new Rng(5)).ToArray(), Initializers.GlorotUniform.Create([4, 4], new Rng(5)).ToArray());
    }
}

using Strata.Layers;
using Strata.Models;

namespace Strata.Tests.Layers;

public sealed class LayerTests
{
    [Fact]
    public void Dropout_is_identity_in_inference()
    {
        var x = Tensor.RandomUniform([4, 8], -1f, 1f, 1);
        var dropout = new Dropout(0.5f);
        Assert.Equal(x.ToArray(), dropout.Forward(x).ToArray());
        Assert.Equal(x.ToArray(), dropout.Forward(x, training: false).ToArray());
        Assert.NotEqual(x.ToArray(), dropout.Forward(x, training: true).ToArray()); // it does drop in training
        // Inside a model too: Predict is inference, on the eager path and on the compiled plan (third call on).
        var model = new Sequential([new Input([8]), new Dropout(0.5f)], seed: 2);
        for (int call = 0; call < 3; call++)
            Assert.Equal(x.ToArray(), model.Predict(x).ToArray());
        Assert.True(model.HasCompiledPlan("predict"), model.ExecutionPath);
    }

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
    public void Random_initializers_keep_their_settings_in_their_name()
    {
        Assert.Equal("random_normal", Initializers.RandomNormal().Name);
        Assert.Equal("random_uniform(minval=-3, maxval=0.25)", Initializers.RandomUniform(-3f, 0.25f).Name);
        foreach (var init in new[] { Initializers.RandomNormal(0.5f, 2f), Initializers.RandomUniform(-3f, 0.25f), Initializers.RandomNormal(1e-7f, 0.1f) })
        {
            var parsed = Initializers.Parse(init.Name);
            Assert.Equal(init.Name, parsed.Name);
            Assert.Equal(init.Create([50], new Rng(3)).ToArray(), parsed.Create([50], new Rng(3)).ToArray());
        }
        Assert.Throws<ArgumentException>(() => Initializers.Parse("random_normal(minval=1, maxval=2)"));
        Assert.Throws<ArgumentException>(() => Initializers.Parse("random_normal(mean=x, stddev=2)"));
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

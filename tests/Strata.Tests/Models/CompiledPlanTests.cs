using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Models;

/// <summary>
/// Compiled plans for models the old planned path never reached — batch normalization, functional
/// residual blocks, several inputs, custom layers written from ops, sample weights — each against
/// the same model run eagerly; and the cache's rules: data-dependent steps stay eager and say why,
/// concurrent predictions are safe.
/// </summary>
public sealed class CompiledPlanTests
{
    /// <summary>A dense layer written from ops, as a user would write one.</summary>
    private sealed class MyDense(int units) : Layer(null)
    {
        private Weight? _w, _b;

        public override Shape ComputeOutputShape(Shape inputShape) => new(units);

        protected override void OnBuild(Shape inputShape)
        {
            _w = AddWeight("kernel", [inputShape[-1], units], Initializers.GlorotUniform);
            _b = AddWeight("bias", [units], Initializers.Zeros);
        }

        protected override Tensor Call(Tensor x, bool training) => (x.MatMul(_w!.Value) + _b!.Value).Gelu();

        public override LayerConfig GetConfig() => new NamedLayerConfig(Name, "MyDense");
    }

    /// <summary>A layer whose ops depend on the data: the sign of the batch's mean picks the branch.</summary>
    private sealed class Branchy() : Layer(null)
    {
        public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

        protected override Tensor Call(Tensor x, bool training) => x.Mean().ToScalar() > 0 ? x.Relu() : x.Tanh();

        public override LayerConfig GetConfig() => new NamedLayerConfig(Name, "Branchy");
    }

    public static TheoryData<string> Cases => ["batchnorm", "residual", "two-inputs", "custom", "sample-weights", "dropout-bn-global", "categorical-activation"];

    private static (Model Model, Tensor[] X, Tensor Y, Tensor? W) Build(string name, ulong seed)
    {
        var labels = Tensor.FromArray(Enumerable.Range(0, 8).Select(i => (float)(i % 3)).ToArray());
        Tensor? w = null;
        Loss loss = new SparseCategoricalCrossentropy(); // on Dense(softmax): the fused loss on its logits
        Model model;
        Tensor[] x;
        switch (name)
        {
            case "categorical-activation": // one-hot targets, softmax as a layer of its own: the fused categorical loss
                model = new Sequential([new Input([5]), new Dense(7, "relu"), new Dense(3), new Activation("softmax")], seed);
                x = [Tensor.RandomUniform([8, 5], -1f, 1f, 3)];
                labels = Tensor.OneHot(Enumerable.Range(0, 8).Select(i => i % 3).ToArray(), 3);
                loss = new CategoricalCrossentropy();
                w = Tensor.RandomUniform([8], 0f, 2f, 5);
                break;
            case "batchnorm":
                model = new Sequential([new Input([6, 6, 2]), new Conv2D(4, 3, activation: "relu"), new BatchNormalization(), new MaxPooling2D(2),
                    new Flatten(), new Dense(3, "softmax")], seed);
                x = [Tensor.RandomUniform([8, 6, 6, 2], -1f, 1f, 3)];
                break;
            case "dropout-bn-global":
                model = new Sequential([new Input([6, 6, 2]), new Conv2D(4, 3, activation: "gelu"), new BatchNormalization(), new Dropout(0.3f),
                    new GlobalAveragePooling2D(), new Dense(3, "softmax")], seed);
                x = [Tensor.RandomUniform([8, 6, 6, 2], -1f, 1f, 3)];
                break;
            case "residual":
            {
                var i = Input.Create([5]);
                var h = new Dense(6, "relu").Apply(i);
                var r = new Add().Apply(h, new Dense(6, "tanh").Apply(h));
                model = new Model(i, new Dense(3, "softmax").Apply(r), seed);
                x = [Tensor.RandomUniform([8, 5], -1f, 1f, 3)];
                break;
            }
            case "two-inputs":
            {
                var a = Input.Create([4]);
                var b = Input.Create([3]);
                var c = new Concatenate().Apply(new Dense(5, "relu").Apply(a), b);
                model = new Model([a, b], new Dense(3, "softmax").Apply(c), seed);
                x = [Tensor.RandomUniform([8, 4], -1f, 1f, 3), Tensor.RandomUniform([8, 3], -1f, 1f, 4)];
                break;
            }
            case "custom":
                model = new Sequential([new Input([5]), new MyDense(7), new Dense(3, "softmax")], seed);
                x = [Tensor.RandomUniform([8, 5], -1f, 1f, 3)];
                break;
            default: // sample weights
                model = new Sequential([new Input([5]), new Dense(7, "relu", kernelRegularizer: Regularizer.OfL2(0.01f)), new Dense(3, "softmax")], seed);
                x = [Tensor.RandomUniform([8, 5], -1f, 1f, 3)];
                w = Tensor.RandomUniform([8], 0f, 2f, 5);
                break;
        }
        model.Compile(new Adam(0.01f), loss, "accuracy");
        return (model, x, labels, w);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Training_on_the_plan_matches_eager_execution(string name)
    {
        var (planned, x, y, w) = Build(name, 7);
        var (eager, _, _, _) = Build(name, 7);
        eager.PlansEnabled = false;
        for (int step = 0; step < 6; step++)
        {
            var a = planned.TrainStep(x, y, w);
            var b = eager.TrainStep(x, y, w);
            foreach (var (k, v) in b)
                Assert.True(Math.Abs(a[k] - v) <= 1e-5f * (1 + Math.Abs(v)), $"{name} step {step}: {k} {a[k]} vs {v}");
        }
        Assert.True(planned.HasCompiledPlan("train"), planned.ExecutionPath);
        var (pw, ew) = (planned.GetWeights(), eager.GetWeights()); // moving statistics included
        for (int i = 0; i < pw.Length; i++)
            for (int j = 0; j < pw[i].Length; j++)
                Assert.True(Math.Abs(pw[i][j] - ew[i][j]) <= 1e-5f * (1 + Math.Abs(ew[i][j])), $"{name} weight {i}[{j}]: {pw[i][j]} vs {ew[i][j]}");

        // Inference too: the plan (third call on) against eager.
        for (int k = 0; k < 3; k++)
            planned.Predict(x);
        Assert.True(planned.HasCompiledPlan("predict"), planned.ExecutionPath);
        eager.SetWeights(planned.GetWeights());
        var (p, e) = (planned.Predict(x).ToArray(), eager.Predict(x).ToArray());
        for (int i = 0; i < p.Length; i++)
            Assert.True(Math.Abs(p[i] - e[i]) <= 1e-6f, $"{name} output {i}: {p[i]} vs {e[i]}");
    }

    [Fact]
    public void Gradient_buffers_are_shared_when_their_lifetimes_do_not_overlap()
    {
        // Eight Dense layers of 64: each intermediate gradient is dead once the layer below has run its backward.
        Sequential Build()
        {
            var layers = new List<Layer> { new Input([20]) };
            for (int i = 0; i < 8; i++)
                layers.Add(new Dense(64, "tanh"));
            layers.Add(new Dense(3, "softmax"));
            var m = new Sequential(layers, 4);
            m.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy());
            return m;
        }
        var planned = Build();
        var eager = Build();
        eager.PlansEnabled = false;
        var x = Tensor.RandomNormal([32, 20], seed: 1);
        var y = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (float)(i % 3)).ToArray());
        for (int i = 0; i < 5; i++)
        {
            planned.TrainStep(x, y);
            eager.TrainStep(x, y);
        }
        var memory = planned.PlanMemory("train");
        Assert.NotNull(memory);
        // Without sharing: 8 hidden gradients of 32×64 and the output's 32×3 (and the loss's few scalars).
        long unshared = 4L * (8 * 32 * 64 + 32 * 3);
        Assert.True(memory.Value.Gradients < unshared / 2, $"gradient buffers {memory.Value.Gradients} B, unshared {unshared} B");
        var wp = planned.Weights.Select(w => w.Value.ToArray()).ToArray();
        var we = eager.Weights.Select(w => w.Value.ToArray()).ToArray();
        for (int k = 0; k < wp.Length; k++)
        {
            for (int j = 0; j < wp[k].Length; j++)
                Assert.True(Math.Abs(wp[k][j] - we[k][j]) <= 1e-5f * (1 + Math.Abs(we[k][j])), $"weight {k}[{j}]: plan {wp[k][j]}, eager {we[k][j]}");
        }
    }

    [Fact]
    public void Inference_plans_share_activation_buffers_and_predict_as_eager_execution_does()
    {
        Sequential Build()
        {
            var layers = new List<Layer> { new Input([20]) };
            for (int i = 0; i < 8; i++)
                layers.Add(new Dense(64, "relu"));
            layers.Add(new Dense(3, "softmax"));
            return new Sequential(layers, 5);
        }
        var planned = Build();
        var eager = Build();
        eager.PlansEnabled = false;
        for (int r = 0; r < 4; r++)
        {
            var x = Tensor.RandomNormal([16, 20], seed: (ulong)(20 + r));
            var a = planned.Predict(x).ToArray();
            var e = eager.Predict(x).ToArray();
            for (int j = 0; j < a.Length; j++)
                Assert.True(Math.Abs(a[j] - e[j]) <= 1e-6f, $"call {r}, value {j}: plan {a[j]}, eager {e[j]}");
        }
        var memory = planned.PlanMemory("predict");
        Assert.NotNull(memory);
        long unshared = 4L * (8 * 16 * 64 + 16 * 3);
        Assert.True(memory.Value.Activations < unshared / 2, $"activations {memory.Value.Activations} B, unshared {unshared} B");
    }

    [Fact]
    public void A_step_whose_ops_depend_on_the_data_stays_eager_and_says_why()
    {
        var model = new Sequential([new Input([3]), new Branchy(), new Dense(2)], seed: 1);
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        var up = Tensor.Full(1f, 4, 3);
        var down = Tensor.Full(-1f, 4, 3);
        var t = Tensor.Zeros(4, 2);
        model.TrainStep(up, t);   // traced: relu
        model.TrainStep(down, t); // traced: tanh — not the same step
        Assert.False(model.HasCompiledPlan("train"));
        Assert.Contains("data-dependent", model.ExecutionPath);
        // Still right: eager from now on, each branch as the data asks.
        var reference = new Sequential([new Input([3]), new Branchy(), new Dense(2)], seed: 1) { PlansEnabled = false };
        reference.Compile(new Sgd(0.1f), new MeanSquaredError());
        reference.TrainStep(up, t);
        reference.TrainStep(down, t);
        for (int s = 0; s < 3; s++)
            Assert.Equal(reference.TrainStep(s % 2 == 0 ? up : down, t)["loss"], model.TrainStep(s % 2 == 0 ? up : down, t)["loss"]);
    }

    [Fact]
    public void Concurrent_predictions_on_one_model_equal_sequential_ones()
    {
        var model = new Sequential([new Input([6]), new Dense(16, "relu"), new BatchNormalization(), new Dense(4, "softmax")], seed: 3);
        var inputs = Enumerable.Range(0, 8).Select(i => Tensor.RandomUniform([5, 6], -1f, 1f, (ulong)(10 + i))).ToArray();
        var expected = inputs.Select(x => model.Predict(x).ToArray()).ToArray();
        var failures = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            for (int k = 0; k < 1000; k++)
            {
                int i = (t + k) % inputs.Length;
                if (!model.Predict(inputs[i]).ToArray().SequenceEqual(expected[i]))
                    Interlocked.Increment(ref failures);
            }
        });
        Assert.Equal(0, failures);
        Assert.True(model.HasCompiledPlan("predict"), model.ExecutionPath);
    }

    [Fact]
    public void Predictions_are_not_overwritten_by_later_ones()
    {
        var model = new Sequential([new Input([3]), new Dense(4, "tanh")], seed: 1);
        var a = Tensor.RandomUniform([2, 3], -1f, 1f, 1);
        var results = Enumerable.Range(0, 4).Select(_ => model.Predict(a)).ToArray(); // the last ones on a plan
        var copy = results[3].ToArray();
        model.Predict(Tensor.RandomUniform([2, 3], -1f, 1f, 2));
        Assert.Equal(copy, results[3].ToArray());
        Assert.Equal(results[0].ToArray(), results[3].ToArray());
    }
}

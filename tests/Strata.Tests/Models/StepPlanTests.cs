using Strata.Autograd;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Models;

/// <summary>The planned (graph-free) training and inference paths against the autograd graph.</summary>
public sealed class StepPlanTests
{
    public static TheoryData<string> Cases => ["mnist-like", "logits", "mse", "frozen", "regularized", "cnn", "cnn-global"];

    private static (Sequential Model, Tensor X, Tensor Y) Build(string name, ulong seed)
    {
        Sequential model;
        Tensor y;
        var x = Tensor.RandomUniform([12, 3, 4], -1f, 1f, 5);
        var labels = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (float)(i % 5)).ToArray());
        switch (name)
        {
            case "mnist-like":
                model = new Sequential([new Input([3, 4]), new Flatten(), new Dense(16, "relu"), new Dropout(0.3f),
                    new Dense(8, "tanh"), new Activation("sigmoid"), new Dense(5, "softmax")], seed);
                model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
                y = labels;
                break;
            case "logits":
                model = new Sequential([new Flatten(), new Dense(10, ActivationFunction.LeakyRelu(0.1f)), new Reshape([2, 5]),
                    new Flatten(), new Dense(5)], seed);
                model.Compile(new Sgd(0.1f, momentum: 0.9f), new SparseCategoricalCrossentropy(fromLogits: true), "accuracy");
                y = labels.Reshape(12, 1);
                break;
            case "mse":
                model = new Sequential([new Dense(6, "sigmoid"), new Dense(2)], seed);
                model.Compile(new RmsProp(0.01f), new MeanSquaredError(), "mae");
                y = Tensor.RandomUniform([12, 3, 2], -1f, 1f, 6);
                break;
            case "regularized": // weight penalties: their gradients join the planned step
                model = new Sequential([new Flatten(), new Dense(9, "relu", kernelRegularizer: Regularizer.OfL1L2(0.01f, 0.02f),
                    biasRegularizer: Regularizer.OfL2(0.05f)), new Dense(5, "softmax", kernelRegularizer: Regularizer.OfL1(0.03f))], seed);
                model.Compile(new Sgd(0.05f), new SparseCategoricalCrossentropy(), "accuracy");
                y = labels;
                break;
            case "cnn": // padded conv with a penalty, max pooling, a pointwise conv (the in-place product), global max
                model = new Sequential([new Input([3, 4]), new Reshape([3, 4, 1]),
                    new Conv2D(4, (2, 2), padding: Padding.Same, activation: "relu", kernelRegularizer: Regularizer.OfL2(0.01f)),
                    new MaxPooling2D(2), new Conv2D(6, (1, 1), activation: "tanh"), new GlobalMaxPooling2D(), new Dense(5, "softmax")], seed);
                model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
                y = labels;
                break;
            case "cnn-global": // strided and dilated convs, overlapping average pooling, global average, logits
                model = new Sequential([new Reshape([3, 4, 1]),
                    new Conv2D(3, (3, 3), strides: (1, 1), padding: Padding.Same, dilationRate: (2, 1), activation: "sigmoid"),
                    new AveragePooling2D((2, 2), strides: (1, 1), padding: Padding.Same),
                    new Conv2D(8, (2, 3), strides: (2, 2), padding: Padding.Same, activation: ActivationFunction.LeakyRelu(0.2f)),
                    new MaxPooling2D((2, 2), strides: (1, 1), padding: Padding.Same), new AveragePooling2D(2, name: "pool"),
                    new Flatten(), new Dense(5)], seed);
                model.Compile(new Sgd(0.1f, momentum: 0.9f), new SparseCategoricalCrossentropy(fromLogits: true), "accuracy");
                y = labels;
                break;
            default: // a frozen first layer: its weights must not move
                model = new Sequential([new Input([3, 4]), new Flatten(), new Dense(7, "relu"), new Dense(5, "softmax")], seed);
                model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
                foreach (var w in model.Layers[2].Weights)
                    w.Trainable = false;
                y = labels;
                break;
        }
        return (model, x, y);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Planned_training_steps_match_the_graph(string name)
    {
        var (planned, x, y) = Build(name, seed: 7);
        var (graph, _, _) = Build(name, seed: 7);
        graph.PlansEnabled = false;
        graph.TrainStep(x, y); // builds lazily-built layers; the planned model does the same on its first step
        planned.TrainStep(x, y);
        for (int step = 0; step < 4; step++)
        {
            var a = planned.TrainStep(x, y);
            var b = graph.TrainStep(x, y);
            // Two steps trace (after the one that builds a lazily built model); later steps replay the plan.
            if (step == 3)
                Assert.True(planned.HasCompiledPlan("train"), planned.ExecutionPath);
            foreach (var (k, v) in b)
                Assert.True(Math.Abs(a[k] - v) <= 1e-5f * (1 + Math.Abs(v)), $"{name} step {step}: {k} {a[k]} vs {v}");
        }
        var wa = planned.GetWeights();
        var wb = graph.GetWeights();
        for (int i = 0; i < wa.Length; i++)
        {
            for (int j = 0; j < wa[i].Length; j++)
                Assert.True(Math.Abs(wa[i][j] - wb[i][j]) <= 1e-5f, $"{name}: weight {i}[{j}] {wa[i][j]} vs {wb[i][j]}");
        }
        if (name == "frozen")
        {
            var (fresh, _, _) = Build(name, seed: 7);
            fresh.Forward(x);
            Assert.Equal(fresh.GetWeights()[0], wa[0]);
            Assert.NotEqual(fresh.GetWeights()[2], wa[2]);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Planned_inference_matches_the_graph(string name)
    {
        var (model, x, y) = Build(name, seed: 3);
        model.TrainStep(x, y);
        var planned = model.Predict(x, batchSize: 5);
        model.PlansEnabled = false;
        var graph = model.Predict(x, batchSize: 5);
        Assert.Equal(graph.Shape, planned.Shape);
        var (p, g) = (planned.ToArray(), graph.ToArray());
        for (int i = 0; i < p.Length; i++)
            Assert.True(Math.Abs(p[i] - g[i]) <= 1e-6f, $"{name}: output {i} {p[i]} vs {g[i]}");
        // Evaluate goes through the same plans.
        model.PlansEnabled = true;
        var e1 = model.Evaluate(x, y, batchSize: 5);
        model.PlansEnabled = false;
        var e2 = model.Evaluate(x, y, batchSize: 5);
        Assert.Equal(e2["loss"], e1["loss"], 5);
    }

    [Fact]
    public void Large_inference_batches_run_in_slices_with_the_same_results()
    {
        // 26×26×32 activations (about 90 KB per sample): a batch of 300 runs in several slices.
        var model = new Sequential([new Input([28, 28, 1]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2), new Dropout(0.5f),
            new Flatten(), new Dense(10, "softmax")], seed: 5);
        var x = Tensor.RandomUniform([300, 28, 28, 1], 0f, 1f, 6);
        model.Predict(x, batchSize: 300); // learns the activation size per sample
        model.Predict(x, batchSize: 300);
        var planned = model.Predict(x, batchSize: 300);
        Assert.True(model.HasCompiledPlan("predict"));
        // The compiled plan runs slices: its signature has fewer rows than the batch.
        Assert.Contains(model.ExecutionPath.Split(Environment.NewLine), l => l.Contains("compiled") && !l.Contains("[300,"));
        model.PlansEnabled = false;
        var graph = model.Predict(x, batchSize: 300);
        var (p, g) = (planned.ToArray(), graph.ToArray());
        for (int i = 0; i < p.Length; i++)
            Assert.True(Math.Abs(p[i] - g[i]) <= 1e-6f, $"output {i}: {p[i]} vs {g[i]}");
    }

    [Fact]
    public void Planned_outputs_do_not_alias_between_predictions()
    {
        var (model, x, _) = Build("mse", seed: 1);
        Tensor first;
        using (GradMode.Disable())
            first = model.Forward(x);
        var copy = first.ToArray();
        using (GradMode.Disable())
            model.Forward(Tensor.RandomUniform([12, 3, 4], -1f, 1f, 99));
        Assert.Equal(copy, first.ToArray());
    }

    [Fact]
    public void A_layer_whose_activation_is_not_fused_still_trains_on_a_plan()
    {
        var model = new Sequential([new Dense(4, "gelu"), new Dense(2)], seed: 1);
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        var x = Tensor.RandomUniform([6, 3], -1f, 1f, 1);
        model.TrainStep(x, Tensor.Zeros(6, 2)); // builds
        model.TrainStep(x, Tensor.Zeros(6, 2)); // first trace
        Assert.False(model.HasCompiledPlan("train")); // not confirmed yet
        model.TrainStep(x, Tensor.Zeros(6, 2));
        Assert.True(model.HasCompiledPlan("train"), model.ExecutionPath);
    }

    [Fact]
    public void Planned_loss_rejects_labels_out_of_range_with_the_loss_name()
    {
        var (model, x, _) = Build("mnist-like", seed: 1);
        var bad = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => i == 4 ? 7f : 0f).ToArray());
        model.TrainStep(x, Tensor.Zeros(12));
        var ex = Assert.Throws<ArgumentException>(() => model.TrainStep(x, bad));
        Assert.Contains("sparse_categorical_crossentropy", ex.Message);
        Assert.Contains("label 7 at position 4", ex.Message);
        Assert.Contains("0..4", ex.Message);
    }
}

using Strata.Autograd;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Models;

public sealed class FunctionalTests
{
    private static (Tensor X, Tensor Y) Blobs(int n, ulong seed) => TestData.Blobs(n, seed);

    /// <summary>x → Dense(16, relu) = h → Dense(16, relu) → Add(h, ·) → Dense(3).</summary>
    private static (Model Model, Dense D1, Dense D2, Dense Head) Residual(ulong seed)
    {
        var x = Input.Create([2], "features");
        var d1 = new Dense(16, "relu");
        var d2 = new Dense(16, "relu");
        var head = new Dense(3);
        var h = d1.Apply(x);
        var sum = new Add().Apply(h, d2.Apply(h));
        return (new Model(x, head.Apply(sum), seed), d1, d2, head);
    }

    [Fact]
    public void Skip_connection_computes_the_sum_of_both_paths()
    {
        var (model, d1, d2, head) = Residual(seed: 3);
        var x = TestData.Tensor(1, 5, 2);
        var h = (Tensor.MatMul(x, d1.Kernel.Value) + d1.Bias!.Value).Relu();
        var expected = Tensor.MatMul(h + (Tensor.MatMul(h, d2.Kernel.Value) + d2.Bias!.Value).Relu(), head.Kernel.Value) + head.Bias!.Value;
        Assert.Equal(expected.ToArray(), model.Forward(x).ToArray());
    }

    [Fact]
    public void Gradients_flow_through_both_branches_of_the_skip_connection()
    {
        var (model, _, _, _) = Residual(seed: 4);
        var input = TestData.Param(2, 3, 2);
        var check = GradientChecker.Check(t => model.Forward(t[0]), [input]);
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void Residual_model_trains_and_reports_in_the_summary()
    {
        var (model, _, _, _) = Residual(seed: 5);
        var (x, y) = Blobs(300, 1);
        model.Compile(new Adam(0.02f), new SparseCategoricalCrossentropy(fromLogits: true), "accuracy");
        var history = model.Fit(x, y, epochs: 15, batchSize: 16, seed: 2);
        var (testX, testY) = Blobs(150, 9);
        Assert.True(model.Evaluate(testX, testY)["accuracy"] >= 0.93f, $"accuracy after training: {history["accuracy"][^1]}");

        string summary = model.Summary();
        Assert.Contains("Connected to", summary);
        Assert.Matches(@"add\S* \(Add\)\s+\(None, 16\)\s+0\s+dense\S*, dense\S*", summary);
        // 2·16+16 + 16·16+16 + 16·3+3 = 48 + 272 + 51.
        Assert.Contains("Total params: 371", summary);
    }

    [Fact]
    public void Two_inputs_are_fed_in_order_and_train_together()
    {
        // The class is which of two sums is larger: one from each input, so both are needed.
        var rng = new Rng(7);
        int n = 600;
        var a = Tensor.RandomUniform([n, 2], -1f, 1f, 11);
        var b = Tensor.RandomUniform([n, 3], -1f, 1f, 12);
        var y = new float[n];
        for (int i = 0; i < n; i++)
            y[i] = a[i, 0] + a[i, 1] > b[i, 0] + b[i, 1] + b[i, 2] ? 1 : 0;
        var inA = Input.Create([2], "a");
        var inB = Input.Create([3], "b");
        var joined = new Concatenate().Apply(inA, inB);
        var output = new Dense(1, "sigmoid").Apply(new Dense(8, "tanh").Apply(joined));
        var model = new Model([inA, inB], output, seed: 1);
        Assert.Equal(2, model.InputCount);
        model.Compile(new Adam(0.05f), new BinaryCrossentropy(), "accuracy");
        model.Fit([a, b], Tensor.FromArray(y).Reshape(n, 1), epochs: 20, batchSize: 32, seed: 3, validationSplit: 0.2f);
        var logs = model.Evaluate([a, b], Tensor.FromArray(y).Reshape(n, 1));
        Assert.True(logs["accuracy"] >= 0.95f, $"accuracy {logs["accuracy"]}");

        // Swapping the inputs is refused with both shapes quoted.
        var ex = Assert.Throws<ArgumentException>(() => model.Predict([b, a]));
        Assert.Contains("[batch, 2]", ex.Message);
        Assert.Equal(n, model.Predict([a, b], batchSize: 64).Shape[0]);
    }

    [Fact]
    public void Same_seed_builds_the_same_weights_and_layers_get_distinct_streams()
    {
        float[][] Weights(ulong seed) => Residual(seed).Model.GetWeights();
        Assert.Equal(Weights(8), Weights(8));
        Assert.NotEqual(Weights(8)[0], Weights(9)[0]);
        var (model, d1, d2, _) = Residual(seed: 8);
        Assert.NotEqual(d1.Kernel.Value.ToArray()[..16], d2.Kernel.Value.ToArray()[..16]);
        Assert.Equal(5, model.Layers.Count); // input, dense, dense, add, dense
    }

    [Fact]
    public void A_shared_layer_appears_once_and_its_weights_are_counted_once()
    {
        var x = Input.Create([4]);
        var shared = new Dense(4);
        var y = shared.Apply(shared.Apply(x));
        var model = new Model(x, y);
        Assert.Single(model.Layers, l => l == shared);
        Assert.Equal(2, model.Weights.Count());
        var input = TestData.Tensor(3, 2, 4);
        var once = Tensor.MatMul(input, shared.Kernel.Value) + shared.Bias!.Value;
        Assert.Equal((Tensor.MatMul(once, shared.Kernel.Value) + shared.Bias!.Value).ToArray(), model.Forward(input).ToArray());
    }

    [Fact]
    public void Merge_layers_compute_their_element_wise_results()
    {
        var a = Tensor.FromArray([1f, -2f, 3f, 4f], 2, 2);
        var b = Tensor.FromArray([2f, 2f, -1f, 5f], 2, 2);
        Assert.Equal([3f, 0f, 2f, 9f], new Add().Forward([a, b]).ToArray());
        Assert.Equal([-1f, -4f, 4f, -1f], new Subtract().Forward([a, b]).ToArray());
        Assert.Equal([2f, -4f, -3f, 20f], new Multiply().Forward([a, b]).ToArray());
        Assert.Equal([1.5f, 0f, 1f, 4.5f], new Average().Forward([a, b]).ToArray());
        Assert.Equal([2f, 2f, 3f, 5f], new Maximum().Forward([a, b]).ToArray());
        Assert.Equal([1f, -2f, -1f, 4f], new Minimum().Forward([a, b]).ToArray());
        Assert.Equal([1f, -2f, 2f, 2f, 3f, 4f, -1f, 5f], new Concatenate().Forward([a, b]).ToArray());

        // Axis 1 counts the batch axis, as in Keras: [2, 1, 2] + [2, 2, 2] → [2, 3, 2].
        var c = new Concatenate(axis: 1).Forward([a.Reshape(2, 1, 2), Tensor.Zeros(2, 2, 2)]);
        Assert.Equal([2, 3, 2], c.Shape.ToArray());
        Assert.Equal([1f, -2f, 0f, 0f, 0f, 0f, 3f, 4f, 0f, 0f, 0f, 0f], c.ToArray());
    }

    [Fact]
    public void Merge_layers_have_correct_gradients()
    {
        foreach (var layer in new MergeLayer[] { new Add(), new Subtract(), new Multiply(), new Average(), new Maximum(), new Concatenate() })
        {
            var check = GradientChecker.Check(t => layer.Forward([t[0], t[1]]), [TestData.Param(1, 3, 4), TestData.Param(2, 3, 4)]);
            Assert.True(check.Passed, $"{layer}: {check}");
        }
    }

    [Fact]
    public void Bad_graphs_and_inputs_get_clear_errors()
    {
        var x = Input.Create([3], "x");
        var stray = Input.Create([3], "stray");
        var y = new Add().Apply(new Dense(3).Apply(x), stray);
        var notIn = Assert.Throws<ArgumentException>(() => new Model(x, y));
        Assert.Contains("'stray'", notIn.Message);

        var shapes = Assert.Throws<ArgumentException>(() => new Add(name: "sum").Apply(x, Input.Create([4])));
        Assert.Contains("'sum'", shapes.Message);
        Assert.Contains("[batch, 3], [batch, 4]", shapes.Message);

        var concat = Assert.Throws<ArgumentException>(() => new Concatenate(axis: 1, name: "cat").Apply(Input.Create([2, 3]), Input.Create([2, 4])));
        Assert.Contains("'cat'", concat.Message);

        Assert.Contains("at least 2 inputs", Assert.Throws<ArgumentException>(() => new Add().Apply(x)).Message);
        var notInput = Assert.Throws<ArgumentException>(() => new Model(new Dense(2).Apply(x), x));
        Assert.Contains("Input.Create", notInput.Message);

        var reuse = Assert.Throws<ArgumentException>(() => new Dense(2, name: "narrow").Apply(x).Layer.Apply(Input.Create([7])));
        Assert.Contains("'narrow'", reuse.Message);
        Assert.Contains("[batch, 7]", reuse.Message);

        var model = new Model(x, new Dense(2).Apply(x));
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        var count = Assert.Throws<ArgumentException>(() => model.Fit([Tensor.Zeros(4, 3), Tensor.Zeros(4, 3)], Tensor.Zeros(4, 2)));
        Assert.Contains("1 input(s), got 2", count.Message);
        var shape = Assert.Throws<ArgumentException>(() => model.Fit(Tensor.Zeros(4, 5), Tensor.Zeros(4, 2)));
        Assert.Contains("[batch, 3]", shape.Message);
        Assert.Contains("'x'", shape.Message);
    }
}

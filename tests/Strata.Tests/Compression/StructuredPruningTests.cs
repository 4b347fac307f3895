using Strata.Compression;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Compression;

public sealed class StructuredPruningTests
{
    /// <summary>Zeroes filters (kernel slice [..., f] and bias) of a Dense / convolution.</summary>
    private static void ZeroFilters(Layer layer, IEnumerable<int> filters)
    {
        var kernel = Pruning.KernelOf(layer)!.Value;
        int f = kernel.Shape[-1];
        var w = kernel.AsWritableSpan();
        var bias = layer switch { Dense d => d.Bias, ConvolutionLayer c => c.Bias, _ => null };
        foreach (int k in filters)
        {
            for (int i = k; i < w.Length; i += f)
                w[i] = 0;
            if (bias is not null)
                bias.Value.AsWritableSpan()[k] = 0;
        }
    }

    /// <summary>Random non-zero biases, so that a bias the rewrite dropped or misplaced shows in the outputs.</summary>
    private static void RandomBiases(Model model, ulong seed)
    {
        foreach (var w in model.Weights.Where(w => w.Name.EndsWith("/bias", StringComparison.Ordinal)))
            TestData.Random(w.Value.Size, seed++, 0.05f, 0.3f).CopyTo(w.Value.AsWritableSpan());
    }

    [Fact]
    public void The_seed_cnn_without_its_zero_filters_computes_the_same_outputs()
    {
        var model = Presets.Cnn(seed: 5);
        RandomBiases(model, 10);
        var convs = model.Layers.OfType<Conv2D>().ToArray();
        var dense = model.Layers.OfType<Dense>().First();
        // Half the filters of each convolution (every other one, and a block) and a quarter of the Dense units: exactly zero, relu after.
        ZeroFilters(convs[0], Enumerable.Range(0, 16).Select(i => 2 * i + 1));
        ZeroFilters(convs[1], Enumerable.Range(10, 32));
        ZeroFilters(dense, Enumerable.Range(0, 16).Select(i => 4 * i));
        var x = TestData.Tensor(3, 7, 28, 28);
        var expected = model.Predict(x).ToArray();

        var smaller = StructuredPruning.RemoveFilters(model, new Dictionary<string, float> { [convs[0].Name] = 0.5f, [convs[1].Name] = 0.5f, [dense.Name] = 0.25f });
        var newConvs = smaller.Layers.OfType<Conv2D>().ToArray();
        Assert.Equal([16, 32], newConvs.Select(c => c.Filters));
        Assert.Equal([3, 3, 16, 32], newConvs[1].Kernel.Value.Shape.ToArray());
        Assert.Equal([5 * 5 * 32, 48], smaller.Layers.OfType<Dense>().First().Kernel.Value.Shape.ToArray());
        Assert.Equal([48, 10], smaller.Layers.OfType<Dense>().Last().Kernel.Value.Shape.ToArray());
        Assert.True(smaller.Layers.Sum(l => l.ParameterCount) < model.Layers.Sum(l => l.ParameterCount) / 2);
        // Equal up to float rounding: removing zero terms is exact, but the GEMM and the convolution pick their
        // blocking and path (direct or im2col) from the reduction length, which changes the summation order.
        Assert.Equal(expected, smaller.Predict(x).ToArray(), new FloatEq(1e-6f));
        // The original is untouched.
        Assert.Equal(32, model.Layers.OfType<Conv2D>().First().Filters);
        Assert.Equal(expected, model.Predict(x).ToArray());
    }

    [Fact]
    public void Filters_are_ranked_by_norm_and_the_rest_keep_their_order()
    {
        var model = new Sequential([new Input([3]), new Dense(4, name: "d"), new Dense(2, name: "out")], seed: 1);
        // Columns of the 3×4 kernel: norms L1 = 6, 3, 9, 1.5; L2 = √14 ≈ 3.74, √5 ≈ 2.24, √27 ≈ 5.2, √1.25 ≈ 1.12.
        float[] k = [1, 1, 3, 0.5f,
                     2, 2, 3, 1,
                     3, 0, 3, 0];
        k.CopyTo(((Dense)model.Layers[1]).Kernel.Value.AsWritableSpan());
        Assert.Equal([6f, 3f, 9f, 1.5f], StructuredPruning.FilterNorms(model.Layers[1], FilterNorm.L1));
        Assert.Equal([MathF.Sqrt(14), MathF.Sqrt(5), MathF.Sqrt(27), MathF.Sqrt(1.25f)], StructuredPruning.FilterNorms(model.Layers[1], FilterNorm.L2), new FloatEq(1e-6f));
        var pruned = StructuredPruning.RemoveFilters(model, "d", 0.5f);
        // Units 1 and 3 go; 0 and 2 stay, in order.
        Assert.Equal([1f, 3, 2, 3, 3, 3], pruned.Layers.OfType<Dense>().First().Kernel.Value.ToArray());
        var outKernel = ((Dense)model.Layers[2]).Kernel.Value.ToArray();
        Assert.Equal([outKernel[0], outKernel[1], outKernel[4], outKernel[5]], pruned.Layers.OfType<Dense>().Last().Kernel.Value.ToArray());
    }

    private sealed class FloatEq(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float v) => 0;
    }

    [Fact]
    public void Batch_normalization_and_pooling_in_between_shrink_with_the_filters()
    {
        var model = new Sequential([new Input([9, 9, 3]), new Conv2D(8, 3, activation: "relu", name: "c1"), new BatchNormalization(name: "bn"),
            new MaxPooling2D(2), new Conv2D(6, 2, activation: "relu", name: "c2"), new Flatten(), new Dense(4, "relu"), new Dense(3, "softmax")], seed: 4);
        RandomBiases(model, 20);
        var bn = (BatchNormalization)model.Layers[2];
        foreach (var w in bn.Weights)
            TestData.Random(8, 30 + (ulong)w.Name.Length, 0.5f, 1.5f).CopyTo(w.Value.AsWritableSpan());
        // BN turns a zero channel into a constant, so here the next convolution ignores the removed channels instead.
        ZeroFilters(model.Layers[1], [1, 4, 5, 6]);
        var c2 = ((Conv2D)model.Layers[4]).Kernel.Value.AsWritableSpan(); // [2, 2, 8, 6]
        for (int i = 0; i < c2.Length; i++)
        {
            if ((i / 6 % 8) is 1 or 4 or 5 or 6)
                c2[i] = 0;
        }
        var x = TestData.Tensor(8, 5, 9, 9, 3);
        var expected = model.Predict(x).ToArray();
        var smaller = StructuredPruning.RemoveFilters(model, "c1", 0.5f, FilterNorm.L2);
        var newBn = (BatchNormalization)smaller.Layers[2];
        Assert.All(newBn.Weights, w => Assert.Equal(4, w.Value.Size));
        Assert.Equal(new[] { 0, 2, 3, 7 }.Select(c => bn.MovingMean.Span[c]), newBn.MovingMean.ToArray());
        Assert.Equal(expected, smaller.Predict(x).ToArray(), new FloatEq(1e-6f));

        // The smaller model fine-tunes like any other.
        smaller.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy());
        var y = Tensor.FromArray([0f, 1, 2, 0, 1]);
        var history = smaller.Fit(x, y, epochs: 20, batchSize: 5);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} → {history["loss"][^1]}");
    }

    [Fact]
    public void Conv1d_filters_come_out_of_the_next_conv1d()
    {
        var model = new Sequential([new Input([10, 2]), new Conv1D(6, 3, activation: "relu", name: "a"), new Conv1D(4, 3, name: "b"),
            new GlobalAveragePooling1D(), new Dense(2)], seed: 6);
        RandomBiases(model, 40);
        ZeroFilters(model.Layers[1], [0, 3, 5]);
        var x = TestData.Tensor(9, 3, 10, 2);
        var expected = model.Predict(x).ToArray();
        var smaller = StructuredPruning.RemoveFilters(model, "a", 0.5f);
        Assert.Equal([3, 3, 4], ((Conv1D)smaller.Layers[2]).Kernel.Value.Shape.ToArray());
        Assert.Equal(expected, smaller.Predict(x).ToArray(), new FloatEq(1e-6f));
    }

    [Fact]
    public void Bad_input_is_refused_naming_the_layer_and_the_value()
    {
        var model = new Sequential([new Input([6, 6, 1]), new Conv2D(4, 3, name: "conv"), new LayerNormalization(name: "ln"), new Flatten(name: "flat"),
            new Dense(5, name: "hidden"), new Dense(2, name: "out")], seed: 1, name: "m");
        Assert.Contains("layer 'out' is the model's last layer",
            Assert.Throws<ArgumentException>(() => StructuredPruning.RemoveFilters(model, "out", 0.5f)).Message);
        Assert.Contains("layer 'flat' is a Flatten; whole filters or units can be removed from Dense, Conv2D and Conv1D",
            Assert.Throws<ArgumentException>(() => StructuredPruning.RemoveFilters(model, "flat", 0.5f)).Message);
        Assert.Contains("model 'm' has no layer 'nope'",
            Assert.Throws<ArgumentException>(() => StructuredPruning.RemoveFilters(model, "nope", 0.5f)).Message);
        Assert.Contains("the fraction to remove from layer 'hidden' must be in [0, 1), got 1",
            Assert.Throws<ArgumentOutOfRangeException>(() => StructuredPruning.RemoveFilters(model, "hidden", 1f)).Message);
        Assert.Contains("got -0.25", Assert.Throws<ArgumentOutOfRangeException>(() => StructuredPruning.RemoveFilters(model, "hidden", -0.25f)).Message);
        Assert.Contains("removing 0.95 of the 5 filters of layer 'hidden' would leave none",
            Assert.Throws<ArgumentOutOfRangeException>(() => StructuredPruning.RemoveFilters(model, "hidden", 0.95f)).Message);
        Assert.Contains("layer 'ln' (LayerNormalization) follows 'conv', whose filters are removed, and cannot be rewritten",
            Assert.Throws<ArgumentException>(() => StructuredPruning.RemoveFilters(model, "conv", 0.5f)).Message);
        Assert.Contains("layer 'ln' is a LayerNormalization", Assert.Throws<ArgumentException>(() => StructuredPruning.FilterNorms(model.Layers[2])).Message);
    }
}

using System.Text.Json;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Layers;

public sealed class PreprocessingLayerTests
{
    [Fact]
    public void Normalization_config_keeps_the_given_statistics_and_reads_files_without_them()
    {
        var given = new Normalization([0.1f, -0.2f], [2f, 0.5f], "norm");
        var config = Assert.IsType<FeatureNormalizationConfig>(given.GetConfig());
        Assert.Equal([0.1f, -0.2f], config.Mean!);
        Assert.Equal([2f, 0.5f], config.Variance!);
        var copy = Assert.IsType<Normalization>(LayerRegistry.Create("Normalization",
            JsonDocument.Parse(LayerRegistry.Describe(given)["config"]!.ToJsonString()).RootElement, "test"));
        copy.Build(new Shape(2));
        Assert.Equal([0.1f, -0.2f], copy.Mean.ToArray());
        Assert.Equal([2f, 0.5f], copy.Variance.ToArray());
        // Files written before the statistics were in the config: name and kind only (the weights hold them).
        var old = LayerRegistry.Create("Normalization", JsonDocument.Parse("{\"name\": \"n\", \"kind\": \"Normalization\"}").RootElement, "test");
        Assert.Equal("n", old.Name);
        Assert.Contains("not valid", Assert.Throws<InvalidDataException>(() => LayerRegistry.Create("Normalization",
            JsonDocument.Parse("{\"name\": \"n\", \"kind\": \"Normalization\", \"mean\": [0], \"variance\": [-1]}").RootElement, "test")).Message);
    }

    [Fact]
    public void Rescaling_and_normalization_standardize_as_keras_does()
    {
        var x = Tensor.FromArray([0, 255, 51, 102], 2, 2);
        Assert.Equal([0f, 1f, 0.2f, 0.4f], new Rescaling(1 / 255f).Forward(x).ToArray(), new FloatTolerance(1e-6f));
        Assert.Equal([-1f, 1f, -0.6f, -0.2f], new Rescaling(2 / 255f, -1).Forward(x).ToArray(), new FloatTolerance(1e-6f));

        // Adapt fits per-feature (last axis) mean and population variance over every other axis.
        var data = TestData.Tensor(4, 50, 3, 2) * 3 + 5;
        var norm = new Normalization();
        norm.Adapt(data);
        var y = norm.Forward(data);
        var flat = y.Reshape([150, 2]);
        Assert.All(flat.Mean(0).ToArray(), m => Assert.Equal(0f, m, 1e-5f));
        Assert.All(flat.Variance([0]).ToArray(), v => Assert.Equal(1f, v, 1e-4f));
        Assert.Equal(data.Reshape([150, 2]).Mean(0).ToArray(), norm.Mean.ToArray(), new FloatTolerance(1e-5f));

        var given = new Normalization([1, 2], [4, 0]);
        Assert.Equal([0.5f, 0f, -0.5f, 1e7f], given.Forward(Tensor.FromArray([2, 2, 0, 3], 2, 2)).ToArray(), new FloatTolerance(1e-3f));
        Assert.Contains("2 means given", Assert.Throws<ArgumentException>(() => new Normalization([1, 2], [4, 0]).Forward(Tensor.Zeros(1, 3))).Message);
        Assert.Contains("got [4, 3, 2, 1]", Assert.Throws<ArgumentException>(() => norm.Adapt(Tensor.Zeros(4, 3, 2, 1))).Message);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(a));

        public int GetHashCode(float v) => 0;
    }

    public static TheoryData<string> RandomLayers => ["flip", "rotation", "translation", "zoom", "contrast"];

    private static RandomImageLayer Make(string kind) => kind switch
    {
        "flip" => new RandomFlip(),
        "rotation" => new RandomRotation(0.2f),
        "translation" => new RandomTranslation(0.2f, 0.3f, FillMode.Constant),
        "zoom" => new RandomZoom(0.3f, fillMode: FillMode.Wrap),
        _ => new RandomContrast(0.5f),
    };

    [Theory]
    [MemberData(nameof(RandomLayers))]
    public void Random_layers_pass_inference_through_and_change_training_batches(string kind)
    {
        var layer = Make(kind);
        var x = TestData.Tensor(1, 8, 6, 5, 2);
        Assert.Same(x, layer.Forward(x, training: false));
        var y = layer.Forward(x, training: true);
        Assert.Equal(x.Shape, y.Shape);
        Assert.NotEqual(x.ToArray(), y.ToArray());
        Assert.Contains("expected images", Assert.Throws<ArgumentException>(() => Make(kind).Forward(Tensor.Zeros(2, 5), true)).Message);
    }

    [Theory]
    [MemberData(nameof(RandomLayers))]
    public void Random_layers_give_the_same_output_and_gradient_planned_and_on_the_graph(string kind)
    {
        // The same seed draws the same transforms on both paths; the input gradient is the transform's adjoint:
        // ⟨layer(x), g⟩ = ⟨x, ∂⟨layer(x), g⟩/∂x⟩ because every transform is linear in x.
        Sequential Model(bool plans)
        {
            var m = new Sequential([new Input([6, 5, 2]), Make(kind), new Flatten(), new Dense(3)], seed: 9) { PlansEnabled = plans };
            m.Compile(new Sgd(0.1f), new MeanSquaredError());
            return m;
        }
        var x = TestData.Tensor(2, 4, 6, 5, 2);
        var t = TestData.Tensor(3, 4, 3);
        var planned = Model(true);
        var graph = Model(false);
        for (int step = 0; step < 4; step++)
        {
            var lp = planned.TrainStep(x, t);
            var lg = graph.TrainStep(x, t);
            Assert.Equal(lg["loss"], lp["loss"], 5);
        }
        Assert.True(planned.HasCompiledPlan("train"));
        var pw = planned.GetWeights();
        var gw = graph.GetWeights();
        for (int i = 0; i < pw.Length; i++)
            Assert.Equal(gw[i], pw[i], new FloatTolerance(1e-5f));

        var layer = Make(kind);
        var xin = TestData.Param(5, 3, 6, 5, 2);
        var g = TestData.Tensor(6, 3, 6, 5, 2);
        var y = layer.Forward(xin, training: true);
        (y * g).Sum().Backward();
        double lhs = y.ToArray().Zip(g.ToArray(), (a, b) => (double)a * b).Sum();
        double rhs = xin.ToArray().Zip(xin.Grad!.ToArray(), (a, b) => (double)a * b).Sum();
        Assert.Equal(lhs, rhs, 3);
    }

    [Fact]
    public void Random_flip_gives_each_image_either_itself_or_its_mirror()
    {
        var layer = new RandomFlip("horizontal");
        var x = TestData.Tensor(7, 64, 3, 4, 1);
        var y = layer.Forward(x, training: true);
        int flipped = 0;
        for (int b = 0; b < 64; b++)
        {
            var src = x.Slice(b..(b + 1)).ToArray();
            var got = y.Slice(b..(b + 1)).ToArray();
            var mirror = new float[12];
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 4; c++)
                    mirror[r * 4 + c] = src[r * 4 + 3 - c];
            Assert.True(got.SequenceEqual(src) || got.SequenceEqual(mirror), $"image {b} is neither itself nor its mirror");
            flipped += got.SequenceEqual(mirror) ? 1 : 0;
        }
        Assert.InRange(flipped, 16, 48); // about half
    }

    [Fact]
    public void A_model_with_augmentation_layers_trains_and_predicts_deterministically()
    {
        var (images, labels) = Strata.Data.Mnist.Load(RepoPaths.Mnist, train: false);
        var x = images.Slice(..2000).Reshape([2000, 28, 28, 1]);
        var y = Tensor.FromArray(labels[..2000].Select(v => (float)v).ToArray());
        var model = new Sequential(
        [
            new Input([28, 28, 1]), new RandomRotation(0.03f, FillMode.Constant), new RandomTranslation(0.1f, 0.1f, FillMode.Constant),
            new RandomZoom(0.1f, fillMode: FillMode.Constant), new Flatten(), new Dense(64, "relu"), new Dense(10, "softmax"),
        ], seed: 1);
        model.Compile(new Adam(2e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(x.Slice(..1500), y.Slice(..1500), epochs: 6, batchSize: 32, seed: 2);
        Assert.True(model.HasCompiledPlan("train")); // the fast path
        var test = model.Evaluate(x.Slice(1500..), y.Slice(1500..));
        Assert.True(test["accuracy"] > 0.8, $"accuracy {test["accuracy"]}");
        // Inference is deterministic: the random layers are off.
        Assert.Equal(model.Predict(x.Slice(..10)).ToArray(), model.Predict(x.Slice(..10)).ToArray());
    }
}

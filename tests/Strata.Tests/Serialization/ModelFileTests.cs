using System.IO.Compression;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;
using Strata.Training;

namespace Strata.Tests.Serialization;

/// <summary>Models that use every built-in layer type, for round trips (shared with the robustness tests).</summary>
internal static class ModelZoo
{
    /// <summary>Every 2-D layer in one chain: [8, 8, 2] → 3 classes.</summary>
    public static Sequential Images(ulong seed) => new(
    [
        new Input([8, 8, 2]),
        new Rescaling(0.5f, 0.1f),
        new Normalization([0.1f, -0.2f], [2f, 0.5f]),
        new RandomFlip("horizontal"),
        new RandomRotation(0.1f, FillMode.Constant, Interpolation.Nearest, 0.5f),
        new RandomTranslation(0.1f, 0.2f),
        new RandomZoom(0.2f, 0.1f, FillMode.Wrap),
        new RandomContrast(0.3f),
        new Conv2D(4, (3, 3), padding: Padding.Same, activation: ActivationFunction.LeakyRelu(0.1f), kernelRegularizer: Regularizer.OfL2(1e-3f)),
        new BatchNormalization(momentum: 0.9f),
        new MaxPooling2D(2),
        new DepthwiseConv2D(3, padding: Padding.Same, depthMultiplier: 2),
        new Conv2DTranspose(3, 2, strides: 2, padding: Padding.Same, activation: "relu"),
        new AveragePooling2D(2),
        new UpSampling2D(2),
        new ZeroPadding2D(1),
        new SpatialDropout2D(0.2f),
        new Flatten(),
        new Dense(16, ActivationFunction.Elu(0.5f)),
        new Dropout(0.3f),
        new LayerNormalization(),
        new Reshape([4, 4]),
        new Flatten(),
        new Activation("tanh"),
        new Dense(3, "softmax"),
    ], seed, "images");

    /// <summary>A table's front as `strata train` builds it: [3 columns, the middle one text] → 2 outputs.</summary>
    public static Sequential Table(ulong seed) => new(
    [
        new Input([3]),
        new Normalization([1f, 0f, -2f], [4f, 1f, 9f]),
        new OneHotColumns([new("x"), new("colour", ["blue", "green", "red"]), new("y")]),
        new Dense(2),
    ], seed, "table");

    /// <summary>Every 1-D layer: [12, 3] → 2 outputs.</summary>
    public static Sequential Sequences(ulong seed) => new(
    [
        new Input([12, 3]),
        new Conv1D(4, 3, padding: Padding.Causal, dilationRate: 2, activation: "relu"),
        new MaxPooling1D(2),
        new AveragePooling1D(2),
        new SpatialDropout1D(0.1f),
        new GlobalMaxPooling1D(),
        new Dense(2),
    ], seed, "sequences");

    /// <summary>Every recurrent layer and wrapper on token ids: [10] → 2 outputs.</summary>
    public static Sequential Text(ulong seed) => new(
    [
        new Input([10]),
        new Embedding(20, 4, maskZero: true),
        new Bidirectional(new Lstm(3, returnSequences: true), "concat"),
        new Gru(3, returnSequences: true, goBackwards: true),
        new TimeDistributed(new Dense(3, "tanh")),
        new Masking(0.25f),
        new Lstm(3, returnSequences: true, unitForgetBias: false),
        new SimpleRnn(2),
        new Dense(2),
    ], seed, "text");

    /// <summary>Text: a tf-idf TextVectorization (vocabulary and idf weights in its config) before a Dense; takes Vectorize's [n, 5] rows.</summary>
    public static Sequential Vectorized(ulong seed) => new(
    [
        new TextVectorization(outputMode: TextOutputMode.TfIdf, ngrams: 2, vocabulary: ["free", "win", "meeting", "win free"], idfWeights: [0.5f, 1f, 1.5f, 2f]),
        new Dense(2, "softmax"),
    ], seed, "vectorized");

    /// <summary>Two inputs, a layer shared by both, every merge layer and the global poolings.</summary>
    public static Model Graph(ulong seed)
    {
        var a = Input.Create([6], "a");
        var b = Input.Create([6], "b");
        var shared = new Dense(6, "relu");
        var ha = shared.Apply(a);
        var hb = shared.Apply(b);
        var cat = new Concatenate().Apply(new Add().Apply(ha, hb), new Subtract().Apply(ha, hb), new Multiply().Apply(ha, hb),
            new Average().Apply(ha, hb), new Maximum().Apply(ha, hb), new Minimum().Apply(ha, hb));
        var p1 = new GlobalAveragePooling1D().Apply(new Reshape([6, 6]).Apply(cat));
        var p2 = new GlobalAveragePooling2D().Apply(new Reshape([3, 2, 6]).Apply(cat));
        var p3 = new GlobalMaxPooling2D().Apply(new Reshape([2, 3, 6]).Apply(cat));
        var output = new Dense(3).Apply(new Concatenate().Apply(p1, p2, p3));
        return new Model([a, b], output, seed, "graph");
    }
}

public sealed class ModelFileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-m-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string FilePath(string name) => Path.Combine(_dir.FullName, name);

    private static string Describe(Layer l) => LayerRegistry.Describe(l).ToJsonString();

    private static void AssertSameModel(Model expected, Model actual, Tensor[] x)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Layers.Select(Describe), actual.Layers.Select(Describe));
        Assert.Equal(expected.Weights.Select(w => w.Name), actual.Weights.Select(w => w.Name));
        Assert.Equal(expected.GetWeights(), actual.GetWeights());
        Assert.Equal(expected.Predict(x).ToArray(), actual.Predict(x).ToArray());
    }

    [Fact]
    public void Every_built_in_layer_round_trips_with_identical_predictions()
    {
        var images = ModelZoo.Images(1);
        var xi = Tensor.RandomUniform([5, 8, 8, 2], -1f, 1f, 2);
        images.Compile(new Sgd(0.05f), new SparseCategoricalCrossentropy());
        images.Fit(xi, Tensor.FromArray([0, 1, 2, 0, 1], 5), epochs: 2, batchSize: 2); // moving statistics move
        var sequences = ModelZoo.Sequences(3);
        var xs = Tensor.RandomUniform([4, 12, 3], -1f, 1f, 4);
        sequences.Predict(xs);
        var text = ModelZoo.Text(8);
        var xt = Tensor.FromArray(Enumerable.Range(0, 30).Select(i => (float)(i < 20 ? (i * 7) % 19 + 1 : 0)).ToArray(), 3, 10);
        text.Predict(xt);
        var graph = ModelZoo.Graph(5);
        Tensor[] xg = [Tensor.RandomUniform([4, 6], -1f, 1f, 6), Tensor.RandomUniform([4, 6], -1f, 1f, 7)];
        var vectorized = ModelZoo.Vectorized(8);
        var xv = ((TextVectorization)vectorized.Layers[0]).Vectorize(["win free money", "meeting at noon", "free free"]);
        vectorized.Predict(xv);

        var table = ModelZoo.Table(9);
        var xtable = Tensor.FromArray([2.5f, 2, -1, 0, -1, 7, 1, 0, 1], 3, 3); // the text column's indices: red, none, blue

        var used = new HashSet<string>();
        foreach (var (model, x) in new (Model, Tensor[])[] { (images, [xi]), (sequences, [xs]), (text, [xt]), (vectorized, [xv]), (graph, xg), (table, [xtable]) })
        {
            var path = FilePath(model.Name + ".strata");
            model.Save(path);
            var loaded = Model.Load(path);
            AssertSameModel(model, loaded, x);
            foreach (var l in loaded.Layers)
                used.Add(LayerRegistry.Describe(l)["class"]!.GetValue<string>());
        }
        // The zoo covers every layer type Strata ships (a new layer must join it).
        Assert.Equal(LayerRegistry.ClassNames.Where(n => !n.StartsWith("Test", StringComparison.Ordinal) && !n.StartsWith("Quantized", StringComparison.Ordinal)).Order(), used.Order()); // quantized layers: QuantizerTests round-trips them
    }

    [Fact]
    public void The_file_is_a_zip_of_config_metadata_and_stored_safetensors()
    {
        var model = ModelZoo.Sequences(1);
        model.Predict(Tensor.Zeros(1, 12, 3));
        var path = FilePath("m.strata");
        model.Save(path);
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(["config.json", "metadata.json", "model.weights.safetensors"], zip.Entries.Select(e => e.FullName).Order());
        var weights = zip.GetEntry("model.weights.safetensors")!;
        Assert.Equal(weights.Length, weights.CompressedLength); // stored
        using var meta = System.Text.Json.JsonDocument.Parse(zip.GetEntry("metadata.json")!.Open());
        Assert.Equal("strata.model", meta.RootElement.GetProperty("format").GetString());
        Assert.Equal(1, meta.RootElement.GetProperty("format_version").GetInt32());
        Assert.True(DateTime.TryParse(meta.RootElement.GetProperty("created").GetString(), out _));
        using var config = System.Text.Json.JsonDocument.Parse(zip.GetEntry("config.json")!.Open());
        var conv = config.RootElement.GetProperty("layers")[1];
        Assert.Equal("Conv1D", conv.GetProperty("class").GetString());
        Assert.Equal("causal", conv.GetProperty("config").GetProperty("padding").GetString());
        Assert.Equal(2, conv.GetProperty("config").GetProperty("dilation_rate").GetInt32());
    }

    [Fact]
    public void A_compiled_model_loads_compiled_with_its_optimizer_state()
    {
        var (x, y) = TestData.Blobs(60, 1);
        var model = new Sequential([new Input([2]), new Dense(8, "relu"), new Dense(3)], seed: 2, name: "blobs");
        var schedule = new ExponentialDecay(0.05f, 10, 0.5f, Staircase: true);
        model.Compile(new Adam(schedule: schedule, clipNorm: 5f), new SparseCategoricalCrossentropy(fromLogits: true), "accuracy");
        model.Fit(x, y, epochs: 2, batchSize: 16);
        var path = FilePath("blobs.strata");
        model.Save(path);

        var loaded = Model.Load(path);
        var adam = Assert.IsType<Adam>(loaded.Optimizer);
        Assert.Equal(schedule, adam.Schedule);
        Assert.Equal(5f, adam.ClipNorm);
        Assert.Equal(model.Optimizer!.Iterations, adam.Iterations);
        foreach (var (w, lw) in model.TrainableWeights.Zip(loaded.TrainableWeights))
            Assert.Equal(model.Optimizer.GetSlots(w.Value)!, adam.GetSlots(lw.Value)!);
        Assert.True(Assert.IsType<SparseCategoricalCrossentropy>(loaded.Loss).FromLogits);
        Assert.Equal(["accuracy"], loaded.Metrics.Select(m => m.Name));
        Assert.Equal(2, loaded.CompletedEpochs);
        Assert.Equal(model.Evaluate(x, y), loaded.Evaluate(x, y));

        var plain = Model.Load(path, compile: false);
        Assert.Null(plain.Optimizer);
        Assert.Equal(model.Predict(x).ToArray(), plain.Predict(x).ToArray());
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("rmsprop")]
    public void Training_resumed_from_a_checkpoint_is_bit_identical_to_an_uninterrupted_run(string optimizer)
    {
        var (x, y) = TestData.Blobs(90, 3);
        Sequential Make() => new([new Input([2]), new Dense(16, "relu"), new Dropout(0.25f), new Dense(3, "softmax")], seed: 7, name: "net");
        Optimizer Opt() => optimizer switch
        {
            "sgd" => new Sgd(0.05f, momentum: 0.9f, nesterov: true),
            "adam" => new AdamW(0.01f),
            _ => new RmsProp(0.005f, momentum: 0.5f),
        };

        var full = Make();
        full.Compile(Opt(), new SparseCategoricalCrossentropy(), "accuracy");
        var fullHistory = full.Fit(x, y, epochs: 5, batchSize: 16, seed: 11, validationSplit: 0.2f);

        // The same run, interrupted after epoch 3 with a checkpoint written every epoch.
        var partial = Make();
        partial.Compile(Opt(), new SparseCategoricalCrossentropy(), "accuracy");
        var checkpoint = new ModelCheckpoint(FilePath("ckpt-{epoch:02d}.strata"));
        partial.Fit(x, y, epochs: 5, batchSize: 16, seed: 11, validationSplit: 0.2f, callbacks: [checkpoint, new StopAfter(3)]);
        Assert.Equal([FilePath("ckpt-01.strata"), FilePath("ckpt-02.strata"), FilePath("ckpt-03.strata")], checkpoint.Saved);

        var resumed = Model.Load(FilePath("ckpt-03.strata"));
        Assert.Equal(3, resumed.CompletedEpochs);
        var rest = resumed.Fit(x, y, epochs: 5, batchSize: 16, seed: 11, validationSplit: 0.2f, initialEpoch: resumed.CompletedEpochs);
        Assert.Equal(full.GetWeights(), resumed.GetWeights());
        Assert.Equal(fullHistory["loss"].Skip(3), rest["loss"]);
        Assert.Equal(fullHistory["val_accuracy"].Skip(3), rest["val_accuracy"]);
        Assert.Equal(5, resumed.CompletedEpochs);
    }

    private sealed class StopAfter(int epochs) : Callback
    {
        public override void OnEpochEnd(int epoch, Logs logs) => Model!.StopTraining |= epoch + 1 >= epochs;
    }

    [Fact]
    public void ModelCheckpoint_keeps_the_best_and_fills_the_path_fields()
    {
        var model = ModelZoo.Sequences(1);
        model.Predict(Tensor.Zeros(1, 12, 3));
        var cb = new ModelCheckpoint(FilePath("m-{epoch:02d}-{loss:.2f}.strata"), monitor: "loss", saveBestOnly: true) { Model = model };
        cb.OnTrainBegin();
        foreach (var (epoch, loss) in new[] { (0, 1.0f), (1, 1.2f), (2, 0.5f), (3, 0.5f) })
            cb.OnEpochEnd(epoch, new Logs { ["loss"] = loss });
        Assert.Equal([FilePath("m-01-1.00.strata"), FilePath("m-03-0.50.strata")], cb.Saved);
        Assert.Equal(0.5f, cb.Best);
        Assert.Equal(2, Directory.GetFiles(_dir.FullName).Length);

        var accuracy = new ModelCheckpoint(FilePath("w.safetensors"), monitor: "val_accuracy", saveBestOnly: true, saveWeightsOnly: true) { Model = model };
        accuracy.OnTrainBegin();
        accuracy.OnEpochEnd(0, new Logs { ["val_accuracy"] = 0.5f });
        accuracy.OnEpochEnd(1, new Logs { ["val_accuracy"] = 0.4f }); // higher is better for accuracy
        Assert.Single(accuracy.Saved);
        Assert.NotNull(SafeTensors.Load(FilePath("w.safetensors")));
        var missing = Assert.Throws<InvalidOperationException>(() => accuracy.OnEpochEnd(2, new Logs { ["loss"] = 1 }));
        Assert.Contains("'val_accuracy' is not in the logs", missing.Message);
    }

    [Fact]
    public void Models_without_a_config_are_refused_with_a_reason()
    {
        var unbuilt = new Sequential([new Dense(3)]);
        Assert.Contains("not built", Assert.Throws<InvalidOperationException>(() => unbuilt.Save(FilePath("u.strata"))).Message);
        var custom = new Sequential([new Input([2]), new Unregistered()]);
        var e = Assert.Throws<InvalidOperationException>(() => custom.Save(FilePath("c.strata")));
        Assert.Contains("not registered", e.Message);
        Assert.Contains("LayerRegistry.Register", e.Message);
        Assert.Empty(Directory.GetFiles(_dir.FullName));
    }

    private sealed class Unregistered() : Layer(null)
    {
        public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
        public override LayerConfig GetConfig() => new NamedLayerConfig(Name, "Unregistered");
        protected override Tensor Call(Tensor x, bool training) => x;
    }

    [Fact]
    public void A_custom_layer_registers_itself_and_round_trips()
    {
        TestScale.EnsureRegistered();
        var model = new Sequential([new Input([3]), new TestScale(2.5f), new Dense(2)], seed: 1);
        var x = Tensor.RandomUniform([4, 3], -1f, 1f, 1);
        model.Predict(x);
        var path = FilePath("custom.strata");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.Equal(2.5f, Assert.IsType<TestScale>(loaded.Layers[1]).Factor);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Throws<ArgumentException>(() => LayerRegistry.Register<TestScale, TestScaleConfig>("Dense", c => new TestScale(c.Factor, c.Name)));
    }
}

/// <summary>Saves that fail midway, through the model file's write hook: a process-wide switch, so these run alone.</summary>
[Collection(ProcessWideSettingsCollection.Name)]
public sealed class ModelFileFailureTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-m-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string FilePath(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public void A_save_that_fails_midway_leaves_the_previous_file_intact()
    {
        var model = ModelZoo.Sequences(1);
        model.Predict(Tensor.Zeros(1, 12, 3));
        var path = FilePath("m.strata");
        model.Save(path);
        var before = File.ReadAllBytes(path);
        model.SetWeights([.. model.GetWeights().Select(w => w.Select(v => v + 1).ToArray())]);
        ModelFile.EntryWritten = name => { if (name == ModelFile.WeightsEntry) throw new IOException($"disk full after {name}"); };
        try
        {
            Assert.Contains("disk full after model.weights.safetensors", Assert.Throws<IOException>(() => model.Save(path)).Message);
        }
        finally
        {
            ModelFile.EntryWritten = null;
        }
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir.FullName));
        Assert.NotEqual(model.GetWeights(), Model.Load(path).GetWeights());
    }
}

public sealed record TestScaleConfig(string Name, float Factor) : LayerConfig(Name);

/// <summary>A custom layer: multiplies by a constant.</summary>
public sealed class TestScale(float factor, string? name = null) : Layer(name)
{
    public static void EnsureRegistered() => LayerRegistry.Register<TestScale, TestScaleConfig>("TestScale", c => new TestScale(c.Factor, c.Name));

    public float Factor { get; } = factor;
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;
    public override LayerConfig GetConfig() => new TestScaleConfig(Name, Factor);
    protected override Tensor Call(Tensor x, bool training) => x * Factor;
}

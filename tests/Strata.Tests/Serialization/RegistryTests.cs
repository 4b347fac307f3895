using System.IO.Compression;
using System.Text.Json;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

/// <summary>Custom and built-in optimizers, losses, schedules, metrics and activations through their registries and the model file.</summary>
public sealed class RegistryTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-reg-");

    public RegistryTests() => CustomExtensions.EnsureRegistered();

    public void Dispose() => _dir.Delete(recursive: true);

    private string FilePath(string name) => Path.Combine(_dir.FullName, name);

    private static (Tensor X, Tensor Y) Regression()
    {
        var x = Tensor.RandomUniform([48, 3], -1f, 1f, 1);
        var y = Tensor.RandomUniform([48, 2], -1f, 1f, 2);
        return (x, y);
    }

    private static Sequential CustomModel() =>
        new([new Input([3]), new Dense(8, new TestSwishBeta(1.5f)), new Activation(new TestSwishBeta(0.5f)), new Dense(2)], seed: 4, name: "custom");

    private static void CompileCustom(Model m) =>
        m.Compile(new TestSignMomentum(beta: 0.8f, schedule: new TestHalving(0.02f, 5), clipValue: 2f), new TestScaledMse(2f),
            new TestWithin(0.5f, "within_half"), "mae");

    [Fact]
    public void Custom_optimizer_loss_schedule_metric_and_activation_round_trip_and_training_resumes_identically()
    {
        var (x, y) = Regression();
        var full = CustomModel();
        CompileCustom(full);
        var fullHistory = full.Fit(x, y, epochs: 4, batchSize: 8, seed: 3);

        var partial = CustomModel();
        CompileCustom(partial);
        partial.Fit(x, y, epochs: 2, batchSize: 8, seed: 3);
        var path = FilePath("custom.strata");
        partial.Save(path);

        var loaded = Model.Load(path);
        var opt = Assert.IsType<TestSignMomentum>(loaded.Optimizer);
        Assert.Equal(0.8f, opt.Beta);
        Assert.Equal(new TestHalving(0.02f, 5), opt.Schedule);
        Assert.Equal(2f, opt.ClipValue);
        Assert.Equal(partial.Optimizer!.Iterations, opt.Iterations);
        Assert.Equal(2f, Assert.IsType<TestScaledMse>(loaded.Loss).Scale);
        Assert.Equal(["within_half", "mae"], loaded.Metrics.Select(m => m.Name));
        Assert.Equal(0.5f, Assert.IsType<TestWithin>(loaded.Metrics[0]).Tolerance);
        Assert.Equal(1.5f, Assert.IsType<TestSwishBeta>(Assert.IsType<Dense>(loaded.Layers[1]).Activation).Beta);
        Assert.Equal(0.5f, Assert.IsType<TestSwishBeta>(Assert.IsType<Activation>(loaded.Layers[2]).Function).Beta);
        foreach (var (w, lw) in partial.TrainableWeights.Zip(loaded.TrainableWeights))
            Assert.Equal(partial.Optimizer.GetSlots(w.Value)!, opt.GetSlots(lw.Value)!);
        Assert.Equal(partial.Evaluate(x, y), loaded.Evaluate(x, y));

        // The slots are saved under the optimizer's names for them.
        using (var zip = ZipFile.OpenRead(path))
        using (var s = zip.GetEntry(ModelFile.OptimizerEntry)!.Open())
        {
            var state = SafeTensors.Read(s, zip.GetEntry(ModelFile.OptimizerEntry)!.Length);
            Assert.Equal(4, state.Tensors.Count);
            Assert.All(state.Tensors.Keys, k => Assert.EndsWith("/momentum", k));
        }

        var rest = loaded.Fit(x, y, epochs: 4, batchSize: 8, seed: 3, initialEpoch: 2);
        Assert.Equal(full.GetWeights(), loaded.GetWeights());
        Assert.Equal(fullHistory["loss"].Skip(2), rest["loss"]);
        Assert.Equal(fullHistory["within_half"].Skip(2), rest["within_half"]);

        // The state matters: the same weights with a fresh optimizer end elsewhere (so the equality above can fail).
        var fresh = Model.Load(path, compile: false);
        CompileCustom(fresh);
        fresh.Fit(x, y, epochs: 4, batchSize: 8, seed: 3, initialEpoch: 2);
        Assert.NotEqual(full.GetWeights(), fresh.GetWeights());
    }

    private sealed class Unregistered
    {
        public sealed class Opt() : Optimizer("my_opt", 0.1f, null, null, null, null)
        {
            protected override void UpdateStep(Span<float> param, ReadOnlySpan<float> grad, float[][] slots, float lr)
            {
            }
        }

        public sealed class MyLoss() : Loss("my_loss", LossReduction.Sum)
        {
            protected override Tensor PerSample(Tensor yTrue, Tensor yPred) => MeanPerSample((yPred - yTrue).Abs());
        }

        public sealed class MyMetric() : Metric("my_metric")
        {
            public override void Update(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null)
            {
            }

            public override float Result() => 0;

            public override void Reset()
            {
            }
        }

        public sealed record MySchedule(float Rate0) : ILearningRateSchedule
        {
            public float Rate(long step) => Rate0;
        }

        public sealed class MyActivation() : ActivationFunction("my_activation")
        {
            public override Tensor Apply(Tensor x) => x.Abs();
        }
    }

    public static TheoryData<string> Kinds() => new() { "optimizer", "loss", "metric", "schedule", "activation" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Save_refuses_an_unregistered_type_and_names_it(string kind)
    {
        var activation = kind == "activation" ? new Unregistered.MyActivation() : ActivationFunction.Relu;
        var model = new Sequential([new Input([3]), new Dense(2, activation)], seed: 1);
        Optimizer opt = kind switch
        {
            "optimizer" => new Unregistered.Opt(),
            "schedule" => new Sgd(schedule: new Unregistered.MySchedule(0.1f)),
            _ => new Sgd(),
        };
        Loss loss = kind == "loss" ? new Unregistered.MyLoss() : new MeanSquaredError();
        object[] metrics = kind == "metric" ? [new Unregistered.MyMetric()] : [];
        model.Compile(opt, loss, metrics);
        model.Predict(Tensor.Zeros(1, 3));

        var e = Assert.Throws<InvalidOperationException>(() => model.Save(FilePath("m.strata")));
        var (label, type, register) = kind switch
        {
            "optimizer" => ("optimizer 'my_opt'", typeof(Unregistered.Opt), "OptimizerRegistry.Register"),
            "loss" => ("loss 'my_loss'", typeof(Unregistered.MyLoss), "LossRegistry.Register"),
            "metric" => ("metric 'my_metric'", typeof(Unregistered.MyMetric), "MetricRegistry.Register"),
            "schedule" => ("learning-rate schedule", typeof(Unregistered.MySchedule), "ScheduleRegistry.Register"),
            _ => ("activation 'my_activation'", typeof(Unregistered.MyActivation), "ActivationRegistry.Register"),
        };
        Assert.StartsWith("Model.Save: " + label, e.Message);
        Assert.Contains(type.FullName!, e.Message);
        Assert.Contains("is not registered; register it with " + register, e.Message);
        Assert.Empty(Directory.GetFiles(_dir.FullName)); // nothing written
    }

    [Fact]
    public void A_config_of_the_wrong_type_is_refused_at_save()
    {
        var model = new Sequential([new Input([2]), new Dense(1)], seed: 1);
        model.Compile(new Sgd(), new WrongConfigLoss());
        model.Predict(Tensor.Zeros(1, 2));
        LossRegistry.Register<WrongConfigLoss, HuberConfig>("test_wrong_config", c => new WrongConfigLoss());
        var e = Assert.Throws<InvalidOperationException>(() => model.Save(FilePath("w.strata")));
        Assert.Contains("returned a LossConfig config; its registration as 'test_wrong_config' expects HuberConfig", e.Message);
    }

    private sealed class WrongConfigLoss() : Loss("wrong", LossReduction.Sum)
    {
        protected override Tensor PerSample(Tensor yTrue, Tensor yPred) => MeanPerSample(yPred - yTrue);
    }

    // ---------------------------------------------------------------- every built-in, by name

    private static IEnumerable<string> BuiltIn(IReadOnlyList<string> names) => names.Where(n => !n.StartsWith("test_", StringComparison.Ordinal));

    [Fact]
    public void The_built_in_names_are_those_files_already_use()
    {
        Assert.Equal(["adagrad", "adam", "adamw", "rmsprop", "sgd"], BuiltIn(OptimizerRegistry.Names));
        Assert.Equal(["binary_crossentropy", "categorical_crossentropy", "huber", "kl_divergence", "mean_absolute_error", "mean_squared_error",
            "sparse_categorical_crossentropy"], BuiltIn(LossRegistry.Names));
        Assert.Equal(["cosine_decay", "exponential_decay", "inverse_time_decay", "piecewise_constant_decay"], BuiltIn(ScheduleRegistry.Names));
        Assert.Equal(["elu", "exponential", "gelu", "leaky_relu", "linear", "relu", "selu", "sigmoid", "softmax", "softplus", "swish", "tanh"],
            BuiltIn(ActivationRegistry.Names));
        Assert.Equal(["accuracy", "auc", "binary_accuracy", "categorical_accuracy", "mean", "mean_absolute_error", "mean_squared_error", "precision",
            "recall", "root_mean_squared_error", "sparse_categorical_accuracy", "top_k_categorical_accuracy"], BuiltIn(MetricRegistry.Names));
    }

    /// <summary>Each built-in with settings away from its defaults, so that a dropped setting shows.</summary>
    private static Optimizer[] Optimizers() =>
    [
        new Sgd(0.03f, momentum: 0.7f, nesterov: true, clipValue: 1.5f),
        new Adagrad(0.02f, initialAccumulator: 0.2f, epsilon: 1e-6f, clipNorm: 3f),
        new RmsProp(0.004f, rho: 0.8f, momentum: 0.3f, epsilon: 1e-5f, globalClipNorm: 2f),
        new Adam(0.005f, beta1: 0.8f, beta2: 0.99f, epsilon: 1e-6f, schedule: new CosineDecay(0.01f, 100, 0.1f)),
        new AdamW(0.006f, weightDecay: 0.01f, beta1: 0.85f, schedule: new PiecewiseConstantDecay([10, 20], [0.1f, 0.01f, 0.001f])),
    ];

    [Fact]
    public void Every_built_in_optimizer_and_schedule_round_trips_by_name()
    {
        var schedules = new List<string>();
        foreach (var opt in Optimizers().Concat([new Sgd(schedule: new ExponentialDecay(0.1f, 7, 0.9f, true)), new Sgd(schedule: new InverseTimeDecay(0.1f, 3, 0.5f))]))
        {
            var json = OptimizerRegistry.ToJson(opt);
            Assert.Equal(opt.Name, json["class"]!.GetValue<string>());
            using var doc = JsonDocument.Parse(json.ToJsonString());
            var back = OptimizerRegistry.FromJson(doc.RootElement, "test");
            Assert.Equal(opt.GetType(), back.GetType());
            Assert.Equal(json.ToJsonString(), OptimizerRegistry.ToJson(back).ToJsonString());
            Assert.Equal(opt.LearningRate, back.LearningRate);
            Assert.Equal(opt.SlotNames, back.SlotNames);
            if (opt.Schedule is { } s)
            {
                Assert.Equal(s.GetType(), back.Schedule!.GetType());
                Assert.Equal(s.Rate(15), back.Schedule.Rate(15));
                schedules.Add(json["config"]!["schedule"]!["class"]!.GetValue<string>());
            }
        }
        Assert.Equal(BuiltIn(OptimizerRegistry.Names), Optimizers().Select(o => o.Name).Order());
        Assert.Equal(BuiltIn(ScheduleRegistry.Names), schedules.Order());
    }

    [Fact]
    public void Every_built_in_optimizer_resumes_from_a_model_file_with_its_state()
    {
        var (x, y) = TestData.Blobs(40, 2);
        foreach (var opt in Optimizers())
        {
            var model = new Sequential([new Input([2]), new Dense(4, "tanh"), new Dense(3)], seed: 5, name: opt.Name);
            model.Compile(opt, new SparseCategoricalCrossentropy(fromLogits: true));
            model.Fit(x, y, epochs: 1, batchSize: 8, seed: 1);
            var path = FilePath(opt.Name + ".strata");
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(opt.GetType(), loaded.Optimizer!.GetType());
            Assert.Equal(opt.Iterations, loaded.Optimizer.Iterations);
            foreach (var (w, lw) in model.TrainableWeights.Zip(loaded.TrainableWeights))
                Assert.Equal(opt.GetSlots(w.Value)!, loaded.Optimizer.GetSlots(lw.Value)!);
            model.Fit(x, y, epochs: 2, batchSize: 8, seed: 1, initialEpoch: 1);
            loaded.Fit(x, y, epochs: 2, batchSize: 8, seed: 1, initialEpoch: 1);
            Assert.Equal(model.GetWeights(), loaded.GetWeights());
        }
    }

    [Fact]
    public void Every_built_in_loss_round_trips_by_name()
    {
        Loss[] losses =
        [
            new MeanSquaredError(LossReduction.Sum), new MeanAbsoluteError(LossReduction.None), new KLDivergence(LossReduction.Sum),
            new Huber(0.3f), new BinaryCrossentropy(fromLogits: true), new CategoricalCrossentropy(fromLogits: true, LossReduction.Sum),
            new SparseCategoricalCrossentropy(fromLogits: true),
        ];
        foreach (var loss in losses)
        {
            var json = LossRegistry.ToJson(loss);
            Assert.Equal(loss.Name, json["class"]!.GetValue<string>());
            using var doc = JsonDocument.Parse(json.ToJsonString());
            var back = LossRegistry.FromJson(doc.RootElement, "test");
            Assert.Equal(loss.GetType(), back.GetType());
            Assert.Equal(loss.GetConfig(), back.GetConfig());
        }
        Assert.Equal(BuiltIn(LossRegistry.Names), losses.Select(l => l.Name).Order());
    }

    [Fact]
    public void Every_built_in_metric_round_trips_by_name()
    {
        Metric[] metrics =
        [
            new Accuracy("a"), new BinaryAccuracy(0.3f, "b"), new CategoricalAccuracy("c"), new SparseCategoricalAccuracy("d"),
            new TopKCategoricalAccuracy(3, sparse: true, "e"), new MeanAbsoluteErrorMetric("f"), new MeanSquaredErrorMetric("g"),
            new Precision(0.6f, "h"), new Recall(0.4f, "i"), new Auc(50, "j"), new Mean("k"), new RootMeanSquaredErrorMetric("l"),
        ];
        var names = new List<string>();
        foreach (var metric in metrics)
        {
            var json = MetricRegistry.ToJson(metric);
            names.Add(json["class"]!.GetValue<string>());
            using var doc = JsonDocument.Parse(json.ToJsonString());
            var back = MetricRegistry.FromJson(doc.RootElement, "test");
            Assert.Equal(metric.GetType(), back.GetType());
            Assert.Equal(metric.GetConfig(), back.GetConfig());
        }
        Assert.Equal(BuiltIn(MetricRegistry.Names), names.Order());
    }

    [Fact]
    public void Metrics_given_as_objects_are_saved_and_names_stay_names()
    {
        var model = new Sequential([new Input([2]), new Dense(3, "softmax")], seed: 1);
        model.Compile(new Sgd(), new SparseCategoricalCrossentropy(), "accuracy", new TopKCategoricalAccuracy(2, sparse: true, "top2"), "mse");
        model.Predict(Tensor.Zeros(1, 2));
        var path = FilePath("metrics.strata");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.Equal(["accuracy", "top2", "mse"], loaded.Metrics.Select(m => m.Name));
        Assert.IsType<SparseCategoricalAccuracy>(loaded.Metrics[0]); // "accuracy" still picks the variant that fits the loss
        Assert.Equal(2, Assert.IsType<TopKCategoricalAccuracy>(loaded.Metrics[1]).K);
        using var zip = ZipFile.OpenRead(path);
        using var config = JsonDocument.Parse(zip.GetEntry(ModelFile.ConfigEntry)!.Open());
        var saved = config.RootElement.GetProperty("compile").GetProperty("metrics");
        Assert.Equal("accuracy", saved[0].GetString());
        Assert.Equal("top_k_categorical_accuracy", saved[1].GetProperty("class").GetString());
        Assert.Equal("mse", saved[2].GetString());
    }

    [Fact]
    public void Every_built_in_activation_round_trips_by_name()
    {
        var names = new List<string>();
        foreach (string name in BuiltIn(ActivationRegistry.Names))
        {
            var f = name switch
            {
                "leaky_relu" => ActivationFunction.LeakyRelu(0.05f),
                "elu" => ActivationFunction.Elu(0.7f),
                _ => ActivationFunction.Parse(name),
            };
            Assert.Equal(name, f.Name);
            var json = ActivationRegistry.ToJson(f);
            using var doc = JsonDocument.Parse(json.ToJsonString());
            var back = ActivationRegistry.FromJson(doc.RootElement, "test");
            Assert.Equal(f, back);
            Assert.Equal(f.GetConfig(), back.GetConfig());
            var x = Tensor.FromArray([-1.5f, -0.2f, 0.3f, 2f], 2, 2);
            Assert.Equal(f.Apply(x).ToArray(), back.Apply(x).ToArray());
            names.Add(name);
        }
        // The saved forms are those earlier files hold: a name, or {"name", "alpha"} for the two with a parameter.
        Assert.Equal("\"relu\"", ActivationRegistry.ToJson(ActivationFunction.Relu).ToJsonString());
        Assert.Equal("{\"name\":\"leaky_relu\",\"alpha\":0.05}", ActivationRegistry.ToJson(ActivationFunction.LeakyRelu(0.05f)).ToJsonString());
        Assert.NotEqual(ActivationFunction.LeakyRelu(0.05f), ActivationFunction.LeakyRelu(0.1f));
        Assert.Equal(12, names.Count);
        Assert.Equal(ActivationFunction.Swish, ActivationFunction.Parse("SiLU"));
        Assert.Equal(ActivationFunction.Linear, ActivationFunction.Parse(null));
    }

    [Fact]
    public void Custom_activations_work_by_name_and_unknown_names_are_listed()
    {
        Assert.IsType<TestCube>(ActivationFunction.Parse("test_cube"));
        var dense = new Dense(2, "test_cube");
        Assert.Equal("test_cube", dense.Activation.Name);
        var unknown = Assert.Throws<ArgumentException>(() => ActivationFunction.Parse("cube"));
        Assert.Contains("unknown name 'cube'", unknown.Message);
        Assert.Contains("test_cube", unknown.Message);
        var settings = Assert.Throws<ArgumentException>(() => ActivationFunction.Parse("test_swish_beta"));
        Assert.Contains("needs settings", settings.Message);
        Assert.Throws<ArgumentException>(() => ActivationRegistry.Register("relu", () => new TestCube()));
    }

    [Fact]
    public void A_custom_activation_is_gradient_checked_and_trains_on_the_compiled_path()
    {
        var x = Tensor.FromArray([-1.7f, -0.45f, 0.33f, 1.2f, 2.1f, -0.08f], 2, 3);
        x.RequiresGrad = true;
        var check = GradientChecker.Check(t => new TestSwishBeta(1.3f).Apply(t[0]), [x]);
        Assert.True(check.Passed, check.Worst.ToString());

        var (xs, ys) = Regression();
        var model = CustomModel();
        model.Compile(new Adam(0.01f), new MeanSquaredError());
        var history = model.Fit(xs, ys, epochs: 5, batchSize: 8, seed: 1);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} → {history["loss"][^1]}");
        Assert.True(model.HasCompiledPlan("train"), model.ExecutionPath);
    }
}

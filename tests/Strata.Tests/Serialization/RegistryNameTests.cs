using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

/// <summary>
/// The names code gives instead of objects: Compile's metric names (<see cref="MetricRegistry.CompileNames"/>) and
/// the optimizer names <see cref="OptimizerRegistry.Create"/> (and the CLI's --optimizer) take.
/// </summary>
public sealed class RegistryNameTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-names-");

    public RegistryNameTests()
    {
        CustomExtensions.EnsureRegistered();
        MetricRegistry.Register<TestMaxAbsError, MetricConfig>("test_max_abs_error", c => new TestMaxAbsError(c.Name));
        MetricRegistry.RegisterName("test_within_tenth", _ => new TestWithin(0.1f, "within_tenth"));
        MetricRegistry.RegisterAlias("test_wt", "test_within_tenth");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static IEnumerable<string> BuiltIn(IEnumerable<string> names) => names.Where(n => !n.StartsWith("test_", StringComparison.Ordinal));

    private static Sequential Small() => new([new Input([2]), new Dense(3, "softmax")], seed: 1);

    private static Metric CompiledMetric(string name, Loss loss)
    {
        var model = Small();
        model.Compile(new Sgd(), loss, name);
        return Assert.Single(model.Metrics);
    }

    // ---------------------------------------------------------------- metrics by name

    [Fact]
    public void Every_built_in_metric_name_makes_the_metric_it_always_made()
    {
        // What Compile's old switch over names made, with a loss that has no accuracy of its own.
        var expected = new Dictionary<string, (Type Type, MetricConfig Config)>
        {
            ["acc"] = (typeof(Accuracy), new MetricConfig("accuracy")),
            ["accuracy"] = (typeof(Accuracy), new MetricConfig("accuracy")),
            ["auc"] = (typeof(Auc), new AucConfig("auc", 200)),
            ["binary_accuracy"] = (typeof(BinaryAccuracy), new ThresholdMetricConfig("binary_accuracy", 0.5f)),
            ["categorical_accuracy"] = (typeof(CategoricalAccuracy), new MetricConfig("categorical_accuracy")),
            ["mae"] = (typeof(MeanAbsoluteErrorMetric), new MetricConfig("mae")),
            ["mean"] = (typeof(Mean), new MetricConfig("mean")), // new: every registered class without settings is a name
            ["mean_absolute_error"] = (typeof(MeanAbsoluteErrorMetric), new MetricConfig("mae")),
            ["mean_squared_error"] = (typeof(MeanSquaredErrorMetric), new MetricConfig("mse")),
            ["mse"] = (typeof(MeanSquaredErrorMetric), new MetricConfig("mse")),
            ["precision"] = (typeof(Precision), new ThresholdMetricConfig("precision", 0.5f)),
            ["recall"] = (typeof(Recall), new ThresholdMetricConfig("recall", 0.5f)),
            ["rmse"] = (typeof(RootMeanSquaredErrorMetric), new MetricConfig("rmse")), // new, with the regression task of `strata train`
            ["root_mean_squared_error"] = (typeof(RootMeanSquaredErrorMetric), new MetricConfig("rmse")),
            ["sparse_categorical_accuracy"] = (typeof(SparseCategoricalAccuracy), new MetricConfig("sparse_categorical_accuracy")),
            ["sparse_top_k_categorical_accuracy"] = (typeof(TopKCategoricalAccuracy), new TopKMetricConfig("sparse_top_k_categorical_accuracy", 5, true)),
            ["top_k_categorical_accuracy"] = (typeof(TopKCategoricalAccuracy), new TopKMetricConfig("top_k_categorical_accuracy", 5, false)),
        };
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), BuiltIn(MetricRegistry.CompileNames));
        foreach (var (name, (type, config)) in expected)
        {
            foreach (string spelling in new[] { name, name.ToUpperInvariant() }) // Compile's names ignore case, as they always did
            {
                var metric = CompiledMetric(spelling, new MeanSquaredError());
                Assert.Equal(type, metric.GetType());
                Assert.Equal(config, metric.GetConfig());
            }
        }
    }

    [Theory]
    [InlineData("sparse_categorical_crossentropy", typeof(SparseCategoricalAccuracy), null)]
    [InlineData("sparse_categorical_crossentropy_logits", typeof(SparseCategoricalAccuracy), null)]
    [InlineData("categorical_crossentropy", typeof(CategoricalAccuracy), null)]
    [InlineData("binary_crossentropy", typeof(BinaryAccuracy), 0.5f)]
    [InlineData("binary_crossentropy_logits", typeof(BinaryAccuracy), 0f)]
    [InlineData("mean_squared_error", typeof(Accuracy), null)]
    [InlineData("huber", typeof(Accuracy), null)]
    [InlineData("custom", typeof(TopKCategoricalAccuracy), null)]
    public void Accuracy_is_the_variant_that_fits_the_loss(string lossName, Type expected, float? threshold)
    {
        Loss loss = lossName switch
        {
            "sparse_categorical_crossentropy" => new SparseCategoricalCrossentropy(),
            "sparse_categorical_crossentropy_logits" => new SparseCategoricalCrossentropy(fromLogits: true),
            "categorical_crossentropy" => new CategoricalCrossentropy(),
            "binary_crossentropy" => new BinaryCrossentropy(),
            "binary_crossentropy_logits" => new BinaryCrossentropy(fromLogits: true),
            "mean_squared_error" => new MeanSquaredError(),
            "huber" => new Huber(),
            _ => new TopTwoLoss(),
        };
        foreach (string name in new[] { "accuracy", "acc", "Accuracy" })
        {
            var metric = CompiledMetric(name, loss);
            Assert.Equal(expected, metric.GetType());
            Assert.Equal("accuracy", metric.Name);
            if (threshold is float t)
                Assert.Equal(t, Assert.IsType<BinaryAccuracy>(metric).Threshold);
            if (metric is TopKCategoricalAccuracy top)
                Assert.Equal((2, true), (top.K, top.Sparse));
        }
    }

    [Fact]
    public void An_unknown_metric_name_names_Compile_and_lists_the_names_it_takes()
    {
        var model = Small();
        var e = Assert.Throws<ArgumentException>(() => model.Compile(new Sgd(), new MeanSquaredError(), "acuracy"));
        Assert.StartsWith("Compile: unknown metric 'acuracy'; expected one of ", e.Message);
        var listed = Regex.Match(e.Message, "expected one of (.*) \\(register").Groups[1].Value.Split(", ");
        Assert.Equal(["acc", "accuracy", "auc", "binary_accuracy", "categorical_accuracy", "mae", "mean", "mean_absolute_error", "mean_squared_error",
            "mse", "precision", "recall", "rmse", "root_mean_squared_error", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy"], BuiltIn(listed));
        Assert.Contains("test_max_abs_error", listed);
        Assert.Contains("test_wt", listed);
        Assert.Contains("MetricRegistry.Register", e.Message);

        // A registered class with settings is not a name by itself: its message says how to give it.
        var settings = Assert.Throws<ArgumentException>(() => model.Compile(new Sgd(), new MeanSquaredError(), "test_within"));
        Assert.Contains("Compile: the metric class 'test_within' has settings (TestWithinConfig)", settings.Message);
    }

    [Fact]
    public void A_custom_metric_registered_once_is_a_name_Compile_takes_it_trains_and_the_file_keeps_the_name()
    {
        var x = Tensor.RandomUniform([64, 2], -1f, 1f, 3);
        var w = Tensor.FromArray([1f, -2f, 0.5f, 1.5f, -1f, 0.25f], 2, 3);
        var y = x.MatMul(w);
        var model = new Sequential([new Input([2]), new Dense(3)], seed: 2);
        model.Compile(new Sgd(0.1f), new MeanSquaredError(), "test_max_abs_error", "test_wt");
        Assert.IsType<TestMaxAbsError>(model.Metrics[0]);
        Assert.Equal(0.1f, Assert.IsType<TestWithin>(model.Metrics[1]).Tolerance);

        var history = model.Fit(x, y, epochs: 8, batchSize: 16, seed: 1);
        var maxError = history["test_max_abs_error"];
        Assert.Equal(8, maxError.Count);
        Assert.True(history["loss"][^1] < 0.5f * history["loss"][0], $"loss {history["loss"][0]} → {history["loss"][^1]}");
        Assert.True(maxError[^1] < maxError[0], $"max error {maxError[0]} → {maxError[^1]}");

        // Evaluate's value is the mean over samples of max_j |ŷ_ij − y_ij|, computed here from Predict.
        var logs = model.Evaluate(x, y);
        var p = model.Predict(x).ToArray();
        var t = y.ToArray();
        double sum = 0;
        for (int i = 0; i < 64; i++)
            sum += Enumerable.Range(0, 3).Max(j => MathF.Abs(p[3 * i + j] - t[3 * i + j]));
        Assert.Equal(sum / 64, logs["test_max_abs_error"], 1e-5);

        string path = Path.Combine(_dir.FullName, "named.strata");
        model.Save(path);
        using (var zip = ZipFile.OpenRead(path))
        using (var config = JsonDocument.Parse(zip.GetEntry(ModelFile.ConfigEntry)!.Open()))
        {
            var saved = config.RootElement.GetProperty("compile").GetProperty("metrics");
            Assert.Equal(["test_max_abs_error", "test_wt"], saved.EnumerateArray().Select(m => m.GetString()));
        }
        var loaded = Model.Load(path);
        Assert.Equal(["test_max_abs_error", "within_tenth"], loaded.Metrics.Select(m => m.Name));
        Assert.IsType<TestMaxAbsError>(loaded.Metrics[0]);
        Assert.Equal(0.1f, Assert.IsType<TestWithin>(loaded.Metrics[1]).Tolerance);
        Assert.Equal(logs["test_max_abs_error"], loaded.Evaluate(x, y)["test_max_abs_error"]);
    }

    [Fact]
    public void Aliases_stand_for_names_and_cannot_shadow_them()
    {
        Assert.Contains("not a name Compile takes", Assert.Throws<ArgumentException>(() => MetricRegistry.RegisterAlias("test_nothing", "test_no_such_metric")).Message);
        Assert.Contains("already names a metric", Assert.Throws<ArgumentException>(() => MetricRegistry.RegisterAlias("mean_squared_error", "mean_absolute_error")).Message);
        Assert.Contains("already names a metric", Assert.Throws<ArgumentException>(() => MetricRegistry.RegisterAlias("mae", "accuracy")).Message);
        Assert.Contains("already an alias of 'mean_absolute_error'", Assert.Throws<ArgumentException>(() => MetricRegistry.RegisterName("mae", _ => new Mean())).Message);
        MetricRegistry.RegisterAlias("test_wt", "test_within_tenth"); // the same alias again is allowed
        Assert.IsType<MeanAbsoluteErrorMetric>(CompiledMetric("mae", new MeanSquaredError()));
    }

    // ---------------------------------------------------------------- optimizers by name

    [Fact]
    public void Every_built_in_optimizer_name_makes_its_type_with_Keras_default_rate()
    {
        var expected = new Dictionary<string, (Type Type, float Rate)>
        {
            ["adagrad"] = (typeof(Adagrad), 0.001f),
            ["adam"] = (typeof(Adam), 0.001f),
            ["adamw"] = (typeof(AdamW), 0.001f),
            ["momentum"] = (typeof(Sgd), 0.01f),
            ["nesterov"] = (typeof(Sgd), 0.01f),
            ["rmsprop"] = (typeof(RmsProp), 0.001f),
            ["sgd"] = (typeof(Sgd), 0.01f),
        };
        Assert.Equal(expected.Keys, BuiltIn(OptimizerRegistry.CreateNames));
        foreach (var (name, (type, rate)) in expected)
        {
            var opt = OptimizerRegistry.Create(name);
            Assert.Equal(type, opt.GetType());
            Assert.Equal(rate, opt.LearningRate);
            Assert.Null(opt.Schedule);
            Assert.Equal(type, OptimizerRegistry.Create(name.ToUpperInvariant()).GetType());
        }
        Assert.Equal(new SgdConfig(0, false) { LearningRate = 0.01f }, OptimizerRegistry.Create("sgd").GetConfig());
        Assert.Equal(new SgdConfig(0.9f, false) { LearningRate = 0.01f }, OptimizerRegistry.Create("momentum").GetConfig());
        Assert.Equal(new SgdConfig(0.9f, true) { LearningRate = 0.01f }, OptimizerRegistry.Create("nesterov").GetConfig());
    }

    [Fact]
    public void A_rate_given_by_name_replaces_the_rate_and_keeps_every_other_setting()
    {
        OptimizerRegistry.RegisterName("test_sign_momentum_half", () => new TestSignMomentum(beta: 0.5f, clipNorm: 3f));
        foreach (string name in BuiltIn(OptimizerRegistry.CreateNames).Append("test_sign_momentum_half"))
        {
            var defaults = OptimizerRegistry.Create(name);
            var opt = OptimizerRegistry.Create(name, 0.0625f);
            Assert.Equal(defaults.GetType(), opt.GetType());
            Assert.Equal(0.0625f, opt.LearningRate);
            Assert.Equal(defaults.GetConfig() with { LearningRate = 0.0625f }, opt.GetConfig());
        }
        var custom = Assert.IsType<TestSignMomentum>(OptimizerRegistry.Create("test_sign_momentum_half", 0.25f));
        Assert.Equal((0.5f, 3f, 0.25f), (custom.Beta, custom.ClipNorm!.Value, custom.LearningRate));
    }

    [Fact]
    public void An_unknown_optimizer_name_lists_the_names_and_an_unregistered_type_cannot_take_a_rate()
    {
        var e = Assert.Throws<ArgumentException>(() => OptimizerRegistry.Create("adamax"));
        Assert.StartsWith("OptimizerRegistry.Create: unknown optimizer 'adamax'; expected one of adagrad, adam, adamw, momentum, nesterov, rmsprop, sgd", e.Message);

        OptimizerRegistry.RegisterName("test_unregistered_optimizer", () => new UnregisteredOptimizer());
        Assert.Equal(0.01f, Assert.IsType<UnregisteredOptimizer>(OptimizerRegistry.Create("test_unregistered_optimizer")).LearningRate);
        var rate = Assert.Throws<InvalidOperationException>(() => OptimizerRegistry.Create("test_unregistered_optimizer", 0.5f));
        Assert.Contains("is not registered; register it with OptimizerRegistry.Register to set its learning rate", rate.Message);
    }

    private sealed class UnregisteredOptimizer() : Optimizer("test_unregistered", 0.01f, null, null, null, null)
    {
        protected override void UpdateStep(Span<float> param, ReadOnlySpan<float> grad, float[][] slots, float lr)
        {
            for (int i = 0; i < param.Length; i++)
                param[i] -= lr * grad[i];
        }
    }

    /// <summary>A loss whose targets are class indices scored by their top two: it names the accuracy that fits it.</summary>
    private sealed class TopTwoLoss() : Loss("test_top_two", LossReduction.SumOverBatchSize)
    {
        public override Metric MatchingAccuracy(string name) => new TopKCategoricalAccuracy(2, sparse: true, name);

        protected override Tensor PerSample(Tensor yTrue, Tensor yPred) => MeanPerSample(yPred);

        protected override void Validate(Tensor yTrue, Tensor yPred)
        {
        }
    }
}

/// <summary>The mean over samples of the largest absolute error among a sample's outputs: a custom metric without settings.</summary>
public sealed class TestMaxAbsError(string name = "max_abs_error") : MeanPerSample(name)
{
    protected override float Score(Tensor yTrue, Tensor yPred, int i)
    {
        var t = Row(yTrue, i);
        var p = Row(yPred, i);
        float max = 0;
        for (int j = 0; j < p.Length; j++)
            max = MathF.Max(max, MathF.Abs(p[j] - t[j]));
        return max;
    }
}

using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Models;

public sealed class CallbackTests
{
    private static (Sequential Model, Tensor X, Tensor Y) Setup(float lr = 0.1f)
    {
        var x = Tensor.RandomUniform([40, 3], -1f, 1f, 1);
        var y = (x.Sum(1, keepDims: true) * 0.5f).Detach();
        var model = new Sequential([new Dense(1)], seed: 2);
        model.Compile(new Sgd(lr), new MeanSquaredError());
        return (model, x, y);
    }

    [Fact]
    public void LearningRateScheduler_sets_the_rate_each_epoch()
    {
        var (model, x, y) = Setup();
        var history = model.Fit(x, y, epochs: 3, batchSize: 20, callbacks: [new LearningRateScheduler((epoch, lr) => 0.1f / (epoch + 1))]);
        Assert.Equal([0.1f, 0.05f, 0.1f / 3], history["learning_rate"]);
    }

    /// <summary>Puts a fixed "metric" sequence into the logs.</summary>
    private sealed class Scripted(params float[] values) : Callback
    {
        public override void OnEpochEnd(int epoch, Logs logs) => logs["scripted"] = values[epoch];
    }

    [Fact]
    public void ReduceLROnPlateau_cuts_the_rate_after_patience_epochs_without_improvement()
    {
        var (model, x, y) = Setup(lr: 0.1f);
        var rates = new List<float>();
        var recorder = new RateRecorder(rates);
        // Improves at epochs 0 and 1, then flat: with patience 2 the cut happens at the end of epoch 3.
        model.Fit(x, y, epochs: 6, batchSize: 40, callbacks:
            [new Scripted(5, 4, 4, 4, 4, 4), new ReduceLROnPlateau("scripted", factor: 0.5f, patience: 2, minLearningRate: 0.03f), recorder]);
        Assert.Equal([0.1f, 0.1f, 0.1f, 0.05f, 0.05f, 0.03f], rates);
    }

    private sealed class RateRecorder(List<float> rates) : Callback
    {
        public override void OnEpochEnd(int epoch, Logs logs) => rates.Add(Model!.Optimizer!.LearningRate);
    }

    [Fact]
    public void CsvLogger_writes_a_header_and_one_row_per_epoch()
    {
        var (model, x, y) = Setup();
        string path = Path.Combine(Path.GetTempPath(), $"strata-csv-{Guid.NewGuid():N}.csv");
        try
        {
            model.Fit(x, y, epochs: 3, batchSize: 10, validationSplit: 0.25f, callbacks: [new CsvLogger(path)]);
            var lines = File.ReadAllLines(path);
            Assert.Equal("epoch,loss,val_loss", lines[0]);
            Assert.Equal(4, lines.Length);
            Assert.StartsWith("2,", lines[3]);
            Assert.False(File.Exists(path + ".tmp"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A user-defined layer: y = x·α with one trainable scalar α.</summary>
    private sealed class Scale(string? name = null) : Layer(name)
    {
        private Weight? _alpha;

        public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

        protected override void OnBuild(Shape inputShape) => _alpha = AddWeight("alpha", [1], Initializers.Ones);

        protected override Tensor Call(Tensor x, bool training) => x * _alpha!.Value;

        public override LayerConfig GetConfig() => new NamedLayerConfig(Name, nameof(Scale));
    }

    [Fact]
    public void User_defined_layers_train_like_built_in_ones()
    {
        var x = Tensor.RandomUniform([32, 4], -1f, 1f, 3);
        var y = (x * 3f).Detach();
        var model = new Sequential([new Scale()], seed: 1);
        model.Compile(new Sgd(0.5f), new MeanSquaredError());
        model.Fit(x, y, epochs: 30, batchSize: 8);
        Assert.Equal(3f, model.Layers[0].Weights[0].Value[0], 2);
        Assert.Equal("scale", model.Layers[0].Name[..5]);
    }

    [Fact]
    public void Progress_bar_redraws_per_batch_with_eta_and_ends_each_epoch_with_a_summary()
    {
        var (model, x, y) = Setup();
        var output = new StringWriter();
        var bar = new ProgressLogger(output, interactive: true, redrawInterval: TimeSpan.Zero) { TotalEpochs = 2, StepsPerEpoch = 4 };
        model.Fit(x, y, epochs: 2, batchSize: 10, callbacks: [bar]);
        string text = output.ToString();
        var lines = text.Split(Environment.NewLine);
        Assert.Equal("Epoch 1/2", lines[0]);
        // Epoch 1's bar: redrawn in place after each batch, then the summary.
        var draws = lines[1].Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, draws.Length);
        Assert.StartsWith("1/4 [======>.......................] - ETA: ", draws[0]);
        Assert.Contains(" - loss: ", draws[0]);
        Assert.StartsWith("4/4 [==============================] - ", draws[3]);
        Assert.Matches(@"^4/4 \[=+\] - \d+s \d+(ms|us)/step - loss: \d+\.\d{4}$", draws[4].TrimEnd());
        Assert.Equal("Epoch 2/2", lines[2]);
    }

    [Fact]
    public void Progress_without_a_terminal_is_one_clean_line_per_epoch()
    {
        var (model, x, y) = Setup();
        var output = new StringWriter();
        model.Fit(x, y, epochs: 3, batchSize: 10, callbacks: [new ProgressLogger(output, interactive: false) { TotalEpochs = 3, StepsPerEpoch = 4 }]);
        string text = output.ToString();
        Assert.DoesNotContain("\r", text);
        var lines = text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^Epoch 3/3 - \d+\.\ds - loss: \d+\.\d{4}$", lines[2]);
    }
}

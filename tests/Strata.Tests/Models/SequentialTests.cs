using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Models;

public sealed class SequentialTests
{
    /// <summary>The seed articles' MLP: Flatten(28×28) → Dense(128, relu) → Dense(64, relu) → Dense(10, softmax).</summary>
    private static Sequential SeedMlp(ulong seed) => new(
    [
        new Input([28, 28]),
        new Flatten(),
        new Dense(128, "relu"),
        new Dense(64, "relu"),
        new Dense(10, "softmax"),
    ], seed);

    [Fact]
    public void Seed_mlp_learns_real_mnist_in_one_epoch()
    {
        // CI-sized: one epoch instead of five (the five-epoch figure is in docs/PERFORMANCE.md).
        var (x, y) = Mnist.Load(RepoPaths.Mnist, train: true);
        var (testX, testY) = Mnist.Load(RepoPaths.Mnist, train: false);
        var model = SeedMlp(seed: 1);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var history = model.Fit(x, Tensor.FromArray(y.Select(v => (float)v).ToArray()), epochs: 1, batchSize: 32, seed: 1);
        var test = model.Evaluate(testX, Tensor.FromArray(testY.Select(v => (float)v).ToArray()), batchSize: 1000);
        Assert.True(test["accuracy"] >= 0.955f, $"test accuracy {test["accuracy"]:P2}, train {history["accuracy"][0]:P2}");
        Assert.True(history["loss"][0] < 0.4f, $"train loss {history["loss"][0]}");
    }

    private static (Tensor X, Tensor Y) Blobs(int n, ulong seed) => TestData.Blobs(n, seed);

    private static Sequential Small(ulong seed) => new([new Dense(16, "relu"), new Dropout(0.1f), new Dense(3)], seed);

    [Fact]
    public void Same_seed_gives_bit_identical_training()
    {
        var (x, y) = Blobs(300, 1);
        float[][] Train()
        {
            var m = Small(seed: 9);
            m.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true), "accuracy");
            m.Fit(x, y, epochs: 3, batchSize: 16, seed: 4);
            return m.GetWeights();
        }
        var a = Train();
        var b = Train();
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.Equal(a[i], b[i]);
    }

    [Fact]
    public void Fit_reports_history_with_validation_and_evaluate_and_predict_agree()
    {
        var (x, y) = Blobs(600, 2);
        var model = Small(seed: 1);
        model.Compile(new Adam(0.02f), new SparseCategoricalCrossentropy(fromLogits: true), "accuracy", new TopKCategoricalAccuracy(2, sparse: true));
        var history = model.Fit(x, y, epochs: 8, batchSize: 32, validationSplit: 0.2f);
        Assert.Equal(8, history.Epochs);
        Assert.Contains("val_loss", history.Keys);
        Assert.Contains("val_accuracy", history.Keys);
        Assert.True(history["loss"][^1] < history["loss"][0]);
        Assert.True(history["val_accuracy"][^1] > 0.9f, $"val accuracy {history["val_accuracy"][^1]}");
        var eval = model.Evaluate(x, y);
        var pred = model.Predict(x, batchSize: 100);
        Assert.Equal([600, 3], pred.Shape.ToArray());
        var acc = new SparseCategoricalAccuracy();
        acc.Update(y, pred);
        Assert.Equal(eval["accuracy"], acc.Result(), 5);
    }

    [Fact]
    public void Callbacks_run_in_keras_order_and_early_stopping_restores_the_best_weights()
    {
        var (x, y) = Blobs(90, 3);
        var model = Small(seed: 2);
        model.Compile(new Sgd(0.05f), new SparseCategoricalCrossentropy(fromLogits: true));
        var recorder = new Recorder();
        model.Fit(x, y, epochs: 2, batchSize: 45, callbacks: [recorder]);
        Assert.Equal(["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1", "epoch_end 0",
            "epoch_begin 1", "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1", "epoch_end 1", "train_end"], recorder.Events);

        // A monitor that gets worse after epoch 0: stop after `patience` more epochs, restore epoch 0's weights.
        var m2 = Small(seed: 3);
        m2.Compile(new Sgd(0.05f), new SparseCategoricalCrossentropy(fromLogits: true));
        var snapshot = new Snapshot();
        var stop = new EarlyStopping("fake", patience: 1, restoreBestWeights: true, higherIsBetter: false);
        var history = m2.Fit(x, y, epochs: 10, batchSize: 30, callbacks: [new FakeMonitor(), snapshot, stop]);
        Assert.Equal(1 + 2, history.Epochs);
        Assert.Equal(2, stop.StoppedEpoch);
        var restored = m2.GetWeights();
        for (int i = 0; i < restored.Length; i++)
            Assert.Equal(snapshot.AfterFirstEpoch![i], restored[i]);
    }

    private sealed class Recorder : Callback
    {
        public List<string> Events { get; } = [];
        public override void OnTrainBegin() => Events.Add("train_begin");
        public override void OnTrainEnd(Logs logs) => Events.Add("train_end");
        public override void OnEpochBegin(int epoch) => Events.Add($"epoch_begin {epoch}");
        public override void OnEpochEnd(int epoch, Logs logs) => Events.Add($"epoch_end {epoch}");
        public override void OnBatchBegin(int batch) => Events.Add($"batch_begin {batch}");
        public override void OnBatchEnd(int batch, Logs logs) => Events.Add($"batch_end {batch}");
    }

    /// <summary>Writes an increasing "fake" value into the epoch logs: best at epoch 0.</summary>
    private sealed class FakeMonitor : Callback
    {
        public override void OnEpochEnd(int epoch, Logs logs) => logs["fake"] = epoch;
    }

    private sealed class Snapshot : Callback
    {
        public float[][]? AfterFirstEpoch { get; private set; }
        public override void OnEpochEnd(int epoch, Logs logs)
        {
            if (epoch == 0)
                AfterFirstEpoch = Model!.GetWeights();
        }
    }

    [Fact]
    public void Regularizers_add_to_the_loss_and_shrink_weights()
    {
        var (x, y) = Blobs(90, 4);
        float Norm(bool regularize)
        {
            var m = new Sequential([new Dense(8, "relu", kernelRegularizer: regularize ? Regularizer.OfL2(0.1f) : null), new Dense(3)], seed: 5);
            m.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
            m.Fit(x, y, epochs: 20, batchSize: 30);
            return m.Layers[0].Weights[0].Value.Square().Sum().ToScalar();
        }
        Assert.True(Norm(true) < 0.7f * Norm(false));
    }

    [Fact]
    public void Custom_loops_compute_and_apply_gradients_for_chosen_parameters()
    {
        var model = Small(seed: 6);
        var (x, y) = Blobs(30, 5);
        var loss = new SparseCategoricalCrossentropy(fromLogits: true);
        var opt = new Adam(0.05f);
        model.Build(2); // weights exist once the input shape is known
        var firstLayer = model.Layers[0].Weights.Select(w => w.Value).ToArray();
        Assert.Equal(2, firstLayer.Length);
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            var l = loss.Compute(y, model.Forward(x));
            if (step == 0)
            {
                first = l.ToScalar();
                var frozen = model.Layers[2].Weights[0].Value.ToArray();
                var grads = Model.ComputeGradients(l, firstLayer);
                opt.ApplyGradients(grads.Zip(firstLayer));
                Assert.Equal(frozen, model.Layers[2].Weights[0].Value.ToArray()); // only the chosen ones moved
                continue;
            }
            opt.ApplyGradients(Model.ComputeGradients(l, firstLayer).Zip(firstLayer));
            last = l.ToScalar();
        }
        Assert.True(last < first, $"{first} → {last}");
    }

    [Fact]
    public void Summary_lists_layers_shapes_and_parameter_counts()
    {
        var model = SeedMlp(seed: 1);
        string summary = model.Summary();
        Assert.Contains("(None, 784)", summary);
        Assert.Contains("(None, 128)", summary);
        Assert.Contains("100,480", summary); // 784·128 + 128
        Assert.Contains("Total params: 109,386", summary); // 100,480 + 8,256 + 650
        Assert.Contains("Non-trainable params: 0", summary);
    }

    [Fact]
    public void Misuse_is_explained()
    {
        var model = Small(seed: 1);
        var (x, y) = Blobs(30, 1);
        Assert.Contains("Compile", Assert.Throws<InvalidOperationException>(() => model.Fit(x, y)).Message);
        model.Compile(new Sgd(), new SparseCategoricalCrossentropy(true));
        Assert.Contains("same number of samples", Assert.Throws<ArgumentException>(() => model.Fit(x, y.Slice(..20))).Message);
        var label = Assert.Throws<ArgumentException>(() => model.Fit(x, Tensor.Full(7f, 30))).Message;
        Assert.Contains("sparse_categorical_crossentropy: label 7 at position 0 is not a class index in 0..2", label);
        model.Fit(x, y);
        Assert.Contains("[batch, 2]", Assert.Throws<ArgumentException>(() => model.Predict(Tensor.Zeros(4, 5))).Message);
        Assert.Contains("unknown metric", Assert.Throws<ArgumentException>(() => model.Compile(new Sgd(), new MeanSquaredError(), "acuracy")).Message);
    }

    [Fact]
    public void Terminate_on_nan_stops_training()
    {
        var (x, y) = Blobs(60, 1);
        var model = new Sequential([new Dense(3)], seed: 1);
        model.Compile(new Sgd(1e30f), new MeanSquaredError());
        var guard = new TerminateOnNaN();
        var history = model.Fit(x, Tensor.OneHot(y.ToArray().Select(v => (int)v).ToArray(), 3) * 1e20f, epochs: 5, batchSize: 10, callbacks: [guard]);
        Assert.True(guard.Terminated);
        Assert.True(history.Epochs <= 1);
    }
}

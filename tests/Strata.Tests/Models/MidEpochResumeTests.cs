using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Models;

/// <summary>
/// Fit cancelled mid-epoch (a <see cref="CancellationToken"/>), saved, loaded and resumed with
/// initialBatch ends bit-identical to the uninterrupted run, on tensors and on a loader with augmentation.
/// </summary>
public sealed class MidEpochResumeTests
{
    private static Sequential Mlp(ulong seed)
    {
        // Dropout: the layers' random streams must continue too; Adam: its moments and step count.
        var m = new Sequential([new Input([2]), new Dense(16, "tanh"), new Dropout(0.2f), new Dense(3, "softmax")], seed);
        m.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(), "accuracy");
        return m;
    }

    /// <summary>Cancels its source at the end of batch <c>Batch</c> of epoch <c>Epoch</c> (0-based), as a signal handler would mid-step.</summary>
    private sealed class CancelAt(CancellationTokenSource source, int stopEpoch, int stopBatch) : Callback
    {
        private int _epoch;

        public override void OnEpochBegin(int epoch) => _epoch = epoch;

        public override void OnBatchEnd(int batch, Logs logs)
        {
            if (_epoch == stopEpoch && batch == stopBatch)
                source.Cancel();
        }
    }

    private sealed class Jitter : ISampleTransform
    {
        public void Apply(Span<float> sample, Shape sampleShape, Rng rng)
        {
            for (int i = 0; i < sample.Length; i++)
                sample[i] += 0.3f * rng.NextFloat();
        }
    }

    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"strata-midepoch-{Guid.NewGuid():N}.strata");

    [Theory]
    [InlineData(1, 4)]   // stops in epoch 2 after batch 5 (of 10)
    [InlineData(0, 0)]   // after the very first batch
    [InlineData(2, 8)]   // in the last epoch, one batch before its end
    public void A_cancelled_fit_saved_and_resumed_mid_epoch_equals_the_uninterrupted_run(int stopEpoch, int stopBatch)
    {
        var (x, y) = TestData.Blobs(300, 4); // 300 samples in batches of 32: 10 per epoch, the last of 12
        var (vx, vy) = TestData.Blobs(60, 5);
        var straight = Mlp(7);
        var full = straight.Fit(x, y, epochs: 3, batchSize: 32, seed: 11, validationData: (vx, vy));

        var first = Mlp(7);
        using var cts = new CancellationTokenSource();
        var partial = first.Fit(x, y, epochs: 3, batchSize: 32, seed: 11, validationData: (vx, vy),
            callbacks: [new CancelAt(cts, stopEpoch, stopBatch)], cancellationToken: cts.Token);
        Assert.Equal(stopEpoch, first.CompletedEpochs);
        Assert.Equal(stopBatch + 1, first.CompletedBatches);
        Assert.Equal(stopEpoch, partial.Epochs); // the unfinished epoch is not in the history
        Assert.Equal($"Fit: cancelled in epoch {stopEpoch + 1} after batch {stopBatch + 1} of 10", first.StopReason);
        Assert.NotEqual(straight.GetWeights(), first.GetWeights());

        string path = TempFile();
        try
        {
            first.Save(path);
            // Loaded and saved again before training (a copy, say): the position and the running figures stay.
            Model.Load(path).Save(path);
            var resumed = Model.Load(path);
            Assert.Equal(stopEpoch, resumed.CompletedEpochs);
            Assert.Equal(stopBatch + 1, resumed.CompletedBatches);
            var rest = resumed.Fit(x, y, epochs: 3, batchSize: 32, seed: 11, validationData: (vx, vy),
                initialEpoch: resumed.CompletedEpochs, initialBatch: resumed.CompletedBatches);
            Assert.Equal(straight.GetWeights(), resumed.GetWeights());
            Assert.Equal(3, resumed.CompletedEpochs);
            Assert.Equal(0, resumed.CompletedBatches);
            // The resumed epoch's training figures cover all its batches: the saved running loss and
            // accuracy were restored, so they equal the uninterrupted epoch's.
            foreach (var key in new[] { "loss", "accuracy", "val_loss", "val_accuracy" })
                Assert.Equal(full[key].Skip(stopEpoch), rest[key]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_loader_fit_resumes_mid_epoch_with_the_same_augmentation_and_order()
    {
        var (x, y) = TestData.Blobs(250, 6);
        var loader = new DataLoader(Dataset.FromTensors(x, y), batchSize: 16, seed: 3, transform: new Jitter(), workers: 2);
        var straight = Mlp(9);
        var full = straight.Fit(loader, epochs: 3);

        var first = Mlp(9);
        using var cts = new CancellationTokenSource();
        first.Fit(loader, epochs: 3, callbacks: [new CancelAt(cts, 1, 6)], cancellationToken: cts.Token);
        Assert.Equal((1, 7), (first.CompletedEpochs, first.CompletedBatches));
        string path = TempFile();
        try
        {
            first.Save(path);
            var resumed = Model.Load(path);
            var rest = resumed.Fit(loader, epochs: 3, initialEpoch: resumed.CompletedEpochs, initialBatch: resumed.CompletedBatches);
            Assert.Equal(straight.GetWeights(), resumed.GetWeights());
            Assert.Equal(full["loss"].Skip(1), rest["loss"]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_loader_stream_started_at_a_batch_gives_the_rest_of_the_epoch()
    {
        var data = Dataset.FromFunction(103, new Shape(1), Shape.Scalar, (i, sx, sy) => { sx[0] = i; sy[0] = i; });
        foreach (int workers in new[] { 0, 1, 3 })
        {
            var loader = new DataLoader(data, batchSize: 10, seed: 4, transform: new Jitter(), workers: workers);
            var whole = Read(loader, 2, 0);
            Assert.Equal(11, whole.Count);
            Assert.Equal(whole.Skip(7), Read(loader, 2, 7));
            Assert.Empty(Read(loader, 2, 11));
        }
    }

    private static List<float[]> Read(DataLoader loader, int epoch, int first)
    {
        var all = new List<float[]>();
        using var stream = loader.Open(epoch, reuseBuffers: true, first);
        while (stream.Next() is { } b)
            all.Add([.. b.X.ToArray(), .. b.Y.ToArray()]);
        return all;
    }

    [Fact]
    public void Counting_metrics_continue_from_a_saved_state()
    {
        // Binary targets and probabilities: the second half updates a metric restored from the first half's state.
        var rng = new Rng(3);
        var t = Tensor.FromArray([.. Enumerable.Range(0, 40).Select(i => (float)(i % 3 == 0 ? 1 : 0))], [40, 1]);
        var p = Tensor.FromArray([.. Enumerable.Range(0, 40).Select(_ => rng.NextFloat())], [40, 1]);
        foreach (var make in new Func<Strata.Metrics.Metric>[] { () => new Strata.Metrics.Auc(20), () => new Strata.Metrics.Precision(0.4f), () => new Strata.Metrics.Recall() })
        {
            var whole = make();
            whole.Update(t, p);
            var firstHalf = make();
            firstHalf.Update(t.Slice(..20), p.Slice(..20));
            var resumed = make();
            resumed.SetState(firstHalf.GetState()!);
            resumed.Update(t.Slice(20..), p.Slice(20..));
            Assert.Equal(whole.Result(), resumed.Result());
            Assert.NotEqual(firstHalf.Result(), whole.Result()); // the halves differ, so the check can fail
        }
        Assert.Contains("expected a state of 42 numbers, got 2", Assert.Throws<ArgumentException>(() => new Strata.Metrics.Auc(20).SetState([1, 2])).Message);
    }

    [Fact]
    public void Fit_rejects_an_initial_batch_outside_the_epoch()
    {
        var (x, y) = TestData.Blobs(100, 1);
        var model = Mlp(1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(x, y, epochs: 2, batchSize: 32, initialBatch: 4));
        Assert.Contains("initialBatch must be in [0, batches per epoch = 4), got 4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(x, y, epochs: 2, batchSize: 32, initialBatch: -1));
    }

    [Fact]
    public void A_token_cancelled_before_fit_trains_nothing()
    {
        var (x, y) = TestData.Blobs(100, 1);
        var model = Mlp(1);
        var before = model.GetWeights();
        var history = model.Fit(x, y, epochs: 2, batchSize: 32, cancellationToken: new CancellationToken(canceled: true));
        Assert.Equal(0, history.Epochs);
        Assert.Equal((0, 0), (model.CompletedEpochs, model.CompletedBatches));
        Assert.Equal(before, model.GetWeights());
        Assert.StartsWith("Fit: cancelled in epoch 1 after batch 0", model.StopReason);
    }

    [Fact]
    public void An_epoch_end_checkpoint_holds_no_mid_epoch_position()
    {
        var (x, y) = TestData.Blobs(100, 1);
        var model = Mlp(1);
        model.Fit(x, y, epochs: 1, batchSize: 32);
        string path = TempFile();
        try
        {
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal((1, 0), (loaded.CompletedEpochs, loaded.CompletedBatches));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

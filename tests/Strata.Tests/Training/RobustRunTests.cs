using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;
using Xunit;

namespace Strata.Tests.Training;

/// <summary>Runs that meet what users do: a diverging loss, values beyond float32, a model or batch too large for memory.</summary>
public class RobustRunTests
{
    [Fact]
    public void A_diverging_loss_stops_at_its_batch_and_the_last_checkpoint_is_the_last_good_model()
    {
        var (x, y) = TestData.Blobs(120, 3);
        var model = new Sequential([new Input([2]), new Dense(8, "relu"), new Dense(3, "softmax")], seed: 2);
        model.Compile(new Sgd(0.05f), new SparseCategoricalCrossentropy());
        var dir = Directory.CreateTempSubdirectory("strata-nan");
        try
        {
            string path = Path.Combine(dir.FullName, "model.strata");
            var guard = new TerminateOnNaN();
            var checkpoint = new ModelCheckpoint(path, saveBestOnly: false);
            float[]? afterSecond = null;
            var keep = new AtEpochEnd(e => { if (e == 1) afterSecond = [.. model.GetWeights().SelectMany(w => w.ToArray())]; });
            var blowUp = new LearningRateScheduler((epoch, lr) => epoch >= 2 ? 1e30f : lr); // epoch 3 diverges
            var history = model.Fit(x, y, epochs: 6, batchSize: 10, callbacks: [blowUp, guard, checkpoint, keep]);
            Assert.True(guard.Terminated);
            var at = guard.At!.Value;
            Assert.Equal(2, at.Epoch);
            Assert.False(float.IsFinite(at.Value));
            Assert.Contains($"epoch 3, batch {at.Batch + 1}", model.StopReason);
            Assert.Equal(3, history.Epochs); // the diverged epoch is recorded, no later one runs
            Assert.Contains(2, checkpoint.Skipped);
            var saved = Model.Load(path);
            var weights = saved.GetWeights().SelectMany(w => w.ToArray()).ToArray();
            Assert.All(weights, v => Assert.True(float.IsFinite(v)));
            Assert.Equal(afterSecond, weights); // the model after epoch 2, the last with a finite loss
            Assert.Contains(model.GetWeights().SelectMany(w => w.ToArray()), v => !float.IsFinite(v)); // the live model did diverge
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void A_validation_loss_that_is_not_finite_ends_training_at_the_end_of_its_epoch()
    {
        var (x, y) = TestData.Blobs(60, 4);
        var model = new Sequential([new Input([2]), new Dense(3, "softmax")], seed: 1);
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossentropy());
        var bad = x.Clone();
        bad.AsWritableSpan()[0] = float.PositiveInfinity; // one validation input that makes the validation loss NaN
        var guard = new TerminateOnNaN();
        var history = model.Fit(x, y, epochs: 5, batchSize: 10, validationData: (bad, y), callbacks: [guard]);
        Assert.Equal((0, -1, "val_loss"), (guard.At!.Value.Epoch, guard.At.Value.Batch, guard.At.Value.Key));
        Assert.Equal(1, history.Epochs);
        Assert.Contains("at the end of epoch 1", model.StopReason);
    }

    [Theory]
    [InlineData("1e39", "'1e39'")]
    [InlineData("-3.5e38", "'-3.5e38'")]
    [InlineData("Infinity", "'Infinity'")]
    public void Csv_values_beyond_float32_are_reported_by_file_line_and_column(string value, string quoted)
    {
        string path = Path.Combine(Path.GetTempPath(), $"strata-over-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, $"a,b,label\n1,2,0\n3,{value},1\n4,5,0\n");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => Csv.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains($"line 3 column 'b': {quoted}", e.Message);
            Assert.Contains("float32", e.Message);
            File.WriteAllText(path, $"a,b,label\n1,2,0\n3,4,{value}\n");
            e = Assert.Throws<InvalidDataException>(() => Csv.Load(path));
            Assert.Contains("line 3 column 'label'", e.Message);
            File.WriteAllText(path, "a,b,label\n1,2,0\n3,3.4e38,1\n"); // the largest floats are fine
            Assert.Equal(3.4e38f, Csv.Load(path).Features.Span[3]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_weight_too_large_fails_at_once_with_its_size()
    {
        var e = Assert.Throws<InsufficientMemoryException>(() => new Sequential([new Input([100_000]), new Dense(1_000_000, name: "huge")]));
        Assert.Contains("Dense 'huge'", e.Message);
        Assert.Contains("[100000, 1000000]", e.Message);
        Assert.Contains("100,000,000,000 values", e.Message);
        Assert.Contains("400.0 GB", e.Message);
    }

    [Fact]
    public void A_batch_whose_activations_cannot_fit_fails_before_training()
    {
        // 64×64 images upsampled 64× per side: 16.8 M values per sample; 2,000 such samples need > 250 GB.
        var model = new Sequential([new Input([64, 64, 1]), new UpSampling2D(64), new Flatten(), new Dense(1, name: "out")], seed: 1);
        model.Compile(new Adam(), new MeanSquaredError());
        var x = Tensor.Zeros(2000, 64, 64, 1);
        var y = Tensor.Zeros(2000, 1);
        var e = Assert.Throws<InsufficientMemoryException>(() => model.Fit(x, y, batchSize: 1_000_000_000));
        Assert.Contains("batches of 2,000 samples", e.Message); // a batch beyond the data is the whole data set
        Assert.Contains("16,777,217 activation values per sample", e.Message);
        Assert.Contains("smaller batch size", e.Message);
        Assert.Equal(0, model.Optimizer!.Iterations); // refused before any step
        e = Assert.Throws<InsufficientMemoryException>(() => model.Fit(new DataLoader(Dataset.FromTensors(x, y), 1_000_000_000)));
        Assert.Contains("batches of 2,000 samples", e.Message);
    }

    private sealed class AtEpochEnd(Action<int> action) : Callback
    {
        public override void OnEpochEnd(int epoch, Logs logs) => action(epoch);
    }
}

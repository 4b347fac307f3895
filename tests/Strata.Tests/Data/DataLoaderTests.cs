using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Data;

public sealed class DataLoaderTests
{
    /// <summary>n samples [2] = (i, −i) with target i: a sample's values say which it is.</summary>
    private static Dataset Numbered(int n) =>
        Dataset.FromFunction(n, new Shape(2), Shape.Scalar, (i, x, y) => { x[0] = i; x[1] = -i; y[0] = i; });

    private static List<float[]> Targets(IEnumerable<(Tensor X, Tensor Y)> batches) => batches.Select(b => b.Y.ToArray()).ToList();

    [Fact]
    public void An_epoch_visits_every_sample_once_in_a_seeded_order()
    {
        var loader = new DataLoader(Numbered(103), batchSize: 10, seed: 4);
        var epoch0 = Targets(loader.Epoch(0));
        Assert.Equal(11, epoch0.Count);
        Assert.Equal(3, epoch0[^1].Length); // the short last batch
        Assert.Equal(Enumerable.Range(0, 103).Select(i => (float)i), epoch0.SelectMany(b => b).Order());
        Assert.Equal(epoch0, Targets(loader.Epoch(0))); // same seed and epoch: same order
        Assert.NotEqual(epoch0, Targets(loader.Epoch(1))); // a new order each epoch
        Assert.NotEqual(epoch0, Targets(new DataLoader(Numbered(103), batchSize: 10, seed: 5).Epoch(0)));
        // foreach runs epochs 0, 1, ... in turn.
        Assert.Equal(epoch0, Targets(loader));
        Assert.Equal(Targets(loader.Epoch(1)), Targets(loader));

        var ordered = Targets(new DataLoader(Numbered(103), batchSize: 10, shuffle: false).Epoch(3));
        Assert.Equal(Enumerable.Range(0, 103).Select(i => (float)i), ordered.SelectMany(b => b));
        var dropped = Targets(new DataLoader(Numbered(103), batchSize: 10, dropLast: true, seed: 4).Epoch(0));
        Assert.Equal(10, dropped.Count);
        Assert.All(dropped, b => Assert.Equal(10, b.Length));
        // Samples and targets stay paired through the shuffle.
        foreach (var (x, y) in loader.Epoch(2))
            Assert.Equal(y.ToArray(), x.Slice(.., 0..1).Reshape([y.Shape[0]]).ToArray());
    }

    /// <summary>Adds a random offset to every value: shows which draws each sample got.</summary>
    private sealed class Jitter : ISampleTransform
    {
        public void Apply(Span<float> sample, Shape sampleShape, Rng rng)
        {
            for (int i = 0; i < sample.Length; i++)
                sample[i] += rng.NextFloat();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Batches_do_not_depend_on_the_number_of_workers(bool reuse)
    {
        var loader0 = new DataLoader(Numbered(250), batchSize: 16, seed: 7, transform: new Jitter(), workers: 0);
        var reference = Read(loader0, 1, reuse);
        foreach (int workers in new[] { 1, 2, 3, 8 })
        {
            var loader = new DataLoader(Numbered(250), batchSize: 16, seed: 7, transform: new Jitter(), workers: workers, prefetch: 1 + workers % 2);
            Assert.Equal(reference, Read(loader, 1, reuse));
        }
        // The transform really draws per sample and per epoch.
        Assert.NotEqual(reference, Read(loader0, 2, reuse));
    }

    /// <summary>Every batch's values, copied as they are handed out (the stream may recycle its tensors).</summary>
    private static List<float[]> Read(DataLoader loader, int epoch, bool reuse)
    {
        var all = new List<float[]>();
        using var stream = loader.Open(epoch, reuse);
        while (stream.Next() is { } b)
        {
            all.Add(b.X.ToArray());
            all.Add(b.Y.ToArray());
        }
        return all;
    }

    [Fact]
    public void Workers_prefetch_in_the_background_and_stop_when_the_consumer_does()
    {
        int reads = 0;
        var slow = Dataset.FromFunction(1000, new Shape(1), Shape.Scalar, (i, x, y) => { Interlocked.Increment(ref reads); x[0] = i; });
        var loader = new DataLoader(slow, batchSize: 10, workers: 2, prefetch: 2);
        using (var stream = loader.Open(0, reuseBuffers: true))
        {
            Assert.NotNull(stream.Next());
            // While the caller holds batch 0 the workers fill their queues ahead: 2 workers × (2 queued + 1 in hand).
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref reads) < 50 && DateTime.UtcNow < deadline)
                Thread.Sleep(5);
            Thread.Sleep(50);
            Assert.InRange(Volatile.Read(ref reads), 50, 70); // ahead, but bounded: never the whole epoch
        }
        int after = Volatile.Read(ref reads);
        Thread.Sleep(100);
        Assert.Equal(after, Volatile.Read(ref reads)); // disposed: the workers have stopped
    }

    [Fact]
    public void A_failing_sample_reaches_the_caller_at_its_batch()
    {
        var bad = Dataset.FromFunction(100, new Shape(1), Shape.Scalar, (i, x, y) =>
        {
            if (i == 57)
                throw new InvalidDataException("sample 57: broken file 'x.png'");
            x[0] = i;
        });
        foreach (int workers in new[] { 0, 1, 3 })
        {
            var loader = new DataLoader(bad, batchSize: 10, shuffle: false, workers: workers);
            int seen = 0;
            var e = Assert.Throws<InvalidDataException>(() =>
            {
                foreach (var _ in loader.Epoch(0))
                    seen++;
            });
            Assert.Contains("x.png", e.Message);
            Assert.Equal(5, seen); // batches 0–4 arrived; batch 5 holds sample 57
        }
    }

    [Fact]
    public void Split_and_subset_are_seeded_views()
    {
        var data = Numbered(100);
        var (train, val) = data.Split(0.2f, seed: 3);
        Assert.Equal(80, train.Count);
        Assert.Equal(20, val.Count);
        var all = train.ToTensors().Y.ToArray().Concat(val.ToTensors().Y.ToArray()).Order();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (float)i), all);
        Assert.Equal(val.ToTensors().Y.ToArray(), data.Split(0.2f, seed: 3).Validation.ToTensors().Y.ToArray());
        Assert.NotEqual(val.ToTensors().Y.ToArray(), data.Split(0.2f, seed: 4).Validation.ToTensors().Y.ToArray());
        Assert.Equal(Enumerable.Range(80, 20).Select(i => (float)i), data.Split(0.2f, shuffle: false).Validation.ToTensors().Y.ToArray());
        Assert.Equal([7f, 3f], data.Subset([7, 3]).ToTensors().Y.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset([100]));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(1.5f));
    }

    private static Sequential Mlp(ulong seed)
    {
        var m = new Sequential([new Input([2]), new Dense(16, "tanh"), new Dropout(0.1f), new Dense(3, "softmax")], seed);
        m.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(), "accuracy");
        return m;
    }

    [Fact]
    public void Fit_on_a_loader_equals_fit_on_tensors_in_the_same_order()
    {
        var (x, y) = TestData.Blobs(300, 1);
        var tensors = Mlp(5);
        var h1 = tensors.Fit(x, y, epochs: 3, batchSize: 32, shuffle: false);
        var loaded = Mlp(5);
        var h2 = loaded.Fit(new DataLoader(Dataset.FromTensors(x, y), batchSize: 32, shuffle: false, workers: 2), epochs: 3);
        Assert.Equal(tensors.GetWeights(), loaded.GetWeights());
        Assert.Equal(h1["loss"], h2["loss"]);
        // Evaluate and Predict take data sets too.
        Assert.Equal(tensors.Evaluate(x, y)["accuracy"], loaded.Evaluate(Dataset.FromTensors(x, y))["accuracy"]);
        Assert.Equal(tensors.Predict(x).ToArray(), loaded.Predict(Dataset.FromTensors(x, y), batchSize: 50).ToArray());
    }

    [Fact]
    public void Fit_on_a_loader_resumes_exactly_from_a_checkpoint()
    {
        var (x, y) = TestData.Blobs(300, 2);
        var (vx, vy) = TestData.Blobs(60, 3);
        var loader = new DataLoader(Dataset.FromTensors(x, y), batchSize: 20, seed: 9, transform: new Jitter(), workers: 2);
        var val = new DataLoader(Dataset.FromTensors(vx, vy), batchSize: 20, shuffle: false);
        var straight = Mlp(3);
        var full = straight.Fit(loader, epochs: 4, validationData: val);

        var first = Mlp(3);
        first.Fit(loader, epochs: 2, validationData: val);
        string path = Path.Combine(Path.GetTempPath(), $"strata-loader-{Guid.NewGuid():N}.strata");
        try
        {
            first.Save(path);
            var resumed = Model.Load(path);
            var rest = resumed.Fit(loader, epochs: 4, validationData: val, initialEpoch: resumed.CompletedEpochs);
            Assert.Equal(straight.GetWeights(), resumed.GetWeights());
            Assert.Equal(full["val_accuracy"].Skip(2), rest["val_accuracy"]);
        }
        finally
        {
            File.Delete(path);
        }
        Assert.True(full["val_accuracy"][^1] > 0.9);
    }

    [Fact]
    public void Fit_rejects_loaders_that_do_not_fit_the_model()
    {
        var model = Mlp(1);
        var wrong = new DataLoader(Dataset.FromTensors(Tensor.Zeros(10, 3), Tensor.Zeros(10)));
        Assert.Contains("expected input with shape [batch, 2]", Assert.Throws<ArgumentException>(() => model.Fit(wrong)).Message);
        var empty = new DataLoader(Dataset.FromTensors(Tensor.Zeros(0, 2), Tensor.Zeros(0)));
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => model.Fit(empty)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Numbered(3), batchSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Numbered(3), workers: -1));
    }
}

using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Strata.Data;

/// <summary>
/// Batches of a <see cref="Dataset"/>: a seeded shuffle per epoch, an optional per-sample transform
/// (augmentation), drop-last, and background prefetch: <see cref="Workers"/> threads assemble the
/// next batches into a bounded queue while the caller trains on the current one. Batch k of an epoch
/// is the same whatever the number of workers: the order comes from (seed, epoch) and each sample's
/// transform draws from a generator seeded by (seed, epoch, sample index).
/// </summary>
/// <remarks>
/// Enumerating the loader (<c>foreach (var (x, y) in loader)</c>) runs the next epoch (0, 1, ...);
/// <see cref="Epoch"/> runs a given one. Each batch is a pair of fresh tensors [b, ...SampleShape] and
/// [b, ...TargetShape]. Stopping an enumeration early stops its workers; an exception thrown while
/// reading or transforming a sample is rethrown to the caller at the batch it belongs to.
/// </remarks>
public sealed class DataLoader : IEnumerable<(Tensor X, Tensor Y)>
{
    private int _nextEpoch;

    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch (a batch larger than the data set is the whole data set).</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a new seeded order.</param>
    /// <param name="seed">Seeds the orders and the transform's draws.</param>
    /// <param name="dropLast">Whether to leave out a last batch shorter than <paramref name="batchSize"/>.</param>
    /// <param name="transform">Applied to every sample as it is read (null: none).</param>
    /// <param name="workers">Background threads assembling batches (0: on the caller's thread, no prefetch).</param>
    /// <param name="prefetch">Batches each worker may have ready ahead of the caller.</param>
    public DataLoader(Dataset dataset, int batchSize = 32, bool shuffle = true, ulong seed = 0, bool dropLast = false,
        ISampleTransform? transform = null, int workers = 1, int prefetch = 2)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader: batchSize must be ≥ 1, got {batchSize}");
        if (workers < 0)
            throw new ArgumentOutOfRangeException(nameof(workers), $"DataLoader: workers must be ≥ 0, got {workers}");
        if (prefetch < 1)
            throw new ArgumentOutOfRangeException(nameof(prefetch), $"DataLoader: prefetch must be ≥ 1, got {prefetch}");
        Dataset = dataset;
        BatchSize = Math.Max(1, Math.Min(batchSize, dataset.Count)); // a batch beyond the data is all of it (its buffers are this size)
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Transform = transform;
        Workers = workers;
        Prefetch = prefetch;
    }

    /// <summary>The samples.</summary>
    public Dataset Dataset { get; }

    /// <summary>Samples per batch (a batch larger than the data set is the whole data set).</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the samples in a new seeded order.</summary>
    public bool Shuffle { get; }

    /// <summary>Seeds the orders and the transform's draws: the same seed gives the same batches.</summary>
    public ulong Seed { get; }

    /// <summary>Whether a last batch shorter than <see cref="BatchSize"/> is left out.</summary>
    public bool DropLast { get; }

    /// <summary>Applied to every sample as it is read (null: none).</summary>
    public ISampleTransform? Transform { get; }

    /// <summary>Background threads assembling batches (0: on the caller's thread, no prefetch).</summary>
    public int Workers { get; }

    /// <summary>Batches each worker may have ready ahead of the caller.</summary>
    public int Prefetch { get; }

    /// <summary>Batches per epoch (of this shard, for a sharded loader).</summary>
    public int BatchCount => DropLast ? LocalCount / BatchSize : (LocalCount + BatchSize - 1) / BatchSize;

    /// <summary>Samples per epoch (all of them, or fewer with drop-last; this shard's, for a sharded loader).</summary>
    public int SampleCount => DropLast ? BatchCount * BatchSize : LocalCount;

    /// <summary>This loader's shard: (0, 1) unless made by <see cref="Sharded"/>.</summary>
    public (int Rank, int Count) Shard => (_shardRank, _shardCount);

    private int _shardRank, _shardCount = 1, _shardSamples;
    private bool _shardPads;

    /// <summary>The samples of an epoch this loader reads: the data set's, or its shard's.</summary>
    private int LocalCount => _shardCount == 1 ? Dataset.Count : _shardSamples;

    /// <summary>
    /// The same loader reading shard <paramref name="rank"/> of <paramref name="count"/> (data-parallel
    /// training, PyTorch's DistributedSampler). Every epoch's order is the unsharded loader's order, padded
    /// by wrapping around to a multiple of <paramref name="count"/> (with <paramref name="pad"/>); global batch k
    /// is that order's positions [k·count·B, (k+1)·count·B) and shard r reads the r-th of its count equal parts.
    /// So the shards are disjoint (but for the padding), every shard has the same number of batches of the
    /// same sizes, and count shards with batch B see exactly the batches of one loader with batch count·B.
    /// Without <paramref name="pad"/> (for evaluation) shard r reads a contiguous part of the order, of
    /// ⌊n/count⌋ or ⌈n/count⌉ samples. Transforms draw per (seed, epoch, sample index), as unsharded.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">count &lt; 1, rank not in [0, count), or (without padding) fewer samples than shards.</exception>
    public DataLoader Sharded(int rank, int count, bool pad = true)
    {
        if (count < 1 || rank < 0 || rank >= count)
            throw new ArgumentOutOfRangeException(nameof(rank), $"DataLoader.Sharded: expected 0 ≤ rank < count with count ≥ 1, got rank {rank} of {count}");
        if (!pad && Dataset.Count < count)
            throw new ArgumentOutOfRangeException(nameof(count), $"DataLoader.Sharded: {Dataset.Count} sample(s) cannot be split over {count} shards without padding");
        var shard = new DataLoader(Dataset, BatchSize, Shuffle, Seed, DropLast, Transform, Workers, Prefetch)
        {
            _shardRank = rank,
            _shardCount = count,
            _shardPads = pad,
        };
        shard._shardSamples = shard.ShardOrder(Enumerable.Range(0, Dataset.Count).ToArray()).Length;
        return shard;
    }

    /// <summary>The order in which an epoch visits the samples (this shard's part, for a sharded loader).</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Shuffle)
            new Rng(Mix(Seed, (ulong)epoch, ulong.MaxValue)).Shuffle(order.AsSpan());
        return _shardCount == 1 ? order : ShardOrder(order);
    }

    /// <summary>This shard's part of an epoch's global order (see <see cref="Sharded"/>).</summary>
    private int[] ShardOrder(int[] order)
    {
        int n = order.Length, count = _shardCount, rank = _shardRank;
        if (!_shardPads)
        {
            int from = (int)((long)n * rank / count), to = (int)((long)n * (rank + 1) / count);
            return order[from..to];
        }
        long global = (long)count * BatchSize;
        long total = DropLast ? n / global * global : (n + count - 1) / count * (long)count;
        var local = new int[total / count];
        int at = 0;
        for (long start = 0; start < total; start += global)
        {
            long part = Math.Min(global, total - start) / count;
            for (long i = start + rank * part, end = i + part; i < end; i++)
                local[at++] = order[i % n];
        }
        return local;
    }

    /// <summary>The batches of one epoch.</summary>
    public IEnumerable<(Tensor X, Tensor Y)> Epoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        using var stream = Open(epoch, reuseBuffers: false);
        while (stream.Next() is { } batch)
            yield return batch;
    }

    /// <summary>The batches of the next epoch: each enumeration (each <c>foreach</c>) moves on one epoch, starting at 0.</summary>
    public IEnumerator<(Tensor X, Tensor Y)> GetEnumerator() => Epoch(_nextEpoch++).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Opens an epoch. With <paramref name="reuseBuffers"/> a batch's tensors are recycled once the
    /// next batch is taken (for a consumer that keeps nothing, like the default training step).
    /// The stream starts at batch <paramref name="firstBatch"/> (a resume inside the epoch): the batches
    /// before it are not read, and the later ones are those the whole epoch would give.
    /// </summary>
    internal BatchStream Open(int epoch, bool reuseBuffers, int firstBatch = 0) => new(this, epoch, reuseBuffers, firstBatch);

    /// <summary>A hash of three words (SplitMix64 steps): the seed of an epoch's order or of one sample's transform.</summary>
    internal static ulong Mix(ulong a, ulong b, ulong c)
    {
        static ulong Step(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
        return Step(Step(Step(a) ^ b) ^ c);
    }

    /// <summary>Fills batch <paramref name="b"/> of an epoch's order into x and y.</summary>
    private void Fill(int[] order, int epoch, int b, Tensor x, Tensor y)
    {
        int start = b * BatchSize, len = x.Shape[0];
        var sampleShape = Dataset.SampleShape;
        int xs = sampleShape.Size, ys = Dataset.TargetShape.Size;
        var xd = x.AsWritableSpan();
        var yd = y.AsWritableSpan();
        for (int i = 0; i < len; i++)
        {
            int index = order[start + i];
            var sample = xd.Slice(i * xs, xs);
            Dataset.Read(index, sample, yd.Slice(i * ys, ys));
            Transform?.Apply(sample, sampleShape, new Rng(Mix(Seed, (ulong)epoch, (ulong)index)));
        }
    }

    private int BatchLength(int b) => Math.Min(BatchSize, LocalCount - b * BatchSize);

    private (Tensor X, Tensor Y) NewBatch(int length) =>
        (Tensor.Zeros([length, .. Dataset.SampleShape.Dims]), Tensor.Zeros([length, .. Dataset.TargetShape.Dims]));

    /// <summary>One epoch's batches in order, assembled on the caller's thread or by background workers.</summary>
    internal sealed class BatchStream : IDisposable
    {
        private readonly DataLoader _loader;
        private readonly int _epoch;
        private readonly int[] _order;
        private readonly int _batches;
        private readonly bool _reuse;
        private readonly CancellationTokenSource _cancel = new();
        private readonly BlockingCollection<Item>[] _queues = [];
        private readonly BlockingCollection<(Tensor X, Tensor Y)>? _free;
        private readonly Thread[] _threads = [];
        private (Tensor X, Tensor Y)? _held; // the caller's batch, recycled when it takes the next
        private (Tensor X, Tensor Y)? _last; // without workers: the batch to refill
        private readonly int _first;
        private int _next;

        private readonly record struct Item((Tensor X, Tensor Y) Batch, ExceptionDispatchInfo? Error);

        public BatchStream(DataLoader loader, int epoch, bool reuse, int firstBatch)
        {
            _loader = loader;
            _epoch = epoch;
            _order = loader.Order(epoch);
            _batches = loader.BatchCount;
            if (firstBatch < 0 || firstBatch > _batches)
                throw new ArgumentOutOfRangeException(nameof(firstBatch), $"DataLoader: the first batch must be in [0, {_batches}], got {firstBatch}");
            _first = _next = firstBatch;
            _reuse = reuse;
            int workers = Math.Min(loader.Workers, _batches - firstBatch);
            if (workers == 0)
                return;
            if (reuse)
            {
                // Enough full-size sets for every queue slot, every worker's batch in progress and the caller's.
                int sets = workers * (loader.Prefetch + 1) + 1;
                _free = new BlockingCollection<(Tensor X, Tensor Y)>(sets);
                for (int i = 0; i < sets; i++)
                    _free.Add(loader.NewBatch(loader.BatchSize));
            }
            _queues = new BlockingCollection<Item>[workers];
            _threads = new Thread[workers];
            for (int w = 0; w < workers; w++)
            {
                _queues[w] = new BlockingCollection<Item>(loader.Prefetch);
                int id = w;
                _threads[w] = new Thread(() => Work(id)) { IsBackground = true, Name = $"strata-loader-{w}" };
                _threads[w].Start();
            }
        }

        /// <summary>The next batch, or null at the end of the epoch.</summary>
        public (Tensor X, Tensor Y)? Next()
        {
            if (_held is { } held && _free is not null && held.X.Shape[0] == _loader.BatchSize)
                _free.Add(held);
            _held = null;
            if (_next >= _batches)
                return null;
            int b = _next++;
            if (_queues.Length == 0)
            {
                int len = _loader.BatchLength(b);
                var batch = _reuse && _last is { } last && last.X.Shape[0] == len ? last : _loader.NewBatch(len);
                _loader.Fill(_order, _epoch, b, batch.X, batch.Y);
                if (_reuse)
                    _last = batch;
                return batch;
            }
            var item = _queues[(b - _first) % _queues.Length].Take(_cancel.Token);
            item.Error?.Throw();
            _held = item.Batch;
            return item.Batch;
        }

        private void Work(int worker)
        {
            var queue = _queues[worker];
            try
            {
                for (int b = _first + worker; b < _batches; b += _queues.Length)
                {
                    int len = _loader.BatchLength(b);
                    var batch = _free is not null && len == _loader.BatchSize ? _free.Take(_cancel.Token) : _loader.NewBatch(len);
                    Item item;
                    try
                    {
                        _loader.Fill(_order, _epoch, b, batch.X, batch.Y);
                        item = new Item(batch, null);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        item = new Item(default, ExceptionDispatchInfo.Capture(e));
                    }
                    queue.Add(item, _cancel.Token);
                    if (item.Error is not null)
                        return;
                }
            }
            catch (OperationCanceledException)
            {
                // The consumer stopped early.
            }
        }

        public void Dispose()
        {
            _cancel.Cancel();
            foreach (var t in _threads)
                t.Join();
            _cancel.Dispose();
        }
    }
}

using System.Globalization;
using System.Text;
using Strata.Data;
using Strata.Models;
using Strata.Training;

namespace Strata.Distributed;

/// <summary>
/// Data-parallel training over Open MPI, with PyTorch DDP's semantics in Keras' shape: each process
/// started by <c>mpirun -np N</c> is one rank holding a full replica of the model. <see cref="Fit"/>
/// checks that every rank has the same model and data, broadcasts rank 0's weights, lets each rank read
/// its disjoint shard of every epoch's seeded order (<see cref="DataLoader.Sharded"/>: all ranks the same
/// number of batches), averages the gradients over the ranks between the backward pass and the optimizer
/// update (so every rank applies the same update), and reduces the epoch's figures and validation over the
/// ranks. N ranks with batch B per rank train the model one process trains with batch N·B, up to the
/// order of float summation. Only rank 0 should print and write files: give such callbacks (checkpoints,
/// progress) as Fit's <c>leadCallbacks</c>.
/// </summary>
/// <example>
/// <code>
/// using var strategy = DistributedStrategy.Initialize();
/// var model = Presets.Create("cnn", [28, 28, 1], 10, seed: 1);
/// model.Compile(new Adam(), new SparseCategoricalCrossentropy(), "accuracy");
/// strategy.Fit(model, new DataLoader(train, batchSize: 32, seed: 1), epochs: 5,
///     leadCallbacks: [new ModelCheckpoint("model.strata")]);
/// </code>
/// </example>
public sealed class DistributedStrategy : IDisposable
{
    /// <summary>The default timeout of one collective operation: 300 s (a slow rank 0 writing a report must not trip it).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(300);

    /// <summary>The environment variable that sets the timeout in seconds (the CLI's --dist-timeout wins over it).</summary>
    public const string TimeoutVariable = "STRATA_DIST_TIMEOUT";

    private readonly MpiCommunicator _comm;

    private DistributedStrategy(MpiCommunicator comm) => _comm = comm;

    /// <summary>This process's rank in [0, <see cref="Replicas"/>).</summary>
    public int Rank => _comm.Rank;

    /// <summary>The number of ranks (mpirun's -np).</summary>
    public int Replicas => _comm.Size;

    /// <summary>Whether this is rank 0, the one that prints progress and writes the model, checkpoints and report.</summary>
    public bool IsLead => _comm.Rank == 0;

    /// <summary>How long one collective operation (a step's gradient all-reduce bucket, a broadcast) may wait for the other ranks.</summary>
    public TimeSpan Timeout => _comm.Timeout;

    /// <summary>
    /// The default of <see cref="BucketBytes"/>: 256 KiB. PyTorch DDP's buckets are 25 MiB (its first 1 MiB), sized
    /// for models of millions of weights; the models one machine trains are often smaller (the seed CNN's
    /// gradients are 0.49 MB), and a bucket as large as the model overlaps nothing.
    /// </summary>
    public const int DefaultBucketBytes = 256 << 10;

    /// <summary>
    /// The size of one gradient all-reduce (PyTorch DDP's <c>bucket_cap_mb</c>): the trainable weights,
    /// from the last layer to the first, are grouped into buckets of at least this many bytes (a larger
    /// weight is a bucket of its own), and a bucket is reduced as soon as the backward pass has finished
    /// all its gradients, while the pass goes on. Smaller buckets start sooner and hide more of the
    /// communication; each costs one message's latency. Set before <see cref="Attach"/>; the same on every rank.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Below 1 KiB or above 1 GiB.</exception>
    public int BucketBytes
    {
        get => _bucketBytes;
        set
        {
            if (value < 1024 || value > 1 << 30)
                throw new ArgumentOutOfRangeException(nameof(value), $"DistributedStrategy.BucketBytes: expected 1 KiB to 1 GiB, got {value} bytes");
            _bucketBytes = value;
        }
    }

    private int _bucketBytes = DefaultBucketBytes;

    /// <summary>Whether buckets start during the backward pass (false: all after it; benchmarks compare the two).</summary>
    internal bool Overlap { get; set; } = true;

    /// <summary>
    /// Joins the job: MPI is initialized (once per process). <paramref name="timeout"/> (default:
    /// <see cref="TimeoutVariable"/>, else <see cref="DefaultTimeout"/>) bounds every collective operation:
    /// a rank that dies or hangs makes the others fail with a <see cref="DistributedException"/> after it.
    /// </summary>
    /// <exception cref="DistributedException">Not started by mpirun, Open MPI missing, or an invalid timeout.</exception>
    public static DistributedStrategy Initialize(TimeSpan? timeout = null) => new(MpiCommunicator.World(timeout ?? TimeoutFromEnvironment()));

    private static TimeSpan TimeoutFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(TimeoutVariable);
        if (text is null)
            return DefaultTimeout;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || !(s > 0) || s > 86400)
            throw new DistributedException($"{TimeoutVariable}: expected a number of seconds in (0, 86400], got '{text}'");
        return TimeSpan.FromSeconds(s);
    }

    /// <summary>This rank's shard of a training loader: the same batches as one loader of batch N·B would give, split N ways.</summary>
    public DataLoader Shard(DataLoader loader) => loader.Sharded(Rank, Replicas);

    /// <summary>This rank's part of an evaluation loader (no padding: each sample is evaluated once over the ranks).</summary>
    public DataLoader ShardEvaluation(DataLoader loader) => loader.Sharded(Rank, Replicas, pad: false);

    /// <summary>
    /// Trains <paramref name="model"/> data-parallel: shards <paramref name="train"/> (and
    /// <paramref name="validationData"/>), checks that every rank agrees on the model and the data, broadcasts
    /// rank 0's weights, and runs <see cref="Model.Fit(DataLoader, int, DataLoader?, IEnumerable{Callback}?, bool, int, int, CancellationToken)"/>
    /// with the gradients averaged over the ranks. <paramref name="callbacks"/> run on every rank (they see the
    /// reduced epoch figures); <paramref name="leadCallbacks"/> only on rank 0. A cancelled
    /// <paramref name="cancellationToken"/> on any rank stops every rank after the same step.
    /// </summary>
    /// <remarks>The batch size of <paramref name="train"/> (the unsharded loader) is the batch of one rank.</remarks>
    /// <exception cref="DistributedException">The ranks disagree (the message names the quantity, this rank's value and rank 0's), or a collective timed out.</exception>
    public History Fit(Model model, DataLoader train, int epochs = 1, DataLoader? validationData = null, IEnumerable<Callback>? callbacks = null,
        IEnumerable<Callback>? leadCallbacks = null, int initialEpoch = 0, int initialBatch = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        var all = new List<Callback>();
        if (callbacks is not null)
            all.AddRange(callbacks);
        if (IsLead && leadCallbacks is not null)
            all.AddRange(leadCallbacks);
        using var session = Attach(model, train, validationData, initialEpoch, initialBatch, cancellationToken);
        return model.Fit(session.Train, epochs, session.Validation, all, initialEpoch: initialEpoch, initialBatch: initialBatch,
            cancellationToken: session.Token);
    }

    /// <summary>
    /// The lower-level form of <see cref="Fit"/> (for a caller that runs Fit itself, like the CLI): checks
    /// the ranks agree, broadcasts rank 0's weights, sets the model's <see cref="Model.DataParallel"/> hook
    /// and returns the sharded loaders and the agreed cancellation token; disposing it removes the hook.
    /// </summary>
    public DataParallelSession Attach(Model model, DataLoader train, DataLoader? validationData = null, int initialEpoch = 0, int initialBatch = 0,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        if (model.GetType().GetMethod(nameof(Model.TrainStep), [typeof(Tensor[]), typeof(Tensor), typeof(Tensor)])!.DeclaringType != typeof(Model))
            throw new DistributedException($"rank {Rank} of {Replicas}: model '{model.Name}' ({model.GetType().Name}) has its own TrainStep; data-parallel training covers the default step only");
        if (model.Optimizer is null || model.Loss is null)
            throw new DistributedException($"rank {Rank} of {Replicas}: model '{model.Name}' must be compiled before data-parallel training");
        if (train.Shard.Count != 1)
            throw new ArgumentException($"DistributedStrategy: pass the unsharded training loader (got shard {train.Shard.Rank} of {train.Shard.Count})");
        if (!model.Weights.Any())
            throw new DistributedException($"rank {Rank} of {Replicas}: model '{model.Name}' has no weights yet (build it before training)");
        CheckAgreement(model, train, validationData, initialEpoch, initialBatch);
        BroadcastTensors(_comm, [.. model.Weights.Select(w => w.Value)], "broadcast of the initial weights from rank 0");
        var agreed = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken.None);
        var hook = new GradientAllReduce(_comm, model, cancellationToken, agreed, _bucketBytes, Overlap);
        model.DataParallel = hook;
        return new DataParallelSession(model, hook, Shard(train), validationData is null ? null : ShardEvaluation(validationData), agreed);
    }

    /// <summary>
    /// Every rank compares its model and data with rank 0's (one broadcast and one max-reduce of a few
    /// numbers), and every rank fails alike on a difference, naming it.
    /// </summary>
    private void CheckAgreement(Model model, DataLoader train, DataLoader? validation, int initialEpoch, int initialBatch)
    {
        var layout = new StringBuilder();
        foreach (var w in model.Weights)
            layout.Append(w.Name).Append(w.Value.Shape).Append(w.Trainable ? 'T' : 'F').Append(';');
        ulong h = System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(layout.ToString()));
        (string Name, double Value)[] fields =
        [
            ("the model's weight count", model.Weights.Sum(w => (double)w.Value.Size)),
            ("the model's layout (a hash of its weights' names and shapes, high half)", h >> 32),
            ("the model's layout (a hash of its weights' names and shapes, low half)", (uint)h),
            ("the training samples", train.Dataset.Count),
            ("the training sample size", train.Dataset.SampleShape.Size),
            ("the batch size per rank", train.BatchSize),
            ("the data seed (high half)", train.Seed >> 32),
            ("the data seed (low half)", (uint)train.Seed),
            ("the validation samples", validation?.Dataset.Count ?? 0),
            ("the initial epoch", initialEpoch),
            ("the initial batch", initialBatch),
            ("the optimizer's step count", model.Optimizer?.Iterations ?? 0),
        ];
        var mine = fields.Select(f => f.Value).ToArray();
        var lead = (double[])mine.Clone();
        _comm.Broadcast(lead, "broadcast of rank 0's model and data sizes");
        var send = new double[mine.Length * 2];
        for (int i = 0; i < mine.Length; i++)
            (send[i], send[mine.Length + i]) = (mine[i], -mine[i]);
        var range = new double[send.Length];
        _comm.AllreduceMax(send, range, "comparison of the model and data sizes over the ranks");
        var problems = new List<string>();
        for (int i = 0; i < mine.Length; i++)
        {
            double max = range[i], min = -range[mine.Length + i];
            if (max == min)
                continue;
            problems.Add(mine[i] != lead[i]
                ? string.Create(CultureInfo.InvariantCulture, $"{fields[i].Name}: this rank has {mine[i]}, rank 0 has {lead[i]}")
                : string.Create(CultureInfo.InvariantCulture, $"{fields[i].Name}: {(Rank == 0 ? "this rank (0)" : "this rank, as rank 0,")} has {mine[i]}, but other ranks differ (from {min} to {max})"));
        }
        if (problems.Count > 0)
            throw new DistributedException($"rank {Rank} of {Replicas}: the ranks disagree on {string.Join("; ", problems)}; " +
                "every rank must train the same model on the same data with the same settings");
    }

    /// <summary>The largest message of <see cref="BroadcastTensors"/>: 4 MiB (it bounds the scratch buffer).</summary>
    private const int BroadcastBytes = 4 << 20;

    /// <summary>Rank 0's values of these tensors to every rank, packed into messages of at most 4 MiB.</summary>
    internal static void BroadcastTensors(MpiCommunicator comm, IReadOnlyList<Tensor> tensors, string what)
    {
        long total = tensors.Sum(t => (long)t.Size);
        const int bucket = BroadcastBytes / sizeof(float);
        var buffer = new float[Math.Min(total, bucket)];
        int ti = 0, tOffset = 0; // the tensor and the position in it where the next message starts
        while (ti < tensors.Count)
        {
            // Pack.
            int filled = 0;
            int pi = ti, pOffset = tOffset;
            while (pi < tensors.Count && filled < buffer.Length)
            {
                var t = tensors[pi];
                int n = Math.Min(t.Size - pOffset, buffer.Length - filled);
                t.Span.Slice(pOffset, n).CopyTo(buffer.AsSpan(filled, n));
                filled += n;
                pOffset += n;
                if (pOffset == t.Size)
                    (pi, pOffset) = (pi + 1, 0);
            }
            if (filled == 0)
                break;
            comm.Broadcast(buffer, 0, filled, what);
            // Unpack into the same span of tensors.
            int read = 0;
            while (read < filled)
            {
                var t = tensors[ti];
                int n = Math.Min(t.Size - tOffset, filled - read);
                buffer.AsSpan(read, n).CopyTo(t.AsWritableSpan().Slice(tOffset, n));
                read += n;
                tOffset += n;
                if (tOffset == t.Size)
                    (ti, tOffset) = (ti + 1, 0);
            }
        }
    }

    /// <summary>The largest of a value over the ranks (benchmarks: the slowest rank's time).</summary>
    internal double Max(double value)
    {
        var result = new double[1];
        _comm.AllreduceMax([value], result, "maximum over the ranks");
        return result[0];
    }

    /// <summary>Waits until every rank arrives (within the timeout).</summary>
    public void Barrier() => _comm.Barrier("barrier");

    /// <summary>Finalizes MPI (every rank must), unless a collective timed out.</summary>
    public void Dispose() => _comm.Dispose();
}

/// <summary>What <see cref="DistributedStrategy.Attach"/> returns: this rank's loaders and the agreed token; disposing it removes the model's hook.</summary>
public sealed class DataParallelSession : IDisposable
{
    private readonly Model _model;
    private readonly IDataParallel _hook;
    private readonly CancellationTokenSource _agreed;

    internal DataParallelSession(Model model, IDataParallel hook, DataLoader train, DataLoader? validation, CancellationTokenSource agreed)
    {
        (_model, _hook, Train, Validation, _agreed) = (model, hook, train, validation, agreed);
    }

    /// <summary>This rank's shard of the training data.</summary>
    public DataLoader Train { get; }

    /// <summary>This rank's part of the validation data (null: none).</summary>
    public DataLoader? Validation { get; }

    /// <summary>Cancelled on every rank after the same step, once the caller's token is cancelled on any rank: give it to Fit.</summary>
    public CancellationToken Token => _agreed.Token;

    /// <summary>What this rank's gradient all-reduce has done so far (steps, buckets, how many started during the backward pass, time).</summary>
    public GradientTraffic Traffic => _hook is GradientAllReduce g
        ? new GradientTraffic(g.Steps, g.Buckets, g.OverlappedBuckets, 4L * g.FloatsPerStep, g.CommunicationSeconds)
        : new GradientTraffic(0, 0, 0, 0, 0);

    public void Dispose()
    {
        if (ReferenceEquals(_model.DataParallel, _hook))
            _model.DataParallel = null;
        _agreed.Dispose();
    }
}

/// <summary>
/// What a rank's gradient all-reduce did: <paramref name="Steps"/> optimizer steps, each reducing
/// <paramref name="BytesPerStep"/> in <paramref name="BucketsPerStep"/> buckets, of which
/// <paramref name="BucketsDuringBackward"/> in all were started while the backward pass still ran (the
/// overlapped ones; the first step, which lays the buckets out, and a step whose backward runs on the graph engine start all their buckets after
/// the pass, as does the last bucket of every step), and <paramref name="HookSeconds"/> that the training
/// thread spent in the hook: the communication the backward pass did not hide.
/// </summary>
public sealed record GradientTraffic(long Steps, int BucketsPerStep, long BucketsDuringBackward, long BytesPerStep, double HookSeconds)
{
    /// <summary>One line for a log: steps, buckets, the overlapped share and the time.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Steps} steps of {BytesPerStep / 1048576.0:0.###} MiB in {BucketsPerStep} bucket{(BucketsPerStep == 1 ? "" : "s")}; " +
        $"{BucketsDuringBackward} of {Steps * BucketsPerStep} buckets started during the backward pass; {HookSeconds:0.###} s waiting for or packing them");
}

using System.IO.Hashing;
using System.Runtime.InteropServices;
using Strata.Models;
using Strata.Training;

namespace Strata.Distributed;

/// <summary>
/// The model's <see cref="IDataParallel"/> hook over MPI, with PyTorch DDP's buckets: the trainable
/// weights, from the last to the first (roughly the order the backward pass finishes their gradients),
/// are grouped into buckets of about <see cref="DistributedStrategy.BucketBytes"/>, laid out in one flat
/// pinned buffer (allocated once). On a compiled step the plan announces each gradient as soon as it is
/// final (<see cref="GradientReady"/>): it is copied into its bucket, and a bucket whose gradients are all
/// in starts its MPI_Iallreduce at once, while the backward pass goes on through the earlier layers.
/// <see cref="ReduceGradients"/> starts what is left (on an eager step, everything), waits for all, and
/// writes the sums × 1/N back. The step's loss and this rank's "stop" flag ride in the last bucket, so that
/// every rank logs the global batch's loss and all ranks stop after the same step when any is cancelled.
/// </summary>
/// <remarks>
/// Buckets start strictly in order (bucket k only after k − 1), so every rank starts the same all-reduces
/// in the same order whatever the timing; the last bucket (the first layers, with the loss) starts in
/// <see cref="ReduceGradients"/>. Reduction order: Open MPI's algorithm is fixed by the rank count and
/// the message size, and the bucket boundaries are fixed by the model, so a run is bit-identical from run
/// to run; with 2 ranks the sum of two floats is commutative, so both ranks get the same bits. Every
/// epoch end checks that the ranks' weights are still identical (a hash compared over the ranks).
/// </remarks>
internal sealed unsafe class GradientAllReduce(MpiCommunicator comm, Model model, CancellationToken local, CancellationTokenSource agreed,
    int bucketBytes = DistributedStrategy.DefaultBucketBytes, bool overlap = true) : IDataParallel
{
    /// <summary>The flat buffers and the buckets for one list of parameters (fixed while the trainable weights are).</summary>
    private sealed class Layout
    {
        public required Tensor[] Parameters; // the caller's order
        public required Dictionary<Tensor, int> Index;
        public required int[] Offset; // per parameter: where its gradient sits in the flat buffers
        public required int[] BucketOf; // per parameter
        public required int[] BucketStart; // per bucket, + the end (the last bucket ends with the loss and the stop flag)
        public required int[] Members; // per bucket: how many parameters
        public required float[] Send, Recv; // pinned: non-blocking all-reduces read and write them while the step runs
    }

    private Layout? _layout;
    private bool[] _seen = []; // this step: the parameter's gradient is packed
    private int[] _missing = []; // this step: parameters not yet packed, per bucket
    private nint[] _requests = []; // per bucket: the started all-reduce (null when done or not started)
    private int _started; // this step: buckets started
    private long _steps, _ticks, _overlapped;

    /// <summary>Seconds the training thread spent in the hook so far (packing, starting, waiting, unpacking): the communication the step does not hide.</summary>
    internal double CommunicationSeconds => (double)_ticks / System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Floats all-reduced per step (the trainable weights, the loss and the stop flag); 0 before the first step.</summary>
    internal int FloatsPerStep => _layout?.Send.Length ?? 0;

    /// <summary>Optimizer steps reduced so far.</summary>
    internal long Steps => _steps;

    /// <summary>Buckets per step (0 before the first step).</summary>
    internal int Buckets => _layout?.Members.Length ?? 0;

    /// <summary>Buckets started during a backward pass so far (over all steps): the overlapped ones.</summary>
    internal long OverlappedBuckets => _overlapped;

    public int Rank => comm.Rank;

    public int Replicas => comm.Size;

    public void GradientReady(Tensor parameter)
    {
        if (!overlap || _layout is not { } layout || !layout.Index.TryGetValue(parameter, out int k) || _seen[k])
            return;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        Pack(layout, k);
        int b = layout.BucketOf[k];
        _missing[b]--;
        // Start the complete buckets, in order; the last one waits for the loss (ReduceGradients).
        while (_started < layout.Members.Length - 1 && _missing[_started] == 0)
        {
            Start(layout, _started++, _steps + 1);
            _overlapped++;
        }
        fixed (nint* r = _requests)
            comm.Progress(r, _started, new MpiCommunicator.Operation(What, _steps + 1, Buckets: _started));
        _ticks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
    }

    public float ReduceGradients(IReadOnlyList<Tensor> parameters, float loss)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        _steps++;
        var layout = _layout;
        if (layout is null || !SameParameters(layout, parameters))
        {
            if (layout is not null && _started > 0)
                throw new DistributedException($"rank {Rank} of {Replicas}: the trainable weights changed during step {_steps} (after the backward pass started reducing them)");
            _layout = layout = Build(parameters, bucketBytes);
        }
        for (int k = 0; k < layout.Parameters.Length; k++)
        {
            if (!_seen[k])
                Pack(layout, k);
        }
        int end = layout.Send.Length;
        layout.Send[end - 2] = loss;
        layout.Send[end - 1] = local.IsCancellationRequested ? 1 : 0;
        while (_started < layout.Members.Length)
            Start(layout, _started++, _steps);
        fixed (nint* r = _requests)
            comm.WaitAll(r, _requests.Length, new MpiCommunicator.Operation(What, _steps, Buckets: _requests.Length));
        float scale = 1f / comm.Size;
        for (int k = 0; k < layout.Parameters.Length; k++)
        {
            var p = layout.Parameters[k];
            if (p.Grad is { } g)
                System.Numerics.Tensors.TensorPrimitives.Multiply(layout.Recv.AsSpan(layout.Offset[k], p.Size), scale, g.AsWritableSpan());
        }
        // The next step starts afresh.
        Array.Clear(_seen);
        for (int b = 0; b < _missing.Length; b++)
            _missing[b] = layout.Members[b];
        _started = 0;
        if (layout.Recv[end - 1] > 0 && !agreed.IsCancellationRequested)
            agreed.Cancel();
        _ticks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
        return layout.Recv[end - 2] * scale;
    }

    private void Pack(Layout layout, int k)
    {
        var p = layout.Parameters[k];
        var target = layout.Send.AsSpan(layout.Offset[k], p.Size);
        if (p.Grad is { } g)
            g.Span.CopyTo(target);
        else
            target.Clear(); // no gradient here; other ranks may have one (it cannot differ in a shared graph, but stay collective)
        _seen[k] = true;
    }

    private const string What = "all-reduce of the gradients";

    private void Start(Layout layout, int b, long step)
    {
        int from = layout.BucketStart[b], count = layout.BucketStart[b + 1] - from;
        fixed (float* s = layout.Send, r = layout.Recv) // pinned arrays: the addresses hold after this scope
            _requests[b] = comm.StartAllreduceSum(s + from, r + from, count, new MpiCommunicator.Operation(What, step, b, layout.Members.Length));
    }

    private static bool SameParameters(Layout layout, IReadOnlyList<Tensor> parameters)
    {
        if (layout.Parameters.Length != parameters.Count)
            return false;
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!ReferenceEquals(layout.Parameters[i], parameters[i]))
                return false;
        }
        return true;
    }

    /// <summary>Buckets from the last parameter to the first, each closed once it holds at least <paramref name="cap"/> bytes (a larger parameter is a bucket of its own).</summary>
    private Layout Build(IReadOnlyList<Tensor> parameters, int cap)
    {
        int n = parameters.Count;
        var offset = new int[n];
        var bucketOf = new int[n];
        var starts = new List<int> { 0 };
        var members = new List<int>();
        int at = 0, inBucket = 0, bucketFloats = 0;
        for (int k = n - 1; k >= 0; k--)
        {
            offset[k] = at;
            bucketOf[k] = starts.Count - 1;
            at += parameters[k].Size;
            bucketFloats += parameters[k].Size;
            inBucket++;
            if ((long)bucketFloats * sizeof(float) >= cap && k > 0)
            {
                starts.Add(at);
                members.Add(inBucket);
                (inBucket, bucketFloats) = (0, 0);
            }
        }
        at += 2; // the loss and the stop flag, at the end of the last bucket
        starts.Add(at);
        members.Add(inBucket);
        var index = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int k = 0; k < n; k++)
            index[parameters[k]] = k;
        _seen = new bool[n];
        _missing = [.. members];
        _requests = new nint[members.Count];
        _started = 0;
        return new Layout
        {
            Parameters = [.. parameters],
            Index = index,
            Offset = offset,
            BucketOf = bucketOf,
            BucketStart = [.. starts],
            Members = [.. members],
            Send = GC.AllocateArray<float>(at, pinned: true),
            Recv = GC.AllocateArray<float>(at, pinned: true),
        };
    }

    public Logs ReduceLogs(Logs logs, long samples)
    {
        SynchronizeState();
        var keys = logs.Keys.ToArray(); // the same order on every rank: the same compiled metrics
        var send = new double[keys.Length + 2];
        for (int i = 0; i < keys.Length; i++)
            send[i] = (double)logs[keys[i]] * samples;
        send[^2] = samples;
        send[^1] = keys.Length;
        var recv = new double[send.Length];
        comm.AllreduceSum(send, recv, $"reduction of the epoch's figures ({string.Join(", ", keys)})");
        if (recv[^1] != (double)keys.Length * comm.Size)
            throw new DistributedException($"rank {Rank} of {Replicas}: the ranks report different figures at the end of an epoch (this rank: {string.Join(", ", keys)}); every rank must compile the same metrics");
        var reduced = new Logs();
        for (int i = 0; i < keys.Length; i++)
            reduced[keys[i]] = recv[^2] > 0 ? (float)(recv[i] / recv[^2]) : logs[keys[i]];
        return reduced;
    }

    /// <summary>
    /// Rank 0's non-trainable weights (batch normalization's moving statistics, which each rank updates
    /// from its own batches) to every rank, then a check that all weights agree bit for bit.
    /// </summary>
    private void SynchronizeState()
    {
        var frozen = model.Weights.Where(w => !w.Trainable).Select(w => w.Value).ToList();
        if (frozen.Count > 0)
            DistributedStrategy.BroadcastTensors(comm, frozen, "broadcast of the non-trainable weights from rank 0");
        var hash = new XxHash64();
        foreach (var w in model.Weights)
            hash.Append(MemoryMarshal.AsBytes(w.Value.Span));
        ulong h = hash.GetCurrentHashAsUInt64();
        double hi = h >> 32, lo = (uint)h;
        var recv = new double[4];
        comm.AllreduceMax([hi, lo, -hi, -lo], recv, "comparison of the weights over the ranks");
        if (recv[0] != -recv[2] || recv[1] != -recv[3])
            throw new DistributedException($"rank {Rank} of {Replicas}: the ranks' weights differ after an epoch (the reduced gradients were not identical on every rank); " +
                "data-parallel training needs the same model, optimizer and reduction on every rank");
    }
}

using System.IO.Hashing;
using System.Runtime.InteropServices;
using Strata.Models;
using Strata.Training;

namespace Strata.Distributed;

/// <summary>
/// The model's <see cref="IDataParallel"/> hook over MPI: gradients packed into one flat buffer (allocated
/// once), summed by MPI_Allreduce in buckets of <see cref="BucketBytes"/>, scaled by 1/N and written back;
/// the step's loss and this rank's "stop" flag ride in the last bucket, so that every rank logs the global
/// batch's loss and all ranks stop after the same step when any is cancelled.
/// </summary>
/// <remarks>
/// NOTE: no overlap with the backward pass. The compiled plan runs its backward as one pass; the buckets go
/// out after it, one after another. Buckets bound the message size (and the scratch memory), they do not
/// hide communication. Reduction order: Open MPI's algorithm is fixed by the rank count and the message
/// size, and the bucket boundaries are fixed, so a run is bit-identical from run to run; with 2 ranks the
/// sum of two floats is commutative, so both ranks get the same bits. Every epoch end checks that the
/// ranks' weights are still identical (a hash compared over the ranks).
/// </remarks>
internal sealed class GradientAllReduce(MpiCommunicator comm, Model model, CancellationToken local, CancellationTokenSource agreed) : IDataParallel
{
    /// <summary>The size of one all-reduce message: 4 MiB (PyTorch DDP's default bucket is 25 MiB; smaller buckets keep the scratch small).</summary>
    public const int BucketBytes = 4 << 20;

    private float[] _send = [], _recv = [];
    private long _steps, _ticks;

    /// <summary>Seconds spent in ReduceGradients so far (packing, the all-reduces, unpacking): communication's share of the steps (benchmarks).</summary>
    internal double CommunicationSeconds => (double)_ticks / System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Floats all-reduced per step (the trainable weights, the loss and the stop flag); 0 before the first step.</summary>
    internal int FloatsPerStep => _send.Length;

    public int Rank => comm.Rank;

    public int Replicas => comm.Size;

    public float ReduceGradients(IReadOnlyList<Tensor> parameters, float loss)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        int total = 0;
        for (int i = 0; i < parameters.Count; i++)
            total += parameters[i].Size;
        int n = total + 2; // + the loss and the stop flag
        if (_send.Length != n)
            (_send, _recv) = (new float[n], new float[n]);
        int at = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.Grad is { } g)
                g.Span.CopyTo(_send.AsSpan(at, p.Size));
            else
                _send.AsSpan(at, p.Size).Clear(); // no gradient here; other ranks may have one (it cannot differ in a shared graph, but stay collective)
            at += p.Size;
        }
        _send[at] = loss;
        _send[at + 1] = local.IsCancellationRequested ? 1 : 0;
        _steps++;
        const int bucket = BucketBytes / sizeof(float);
        int buckets = (n + bucket - 1) / bucket;
        for (int b = 0, start = 0; start < n; b++, start += bucket)
            comm.AllreduceSum(_send, _recv, start, Math.Min(bucket, n - start), $"all-reduce of the gradients (step {_steps}, bucket {b + 1} of {buckets})");
        float scale = 1f / comm.Size;
        at = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.Grad is { } g)
                System.Numerics.Tensors.TensorPrimitives.Multiply(_recv.AsSpan(at, p.Size), scale, g.AsWritableSpan());
            at += p.Size;
        }
        if (_recv[at + 1] > 0 && !agreed.IsCancellationRequested)
            agreed.Cancel();
        _ticks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
        return _recv[at] * scale;
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

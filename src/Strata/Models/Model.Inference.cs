using Strata.Data;
using Strata.Kernels;
using Strata.Training;

namespace Strata.Models;

public partial class Model
{
    // Inference runs a large batch in slices whose activations stay in cache: every op on one slice, then the
    // next. A slice's plan arena is twice the core's L2 (the arena shares buffers between ops whose lifetimes do
    // not overlap, so the ops at work at any moment use about half of it). Measured with the seed CNN at batch
    // 1,000 (`Strata.Benchmarks onnx cnn --slice-kb`, AVX2 Zen 3, L2 512 KiB, 1 thread, alternating): 8 MB
    // slices 7,480–8,239 samples/s, 2 MB 8,048–8,746, 1 MB 8,403–9,130, 512 KB 8,275–9,325, 256 KB 7,312–7,318.
    internal static long InferenceSliceBytes { get; set; } = 2L * CacheSizes.Machine.L2;

    // Activation bytes per sample of an inference pass, learned from the first compiled inference plan.
    private long _inferenceBytesPerSample;

    /// <summary>The loss and metrics over a data set, in batches, in inference mode.</summary>
    public Logs Evaluate(Tensor x, Tensor y, int batchSize = 32) => Evaluate([x], y, batchSize);

    /// <summary>The loss and metrics over a data set with one array per model input.</summary>
    public Logs Evaluate(Tensor[] x, Tensor y, int batchSize = 32)
    {
        if (Loss is null)
            throw new InvalidOperationException($"Evaluate: model '{Name}' must be compiled first");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckSamples("Evaluate", x, y);
        ResetMetrics();
        int n = y.Shape[0];
        using (GradMode.Disable())
        using (Ops.Int8WeightCache.Trust())
        {
            for (int start = 0; start < n; start += batchSize)
            {
                int len = Math.Min(batchSize, n - start);
                EvaluateBatch(x, start, len, y.Slice(start..(start + len)));
            }
        }
        return CurrentLogs();
    }

    /// <summary>The loss and metrics over the batches of a loader (one epoch: epoch 0 of its order), in inference mode.</summary>
    public Logs Evaluate(DataLoader data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Loss is null)
            throw new InvalidOperationException($"Evaluate: model '{Name}' must be compiled first");
        CheckDataset("Evaluate", data.Dataset);
        ResetMetrics();
        using (GradMode.Disable())
        using (Ops.Int8WeightCache.Trust())
        using (var stream = data.Open(0, reuseBuffers: true))
        {
            while (stream.Next() is { } batch)
                EvaluateBatch([batch.X], 0, batch.X.Shape[0], batch.Y);
        }
        return CurrentLogs();
    }

    /// <summary>The loss and metrics over a data set, in batches, in order, in inference mode.</summary>
    public Logs Evaluate(Dataset data, int batchSize = 32) => Evaluate(new DataLoader(data, batchSize, shuffle: false));

    /// <summary>The outputs for every sample of a data set, in order.</summary>
    public Tensor Predict(Dataset data, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset("Predict", data);
        var parts = new List<Tensor>();
        using (var stream = new DataLoader(data, batchSize, shuffle: false).Open(0, reuseBuffers: false))
        {
            while (stream.Next() is { } batch)
                parts.Add(Predict(batch.X, batchSize));
        }
        return parts.Count == 1 ? parts[0] : Tensor.Concat(parts, 0);
    }

    /// <summary>Adds rows [start, start + len) of x with targets <paramref name="y"/> to the loss and metrics (grad mode off).</summary>
    private void EvaluateBatch(Tensor[] x, int start, int len, Tensor y)
    {
        var yPred = PredictRows(x, start, len);
        _lossTracker.Add(Loss!.Compute(y, yPred).ToScalar(), len);
        foreach (var m in _metrics)
            m.Update(y, yPred);
    }

    /// <summary>The outputs for a data set, in batches, in inference mode.</summary>
    public Tensor Predict(Tensor x, int batchSize = 32) => Predict([x], batchSize);

    /// <summary>
    /// The outputs for a data set with one array per model input. Safe to call from several threads
    /// on one model (each call runs on a plan of its own).
    /// </summary>
    public Tensor Predict(Tensor[] x, int batchSize = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckInputs("Predict", x);
        using var _ = GradMode.Disable();
        using var trust = Ops.Int8WeightCache.Trust(); // quantized layers check their integer kernels once per call, not once per slice
        int n = x[0].Shape[0];
        if (n <= batchSize)
            return PredictRows(x, 0, n);
        Tensor? result = null;
        for (int start = 0; start < n; start += batchSize)
        {
            int len = Math.Min(batchSize, n - start);
            var part = PredictRows(x, start, len);
            int row = part.Size / len;
            result ??= Tensor.Empty(new Shape([n, .. part.Shape.Dims[1..]]));
            part.Span.CopyTo(result.Data.Slice(start * row, len * row));
        }
        return result!;
    }

    // A part of a batch split across threads has at least this many rows (below it the hand-off costs more than it saves).
    private const int MinRowsPerThread = 32;

    // The rows of a part of the latest split batch, and how many calls have split it (the first two run their parts in order).
    private int _splitRows, _splitCalls;

    /// <summary>
    /// Rows [start, start + len) through the network. A large batch is split into one part per kernel thread,
    /// each run on a plan of its own on its thread (the kernels inside a part run on that thread alone): no
    /// hand-off between the threads per layer, as there is when each kernel splits its own work; every row
    /// gets the same result either way.
    /// </summary>
    private Tensor PredictRows(Tensor[] x, int start, int len)
    {
        int parts = Math.Min(KernelSettings.MaxThreads, len / MinRowsPerThread);
        if (parts < 2 || _inferenceBytesPerSample == 0) // the first calls trace and compile the plan on one thread
            return PredictSlices(x, start, len);
        var work = new RowParts(this, x, start, len, parts);
        // A new part size runs its parts one after another twice: their slices' signature is traced and confirmed
        // in order, as for one thread, and later calls replay the plan on every thread at once.
        int partRows = len / parts;
        if (Volatile.Read(ref _splitRows) != partRows)
        {
            Volatile.Write(ref _splitCalls, 0);
            Volatile.Write(ref _splitRows, partRows);
        }
        if (Interlocked.Increment(ref _splitCalls) <= 2)
        {
            for (int p = 0; p < parts; p++)
                work.Run(p);
        }
        else
            WorkerPool.Run(work, parts);
        var first = work.Results[0]!;
        int row = first.Size / first.Shape[0];
        var result = Tensor.Empty(new Shape([len, .. first.Shape.Dims[1..]]));
        for (int p = 0; p < parts; p++)
        {
            var (from, count) = work.Part(p);
            work.Results[p]!.Span.CopyTo(result.Data.Slice((from - start) * row, count * row));
        }
        return result;
    }

    /// <summary>One part of a batch per strip (balanced, whole rows).</summary>
    private sealed class RowParts(Model model, Tensor[] x, int start, int len, int parts) : WorkerPool.Work
    {
        public readonly Tensor?[] Results = new Tensor?[parts];
        private readonly long _pass = Ops.Int8WeightCache.Current; // the caller's pass, joined on the worker threads

        public (int From, int Count) Part(int p)
        {
            int a = (int)((long)len * p / parts), b = (int)((long)len * (p + 1) / parts);
            return (start + a, b - a);
        }

        public override void Run(int strip)
        {
            var (from, count) = Part(strip);
            using var pass = Ops.Int8WeightCache.Join(_pass);
            Results[strip] = model.PredictSlices(x, from, count);
        }
    }

    /// <summary>Rows [start, start + len) through the network, in cache-sized slices once their size is known.</summary>
    private Tensor PredictSlices(Tensor[] x, int start, int len)
    {
        long perSample = _inferenceBytesPerSample;
        int slice = perSample > 0 ? (int)Math.Clamp(InferenceSliceBytes / perSample, 1, len) : len;
        int slices = (len + slice - 1) / slice;
        slice = (len + slices - 1) / slices; // balanced
        if (slices == 1)
        {
            var y = InferBatch(x, start, len);
            return y;
        }
        Tensor? result = null;
        for (int s0 = 0; s0 < len; s0 += slice)
        {
            int n = Math.Min(slice, len - s0);
            var part = InferBatch(x, start + s0, n);
            int row = part.Size / n;
            result ??= Tensor.Empty(new Shape([len, .. part.Shape.Dims[1..]]));
            part.Span.CopyTo(result.Data.Slice(s0 * row, n * row));
        }
        return result!;
    }
}

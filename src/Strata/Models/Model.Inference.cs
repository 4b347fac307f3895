using Strata.Data;
using Strata.Training;

namespace Strata.Models;

public partial class Model
{
    // Inference runs a large batch in slices whose activations stay in cache (about 8 MB): every op on
    // one slice, then the next. Measured with the seed CNN at batch 1,000 (`Strata.Benchmarks`, Predict
    // over the 10,000 test images, same session, before compiled plans): 15,700–16,600 samples/s
    // unsliced against 18,700–19,700 sliced on 1 thread, 21,800–24,400 against 26,000–26,600 on 2.
    private const long InferenceSliceBytes = 8L << 20;

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

    /// <summary>Rows [start, start + len) through the network, in cache-sized slices once their size is known.</summary>
    private Tensor PredictRows(Tensor[] x, int start, int len)
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

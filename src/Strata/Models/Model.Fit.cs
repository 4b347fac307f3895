using System.Globalization;
using System.Text;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Models;

public partial class Model
{
    /// <summary>
    /// Trains for a number of epochs over (x, y) in mini-batches and returns the per-epoch history.
    /// Validation data is either the last <paramref name="validationSplit"/> of the samples (taken
    /// before shuffling, as Keras does) or <paramref name="validationData"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Compile was not called.</exception>
    /// <exception cref="ArgumentException">x and y differ in sample count, or an option is out of range.</exception>
    public History Fit(Tensor x, Tensor y, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        float validationSplit = 0, (Tensor X, Tensor Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        bool verbose = false, Tensor? sampleWeight = null, int initialEpoch = 0, int initialBatch = 0,
        CancellationToken cancellationToken = default) =>
        Fit([x], y, epochs, batchSize, shuffle, seed, validationSplit,
            validationData is { } v ? ([v.X], v.Y) : null, callbacks, verbose, sampleWeight, initialEpoch, initialBatch, cancellationToken);

    /// <summary>
    /// Trains a model with several inputs: <paramref name="x"/> holds one array per input, all with the
    /// same number of samples as <paramref name="y"/>. Otherwise as the single-input overload.
    /// <paramref name="initialEpoch"/> resumes a run (Keras' initial_epoch): training covers epochs
    /// initialEpoch..epochs−1, and with the same seed the shuffles of the earlier epochs are replayed,
    /// so that a model restored from a checkpoint continues exactly as the uninterrupted run would.
    /// <paramref name="initialBatch"/> resumes inside that epoch: its first initialBatch batches (of the
    /// replayed order) are skipped, as after a checkpoint saved mid-epoch (<see cref="CompletedBatches"/>).
    /// <paramref name="cancellationToken"/> stops training before the next batch once cancelled: the
    /// epoch is left unfinished (no validation, no epoch end for the callbacks), <see cref="CompletedEpochs"/>
    /// and <see cref="CompletedBatches"/> say where it stopped, and a <see cref="Save"/> then is a
    /// mid-epoch checkpoint (it keeps the epoch's running loss and metrics, so the resumed epoch's
    /// figures cover all its batches).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">initialEpoch not in [0, epochs), or initialBatch not in [0, batches per epoch).</exception>
    public History Fit(Tensor[] x, Tensor y, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        float validationSplit = 0, (Tensor[] X, Tensor Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        bool verbose = false, Tensor? sampleWeight = null, int initialEpoch = 0, int initialBatch = 0,
        CancellationToken cancellationToken = default)
    {
        CheckFitOptions(epochs, batchSize, initialEpoch);
        CheckSamples("Fit", x, y);
        if (sampleWeight is not null && (sampleWeight.Rank != 1 || sampleWeight.Shape[0] != y.Shape[0]))
            throw new ArgumentException($"Fit: sampleWeight must have shape [{y.Shape[0]}] (one weight per sample), got {sampleWeight.Shape}");
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), $"Fit: validationSplit must be in [0, 1), got {validationSplit}");
        if (validationSplit > 0 && validationData is not null)
            throw new ArgumentException("Fit: give either validationSplit or validationData, not both");

        int n = y.Shape[0];
        if (validationSplit > 0)
        {
            int nVal = (int)(n * validationSplit);
            if (nVal == 0 || nVal == n)
                throw new ArgumentException($"Fit: validationSplit {validationSplit} of {n} samples leaves an empty set");
            validationData = ([.. x.Select(t => t.Slice((n - nVal)..))], y.Slice((n - nVal)..));
            x = [.. x.Select(t => t.Slice(..(n - nVal)))];
            y = y.Slice(..(n - nVal));
            sampleWeight = sampleWeight?.Slice(..(n - nVal));
            n -= nVal;
        }
        if (validationData is { } vd)
            CheckSamples("Fit (validation data)", vd.X, vd.Y);
        MemoryBudget.CheckBatch(this, Math.Min(batchSize, n), training: true, "Fit");

        var rng = new Rng(seed);
        var order = Enumerable.Range(0, n).ToArray();
        for (int e = 0; shuffle && e < initialEpoch; e++)
            rng.Shuffle(order.AsSpan()); // the earlier epochs' orders, replayed
        // The default step reads each batch and keeps nothing: gather into buffers reused every step.
        // An overridden step may keep its batches, so it gets fresh tensors.
        var batchBuffers = OverridesTrainStep() ? null : new BatchBuffers(x, y, sampleWeight);
        IEnumerable<(Tensor[] X, Tensor Y, Tensor? W)> EpochBatches(int epoch, int firstBatch)
        {
            if (shuffle)
                rng.Shuffle(order.AsSpan());
            var bx = new Tensor[x.Length];
            for (int start = firstBatch * batchSize; start < n; start += batchSize)
            {
                int len = Math.Min(batchSize, n - start);
                if (batchBuffers is not null)
                {
                    var (by, bw) = batchBuffers.Gather(order.AsSpan(start, len), bx);
                    yield return (bx, by, bw);
                }
                else
                {
                    var idx = order.AsSpan(start, len).ToArray();
                    yield return ([.. x.Select(t => t.IndexSelect(0, idx))], y.IndexSelect(0, idx), sampleWeight?.IndexSelect(0, idx));
                }
            }
        }
        Func<(Logs, long)>? validate = validationData is { } v ? () => (Evaluate(v.X, v.Y, batchSize), v.Y.Shape[0]) : null;
        return FitLoop(epochs, initialEpoch, initialBatch, (n + batchSize - 1) / batchSize, EpochBatches, validate, callbacks, verbose,
            cancellationToken);
    }

    /// <summary>
    /// Trains on the batches of a <see cref="DataLoader"/> (Keras' fit on a generator): each epoch takes
    /// the loader's batches for that epoch number (its seeded order and augmentation), prefetched by
    /// its workers while the model trains. <paramref name="validationData"/> is evaluated after each epoch.
    /// With <paramref name="initialEpoch"/> (and <paramref name="initialBatch"/>, after a mid-epoch
    /// checkpoint) a restored model resumes exactly where the saved run stopped; a cancelled
    /// <paramref name="cancellationToken"/> stops before the next batch (see the tensor overload).
    /// </summary>
    /// <exception cref="InvalidOperationException">Compile was not called.</exception>
    /// <exception cref="ArgumentException">The loader's samples do not fit the model's input.</exception>
    public History Fit(DataLoader train, int epochs = 1, DataLoader? validationData = null, IEnumerable<Callback>? callbacks = null,
        bool verbose = false, int initialEpoch = 0, int initialBatch = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckFitOptions(epochs, 1, initialEpoch);
        CheckDataset("Fit", train.Dataset);
        if (validationData is not null)
            CheckDataset("Fit (validation data)", validationData.Dataset);
        MemoryBudget.CheckBatch(this, Math.Min(train.BatchSize, train.Dataset.Count), training: true, "Fit");
        bool reuse = !OverridesTrainStep();
        IEnumerable<(Tensor[] X, Tensor Y, Tensor? W)> EpochBatches(int epoch, int firstBatch)
        {
            using var stream = train.Open(epoch, reuse, firstBatch);
            var bx = new Tensor[1];
            while (stream.Next() is { } batch)
            {
                bx[0] = batch.X;
                yield return (bx, batch.Y, null);
            }
        }
        Func<(Logs, long)>? validate = validationData is null ? null : () => (Evaluate(validationData), validationData.SampleCount);
        return FitLoop(epochs, initialEpoch, initialBatch, train.BatchCount, EpochBatches, validate, callbacks, verbose, cancellationToken);
    }

    /// <summary>
    /// Trains on a <see cref="Dataset"/> through a <see cref="DataLoader"/> built from these settings
    /// (<paramref name="transform"/>: an augmentation applied per sample; <paramref name="workers"/>:
    /// background threads assembling batches).
    /// </summary>
    public History Fit(Dataset train, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        Dataset? validationData = null, IEnumerable<Callback>? callbacks = null, bool verbose = false, int initialEpoch = 0,
        ISampleTransform? transform = null, int workers = 1, int initialBatch = 0, CancellationToken cancellationToken = default) =>
        Fit(new DataLoader(train, batchSize, shuffle, seed, transform: transform, workers: workers), epochs,
            validationData is null ? null : new DataLoader(validationData, batchSize, shuffle: false, workers: workers),
            callbacks, verbose, initialEpoch, initialBatch, cancellationToken);

    private void CheckFitOptions(int epochs, int batchSize, int initialEpoch)
    {
        if (!IsCompiled)
            throw new InvalidOperationException($"Fit: model '{Name}' must be compiled first ({CompileHint})");
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (initialEpoch < 0 || initialEpoch >= epochs)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), $"Fit: initialEpoch must be in [0, epochs = {epochs}), got {initialEpoch}");
    }

    /// <summary>Throws unless a data set's samples are what the (single) model input takes.</summary>
    private void CheckDataset(string op, Dataset data)
    {
        if (data.Count == 0)
            throw new ArgumentException($"{op}: the data set is empty");
        CheckInputs(op, [Tensor.Zeros([1, .. data.SampleShape.Dims])]);
    }

    /// <summary>
    /// The epoch loop shared by every Fit: callbacks, steps, validation, history. The first epoch starts
    /// at <paramref name="initialBatch"/>; a cancelled token ends the loop before the next batch, the
    /// epoch unfinished (see the tensor overload of Fit).
    /// </summary>
    private History FitLoop(int epochs, int initialEpoch, int initialBatch, int batches,
        Func<int, int, IEnumerable<(Tensor[] X, Tensor Y, Tensor? W)>> epochBatches, Func<(Logs Logs, long Samples)>? validate,
        IEnumerable<Callback>? callbacks, bool verbose, CancellationToken cancellationToken)
    {
        if (initialBatch < 0 || initialBatch >= batches)
            throw new ArgumentOutOfRangeException(nameof(initialBatch), $"Fit: initialBatch must be in [0, batches per epoch = {batches}), got {initialBatch}");
        var history = new History();
        // User callbacks first, then History and the logger (as in Keras), so that values a callback
        // adds to the epoch logs (a learning rate, say) are recorded and shown.
        var all = new List<Callback>();
        if (callbacks is not null)
            all.AddRange(callbacks);
        all.Add(history);
        if (verbose)
            all.Add(new ProgressLogger { TotalEpochs = epochs, StepsPerEpoch = batches });
        foreach (var cb in all)
            cb.Model = this;
        StopTraining = false;
        StopReason = null;
        // A mid-epoch checkpoint's running figures belong to the epoch it stopped in, and only when resumed there.
        var pending = PendingEpochMetrics;
        PendingEpochMetrics = null;
        foreach (var cb in all)
            cb.OnTrainBegin();
        var epochLogs = new Logs();
        for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
        {
            int b = epoch == initialEpoch ? initialBatch : 0;
            if (cancellationToken.IsCancellationRequested)
            {
                if (epoch == initialEpoch)
                    PendingEpochMetrics = pending; // nothing trained: a save now keeps the figures it was resumed with
                Cancelled(epoch, b);
                break;
            }
            foreach (var cb in all)
                cb.OnEpochBegin(epoch);
            ResetMetrics();
            if (b > 0 && pending is not null)
                RestoreEpochMetrics(pending);
            bool cancelled = false;
            long samples = 0;
            foreach (var (bx, by, bw) in epochBatches(epoch, b))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }
                foreach (var cb in all)
                    cb.OnBatchBegin(b);
                var logs = TrainStep(bx, by, bw);
                samples += by.Shape[0];
                // Where a checkpoint saved by a batch-end callback would resume.
                CompletedEpochs = epoch;
                CompletedBatches = b + 1;
                foreach (var cb in all)
                    cb.OnBatchEnd(b, logs);
                b++;
                if (StopTraining)
                    break;
            }
            if (cancelled)
            {
                epochLogs = CurrentLogs();
                Cancelled(epoch, b);
                break;
            }
            epochLogs = CurrentLogs();
            if (DataParallel is { } dp)
                epochLogs = dp.ReduceLogs(epochLogs, samples);
            if (validate is not null)
            {
                var (vlogs, vsamples) = validate();
                if (DataParallel is { } vdp)
                    vlogs = vdp.ReduceLogs(vlogs, vsamples);
                foreach (var (k, value) in vlogs)
                    epochLogs["val_" + k] = value;
            }
            CompletedEpochs = epoch + 1;
            CompletedBatches = 0;
            foreach (var cb in all)
                cb.OnEpochEnd(epoch, epochLogs);
        }
        foreach (var cb in all)
            cb.OnTrainEnd(epochLogs);
        return history;

        void Cancelled(int epoch, int batch)
        {
            CompletedEpochs = epoch;
            CompletedBatches = batch;
            StopTraining = true;
            StopReason = string.Create(CultureInfo.InvariantCulture, $"Fit: cancelled in epoch {epoch + 1} after batch {batch} of {batches}");
        }
    }

    private bool OverridesTrainStep() =>
        GetType().GetMethod(nameof(TrainStep), [typeof(Tensor[]), typeof(Tensor), typeof(Tensor)])!.DeclaringType != typeof(Model);

    /// <summary>Batch tensors reused across the steps of one Fit: one set for full batches, one for the last, shorter one.</summary>
    private sealed class BatchBuffers(Tensor[] x, Tensor y, Tensor? sampleWeight)
    {
        private readonly Dictionary<int, (Tensor[] X, Tensor Y, Tensor? W)> _bySize = [];

        public (Tensor Y, Tensor? W) Gather(ReadOnlySpan<int> idx, Tensor[] bx)
        {
            if (!_bySize.TryGetValue(idx.Length, out var set))
            {
                int len = idx.Length;
                set = ([.. x.Select(t => Tensor.Empty(new Shape([len, .. t.Shape.Dims[1..]])))],
                    Tensor.Empty(new Shape([len, .. y.Shape.Dims[1..]])),
                    sampleWeight is null ? null : Tensor.Empty(new Shape([len, .. sampleWeight.Shape.Dims[1..]])));
                _bySize[len] = set;
            }
            for (int i = 0; i < x.Length; i++)
            {
                x[i].GatherRowsInto(idx, set.X[i]);
                bx[i] = set.X[i];
            }
            y.GatherRowsInto(idx, set.Y);
            if (sampleWeight is not null)
                sampleWeight.GatherRowsInto(idx, set.W!);
            return (set.Y, set.W);
        }
    }
}

using System.Globalization;
using System.Text;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Models;

/// <summary>
/// A trainable network: Keras' Compile / Fit / Evaluate / Predict around a forward function. The
/// training loop (<see cref="Fit"/>) is separate from one optimization step (<see cref="TrainStep"/>),
/// which subclasses override for custom training (GANs and the like).
/// </summary>
public abstract class Model
{
    private readonly List<Metric> _metrics = [];
    private readonly Mean _lossTracker = new("loss");

    protected Model(string? name) => Name = name ?? GetType().Name.ToLowerInvariant();

    public string Name { get; }

    /// <summary>The layers, in order.</summary>
    public abstract IReadOnlyList<Layer> Layers { get; }

    /// <summary>Runs the network on a batch.</summary>
    public abstract Tensor Forward(Tensor x, bool training = false);

    /// <summary>All weights of all layers.</summary>
    public IEnumerable<Weight> Weights => Layers.SelectMany(l => l.Weights);

    /// <summary>The weights that training updates.</summary>
    public IEnumerable<Weight> TrainableWeights => Layers.SelectMany(l => l.TrainableWeights);

    public Optimizer? Optimizer { get; private set; }
    public Loss? Loss { get; private set; }
    public IReadOnlyList<Metric> Metrics => _metrics;

    /// <summary>Set by a callback to end <see cref="Fit"/> after the current epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>Chooses the optimizer, the loss and the metrics ("accuracy" picks the variant that fits the loss).</summary>
    public void Compile(Optimizer optimizer, Loss loss, params object[] metrics)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        _metrics.Clear();
        foreach (var m in metrics)
        {
            _metrics.Add(m switch
            {
                Metric metric => metric,
                string s => ResolveMetric(s, loss),
                _ => throw new ArgumentException($"Compile: a metric must be a Metric or a name, got {m?.GetType().Name ?? "null"}"),
            });
        }
    }

    private static Metric ResolveMetric(string name, Loss loss) => name.ToLowerInvariant() switch
    {
        "accuracy" or "acc" => loss switch
        {
            SparseCategoricalCrossentropy => new SparseCategoricalAccuracy("accuracy"),
            CategoricalCrossentropy => new CategoricalAccuracy("accuracy"),
            BinaryCrossentropy b => new BinaryAccuracy(b.FromLogits ? 0f : 0.5f, "accuracy"),
            _ => new Accuracy("accuracy"),
        },
        "sparse_categorical_accuracy" => new SparseCategoricalAccuracy(),
        "categorical_accuracy" => new CategoricalAccuracy(),
        "binary_accuracy" => new BinaryAccuracy(),
        "top_k_categorical_accuracy" => new TopKCategoricalAccuracy(),
        "sparse_top_k_categorical_accuracy" => new TopKCategoricalAccuracy(sparse: true),
        "mae" or "mean_absolute_error" => new MeanAbsoluteErrorMetric(),
        "mse" or "mean_squared_error" => new MeanSquaredErrorMetric(),
        "precision" => new Precision(),
        "recall" => new Recall(),
        "auc" => new Auc(),
        _ => throw new ArgumentException($"Compile: unknown metric '{name}'"),
    };

    /// <summary>
    /// Trains for a number of epochs over (x, y) in mini-batches and returns the per-epoch history.
    /// Validation data is either the last <paramref name="validationSplit"/> of the samples (taken
    /// before shuffling, as Keras does) or <paramref name="validationData"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Compile was not called.</exception>
    /// <exception cref="ArgumentException">x and y differ in sample count, or an option is out of range.</exception>
    public History Fit(Tensor x, Tensor y, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        float validationSplit = 0, (Tensor X, Tensor Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        bool verbose = false, Tensor? sampleWeight = null)
    {
        if (Optimizer is null || Loss is null)
            throw new InvalidOperationException($"Fit: model '{Name}' must be compiled first (call Compile(optimizer, loss, metrics))");
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckSamples("Fit", x, y);
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), $"Fit: validationSplit must be in [0, 1), got {validationSplit}");
        if (validationSplit > 0 && validationData is not null)
            throw new ArgumentException("Fit: give either validationSplit or validationData, not both");

        int n = x.Shape[0];
        if (validationSplit > 0)
        {
            int nVal = (int)(n * validationSplit);
            if (nVal == 0 || nVal == n)
                throw new ArgumentException($"Fit: validationSplit {validationSplit} of {n} samples leaves an empty set");
            validationData = (x.Slice((n - nVal)..), y.Slice((n - nVal)..));
            x = x.Slice(..(n - nVal));
            y = y.Slice(..(n - nVal));
            sampleWeight = sampleWeight?.Slice(..(n - nVal));
            n -= nVal;
        }
        if (validationData is { } vd)
            CheckSamples("Fit (validation data)", vd.X, vd.Y);

        var history = new History();
        // User callbacks first, then History and the logger (as in Keras), so that values a callback
        // adds to the epoch logs (a learning rate, say) are recorded and shown.
        var all = new List<Callback>();
        if (callbacks is not null)
            all.AddRange(callbacks);
        all.Add(history);
        if (verbose)
            all.Add(new ProgressLogger { TotalEpochs = epochs });
        foreach (var cb in all)
            cb.Model = this;

        var rng = new Rng(seed);
        var order = Enumerable.Range(0, n).ToArray();
        StopTraining = false;
        foreach (var cb in all)
            cb.OnTrainBegin();
        var epochLogs = new Logs();
        for (int epoch = 0; epoch < epochs && !StopTraining; epoch++)
        {
            foreach (var cb in all)
                cb.OnEpochBegin(epoch);
            ResetMetrics();
            if (shuffle)
                rng.Shuffle(order.AsSpan());
            int batches = (n + batchSize - 1) / batchSize;
            for (int b = 0; b < batches && !StopTraining; b++)
            {
                foreach (var cb in all)
                    cb.OnBatchBegin(b);
                var idx = order.AsSpan(b * batchSize, Math.Min(batchSize, n - b * batchSize));
                var logs = TrainStep(x.IndexSelect(0, idx), y.IndexSelect(0, idx), sampleWeight?.IndexSelect(0, idx));
                foreach (var cb in all)
                    cb.OnBatchEnd(b, logs);
            }
            epochLogs = CurrentLogs();
            if (validationData is { } v)
            {
                foreach (var (k, value) in Evaluate(v.X, v.Y, batchSize))
                    epochLogs["val_" + k] = value;
            }
            foreach (var cb in all)
                cb.OnEpochEnd(epoch, epochLogs);
        }
        foreach (var cb in all)
            cb.OnTrainEnd(epochLogs);
        return history;
    }

    /// <summary>
    /// One optimization step on a batch: forward in training mode, loss (plus weight penalties),
    /// backward, optimizer update, metric update. Returns the running loss and metric values.
    /// </summary>
    public virtual Logs TrainStep(Tensor x, Tensor y, Tensor? sampleWeight = null)
    {
        var trainable = TrainableWeights.Select(w => w.Value).ToArray();
        foreach (var p in trainable)
            p.ZeroGrad();
        var yPred = Forward(x, training: true);
        var loss = Loss!.Compute(y, yPred, sampleWeight);
        var total = AddRegularization(loss);
        if (total.RequiresGrad) // false for a model without trainable weights: nothing to update
        {
            total.Backward();
            Optimizer!.Apply(trainable);
        }
        _lossTracker.Add(loss.ToScalar(), x.Shape[0]);
        var detached = yPred.Detach();
        foreach (var m in _metrics)
            m.Update(y, detached, sampleWeight);
        return CurrentLogs();
    }

    /// <summary>
    /// Gradients of any scalar with respect to any set of parameters: zeroes their gradients, runs
    /// backward from <paramref name="loss"/>, and returns a copy of each gradient (zeros where the
    /// loss does not depend on a parameter). Apply them with <see cref="Optimizer.ApplyGradients"/>.
    /// </summary>
    public static Tensor[] ComputeGradients(Tensor loss, IReadOnlyList<Tensor> parameters)
    {
        foreach (var p in parameters)
            p.ZeroGrad();
        loss.Backward();
        return parameters.Select(p => p.Grad?.Clone() ?? Tensor.ZerosLike(p)).ToArray();
    }

    /// <summary>The loss and metrics over a data set, in batches, in inference mode.</summary>
    public Logs Evaluate(Tensor x, Tensor y, int batchSize = 32)
    {
        if (Loss is null)
            throw new InvalidOperationException($"Evaluate: model '{Name}' must be compiled first");
        CheckSamples("Evaluate", x, y);
        ResetMetrics();
        int n = x.Shape[0];
        using (GradMode.Disable())
        {
            for (int start = 0; start < n; start += batchSize)
            {
                int len = Math.Min(batchSize, n - start);
                var bx = x.Slice(start..(start + len));
                var by = y.Slice(start..(start + len));
                var yPred = Forward(bx, training: false);
                _lossTracker.Add(Loss.Compute(by, yPred).ToScalar(), len);
                foreach (var m in _metrics)
                    m.Update(by, yPred);
            }
        }
        return CurrentLogs();
    }

    /// <summary>The outputs for a data set, in batches, in inference mode.</summary>
    public Tensor Predict(Tensor x, int batchSize = 32)
    {
        using var _ = GradMode.Disable();
        int n = x.Shape[0];
        if (n <= batchSize)
            return Forward(x);
        var parts = new List<Tensor>();
        for (int start = 0; start < n; start += batchSize)
            parts.Add(Forward(x.Slice(start..Math.Min(n, start + batchSize))));
        return Tensor.Concat(parts, 0);
    }

    /// <summary>Copies of all weight values, in <see cref="Weights"/> order.</summary>
    public float[][] GetWeights() => Weights.Select(w => w.Value.ToArray()).ToArray();

    /// <summary>Overwrites all weight values (same order and sizes as <see cref="GetWeights"/>).</summary>
    public void SetWeights(float[][] values)
    {
        var weights = Weights.ToArray();
        if (values.Length != weights.Length)
            throw new ArgumentException($"SetWeights: model '{Name}' has {weights.Length} weights, got {values.Length}");
        for (int i = 0; i < weights.Length; i++)
        {
            if (values[i].Length != weights[i].Value.Size)
                throw new ArgumentException($"SetWeights: weight '{weights[i].Name}' has {weights[i].Value.Size} values, got {values[i].Length}");
            values[i].CopyTo(weights[i].Value.AsWritableSpan());
        }
    }

    /// <summary>The Keras-style table: layers, output shapes, parameter counts, totals.</summary>
    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{Name}\"");
        string line = new('─', 66);
        sb.AppendLine(line);
        sb.AppendLine($"{"Layer (type)",-30}{"Output Shape",-22}{"Param #",14}");
        sb.AppendLine(line);
        foreach (var l in Layers)
        {
            string shape = l.Built ? $"(None, {string.Join(", ", l.OutputShape.ToArray())})" : "?";
            sb.AppendLine($"{$"{l.Name} ({l.GetType().Name})",-30}{shape,-22}{l.ParameterCount.ToString("N0", CultureInfo.InvariantCulture),14}");
        }
        sb.AppendLine(line);
        long trainable = TrainableWeights.Sum(w => (long)w.Value.Size);
        long total = Weights.Sum(w => (long)w.Value.Size);
        sb.AppendLine($"Total params: {total.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Trainable params: {trainable.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Non-trainable params: {(total - trainable).ToString("N0", CultureInfo.InvariantCulture)}");
        return sb.ToString();
    }

    private Tensor AddRegularization(Tensor loss)
    {
        foreach (var l in Layers)
        {
            if (l.Weights.Any(w => w.Regularizer is not null))
                loss = loss + l.RegularizationLoss();
        }
        return loss;
    }

    private void ResetMetrics()
    {
        _lossTracker.Reset();
        foreach (var m in _metrics)
            m.Reset();
    }

    private Logs CurrentLogs()
    {
        var logs = new Logs { ["loss"] = _lossTracker.Result() };
        foreach (var m in _metrics)
            logs[m.Name] = m.Result();
        return logs;
    }

    private static void CheckSamples(string op, Tensor x, Tensor y)
    {
        if (x.Rank < 1 || y.Rank < 1 || x.Shape[0] != y.Shape[0])
            throw new ArgumentException($"{op}: x {x.Shape} and y {y.Shape} must have the same number of samples (first axis)");
        if (x.Shape[0] == 0)
            throw new ArgumentException($"{op}: no samples");
    }
}

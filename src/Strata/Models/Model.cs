using System.Globalization;
using System.Text;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Models;

/// <summary>
/// A trainable network: Keras' Compile / Fit / Evaluate / Predict around a forward function. Built
/// three ways: a <see cref="Sequential"/> stack; the functional form, <c>new Model(inputs, output)</c>
/// over layers applied to symbolic values (skip connections, several inputs); or a subclass that
/// overrides <see cref="Layers"/> and <see cref="Forward(Tensor, bool)"/>. The training loop (Fit)
/// is separate from one optimization step (<see cref="TrainStep(Tensor[], Tensor, Tensor?)"/>), which
/// subclasses override for custom training (GANs and the like).
/// </summary>
public class Model
{
    private readonly List<Metric> _metrics = [];
    private readonly List<string> _metricNames = [];
    private readonly Mean _lossTracker = new("loss");
    private readonly FunctionalGraph? _graph;
    private readonly Dictionary<(int Batch, bool Training), StepPlan?> _plans = [];

    /// <summary>For subclasses, which override <see cref="Layers"/> and <see cref="Forward(Tensor, bool)"/>.</summary>
    protected Model(string? name) => Name = name ?? GetType().Name.ToLowerInvariant();

    /// <summary>A functional model from one input to an output: <c>new Model(x, Dense(10).Apply(h))</c>.</summary>
    /// <param name="input">A value from <see cref="Input.Create"/>.</param>
    /// <param name="output">A value computed from <paramref name="input"/> by applying layers.</param>
    /// <param name="seed">Seeds the initializers and dropout of every layer not yet built (layer i gets its own stream).</param>
    /// <param name="name">Model name.</param>
    public Model(SymbolicTensor input, SymbolicTensor output, ulong seed = 0, string? name = null)
        : this([input], output, seed, name)
    {
    }

    /// <summary>A functional model from several inputs to an output; Fit and Predict then take one array per input, in this order.</summary>
    /// <exception cref="ArgumentException">An input does not come from <see cref="Input.Create"/>, or the output depends on a value that is not among the inputs.</exception>
    public Model(IReadOnlyList<SymbolicTensor> inputs, SymbolicTensor output, ulong seed = 0, string? name = null)
    {
        Name = name ?? "model";
        _graph = new FunctionalGraph(inputs, output, seed, Name);
    }

    public string Name { get; }

    /// <summary>The graph of a functional model; null otherwise.</summary>
    internal FunctionalGraph? Graph => _graph;

    /// <summary>
    /// The number of epochs trained so far: Fit counts them, a loaded checkpoint restores the count.
    /// Resume an interrupted run with <c>Fit(..., initialEpoch: model.CompletedEpochs)</c>.
    /// </summary>
    public int CompletedEpochs { get; internal set; }

    /// <summary>The metrics given to Compile by name (what a model file records).</summary>
    internal IReadOnlyList<string> MetricNames => _metricNames;

    /// <summary>The layers, in order (for a functional model, an order in which each layer follows its inputs).</summary>
    public virtual IReadOnlyList<Layer> Layers =>
        _graph?.Layers ?? throw new InvalidOperationException($"Model '{Name}': a Model subclass must override Layers");

    /// <summary>The number of inputs Forward and Fit expect.</summary>
    public virtual int InputCount => _graph?.Inputs.Length ?? 1;

    /// <summary>Runs the network on a batch.</summary>
    public virtual Tensor Forward(Tensor x, bool training = false) =>
        _graph is not null ? _graph.Run([x], training, Name) : throw new InvalidOperationException($"Model '{Name}': a Model subclass must override Forward");

    /// <summary>Runs the network on a batch of each input (in the order the model's inputs were given).</summary>
    public virtual Tensor Forward(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (_graph is not null)
            return _graph.Run(inputs, training, Name);
        if (inputs.Count != 1)
            throw new ArgumentException($"Model '{Name}': expected 1 input, got {inputs.Count}");
        return Forward(inputs[0], training);
    }

    /// <summary>All weights of all layers.</summary>
    public IEnumerable<Weight> Weights => Layers.SelectMany(l => l.Weights);

    /// <summary>The weights that training updates.</summary>
    public IEnumerable<Weight> TrainableWeights => Layers.SelectMany(l => l.TrainableWeights);

    public Optimizer? Optimizer { get; private set; }
    public Loss? Loss { get; private set; }
    public IReadOnlyList<Metric> Metrics => _metrics;

    /// <summary>Set by a callback to end Fit after the current epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>Chooses the optimizer, the loss and the metrics ("accuracy" picks the variant that fits the loss).</summary>
    public void Compile(Optimizer optimizer, Loss loss, params object[] metrics)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        _metrics.Clear();
        _metricNames.Clear();
        foreach (var m in metrics)
        {
            if (m is string name)
                _metricNames.Add(name);
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
        bool verbose = false, Tensor? sampleWeight = null, int initialEpoch = 0) =>
        Fit([x], y, epochs, batchSize, shuffle, seed, validationSplit,
            validationData is { } v ? ([v.X], v.Y) : null, callbacks, verbose, sampleWeight, initialEpoch);

    /// <summary>
    /// Trains a model with several inputs: <paramref name="x"/> holds one array per input, all with the
    /// same number of samples as <paramref name="y"/>. Otherwise as the single-input overload.
    /// <paramref name="initialEpoch"/> resumes a run (Keras' initial_epoch): training covers epochs
    /// initialEpoch..epochs−1, and with the same seed the shuffles of the earlier epochs are replayed,
    /// so that a model restored from a checkpoint continues exactly as the uninterrupted run would.
    /// </summary>
    public History Fit(Tensor[] x, Tensor y, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        float validationSplit = 0, (Tensor[] X, Tensor Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        bool verbose = false, Tensor? sampleWeight = null, int initialEpoch = 0)
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

        var rng = new Rng(seed);
        var order = Enumerable.Range(0, n).ToArray();
        for (int e = 0; shuffle && e < initialEpoch; e++)
            rng.Shuffle(order.AsSpan()); // the earlier epochs' orders, replayed
        // The default step reads each batch and keeps nothing: gather into buffers reused every step.
        // An overridden step may keep its batches, so it gets fresh tensors.
        var batchBuffers = OverridesTrainStep() ? null : new BatchBuffers(x, y, sampleWeight);
        IEnumerable<(Tensor[] X, Tensor Y, Tensor? W)> EpochBatches(int epoch)
        {
            if (shuffle)
                rng.Shuffle(order.AsSpan());
            var bx = new Tensor[x.Length];
            for (int start = 0; start < n; start += batchSize)
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
        Func<Logs>? validate = validationData is { } v ? () => Evaluate(v.X, v.Y, batchSize) : null;
        return FitLoop(epochs, initialEpoch, (n + batchSize - 1) / batchSize, EpochBatches, validate, callbacks, verbose);
    }

    /// <summary>
    /// Trains on the batches of a <see cref="DataLoader"/> (Keras' fit on a generator): each epoch takes
    /// the loader's batches for that epoch number (its seeded order and augmentation), prefetched by
    /// its workers while the model trains. <paramref name="validationData"/> is evaluated after each epoch.
    /// With <paramref name="initialEpoch"/> a restored model resumes exactly where the saved run stopped.
    /// </summary>
    /// <exception cref="InvalidOperationException">Compile was not called.</exception>
    /// <exception cref="ArgumentException">The loader's samples do not fit the model's input.</exception>
    public History Fit(DataLoader train, int epochs = 1, DataLoader? validationData = null, IEnumerable<Callback>? callbacks = null,
        bool verbose = false, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckFitOptions(epochs, 1, initialEpoch);
        CheckDataset("Fit", train.Dataset);
        if (validationData is not null)
            CheckDataset("Fit (validation data)", validationData.Dataset);
        bool reuse = !OverridesTrainStep();
        IEnumerable<(Tensor[] X, Tensor Y, Tensor? W)> EpochBatches(int epoch)
        {
            using var stream = train.Open(epoch, reuse);
            var bx = new Tensor[1];
            while (stream.Next() is { } batch)
            {
                bx[0] = batch.X;
                yield return (bx, batch.Y, null);
            }
        }
        Func<Logs>? validate = validationData is null ? null : () => Evaluate(validationData);
        return FitLoop(epochs, initialEpoch, train.BatchCount, EpochBatches, validate, callbacks, verbose);
    }

    /// <summary>
    /// Trains on a <see cref="Dataset"/> through a <see cref="DataLoader"/> built from these settings
    /// (<paramref name="transform"/>: an augmentation applied per sample; <paramref name="workers"/>:
    /// background threads assembling batches).
    /// </summary>
    public History Fit(Dataset train, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        Dataset? validationData = null, IEnumerable<Callback>? callbacks = null, bool verbose = false, int initialEpoch = 0,
        ISampleTransform? transform = null, int workers = 1) =>
        Fit(new DataLoader(train, batchSize, shuffle, seed, transform: transform, workers: workers), epochs,
            validationData is null ? null : new DataLoader(validationData, batchSize, shuffle: false, workers: workers),
            callbacks, verbose, initialEpoch);

    private void CheckFitOptions(int epochs, int batchSize, int initialEpoch)
    {
        if (Optimizer is null || Loss is null)
            throw new InvalidOperationException($"Fit: model '{Name}' must be compiled first (call Compile(optimizer, loss, metrics))");
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

    /// <summary>The epoch loop shared by every Fit: callbacks, steps, validation, history.</summary>
    private History FitLoop(int epochs, int initialEpoch, int batches, Func<int, IEnumerable<(Tensor[] X, Tensor Y, Tensor? W)>> epochBatches,
        Func<Logs>? validate, IEnumerable<Callback>? callbacks, bool verbose)
    {
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
        foreach (var cb in all)
            cb.OnTrainBegin();
        var epochLogs = new Logs();
        for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
        {
            foreach (var cb in all)
                cb.OnEpochBegin(epoch);
            ResetMetrics();
            int b = 0;
            foreach (var (bx, by, bw) in epochBatches(epoch))
            {
                foreach (var cb in all)
                    cb.OnBatchBegin(b);
                var logs = TrainStep(bx, by, bw);
                foreach (var cb in all)
                    cb.OnBatchEnd(b, logs);
                b++;
                if (StopTraining)
                    break;
            }
            epochLogs = CurrentLogs();
            if (validate is not null)
            {
                foreach (var (k, value) in validate())
                    epochLogs["val_" + k] = value;
            }
            CompletedEpochs = epoch + 1;
            foreach (var cb in all)
                cb.OnEpochEnd(epoch, epochLogs);
        }
        foreach (var cb in all)
            cb.OnTrainEnd(epochLogs);
        return history;
    }

    /// <summary>One optimization step on a batch of a single-input model; see <see cref="TrainStep(Tensor[], Tensor, Tensor?)"/>.</summary>
    public Logs TrainStep(Tensor x, Tensor y, Tensor? sampleWeight = null) => TrainStep([x], y, sampleWeight);

    /// <summary>
    /// One optimization step on a batch (one tensor per input): forward in training mode, loss (plus
    /// weight penalties), backward, optimizer update, metric update. Returns the running loss and
    /// metric values. Override it for custom training; <see cref="ComputeGradients"/> and
    /// <see cref="Optimizer.ApplyGradients"/> are the building blocks.
    /// </summary>
    public virtual Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null)
    {
        if (sampleWeight is null && x.Length == 1 && Loss!.CanPlan && PlanFor(x[0], training: true) is { } plan
            && System.Threading.Monitor.TryEnter(plan))
        {
            try
            {
                return PlannedTrainStep(plan, x[0], y);
            }
            finally
            {
                System.Threading.Monitor.Exit(plan);
            }
        }
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
        _lossTracker.Add(loss.ToScalar(), y.Shape[0]);
        var detached = yPred.Detach();
        foreach (var m in _metrics)
            m.Update(y, detached, sampleWeight);
        return CurrentLogs();
    }

    /// <summary>The default step on preallocated buffers, without a graph: the same math as the graph path.</summary>
    private Logs PlannedTrainStep(StepPlan plan, Tensor x, Tensor y)
    {
        // No ZeroGrad: the planned backward writes each trainable gradient whole.
        var trainable = plan.Trainable();
        var yPred = plan.Forward(x.Span);
        float loss = Loss!.ComputeWithGradient(y, yPred, plan.OutputGrad);
        plan.Backward(x.Span);
        Optimizer!.Apply(trainable);
        _lossTracker.Add(loss, y.Shape[0]);
        foreach (var m in _metrics)
            m.Update(y, yPred);
        return CurrentLogs();
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

    /// <summary>Whether the planned (graph-free) paths may run; tests turn them off to compare with the graph.</summary>
    internal bool PlansEnabled { get; set; } = true;

    /// <summary>The layers, in order, when the model is a plain chain that a <see cref="StepPlan"/> can run; else null.</summary>
    internal virtual IReadOnlyList<Layer>? ChainLayers => null;

    /// <summary>Drops the cached plans (after the layers change).</summary>
    private protected void InvalidatePlans() => _plans.Clear();

    /// <summary>A cached plan for this batch, or null when the model, its layers or the input do not allow one.</summary>
    internal StepPlan? PlanFor(Tensor x, bool training) => PlanFor(x, x.Rank == 0 ? 0 : x.Shape[0], training);

    /// <summary>As <see cref="PlanFor(Tensor, bool)"/> for a batch of <paramref name="batch"/> rows of x's per-sample shape.</summary>
    internal StepPlan? PlanFor(Tensor x, int batch, bool training)
    {
        if (!PlansEnabled || ChainLayers is not { Count: > 0 } layers)
            return null;
        foreach (var l in layers)
        {
            if (!l.Built)
                return null;
        }
        var shape = layers[0].InputShape;
        if (x.Rank != shape.Rank + 1 || batch <= 0)
            return null;
        for (int d = 0; d < shape.Rank; d++)
        {
            if (x.Shape[d + 1] != shape[d])
                return null; // the graph path reports the mismatch
        }
        var key = (batch, training);
        if (!_plans.TryGetValue(key, out var plan))
        {
            if (_plans.Count >= 8)
                _plans.Clear();
            _plans[key] = plan = StepPlan.TryCreate(layers, batch, training);
        }
        return plan;
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
        bool planned = PlannedInference(x, start, len, out var yPred, out var plan);
        try
        {
            yPred ??= Forward(x.Select(t => t.Slice(start..(start + len))).ToArray(), training: false);
            _lossTracker.Add(Loss!.Compute(y, yPred).ToScalar(), len);
            foreach (var m in _metrics)
                m.Update(y, yPred);
        }
        finally
        {
            if (planned)
                System.Threading.Monitor.Exit(plan!);
        }
    }

    /// <summary>
    /// Inference on rows [start, start + len) of a single input through a plan, reading the rows in
    /// place. On true the plan is locked (the caller exits it) and <paramref name="output"/> is its buffer.
    /// </summary>
    private bool PlannedInference(Tensor[] x, int start, int len, out Tensor? output, out StepPlan? plan)
    {
        output = null;
        plan = x.Length == 1 ? PlanFor(x[0], len, training: false) : null;
        if (plan is null || !System.Threading.Monitor.TryEnter(plan))
            return false;
        int row = x[0].Size / x[0].Shape[0];
        output = plan.Forward(x[0].Span.Slice(start * row, len * row));
        return true;
    }

    /// <summary>The outputs for a data set, in batches, in inference mode.</summary>
    public Tensor Predict(Tensor x, int batchSize = 32) => Predict([x], batchSize);

    /// <summary>The outputs for a data set with one array per model input.</summary>
    public Tensor Predict(Tensor[] x, int batchSize = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckInputs("Predict", x);
        using var _ = GradMode.Disable();
        int n = x[0].Shape[0];
        Tensor? result = null;
        for (int start = 0; start < n; start += batchSize)
        {
            int len = Math.Min(batchSize, n - start);
            if (!PlannedInference(x, start, len, out var output, out var plan))
            {
                if (start > 0)
                    throw new InvalidOperationException($"Predict: model '{Name}' changed during prediction");
                result = null;
                break;
            }
            try
            {
                int row = output!.Size / len;
                result ??= Tensor.Empty(new Shape([n, .. output.Shape.Dims[1..]]));
                output.Span.CopyTo(result.Data.Slice(start * row, len * row));
            }
            finally
            {
                System.Threading.Monitor.Exit(plan!);
            }
        }
        if (result is not null)
            return result;
        if (n <= batchSize)
            return Forward(x);
        var parts = new List<Tensor>();
        for (int start = 0; start < n; start += batchSize)
            parts.Add(Forward(x.Select(t => t.Slice(start..Math.Min(n, start + batchSize))).ToArray()));
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

    /// <summary>
    /// Saves every weight to a safetensors file under "position/layer/weight" (for example
    /// "1/conv2d/kernel": layer 1 of the model), written to a temporary name and renamed (a failed
    /// save leaves any previous file as it was).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no weights yet (not built).</exception>
    public void SaveWeights(string path) =>
        Serialization.SafeTensors.Save(path, WeightTensors("SaveWeights"), new Dictionary<string, string> { ["format"] = "strata", ["model"] = Name });

    /// <summary>
    /// Loads weights saved by <see cref="SaveWeights"/> into this built model of the same
    /// architecture. Weights are matched by layer position and weight name (layer names may differ:
    /// automatic names count up across models) and must have the same shapes. Everything is
    /// checked before anything is copied: a file that does not fit leaves the model unchanged.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, or its weights do not match the model's.</exception>
    public void LoadWeights(string path)
    {
        WeightKeys("LoadWeights");
        var content = Serialization.SafeTensors.Load(path);
        AssignWeights(content, path);
    }

    /// <summary>
    /// Saves the whole model to a <c>.strata</c> file: architecture (every layer's config), weights and,
    /// when compiled with a built-in optimizer and loss, the compile settings, the optimizer's state and
    /// the training position (epochs completed, random streams) — a checkpoint that
    /// <see cref="Load"/> resumes exactly. Written to a temporary name and renamed: a failed save leaves
    /// any previous file as it was.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, is a subclass (its architecture is code), or uses an unregistered layer type.</exception>
    public void Save(string path) => Serialization.ModelFile.Save(this, path);

    /// <summary>
    /// Loads a model saved by <see cref="Save"/>: rebuilds the layers through the
    /// <see cref="Serialization.LayerRegistry"/>, loads the weights and, when the file holds them and
    /// <paramref name="compile"/> is true, compiles it and restores the optimizer state and training position.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a valid model file (the message says what is wrong).</exception>
    public static Model Load(string path, bool compile = true) => Serialization.ModelFile.Load(path, compile);

    /// <summary>
    /// A new, uncompiled model from a model file's architecture JSON (config.json, as <see cref="Save"/>
    /// writes it): the layers rebuilt through the <see cref="Serialization.LayerRegistry"/>, weights
    /// freshly initialized from <paramref name="seed"/>. A compile section in the JSON is ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">The JSON does not describe a valid model (the message says what is wrong).</exception>
    public static Model FromConfig(string json, ulong seed = 0) => Serialization.ModelFile.FromConfig(json, seed);

    /// <summary>
    /// The names of the classes the output scores, index by index (saved with the model, so that a
    /// loaded classifier can name its predictions); null when not set.
    /// </summary>
    public IReadOnlyList<string>? ClassNames { get; set; }

    /// <summary>
    /// Exports the inference graph as an ONNX model (IR version 8, opset 17) with a symbolic batch axis,
    /// for ONNX Runtime and every other ONNX consumer. Written to a temporary name and renamed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, or is a subclass (its forward pass is code).</exception>
    /// <exception cref="NotSupportedException">A layer or activation without an ONNX export; the message names it.</exception>
    public void ExportOnnx(string path)
    {
        var proto = Onnx.OnnxExporter.Build(this);
        Serialization.AtomicFile.Write(path, stream =>
        {
            using var coded = new Google.Protobuf.CodedOutputStream(stream, leaveOpen: true);
            proto.WriteTo(coded);
        });
    }

    /// <summary>Copies matching tensors into the weights after checking all of them (a mismatch changes nothing).</summary>
    internal void AssignWeights(Serialization.SafeTensorsContent content, string source)
    {
        var wanted = WeightKeys("LoadWeights");
        // File keys by (position, weight name), ignoring the layer name in the middle.
        var byPosition = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in content.Tensors.Keys)
            byPosition[PositionKey(key)] = key;
        var matched = new List<(Weight Weight, Tensor Value)>();
        foreach (var (key, w) in wanted)
        {
            if (!byPosition.Remove(PositionKey(key), out var fileKey))
                throw new InvalidDataException($"{source}: no weight for '{key}' of model '{Name}' (the file has {string.Join(", ", content.Tensors.Keys.Order().Take(20).Select(Serialization.ModelJson.Quote))})");
            var t = content.Tensors[fileKey];
            if (t.Shape != w.Value.Shape)
                throw new InvalidDataException($"{source}: weight '{Serialization.ModelJson.Quote(fileKey)}' is {t.Shape} in the file, '{key}' is {w.Value.Shape} in model '{Name}'");
            matched.Add((w, t));
        }
        if (byPosition.Count > 0)
            throw new InvalidDataException($"{source}: weights that model '{Name}' does not have: {string.Join(", ", byPosition.Values.Order().Take(20).Select(Serialization.ModelJson.Quote))}");
        foreach (var (w, t) in matched)
            t.Span.CopyTo(w.Value.AsWritableSpan());
        InvalidatePlans();
    }

    /// <summary>Every weight under its "position/layer/weight" key.</summary>
    internal Dictionary<string, Tensor> WeightTensors(string op)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, w) in WeightKeys(op))
            tensors[key] = w.Value;
        return tensors;
    }

    private static string PositionKey(string key) =>
        key.IndexOf('/') is int first and >= 0 ? $"{key[..first]}/{key[(key.LastIndexOf('/') + 1)..]}" : key;

    internal List<(string Key, Weight Weight)> WeightKeys(string op)
    {
        var list = new List<(string, Weight)>();
        var layers = Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            foreach (var w in layers[i].Weights)
                list.Add(($"{i}/{w.Name}", w));
        }
        if (list.Count == 0 || layers.Any(l => !l.Built))
            throw new InvalidOperationException($"{op}: model '{Name}' is not built yet; run it on a batch (or Fit) first, so that its weights exist");
        return list;
    }

    /// <summary>
    /// The Keras-style table: layers, output shapes, parameter counts (and, for a functional model,
    /// the layers each one reads), then total, trainable and non-trainable parameter counts.
    /// </summary>
    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{Name}\"");
        bool graph = _graph is not null;
        string line = new('─', graph ? 90 : 66);
        sb.AppendLine(line);
        sb.Append($"{"Layer (type)",-30}{"Output Shape",-22}{"Param #",14}");
        sb.AppendLine(graph ? "  Connected to" : "");
        sb.AppendLine(line);
        foreach (var l in Layers)
        {
            string shape = l.Built ? $"(None, {string.Join(", ", l.OutputShape.ToArray())})" : "?";
            sb.Append($"{$"{l.Name} ({l.GetType().Name})",-30}{shape,-22}{l.ParameterCount.ToString("N0", CultureInfo.InvariantCulture),14}");
            sb.AppendLine(graph ? "  " + string.Join(", ", _graph!.ConnectedTo(l)) : "");
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

    private void CheckInputs(string op, Tensor[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Length != InputCount)
            throw new ArgumentException($"{op}: model '{Name}' has {InputCount} input(s), got {x.Length} array(s)");
        foreach (var t in x)
        {
            if (t is null || t.Rank < 1 || t.Shape[0] != x[0].Shape[0])
                throw new ArgumentException($"{op}: every input must have the same number of samples (first axis), got {string.Join(" and ", x.Select(t => t?.Shape.ToString() ?? "null"))}");
        }
        if (x[0].Shape[0] == 0)
            throw new ArgumentException($"{op}: no samples");
    }

    private void CheckSamples(string op, Tensor[] x, Tensor y)
    {
        CheckInputs(op, x);
        if (y.Rank < 1 || x[0].Shape[0] != y.Shape[0])
            throw new ArgumentException($"{op}: x {x[0].Shape} and y {y.Shape} must have the same number of samples (first axis)");
    }
}

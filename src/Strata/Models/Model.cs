using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Optimizers;
using Strata.Serialization;
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
// NOTE: Fit asks whether a subclass overrides TrainStep (this.GetType().GetMethod): the annotation keeps every
// model type's public methods through trimming and native AOT, so the answer is the same there.
[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)]
public partial class Model
{
    private readonly List<Metric> _metrics = [];
    private readonly List<string?> _metricNames = [];
    private readonly Mean _lossTracker = new("loss");
    private readonly FunctionalGraph? _graph;
    private readonly PlanCache _plans = new();

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

    /// <summary>The model's name (default "model"), used in messages, summaries and model files.</summary>
    public string Name { get; }

    /// <summary>The graph of a functional model; null otherwise.</summary>
    internal FunctionalGraph? Graph => _graph;

    /// <summary>
    /// The number of epochs trained so far: Fit counts them, a loaded checkpoint restores the count.
    /// Resume an interrupted run with <c>Fit(..., initialEpoch: model.CompletedEpochs)</c>.
    /// </summary>
    public int CompletedEpochs { get; internal set; }

    /// <summary>
    /// The batches of epoch <see cref="CompletedEpochs"/> (0-based) trained before Fit was cancelled
    /// mid-epoch; 0 at an epoch's end. A checkpoint saved then resumes at that batch with
    /// <c>Fit(..., initialEpoch: model.CompletedEpochs, initialBatch: model.CompletedBatches)</c>.
    /// </summary>
    public int CompletedBatches { get; internal set; }

    /// <summary>
    /// The running loss and metrics of a partial epoch as a loaded mid-epoch checkpoint held them
    /// (keys "loss", "metric/NAME", "step/NAME"); Fit resumes the epoch's figures from them. Null otherwise.
    /// </summary>
    internal Dictionary<string, double[]>? PendingEpochMetrics { get; set; }

    /// <summary>For each of <see cref="Metrics"/>, the name Compile was given it by, or null when it was given as an object (what a model file records).</summary>
    internal IReadOnlyList<string?> MetricNames => _metricNames;

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

    /// <summary>The optimizer set by Compile; null before.</summary>
    public Optimizer? Optimizer { get; private set; }
    /// <summary>The loss set by Compile; null before.</summary>
    public Loss? Loss { get; private set; }
    /// <summary>The metrics set by Compile (empty before).</summary>
    public IReadOnlyList<Metric> Metrics => _metrics;

    /// <summary>Set by a callback to end Fit after the current epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>Why the last Fit stopped early (a callback or a step that set <see cref="StopTraining"/> says so here); null when it ran all its epochs.</summary>
    public string? StopReason { get; set; }

    /// <summary>Whether Fit can run: the default step needs an optimizer and a loss.</summary>
    private protected virtual bool IsCompiled => Optimizer is not null && Loss is not null;

    /// <summary>What to call when <see cref="IsCompiled"/> is false.</summary>
    private protected virtual string CompileHint => "call Compile(optimizer, loss, metrics)";

    /// <summary>
    /// Each optimizer with the weights it updates (a model file saves each one's state, its metadata
    /// under the prefix): the one optimizer over all weights, or a GAN's two.
    /// </summary>
    internal virtual IReadOnlyList<(string Prefix, Optimizer Optimizer, IReadOnlyList<Weight> Weights)> OptimizerGroups() =>
        Optimizer is null ? [] : [("", Optimizer, [.. Weights])];

    /// <summary>
    /// The per-sample shape of each input, when the model knows it: a functional model's inputs, a
    /// Sequential that starts with an Input layer or is built; null otherwise.
    /// </summary>
    public IReadOnlyList<Shape>? InputShapes => _graph is not null
        ? [.. _graph.Inputs.Select(i => i.Shape)]
        : Layers.Count > 0 && Layers[0] is Input input ? [input.Shape]
        : Layers.Count > 0 && Layers[0].Built ? [Layers[0].InputShape]
        : null;

    /// <summary>
    /// Chooses the optimizer, the loss and the metrics: each a <see cref="Metric"/> or a name from
    /// <see cref="MetricRegistry.CompileNames"/> ("accuracy" is the variant that fits the loss, <see cref="Loss.MatchingAccuracy"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A metric that is neither, or an unknown name (the message lists the names).</exception>
    public void Compile(Optimizer optimizer, Loss loss, params object[] metrics)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        Loss = loss ?? throw new ArgumentNullException(nameof(loss));
        _metrics.Clear();
        _metricNames.Clear();
        foreach (var m in metrics)
        {
            _metricNames.Add(m as string);
            _metrics.Add(m switch
            {
                Metric metric => metric,
                string s => MetricRegistry.FromName(s, loss),
                _ => throw new ArgumentException($"Compile: a metric must be a Metric or a name, got {m?.GetType().Name ?? "null"}"),
            });
        }
        InvalidatePlans(); // compiled steps hold the old loss and optimizer
    }

    /// <summary>The loss plus the weight penalties of every layer that has them.</summary>
    internal Tensor AddRegularization(Tensor loss)
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
        foreach (var m in _stepMeans.Values)
            m.Reset();
        foreach (var m in _metrics)
            m.Reset();
    }

    /// <summary>The accumulated state of the epoch's running values (see <see cref="PendingEpochMetrics"/>); metrics that cannot say are left out.</summary>
    internal Dictionary<string, double[]> EpochMetricState()
    {
        var state = new Dictionary<string, double[]>(StringComparer.Ordinal) { ["loss"] = _lossTracker.GetState()! };
        foreach (var m in _metrics)
        {
            if (m.GetState() is { } s)
                state["metric/" + m.Name] = s;
        }
        foreach (var (k, m) in _stepMeans)
            state["step/" + k] = m.GetState()!;
        return state;
    }

    /// <summary>Restores <see cref="EpochMetricState"/>'s values (after <see cref="ResetMetrics"/>).</summary>
    /// <exception cref="ArgumentException">A state of the wrong length.</exception>
    private void RestoreEpochMetrics(Dictionary<string, double[]> state)
    {
        foreach (var (key, value) in state)
        {
            if (key == "loss")
                _lossTracker.SetState(value);
            else if (key.StartsWith("metric/", StringComparison.Ordinal))
                _metrics.FirstOrDefault(m => m.Name == key["metric/".Length..])?.SetState(value);
            else if (key.StartsWith("step/", StringComparison.Ordinal))
            {
                string name = key["step/".Length..];
                if (!_stepMeans.TryGetValue(name, out var m))
                    _stepMeans[name] = m = new Mean(name);
                m.SetState(value);
            }
        }
    }

    /// <summary>The epoch's running values: the default step's loss and metrics, and the named results of traced custom steps.</summary>
    private protected Logs CurrentLogs()
    {
        var logs = new Logs();
        if (_lossTracker.Count > 0 || _stepMeans.Count == 0)
            logs["loss"] = _lossTracker.Result();
        foreach (var m in _metrics)
            logs[m.Name] = m.Result();
        foreach (var (k, m) in _stepMeans)
        {
            if (m.Count > 0)
                logs[k] = m.Result();
        }
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

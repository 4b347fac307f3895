namespace Strata.Training;

/// <summary>The values of one epoch or batch: "loss", metric names, and "val_"-prefixed validation values.</summary>
public sealed class Logs : Dictionary<string, float>
{
    public Logs() : base(StringComparer.Ordinal)
    {
    }

    public Logs(IDictionary<string, float> values) : base(values, StringComparer.Ordinal)
    {
    }

    public override string ToString() =>
        string.Join(" - ", this.Select(kv => $"{kv.Key}: {kv.Value.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)}"));
}

/// <summary>
/// Hooks into <see cref="Models.Model.Fit"/>. The order of calls: TrainBegin, then per epoch
/// EpochBegin, (BatchBegin, BatchEnd)×batches, EpochEnd (with validation values), then TrainEnd.
/// </summary>
public abstract class Callback
{
    /// <summary>The model being trained (set by Fit before TrainBegin).</summary>
    public Strata.Models.Model? Model { get; internal set; }

    public virtual void OnTrainBegin() { }
    public virtual void OnTrainEnd(Logs logs) { }
    public virtual void OnEpochBegin(int epoch) { }
    public virtual void OnEpochEnd(int epoch, Logs logs) { }
    public virtual void OnBatchBegin(int batch) { }
    public virtual void OnBatchEnd(int batch, Logs logs) { }
}

/// <summary>Every epoch's logs, by name; returned by Fit.</summary>
public sealed class History : Callback
{
    private readonly Dictionary<string, List<float>> _values = new(StringComparer.Ordinal);

    /// <summary>The values of one quantity, one per epoch ("loss", "val_accuracy", ...).</summary>
    public IReadOnlyList<float> this[string name] => _values.TryGetValue(name, out var v)
        ? v : throw new KeyNotFoundException($"History: no '{name}'; recorded: {string.Join(", ", _values.Keys)}");

    /// <summary>The recorded names.</summary>
    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>The number of epochs recorded.</summary>
    public int Epochs => _values.Count == 0 ? 0 : _values.Values.First().Count;

    public override void OnEpochEnd(int epoch, Logs logs)
    {
        foreach (var (k, v) in logs)
        {
            if (!_values.TryGetValue(k, out var list))
                _values[k] = list = [];
            list.Add(v);
        }
    }
}

/// <summary>
/// Stops training when a monitored value stops improving by at least minDelta for patience epochs;
/// optionally restores the weights of the best epoch.
/// </summary>
public sealed class EarlyStopping(string monitor = "val_loss", float minDelta = 0, int patience = 0, bool restoreBestWeights = false,
    bool? higherIsBetter = null) : Callback
{
    private float _best;
    private int _wait;
    private float[][]? _bestWeights;

    public string Monitor { get; } = monitor;

    /// <summary>The epoch (0-based) at which training stopped, or −1.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    private bool Higher => higherIsBetter ?? (Monitor.Contains("acc") || Monitor.Contains("auc") || Monitor.Contains("precision") || Monitor.Contains("recall"));

    public override void OnTrainBegin()
    {
        _best = Higher ? float.NegativeInfinity : float.PositiveInfinity;
        _wait = 0;
        _bestWeights = null;
        StoppedEpoch = -1;
    }

    public override void OnEpochEnd(int epoch, Logs logs)
    {
        if (!logs.TryGetValue(Monitor, out float value))
            throw new InvalidOperationException($"EarlyStopping: '{Monitor}' is not in the logs ({string.Join(", ", logs.Keys)})");
        bool improved = Higher ? value > _best + minDelta : value < _best - minDelta;
        if (improved)
        {
            _best = value;
            _wait = 0;
            if (restoreBestWeights)
                _bestWeights = Model!.GetWeights();
            return;
        }
        if (++_wait > patience)
        {
            StoppedEpoch = epoch;
            Model!.StopTraining = true;
            if (restoreBestWeights && _bestWeights is not null)
                Model.SetWeights(_bestWeights);
        }
    }
}

/// <summary>Stops training as soon as a batch loss is NaN or infinite.</summary>
public sealed class TerminateOnNaN : Callback
{
    public bool Terminated { get; private set; }

    public override void OnBatchEnd(int batch, Logs logs)
    {
        if (logs.TryGetValue("loss", out float loss) && !float.IsFinite(loss))
        {
            Terminated = true;
            Model!.StopTraining = true;
        }
    }
}

/// <summary>Prints one line per epoch (the form used when output is not a terminal).</summary>
public sealed class ProgressLogger(TextWriter? writer = null) : Callback
{
    private readonly TextWriter _out = writer ?? Console.Out;
    private System.Diagnostics.Stopwatch _watch = new();
    private int _epochs;

    internal int TotalEpochs { set => _epochs = value; }

    public override void OnEpochBegin(int epoch) => _watch = System.Diagnostics.Stopwatch.StartNew();

    public override void OnEpochEnd(int epoch, Logs logs) =>
        _out.WriteLine($"Epoch {epoch + 1}/{_epochs} - {_watch.Elapsed.TotalSeconds:0.0}s - {logs}");
}

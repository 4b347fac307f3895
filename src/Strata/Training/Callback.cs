namespace Strata.Training;

/// <summary>The values of one epoch or batch: "loss", metric names, and "val_"-prefixed validation values.</summary>
public sealed class Logs : Dictionary<string, float>
{
    /// <summary>Empty logs (keys compared ordinally).</summary>
    public Logs() : base(StringComparer.Ordinal)
    {
    }

    /// <summary>A copy of <paramref name="values"/> (keys compared ordinally).</summary>
    /// <param name="values">The values to copy.</param>
    public Logs(IDictionary<string, float> values) : base(values, StringComparer.Ordinal)
    {
    }

    /// <summary>The values as Fit prints them: "loss: 0.1234 - accuracy: 0.9650".</summary>
    public override string ToString() =>
        string.Join(" - ", this.Select(kv => $"{kv.Key}: {kv.Value.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)}"));
}

/// <summary>
/// Hooks into Fit. The order of calls: TrainBegin, then per epoch
/// EpochBegin, (BatchBegin, BatchEnd)×batches, EpochEnd (with validation values), then TrainEnd.
/// </summary>
public abstract class Callback
{
    /// <summary>The model being trained (set by Fit before TrainBegin).</summary>
    public Strata.Models.Model? Model { get; internal set; }

    /// <summary>Called once before the first epoch (<see cref="Model"/> is set).</summary>
    public virtual void OnTrainBegin() { }
    /// <summary>Called once after the last epoch, also when training stopped early.</summary>
    /// <param name="logs">The last epoch's logs.</param>
    public virtual void OnTrainEnd(Logs logs) { }
    /// <summary>Called at the start of each epoch.</summary>
    /// <param name="epoch">The epoch, 0-based.</param>
    public virtual void OnEpochBegin(int epoch) { }
    /// <summary>Called at the end of each epoch, after validation.</summary>
    /// <param name="epoch">The epoch, 0-based.</param>
    /// <param name="logs">The epoch's mean training values and the "val_" validation values; a callback may add entries.</param>
    public virtual void OnEpochEnd(int epoch, Logs logs) { }
    /// <summary>Called before each training batch.</summary>
    /// <param name="batch">The batch within the epoch, 0-based.</param>
    public virtual void OnBatchBegin(int batch) { }
    /// <summary>Called after each training batch.</summary>
    /// <param name="batch">The batch within the epoch, 0-based.</param>
    /// <param name="logs">The batch's values: the loss and the metrics.</param>
    public virtual void OnBatchEnd(int batch, Logs logs) { }

    /// <summary>Whether a monitored value improves upward, from its name: accuracy, AUC, precision and recall do; losses and errors do not.</summary>
    private protected static bool ImprovesUpward(string monitor) =>
        monitor.Contains("acc") || monitor.Contains("auc") || monitor.Contains("precision") || monitor.Contains("recall");
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

    /// <inheritdoc/>
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

    /// <summary>The log value watched (default "val_loss").</summary>
    public string Monitor { get; } = monitor;

    /// <summary>The epoch (0-based) at which training stopped, or −1.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    private bool Higher => higherIsBetter ?? ImprovesUpward(Monitor);

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        _best = Higher ? float.NegativeInfinity : float.PositiveInfinity;
        _wait = 0;
        _bestWeights = null;
        StoppedEpoch = -1;
    }

    /// <inheritdoc/>
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
            Model.StopReason = $"EarlyStopping: '{Monitor}' did not improve for {patience + 1} epoch(s) (best {_best})";
            if (restoreBestWeights && _bestWeights is not null)
                Model.SetWeights(_bestWeights);
        }
    }
}

/// <summary>
/// Stops training as soon as a batch loss (<c>loss</c>, or any <c>*_loss</c> such as a GAN's <c>d_loss</c> and
/// <c>g_loss</c>) is NaN or infinite: a check of the value the step already computed, at the batch where it
/// happens. <see cref="ModelCheckpoint"/> skips the epoch that ends this way, so the last checkpoint saved is
/// the last good model.
/// </summary>
public sealed class TerminateOnNaN : Callback
{
    private int _epoch;

    /// <summary>True once a non-finite loss stopped training (<see cref="At"/> says where).</summary>
    public bool Terminated { get; private set; }

    /// <summary>The 0-based epoch and batch whose loss was not finite (batch −1: the epoch's validation loss), the loss's name and its value (after <see cref="Terminated"/>).</summary>
    public (int Epoch, int Batch, string Key, float Value)? At { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        Terminated = false;
        At = null;
    }

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch) => _epoch = epoch;

    /// <summary>A validation loss (<c>val_loss</c>) that is not finite ends training too, at the end of its epoch (batch −1 in <see cref="At"/>).</summary>
    public override void OnEpochEnd(int epoch, Logs logs) => Check(logs, epoch, -1);

    /// <inheritdoc/>
    public override void OnBatchEnd(int batch, Logs logs) => Check(logs, _epoch, batch);

    private void Check(Logs logs, int epoch, int batch)
    {
        if (Terminated)
            return;
        foreach (var (key, value) in logs)
        {
            if ((key == "loss" || key.EndsWith("_loss", StringComparison.Ordinal)) && !float.IsFinite(value))
            {
                Terminated = true;
                At = (epoch, batch, key, value);
                Model!.StopTraining = true;
                Model.StopReason ??= batch >= 0 ? $"TerminateOnNaN: '{key}' became {value} at epoch {epoch + 1}, batch {batch + 1}"
                    : $"TerminateOnNaN: '{key}' became {value} at the end of epoch {epoch + 1}";
                return;
            }
        }
    }
}

/// <summary>
/// Keras-style progress output (what <c>Fit(verbose: true)</c> adds). On a terminal: a bar per epoch,
/// redrawn as batches finish, with the ETA and the running loss and metrics, ending in a summary with
/// the epoch's time and time per step. When the output is redirected (a log file, CI): one clean line
/// per epoch, no carriage returns.
/// </summary>
public sealed class ProgressLogger : Callback
{
    private const int BarWidth = 30;
    private readonly TextWriter _out;
    private readonly bool _interactive;
    private readonly TimeSpan _redrawEvery;
    private System.Diagnostics.Stopwatch _watch = new();
    private TimeSpan? _lastDraw;
    private int _lastWidth;

    /// <param name="writer">Where to write (default the console).</param>
    /// <param name="interactive">Draw the per-batch bar (default: when writing to a console that is not redirected).</param>
    /// <param name="redrawInterval">The least time between two redraws of the bar (default 0.1 s), so that drawing costs no training time.</param>
    public ProgressLogger(TextWriter? writer = null, bool? interactive = null, TimeSpan? redrawInterval = null)
    {
        _out = writer ?? Console.Out;
        _interactive = interactive ?? (writer is null && !Console.IsOutputRedirected);
        _redrawEvery = redrawInterval ?? TimeSpan.FromSeconds(0.1);
    }

    /// <summary>The number of epochs (shown as "Epoch 3/10"; Fit sets it).</summary>
    public int TotalEpochs { get; set; }

    /// <summary>Batches per epoch (Fit sets it; 0 when unknown).</summary>
    public int StepsPerEpoch { get; set; }

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch)
    {
        _watch = System.Diagnostics.Stopwatch.StartNew();
        _lastDraw = null;
        _lastWidth = 0;
        if (_interactive)
            _out.WriteLine($"Epoch {epoch + 1}/{TotalEpochs}");
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(int batch, Logs logs)
    {
        if (!_interactive)
            return;
        var now = _watch.Elapsed;
        int done = batch + 1;
        if (done < StepsPerEpoch && _lastDraw is { } last && now - last < _redrawEvery)
            return;
        _lastDraw = now;
        string eta = StepsPerEpoch > done
            ? $"ETA: {FormatDuration(TimeSpan.FromTicks(now.Ticks / done * (StepsPerEpoch - done)))}"
            : FormatDuration(now);
        Draw($"{Bar(done)} - {eta} - {logs}");
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, Logs logs)
    {
        var elapsed = _watch.Elapsed;
        if (_interactive)
        {
            double perStep = StepsPerEpoch > 0 ? elapsed.TotalMilliseconds / StepsPerEpoch : 0;
            Draw($"{Bar(StepsPerEpoch)} - {FormatDuration(elapsed)} {FormatPerStep(perStep)} - {logs}");
            _out.WriteLine();
        }
        else
        {
            _out.WriteLine($"Epoch {epoch + 1}/{TotalEpochs} - {elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}s - {logs}");
        }
        _out.Flush();
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(Logs logs)
    {
        if (Model?.StopReason is { } why)
        {
            _out.WriteLine($"Stopped early: {why}");
            _out.Flush();
        }
    }

    private void Draw(string line)
    {
        // Return to the line start and pad over what a longer previous line left behind.
        _out.Write('\r');
        _out.Write(line);
        if (line.Length < _lastWidth)
            _out.Write(new string(' ', _lastWidth - line.Length));
        _lastWidth = line.Length;
        _out.Flush();
    }

    private string Bar(int done)
    {
        int total = Math.Max(StepsPerEpoch, done);
        string count = total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string counter = $"{done.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(count.Length)}/{count}";
        int filled = total == 0 ? BarWidth : (int)((long)BarWidth * done / total);
        string bar = filled >= BarWidth
            ? new string('=', BarWidth)
            : new string('=', Math.Max(0, filled - 1)) + (filled > 0 ? ">" : "") + new string('.', BarWidth - filled);
        return $"{counter} [{bar}]";
    }

    private static string FormatDuration(TimeSpan t) => t.TotalSeconds >= 3600
        ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}"
        : t.TotalSeconds >= 60 ? $"{(int)t.TotalMinutes}:{t.Seconds:00}" : $"{(int)Math.Round(t.TotalSeconds)}s";

    private static string FormatPerStep(double ms) => ms >= 1
        ? $"{ms.ToString("0", System.Globalization.CultureInfo.InvariantCulture)}ms/step"
        : $"{(ms * 1000).ToString("0", System.Globalization.CultureInfo.InvariantCulture)}us/step";
}

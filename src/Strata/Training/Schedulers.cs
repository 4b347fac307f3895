using System.Globalization;

namespace Strata.Training;

/// <summary>
/// Sets the optimizer's learning rate at the start of each epoch from a function (epoch, current rate) → rate;
/// a model with several optimizers (a GAN's two) has each one's rate set from its own current rate.
/// </summary>
public sealed class LearningRateScheduler(Func<int, float, float> schedule) : Callback
{
    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch)
    {
        foreach (var (_, opt) in RateOptimizers(Model!, nameof(LearningRateScheduler)))
            opt.LearningRate = schedule(epoch, opt.LearningRate);
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, Logs logs) => LogRates(Model!, logs, nameof(LearningRateScheduler));

    /// <summary>Each optimizer of a model under its log key: "learning_rate" for the one optimizer, "discriminator_learning_rate" and the like for several.</summary>
    internal static List<(string LogKey, Optimizers.Optimizer Optimizer)> RateOptimizers(Models.Model model, string callback)
    {
        var groups = model.OptimizerGroups();
        if (groups.Count == 0)
            throw new InvalidOperationException($"{callback}: model '{model.Name}' has no optimizer; compile it first");
        return [.. groups.Select(g => (groups.Count == 1 ? "learning_rate" : g.Prefix.TrimEnd('/') + "_learning_rate", g.Optimizer))];
    }

    internal static void LogRates(Models.Model model, Logs logs, string callback)
    {
        foreach (var (key, opt) in RateOptimizers(model, callback))
            logs[key] = opt.LearningRate;
    }
}

/// <summary>
/// Multiplies the learning rate by <c>factor</c> when the monitored value has not improved by more
/// than minDelta for patience epochs, then waits cooldown epochs; never goes below minLearningRate (every optimizer of a model that has several).
/// </summary>
public sealed class ReduceLROnPlateau : Callback
{
    private float _best;
    private int _wait, _cooldownLeft;

    /// <param name="monitor">The log value watched (default "val_loss").</param>
    /// <param name="factor">The factor the rate is multiplied by, in (0, 1) (default 0.1).</param>
    /// <param name="patience">Epochs without improvement before the rate is reduced (default 10).</param>
    /// <param name="minDelta">The least change that counts as an improvement (default 10⁻⁴).</param>
    /// <param name="cooldown">Epochs to wait after a reduction before counting again (default 0).</param>
    /// <param name="minLearningRate">The rate is never reduced below this (default 0).</param>
    /// <param name="higherIsBetter">Whether larger is better; by default true when the name contains "acc".</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor outside (0, 1).</exception>
    public ReduceLROnPlateau(string monitor = "val_loss", float factor = 0.1f, int patience = 10, float minDelta = 1e-4f,
        int cooldown = 0, float minLearningRate = 0, bool? higherIsBetter = null)
    {
        if (!(factor > 0 && factor < 1))
            throw new ArgumentOutOfRangeException(nameof(factor), $"ReduceLROnPlateau: factor must be in (0, 1), got {factor}");
        Monitor = monitor;
        Factor = factor;
        Patience = patience;
        MinDelta = minDelta;
        Cooldown = cooldown;
        MinLearningRate = minLearningRate;
        HigherIsBetter = higherIsBetter ?? monitor.Contains("acc");
    }

    /// <summary>The log value watched.</summary>
    public string Monitor { get; }
    /// <summary>The factor the rate is multiplied by, in (0, 1).</summary>
    public float Factor { get; }
    /// <summary>Epochs without improvement before the rate is reduced.</summary>
    public int Patience { get; }
    /// <summary>The least change that counts as an improvement.</summary>
    public float MinDelta { get; }
    /// <summary>Epochs to wait after a reduction before counting again.</summary>
    public int Cooldown { get; }
    /// <summary>The rate is never reduced below this.</summary>
    public float MinLearningRate { get; }
    /// <summary>Whether larger values of <see cref="Monitor"/> are better.</summary>
    public bool HigherIsBetter { get; }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        _best = HigherIsBetter ? float.NegativeInfinity : float.PositiveInfinity;
        _wait = _cooldownLeft = 0;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, Logs logs)
    {
        if (!logs.TryGetValue(Monitor, out float value))
            throw new InvalidOperationException($"ReduceLROnPlateau: '{Monitor}' is not in the logs ({string.Join(", ", logs.Keys)})");
        var optimizers = LearningRateScheduler.RateOptimizers(Model!, nameof(ReduceLROnPlateau));
        LearningRateScheduler.LogRates(Model!, logs, nameof(ReduceLROnPlateau));
        if (_cooldownLeft > 0)
        {
            _cooldownLeft--;
            _wait = 0;
        }
        bool improved = HigherIsBetter ? value > _best + MinDelta : value < _best - MinDelta;
        if (improved)
        {
            _best = value;
            _wait = 0;
            return;
        }
        if (_cooldownLeft == 0 && ++_wait >= Patience)
        {
            foreach (var (_, opt) in optimizers)
                opt.LearningRate = Math.Max(MinLearningRate, opt.LearningRate * Factor);
            _cooldownLeft = Cooldown;
            _wait = 0;
        }
    }
}

/// <summary>
/// Writes one CSV row per epoch (epoch, then the logs in a fixed column order), to a temporary
/// file that replaces the target at the end of every epoch, so a crash never leaves a torn file.
/// </summary>
public sealed class CsvLogger(string path, char separator = ',') : Callback
{
    private readonly List<string> _lines = [];
    private string[]? _columns;

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        _lines.Clear();
        _columns = null;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, Logs logs)
    {
        if (_columns is null)
        {
            _columns = [.. logs.Keys.OrderBy(k => k, StringComparer.Ordinal)];
            _lines.Add(string.Join(separator, ["epoch", .. _columns]));
        }
        var values = _columns.Select(c => logs.TryGetValue(c, out float v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
        _lines.Add(string.Join(separator, [epoch.ToString(CultureInfo.InvariantCulture), .. values]));
        string temp = path + ".tmp";
        File.WriteAllLines(temp, _lines);
        File.Move(temp, path, overwrite: true);
    }
}

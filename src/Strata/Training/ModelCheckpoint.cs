using System.Globalization;
using System.Text.RegularExpressions;

namespace Strata.Training;

/// <summary>
/// Saves the model at the end of every epoch, or only when a monitored value improves
/// (<paramref name="saveBestOnly"/>). The path may hold Keras-style fields: <c>{epoch}</c> (1-based)
/// and any log value by name, with an optional format — <c>"ckpt-{epoch:02d}-{val_loss:.3f}.strata"</c>.
/// A full save (<see cref="Models.Model.Save"/>) is a checkpoint: weights, optimizer state and
/// training position, from which <c>Model.Load(path)</c> and
/// <c>Fit(..., initialEpoch: model.CompletedEpochs)</c> resume exactly; with
/// <paramref name="saveWeightsOnly"/> it writes <see cref="Models.Model.SaveWeights"/> safetensors.
/// Every file is written to a temporary name and renamed, so an interrupted save never leaves a
/// broken checkpoint in place of a good one. An epoch whose logs hold a NaN or infinite loss is not
/// saved (<see cref="Skipped"/> lists it): a diverged model never replaces the last good checkpoint.
/// </summary>
/// <param name="path">Where to save (fields filled in per epoch).</param>
/// <param name="monitor">The log value that decides "best" (default "val_loss").</param>
/// <param name="saveBestOnly">Save only when <paramref name="monitor"/> improves on the best so far.</param>
/// <param name="saveWeightsOnly">Write weights only, not the whole model.</param>
/// <param name="higherIsBetter">Whether larger is better; by default true for accuracy, AUC, precision and recall, false otherwise.</param>
public sealed partial class ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false, bool saveWeightsOnly = false,
    bool? higherIsBetter = null) : Callback
{
    private float _best;

    /// <summary>Where to save; fields such as {epoch} are filled in per epoch.</summary>
    public string Path { get; } = path ?? throw new ArgumentNullException(nameof(path));
    /// <summary>The log value that decides "best" (default "val_loss").</summary>
    public string Monitor { get; } = monitor;

    /// <summary>The best value of <see cref="Monitor"/> seen so far (±∞ before the first).</summary>
    public float Best => _best;

    /// <summary>The files written, in order.</summary>
    public List<string> Saved { get; } = [];

    private bool Higher => higherIsBetter ?? ImprovesUpward(Monitor);

    /// <inheritdoc/>
    public override void OnTrainBegin() => _best = Higher ? float.NegativeInfinity : float.PositiveInfinity;

    /// <summary>The epochs (0-based) not saved because a loss in their logs was NaN or infinite.</summary>
    public List<int> Skipped { get; } = [];

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, Logs logs)
    {
        foreach (var (key, value) in logs)
        {
            if ((key == "loss" || key.EndsWith("_loss", StringComparison.Ordinal)) && !float.IsFinite(value))
            {
                Skipped.Add(epoch);
                return;
            }
        }
        if (saveBestOnly)
        {
            if (!logs.TryGetValue(Monitor, out float value))
                throw new InvalidOperationException($"ModelCheckpoint: '{Monitor}' is not in the logs ({string.Join(", ", logs.Keys)})");
            if (!(Higher ? value > _best : value < _best))
                return;
            _best = value;
        }
        string file = FilePath(epoch, logs);
        if (saveWeightsOnly)
            Model!.SaveWeights(file);
        else
            Model!.Save(file);
        Saved.Add(file);
    }

    /// <summary>The path with its fields filled in for an epoch (0-based here, written 1-based).</summary>
    public string FilePath(int epoch, Logs logs) => Field().Replace(Path, m =>
    {
        string name = m.Groups[1].Value, format = m.Groups[2].Value;
        if (name == "epoch")
            return Format(epoch + 1, format);
        if (!logs.TryGetValue(name, out float v))
            throw new InvalidOperationException($"ModelCheckpoint: the path field '{{{name}}}' is not in the logs ({string.Join(", ", logs.Keys)})");
        return Format(v, format);
    });

    /// <summary>Python-style specs: "02d" (zero-padded integer), ".3f" (fixed decimals), "" (default).</summary>
    private static string Format(double value, string spec)
    {
        var c = CultureInfo.InvariantCulture;
        if (spec.Length == 0)
            return value == Math.Floor(value) && Math.Abs(value) < 1e9 ? ((long)value).ToString(c) : value.ToString("R", c);
        var m = Spec().Match(spec);
        if (!m.Success)
            throw new ArgumentException($"ModelCheckpoint: unsupported field format '{spec}' (use forms like 02d or .3f)");
        int digits = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, c) : 0;
        return m.Groups[3].Value == "d"
            ? ((long)Math.Round(value)).ToString("D" + (m.Groups[1].Success ? int.Parse(m.Groups[1].Value, c) : 1), c)
            : value.ToString("F" + (m.Groups[2].Success ? digits : 6), c);
    }

    [GeneratedRegex(@"\{(\w+)(?::([^}]*))?\}")]
    private static partial Regex Field();

    [GeneratedRegex(@"^0?(\d+)?(?:\.(\d+))?([df])$")]
    private static partial Regex Spec();
}

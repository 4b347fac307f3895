using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Strata.Training;

namespace Strata.Cli;

/// <summary>
/// Times each epoch: the training steps alone (from the epoch's start to its last batch) and the whole
/// epoch (validation included). Put it first among the callbacks so that the others' work (saving a
/// checkpoint, drawing) is not counted.
/// </summary>
internal sealed class EpochTimer : Callback
{
    private readonly Stopwatch _watch = new();
    private TimeSpan _lastBatch;
    private int _firstBatch = -1, _endBatch;

    public List<double> TrainSeconds { get; } = [];
    public List<double> EpochSeconds { get; } = [];

    /// <summary>Per timed epoch, the batch it started at: 0, or where a run resumed inside it.</summary>
    public List<int> FirstBatches { get; } = [];

    /// <summary>Per timed epoch, the batch after its last one (fewer than the epoch's when training stopped inside it, as a divergence does).</summary>
    public List<int> EndBatches { get; } = [];

    /// <summary>
    /// The samples timed epoch <paramref name="i"/> trained on: fewer than the epoch's when it was resumed mid-way
    /// or stopped inside (its batches from the first to the last, each <paramref name="batchSize"/> but the epoch's last).
    /// </summary>
    public double SamplesOf(int i, int samples, int batchSize)
    {
        if (i >= FirstBatches.Count)
            return samples;
        double end = Math.Min((double)EndBatches[i] * batchSize, samples);
        return Math.Max(end - (double)FirstBatches[i] * batchSize, 1);
    }

    public override void OnEpochBegin(int epoch)
    {
        _lastBatch = TimeSpan.Zero;
        _firstBatch = -1;
        _endBatch = 0;
        _watch.Restart();
    }

    public override void OnBatchBegin(int batch)
    {
        if (_firstBatch < 0)
            _firstBatch = batch;
    }

    public override void OnBatchEnd(int batch, Logs logs)
    {
        _lastBatch = _watch.Elapsed;
        _endBatch = batch + 1;
    }

    public override void OnEpochEnd(int epoch, Logs logs)
    {
        TrainSeconds.Add(_lastBatch.TotalSeconds);
        EpochSeconds.Add(_watch.Elapsed.TotalSeconds);
        FirstBatches.Add(Math.Max(_firstBatch, 0));
        EndBatches.Add(_endBatch);
    }
}

/// <summary>Shared wording of the per-epoch figures.</summary>
internal static class EpochText
{
    public static string Metrics(Logs logs, bool abbreviate) => string.Join(abbreviate ? "  " : " - ", logs.Select(kv =>
        $"{(abbreviate ? kv.Key.Replace("accuracy", "acc", StringComparison.Ordinal) : kv.Key)}{(abbreviate ? " " : ": ")}{kv.Value.ToString("0.0000", CultureInfo.InvariantCulture)}"));

    public static string Rate(double samplesPerSecond) => samplesPerSecond.ToString("N0", CultureInfo.InvariantCulture) + " samples/s";
}

/// <summary>
/// The live display on a terminal (Spectre.Console): one bar per epoch with the running loss and
/// metrics, percentage, ETA, samples/s and elapsed time; a finished epoch's bar stays, with its
/// validation figures.
/// </summary>
internal sealed class LiveProgress(ProgressContext context, int totalEpochs, int samples, int batchSize, EpochTimer timer) : Callback
{
    private readonly Stopwatch _sinceDraw = new();
    private ProgressTask? _task;
    private int _epoch;

    public override void OnEpochBegin(int epoch)
    {
        _epoch = epoch;
        _task = context.AddTask(Label(""), maxValue: samples);
        _sinceDraw.Restart();
    }

    public override void OnBatchEnd(int batch, Logs logs)
    {
        if (_task is null)
            return;
        _task.Value = Math.Min(samples, (batch + 1) * (double)batchSize);
        if (_sinceDraw.ElapsedMilliseconds >= 100)
        {
            _task.Description = Label(EpochText.Metrics(logs, abbreviate: true));
            _sinceDraw.Restart();
        }
    }

    public override void OnEpochEnd(int epoch, Logs logs)
    {
        if (_task is null)
            return;
        _task.Value = samples;
        double train = timer.TrainSeconds.Count > 0 ? timer.TrainSeconds[^1] : 0;
        double trained = timer.SamplesOf(timer.TrainSeconds.Count - 1, samples, batchSize);
        _task.Description = Label(EpochText.Metrics(logs, abbreviate: true) + (train > 0 ? "  " + EpochText.Rate(trained / train) : ""));
        _task.StopTask();
    }

    private string Label(string metrics) => Markup.Escape($"Epoch {_epoch + 1}/{totalEpochs}  {metrics}");

    /// <summary>The columns of the display.</summary>
    public static ProgressColumn[] Columns() =>
    [
        new TaskDescriptionColumn { Alignment = Justify.Left },
        new ProgressBarColumn { Width = 24 },
        new PercentageColumn(),
        new RemainingTimeColumn(),
        new SamplesPerSecondColumn(),
        new ElapsedTimeColumn(),
    ];

    /// <summary>The task's speed (its value counts samples) as samples per second.</summary>
    private sealed class SamplesPerSecondColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.IsFinished || task.Speed is not double speed
                ? Text.Empty
                : new Text(EpochText.Rate(speed), new Style(Color.Grey));
    }
}

/// <summary>Where the output is not a terminal (a log, a pipe, a test): one plain line per epoch.</summary>
internal sealed class PlainProgress(TextWriter output, int totalEpochs, int samples, EpochTimer timer, int batchSize) : Callback
{
    public override void OnEpochEnd(int epoch, Logs logs)
    {
        double train = timer.TrainSeconds[^1], total = timer.EpochSeconds[^1];
        double trained = timer.SamplesOf(timer.TrainSeconds.Count - 1, samples, batchSize);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Epoch {epoch + 1}/{totalEpochs} - {total:0.0} s - {EpochText.Rate(trained / Math.Max(train, 1e-9))} - {EpochText.Metrics(logs, abbreviate: false)}"));
        output.Flush();
    }
}

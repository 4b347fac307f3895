using System.Globalization;
using System.Text.Json.Nodes;
using Strata.Models;
using Strata.Training;

namespace Strata.Cli;

/// <summary>The running loss and metrics after the latest batch of the epoch in progress (cleared as an epoch begins).</summary>
internal sealed class LastBatchLogs : Callback
{
    public Logs? Logs { get; private set; }

    public override void OnEpochBegin(int epoch) => Logs = null;

    public override void OnBatchEnd(int batch, Logs logs) => Logs = new Logs(logs);
}

/// <summary>
/// Where a `strata train` stopped by a signal left its training: the epoch in progress and the batches of
/// it done, the checkpoint that holds that point and the command that resumes it. The history (report
/// curves, metrics.json) keeps the finished epochs only; the unfinished epoch's running figures (over
/// its batches done) are reported here, and the resumed run's figures for that epoch cover all its
/// batches (the checkpoint keeps the running sums).
/// </summary>
internal sealed record InterruptedRun(string Signal, int Epoch, int Batches, int BatchesPerEpoch, int Epochs, bool Trained,
    string Checkpoint, bool CheckpointExists, string ResumeCommand, Logs? Partial)
{
    /// <summary>
    /// After Fit: null when no signal came or training finished anyway; else the interruption, with the
    /// mid-epoch checkpoint saved to <paramref name="modelPath"/> (an epoch-end one is already there).
    /// </summary>
    /// <param name="ranks">Under mpirun: the job's rank count (the resume command starts with <c>mpirun -np N</c>).</param>
    public static InterruptedRun? After(Model model, TrainSettings s, Interruption interruption, string modelPath, int batchesPerEpoch,
        LastBatchLogs lastBatch, int initialEpoch, int initialBatch, int? ranks = null)
    {
        if (interruption.Signal is not { } signal || model.CompletedEpochs >= s.Epochs)
            return null;
        int epoch = model.CompletedEpochs, batches = model.CompletedBatches;
        bool trained = (epoch, batches) != (initialEpoch, initialBatch);
        if (trained && batches > 0)
            model.Save(modelPath); // the epoch-end checkpoints are written by ModelCheckpoint
        bool exists = trained || s.Resume is not null;
        string checkpoint = trained || s.Resume is null ? modelPath : s.Resume;
        return new InterruptedRun(signal, epoch, batches, batchesPerEpoch, s.Epochs, trained, checkpoint, exists,
            CommandToResume(checkpoint, s, ranks), batches > 0 ? lastBatch.Logs : null);
    }

    /// <summary>One line for the report: where it stopped, what holds that point, how to resume.</summary>
    public string Message => string.Join("; ", Lines);

    /// <summary>The same as lines for the console (written unwrapped, so that the command can be copied).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            string where = Batches > 0
                ? $"in epoch {Epoch + 1} of {Epochs} after batch {Batches} of {BatchesPerEpoch}"
                : Epoch == 0 ? "before the first batch" : $"after epoch {Epoch} of {Epochs}";
            string figures = Partial is { Count: > 0 } p ? $" (that epoch so far: {EpochText.Metrics(p, abbreviate: false)})" : "";
            return CheckpointExists
                ? [$"interrupted by {Signal} {where}{figures}", $"checkpoint: {Checkpoint} holds that point", $"resume with: {ResumeCommand}"]
                : [$"interrupted by {Signal} {where}: nothing trained, nothing saved"];
        }
    }

    public JsonObject Json()
    {
        var o = new JsonObject
        {
            ["signal"] = Signal,
            ["epoch"] = Epoch + 1,
            ["batches_done"] = Batches,
            ["batches_per_epoch"] = BatchesPerEpoch,
            ["epochs_completed"] = Epoch,
            ["checkpoint"] = CheckpointExists ? Path.GetFullPath(Checkpoint) : null,
            ["resume_command"] = CheckpointExists ? ResumeCommand : null,
        };
        if (Partial is { } p)
            o["partial_epoch"] = new JsonObject(p.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        return o;
    }

    /// <summary>
    /// This run's command line with --resume CHECKPOINT in place of --model (and of the options only a new
    /// model takes); `strata demo` becomes the `strata train` it stands for. A distributed run's resumes under
    /// <c>mpirun -np N</c> (the launcher's own options, such as a hostfile, are not known to a rank: add them).
    /// </summary>
    private static string CommandToResume(string checkpoint, TrainSettings s, int? ranks)
    {
        string[] dropped = ["--model", "--resume", "--max-tokens", "--sequence-length"];
        var args = Environment.GetCommandLineArgs().Skip(1).ToList();
        var kept = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            string name = a.Split('=', ':')[0];
            if (dropped.Contains(name))
            {
                if (name == a)
                    i++; // the value follows
                continue;
            }
            kept.Add(a);
        }
        if (kept.Count > 0 && kept[0] == "demo")
        {
            kept[0] = "train";
            if (!kept.Any(a => a.StartsWith("--epochs", StringComparison.Ordinal)))
                kept.AddRange(["--epochs", s.Epochs.ToString(CultureInfo.InvariantCulture)]);
            if (!kept.Any(a => a.StartsWith("--out", StringComparison.Ordinal)))
                kept.AddRange(["--out", s.Out]);
        }
        kept.AddRange(["--resume", checkpoint]);
        string launcher = ranks is int n ? string.Create(CultureInfo.InvariantCulture, $"mpirun -np {n} ") : "";
        return launcher + "strata " + string.Join(' ', kept.Select(Quote));
    }

    private static string Quote(string a) =>
        a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Strata.Models;

namespace Strata.Cli;

/// <summary>One epoch's row of scores.csv: its mean losses, the scores of its generated images, its seconds of training.</summary>
internal sealed record ScoreRow(int Epoch, float DLoss, float GLoss, GanScores Scores, double Seconds);

/// <summary>One training step's losses; <paramref name="Position"/> is the epoch as a fraction (1.5: half-way through epoch 2).</summary>
internal sealed record BatchLoss(int Epoch, int Batch, double Position, float DLoss, float GLoss);

/// <summary>
/// What a `strata gan` run has measured, kept in its folder so that a resumed run reports every epoch:
/// scores.csv (a header, then the real test images as epoch 0, then one row per epoch: epoch, images
/// (real or generated), d_loss, g_loss, classifier_score, frechet_distance, class_accuracy, seconds;
/// empty where a value does not apply) and batch_losses.csv (epoch, batch, d_loss, g_loss). Both are
/// rewritten whole through a temporary name after every epoch.
/// </summary>
internal sealed partial class GanRecord
{
    public const string ScoresHeader = "epoch,images,d_loss,g_loss,classifier_score,frechet_distance,class_accuracy,seconds";
    public const string BatchHeader = "epoch,batch,d_loss,g_loss";

    private readonly string _folder;

    private GanRecord(string folder, GanScores real)
    {
        _folder = folder;
        Real = real;
    }

    /// <summary>The real test images' scores (the scale).</summary>
    public GanScores Real { get; }

    /// <summary>The epochs' rows, in order.</summary>
    public List<ScoreRow> Generated { get; } = [];

    /// <summary>Every step's losses, in order.</summary>
    public List<BatchLoss> Batches { get; } = [];

    private string ScoresPath => Path.Combine(_folder, GanRun.ScoresFile);

    private string BatchesPath => Path.Combine(_folder, GanRun.BatchLossesFile);

    /// <summary>
    /// The record of a run in <paramref name="folder"/>: a fresh run starts empty (and removes the sample
    /// grids a previous run left there); a resumed one keeps the rows of its first <paramref name="initialEpoch"/> epochs.
    /// </summary>
    /// <exception cref="InvalidDataException">A resumed run's scores.csv or batch_losses.csv is not one this command wrote.</exception>
    public static GanRecord Open(string folder, int initialEpoch, GanScores real)
    {
        var record = new GanRecord(folder, real);
        string samples = Path.Combine(folder, GanRun.SamplesFolder);
        if (Directory.Exists(samples))
        {
            foreach (var file in Directory.EnumerateFiles(samples, "epoch-*.png"))
            {
                if (GridName().Match(Path.GetFileName(file)) is { Success: true } m && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) > initialEpoch)
                    File.Delete(file);
            }
        }
        if (initialEpoch == 0)
            return record;
        foreach (var (line, fields) in Rows(record.ScoresPath, ScoresHeader))
        {
            int epoch = Int(fields[0], record.ScoresPath, line);
            if (epoch == 0 || epoch > initialEpoch)
                continue; // the real row is measured again; later epochs are trained again
            var scores = new GanScores(Number(fields[4], record.ScoresPath, line), Optional(fields[5], record.ScoresPath, line),
                Optional(fields[6], record.ScoresPath, line), 0);
            record.Generated.Add(new ScoreRow(epoch, (float)Number(fields[2], record.ScoresPath, line), (float)Number(fields[3], record.ScoresPath, line),
                scores, Number(fields[7], record.ScoresPath, line)));
        }
        foreach (var (line, fields) in Rows(record.BatchesPath, BatchHeader))
        {
            int epoch = Int(fields[0], record.BatchesPath, line);
            if (epoch > initialEpoch)
                continue;
            record.Batches.Add(new BatchLoss(epoch, Int(fields[1], record.BatchesPath, line), 0,
                (float)Number(fields[2], record.BatchesPath, line), (float)Number(fields[3], record.BatchesPath, line)));
        }
        // Positions from the batch counts per epoch.
        var perEpoch = record.Batches.GroupBy(b => b.Epoch).ToDictionary(g => g.Key, g => g.Count());
        for (int i = 0; i < record.Batches.Count; i++)
        {
            var b = record.Batches[i];
            record.Batches[i] = b with { Position = b.Epoch - 1 + b.Batch / (double)perEpoch[b.Epoch] };
        }
        return record;
    }

    /// <summary>Writes both files (each through a temporary name).</summary>
    public void Save()
    {
        var scores = new StringBuilder(ScoresHeader).Append('\n');
        scores.Append(string.Join(',', "0", "real", "", "", F(Real.ClassifierScore), F(Real.FrechetDistance), F(Real.ClassAccuracy), "")).Append('\n');
        foreach (var r in Generated)
            scores.Append(string.Join(',', I(r.Epoch), "generated", F(r.DLoss), F(r.GLoss), F(r.Scores.ClassifierScore), F(r.Scores.FrechetDistance),
                F(r.Scores.ClassAccuracy), r.Seconds.ToString("0.###", CultureInfo.InvariantCulture))).Append('\n');
        TrainRun.WriteAtomically(ScoresPath, scores.ToString());
        var batches = new StringBuilder(BatchHeader).Append('\n');
        foreach (var b in Batches)
            batches.Append(string.Join(',', I(b.Epoch), I(b.Batch), F(b.DLoss), F(b.GLoss))).Append('\n');
        TrainRun.WriteAtomically(BatchesPath, batches.ToString());
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string F(double? v) => v is double d ? d.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The data lines of one of the record's files (none when it does not exist), each split at its commas.</summary>
    private static IEnumerable<(int Line, string[] Fields)> Rows(string path, string header)
    {
        if (!File.Exists(path))
            yield break;
        int columns = header.Split(',').Length, line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (line == 1)
            {
                if (text != header)
                    throw new InvalidDataException($"--resume: {path} is not a file of `strata gan` (its first line should be '{header}')");
                continue;
            }
            if (text.Length == 0)
                continue;
            var fields = text.Split(',');
            if (fields.Length != columns)
                throw new InvalidDataException($"--resume: {path}, line {line}: expected {columns} fields, got {fields.Length}");
            yield return (line, fields);
        }
    }

    private static int Int(string s, string path, int line) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw new InvalidDataException($"--resume: {path}, line {line}: '{s}' is not a whole number");

    private static double Number(string s, string path, int line) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new InvalidDataException($"--resume: {path}, line {line}: '{s}' is not a number");

    private static double? Optional(string s, string path, int line) => s.Length == 0 ? null : Number(s, path, line);

    [GeneratedRegex(@"^epoch-(\d+)\.png$")]
    private static partial Regex GridName();
}

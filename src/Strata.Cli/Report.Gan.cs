using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using ScottPlot;
using Strata.Models;

namespace Strata.Cli;

/// <summary>What a `strata gan` run leaves for its report.</summary>
internal sealed record GanReportData(string Title, IReadOnlyList<(string Key, string Value)> Settings, GanRecord Record, bool Conditional,
    string? StopReason, string GeneratorSummary, string DiscriminatorSummary, DateTime Started, int Threads, bool HasGenerator);

internal static partial class Report
{
    /// <summary>
    /// The report of a GAN run: losses.png (each step's d_loss and g_loss, and the epochs' means at their middles),
    /// scores.png (the classifier score and the Fréchet distance per epoch, the real test images' values
    /// dashed), for a conditional GAN class_accuracy.png, and report.html with them, the last sample
    /// grid, the score table (real images first) and both networks' summaries. Returns the page's path.
    /// </summary>
    public static string WriteGan(string folder, GanReportData run)
    {
        var images = new List<(string Title, string File, string Alt, byte[] Png)>();
        void Save(Plot plot, string file, string title, string alt)
        {
            byte[] png = plot.GetImageBytes(CurveWidth, CurveHeight, ImageFormat.Png);
            Serialization.AtomicFile.Write(Path.Combine(folder, file), s => s.Write(png));
            images.Add((title, file, alt, png));
        }
        var record = run.Record;
        using (var plot = LossPlot(record))
            Save(plot, "losses.png", "Losses", "the discriminator's and the generator's loss per step and per epoch");
        if (record.Generated.Count > 0)
        {
            using (var plot = ScorePlot(record))
                Save(plot, "scores.png", "Scores per epoch", "the classifier score and the Fréchet distance of the generated images per epoch, the real images' dashed");
            if (run.Conditional)
            {
                using var plot = AccuracyPlot(record);
                Save(plot, "class_accuracy.png", "Read as the requested digit", "the share of generated images the classifier reads as the digit they were made for, per epoch");
            }
        }
        string path = Path.Combine(folder, "report.html");
        TrainRun.WriteAtomically(path, GanHtml(folder, run, images));
        return path;
    }

    private static double[] Xs<T>(IEnumerable<T> rows, Func<T, double> x) => [.. rows.Select(x)];

    private static Plot LossPlot(GanRecord record)
    {
        var plot = new Plot();
        var series = new (string Name, Func<BatchLoss, float> Batch, Func<ScoreRow, float> Epoch, Color Color)[]
        {
            ("d_loss", b => b.DLoss, r => r.DLoss, Colors.C0),
            ("g_loss", b => b.GLoss, r => r.GLoss, Colors.C1),
        };
        foreach (var (name, batch, epoch, color) in series)
        {
            var steps = record.Batches.Where(b => float.IsFinite(batch(b))).ToList();
            if (steps.Count > 1)
            {
                var line = plot.Add.Scatter(Xs(steps, b => b.Position), Xs(steps, b => batch(b)), color.WithAlpha(0.35));
                line.LineWidth = 1;
                line.MarkerSize = 0;
                line.LegendText = $"{name} per step";
            }
            if (record.Generated.Count > 0)
            {
                var means = plot.Add.Scatter(Xs(record.Generated, r => r.Epoch - 0.5), Xs(record.Generated, r => epoch(r)), color);
                means.LineWidth = 2;
                means.MarkerSize = 8;
                means.LegendText = $"{name}, epoch mean (at its middle)";
            }
        }
        plot.Title("Adversarial losses");
        plot.XLabel("epoch");
        plot.YLabel("binary cross-entropy");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static Plot ScorePlot(GanRecord record)
    {
        var plot = new Plot();
        var epochs = Xs(record.Generated, r => r.Epoch);
        var score = plot.Add.Scatter(epochs, Xs(record.Generated, r => r.Scores.ClassifierScore), Colors.C0);
        score.LegendText = "classifier score (higher is better)";
        score.LineWidth = 2;
        score.MarkerSize = 8;
        var realScore = plot.Add.HorizontalLine(record.Real.ClassifierScore, 1.5f, Colors.C0, LinePattern.Dashed);
        realScore.LegendText = "classifier score of real images";
        plot.Axes.Left.Label.Text = "classifier score";
        var withDistance = record.Generated.Where(r => r.Scores.FrechetDistance is not null).ToList();
        if (withDistance.Count > 0)
        {
            var distance = plot.Add.Scatter(Xs(withDistance, r => r.Epoch), Xs(withDistance, r => r.Scores.FrechetDistance!.Value), Colors.C1);
            distance.Axes.YAxis = plot.Axes.Right;
            distance.LegendText = "Fréchet distance (lower is better)";
            distance.LineWidth = 2;
            distance.MarkerSize = 8;
            if (record.Real.FrechetDistance is double real)
            {
                var realDistance = plot.Add.HorizontalLine(real, 1.5f, Colors.C1, LinePattern.Dashed);
                realDistance.Axes.YAxis = plot.Axes.Right;
                realDistance.LegendText = "Fréchet distance of real images";
            }
            plot.Axes.Right.Label.Text = "Fréchet distance";
        }
        plot.Title("Scores of the generated images per epoch (dashed: real test images)");
        plot.XLabel("epoch");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static Plot AccuracyPlot(GanRecord record)
    {
        var plot = new Plot();
        var rows = record.Generated.Where(r => r.Scores.ClassAccuracy is not null).ToList();
        var line = plot.Add.Scatter(Xs(rows, r => r.Epoch), Xs(rows, r => r.Scores.ClassAccuracy!.Value * 100), Colors.C2);
        line.LegendText = "generated images";
        line.LineWidth = 2;
        line.MarkerSize = 8;
        if (record.Real.ClassAccuracy is double real)
        {
            var dashed = plot.Add.HorizontalLine(real * 100, 1.5f, Colors.C2, LinePattern.Dashed);
            dashed.LegendText = "real test images (their own labels)";
        }
        plot.Title("Read by the classifier as the requested digit");
        plot.XLabel("epoch");
        plot.YLabel("% of images");
        plot.Axes.SetLimitsY(0, 105);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static string GanHtml(string folder, GanReportData run, List<(string Title, string File, string Alt, byte[] Png)> images)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string F(double? v, string format) => v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "–";
        var record = run.Record;
        var sb = new StringBuilder();
        AppendHead(sb, run.Title);
        sb.Append($"<h1>{E(run.Title)}</h1>\n");
        if (run.StopReason is { } stop)
            sb.Append($"<p class=\"headline\"><b style=\"color: #c33\">Training diverged.</b> {E(stop)}</p>\n");
        if (record.Generated.Count > 0)
        {
            var last = record.Generated[^1];
            sb.Append($"<p class=\"headline\">After epoch {last.Epoch}: classifier score <b>{F(last.Scores.ClassifierScore, "0.00")}</b> " +
                $"(real images {F(record.Real.ClassifierScore, "0.00")}), Fréchet distance <b>{F(last.Scores.FrechetDistance, "0.00")}</b> " +
                $"(real images {F(record.Real.FrechetDistance, "0.00")})" +
                (last.Scores.ClassAccuracy is double a ? $", read as the requested digit <b>{Percent(a, 1)}</b>" : "") + ".</p>\n");
        }
        var files = new List<string>();
        if (run.HasGenerator)
            files.Add(GanRun.GeneratorFile);
        if (File.Exists(Path.Combine(folder, GanRun.CheckpointFile)))
            files.Add(GanRun.CheckpointFile);
        files.AddRange([GanRun.ScoresFile, GanRun.BatchLossesFile, .. images.Select(i => i.File)]);
        sb.Append($"<p class=\"muted\">Run started {E(run.Started.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))}; files: " +
            string.Join(", ", files.Select(f => $"<a href=\"{E(f)}\">{E(f)}</a>")) + ".</p>\n");

        sb.Append("<h2>Settings</h2>\n<table>\n");
        foreach (var (k, v) in run.Settings)
            sb.Append($"<tr><th>{E(k)}</th><td>{E(v)}</td></tr>\n");
        sb.Append("</table>\n");

        if (record.Generated.Count > 0)
        {
            var last = record.Generated[^1];
            string grid = GanEpochOutputs.GridFile(last.Epoch);
            string gridPath = Path.Combine(folder, grid);
            if (File.Exists(gridPath))
            {
                sb.Append($"<h2>Samples after epoch {last.Epoch}</h2>\n");
                sb.Append(run.Conditional
                    ? "<p class=\"muted\">A row per digit, 0 to 9; each column one latent vector. The same vectors after every epoch.</p>\n"
                    : "<p class=\"muted\">64 fixed latent vectors, the same after every epoch.</p>\n");
                byte[] png = File.ReadAllBytes(gridPath);
                var size = StbImageSharp.ImageInfo.FromStream(new MemoryStream(png));
                int width = (size?.Width ?? 240) * 2;
                sb.Append($"<p><img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" alt=\"generated digits after epoch {last.Epoch}\" " +
                    $"style=\"width: {width}px; image-rendering: pixelated\"><br><span class=\"muted\"><a href=\"{E(grid)}\">{E(grid)}</a>; " +
                    $"the other epochs: {E(GanRun.SamplesFolder)}/epoch-NNN.png</span></p>\n");
            }
        }

        sb.Append("<h2>Scores</h2>\n");
        sb.Append("<p class=\"muted\">Measured by the MNIST classifier shipped in data/mnist on images generated from fixed latent vectors" +
            (run.Conditional ? " (the digits requested evenly)" : "") + ". Classifier score: exp of the mean KL divergence between each image's class " +
            "probabilities and their average (the Inception-score formula; 1 to 10, higher is better). Fréchet distance: between the classifier's penultimate " +
            "features of the images and of the reference test images (the FID formula; lower is better). Epoch 0 is as many real test images, " +
            "disjoint from the reference: the scale.</p>\n");
        sb.Append("<table class=\"grid\">\n<tr><th>epoch</th><th>images</th><th>d_loss</th><th>g_loss</th><th>classifier score</th><th>Fréchet distance</th>" +
            (run.Conditional ? "<th>read as requested</th>" : "") + "<th>seconds</th></tr>\n");
        void Row(string epoch, string kind, string d, string g, GanScores s, string seconds) =>
            sb.Append($"<tr><td>{epoch}</td><td>{kind}</td><td>{d}</td><td>{g}</td><td>{F(s.ClassifierScore, "0.000")}</td><td>{F(s.FrechetDistance, "0.000")}</td>" +
                (run.Conditional ? $"<td>{(s.ClassAccuracy is double a ? Percent(a, 1) : "–")}</td>" : "") + $"<td>{seconds}</td></tr>\n");
        Row("0", "real (test)", "–", "–", record.Real, "–");
        foreach (var r in record.Generated)
            Row(r.Epoch.ToString(CultureInfo.InvariantCulture), "generated", F(r.DLoss, "0.0000"), F(r.GLoss, "0.0000"), r.Scores, F(r.Seconds, "0.0"));
        sb.Append("</table>\n");

        sb.Append("<h2>Curves</h2>\n");
        foreach (var (title, file, alt, png) in images)
            AppendImage(sb, title, file, alt, png);

        sb.Append("<h2>Generator</h2>\n");
        sb.Append($"<pre>{E(run.GeneratorSummary)}</pre>\n");
        sb.Append("<h2>Discriminator</h2>\n");
        sb.Append($"<pre>{E(run.DiscriminatorSummary)}</pre>\n");

        sb.Append("<h2>Timing and machine</h2>\n<table>\n");
        var rows = new List<(string, string)>
        {
            ("training", $"{F(record.Generated.Sum(r => r.Seconds), "0.0")} s over {record.Generated.Count} epoch(s)"),
        };
        AppendMachine(sb, rows, run.Threads);
        return sb.ToString();
    }
}

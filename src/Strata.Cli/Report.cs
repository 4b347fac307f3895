using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using ScottPlot;
using Strata.Training;

namespace Strata.Cli;

/// <summary>What a training run leaves for its report.</summary>
internal sealed record RunResult(string Title, IReadOnlyList<(string Key, string Value)> Settings, History History, int FirstEpoch,
    Logs Test, Tensor TestImages, Tensor TestLabels, Tensor Probabilities, IReadOnlyList<string> ClassNames, bool Images,
    string Summary, IReadOnlyList<double> TrainSeconds, IReadOnlyList<double> EpochSeconds, double SamplesPerSecond,
    double EvaluateSeconds, DateTime Started, int Threads, int TrainSamples, IReadOnlyList<string>? TestTexts = null,
    ExplanationSection? Explanations = null, bool Regression = false, string? Stopped = null, IReadOnlyList<double>? EpochSamples = null);

internal sealed record ReportFiles(string Html, IReadOnlyList<string> Pngs);

/// <summary>
/// The report folder: one PNG per training curve (loss and each metric, training against validation),
/// the confusion matrix, a grid of misclassified test images (image data), the explanations (test images
/// with their Grad-CAM or integrated-gradients maps, or the permutation importance of a table's features:
/// Report.Explain.cs), and report.html, which embeds all of them (data: URIs) beside the settings, the
/// per-epoch figures, the misclassified test messages (text data: Report.Messages.cs), the model summary,
/// the timing and the machine, so that it can be mailed or archived on its own.
/// </summary>
internal static partial class Report
{
    public const int CurveWidth = 800, CurveHeight = 450;
    public const int GridColumns = 8, GridCell = 110, GridMax = 32;

    public static ReportFiles Write(string folder, RunResult run)
    {
        Directory.CreateDirectory(folder);
        var sections = new List<(string Title, string File, string Alt, byte[] Png)>();
        var pngs = new List<string>();
        void Save(Plot plot, string file, int width, int height, string title, string alt)
        {
            string path = Path.Combine(folder, file);
            byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
            Serialization.AtomicFile.Write(path, s => s.Write(png));
            pngs.Add(path);
            sections.Add((title, file, alt, png));
        }

        foreach (var metric in CurveNames(run.History))
        {
            using var plot = Curve(run, metric);
            Save(plot, $"{metric}.png", CurveWidth, CurveHeight, $"Training curve: {metric}", $"{metric} per epoch, training and validation");
        }
        if (run.Regression)
        {
            // A regression has no classes: predicted against true values and the residuals take the confusion matrix's place.
            foreach (var (plot, file, title, alt) in RegressionPlots(run))
            {
                using (plot)
                    Save(plot, file, RegressionPlotSize, RegressionPlotSize, title, alt);
            }
            return WriteHtml(folder, run, sections, pngs, null);
        }
        var predicted = ArgMax(run.Probabilities);
        var truth = run.TestLabels.ToArray().Select(v => (int)v).ToArray();
        int k = run.ClassNames.Count;
        var confusion = Confusion(truth, predicted, k);
        int confusionSize = Math.Clamp(160 + 48 * k, 400, 1400);
        using (var plot = ConfusionPlot(confusion, run.ClassNames))
            Save(plot, "confusion_matrix.png", confusionSize + 80, confusionSize, "Confusion matrix", "confusion matrix of the test split");
        var wrong = Enumerable.Range(0, truth.Length).Where(i => predicted[i] != truth[i]).Take(GridMax).ToArray();
        if (run.Images && wrong.Length > 0)
        {
            int rows = (wrong.Length + GridColumns - 1) / GridColumns;
            using var plot = MisclassifiedPlot(run, wrong, predicted, truth);
            Save(plot, "misclassified.png", GridColumns * GridCell, rows * (GridCell + 22) + 50, "Misclassified test images",
                "the first misclassified test images with their true and predicted classes");
        }
        if (run.Explanations?.Picture is { } picture)
        {
            string path = Path.Combine(folder, ExplanationsFile);
            Strata.Data.Images.SavePng(path, picture);
            pngs.Add(path);
            sections.Add(("Explanations", ExplanationsFile, "test images with their attribution maps", File.ReadAllBytes(path)));
        }
        if (run.Explanations?.Importance is { } importance)
        {
            var (plot, width, height) = PermutationChart(importance, "Test split");
            using (plot)
                Save(plot, PermutationFile, width, height, "Permutation importance", "the permutation importance of each feature on the test split");
        }

        return WriteHtml(folder, run, sections, pngs, confusion);
    }

    private static ReportFiles WriteHtml(string folder, RunResult run, List<(string Title, string File, string Alt, byte[] Png)> sections, List<string> pngs, int[,]? confusion)
    {
        string html = Html(run, sections, confusion);
        string htmlPath = Path.Combine(folder, "report.html");
        TrainRun.WriteAtomically(htmlPath, html);
        return new ReportFiles(htmlPath, pngs);
    }

    /// <summary>"loss", then each metric: the names without the "val_" prefix, in the history's order.</summary>
    public static IEnumerable<string> CurveNames(History history) =>
        history.Keys.Select(key => key.StartsWith("val_", StringComparison.Ordinal) ? key[4..] : key).Distinct();

    private static Plot Curve(RunResult run, string metric)
    {
        var plot = new Plot();
        foreach (var (key, label, color) in new[] { (metric, "training", Colors.C0), ("val_" + metric, "validation", Colors.C1) })
        {
            if (!run.History.Keys.Contains(key))
                continue; // no validation data
            var values = run.History[key];
            double[] xs = [.. Enumerable.Range(run.FirstEpoch, values.Count).Select(e => (double)e)];
            var line = plot.Add.Scatter(xs, [.. values.Select(v => (double)v)], color);
            line.LegendText = label;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        plot.Title(metric);
        plot.XLabel("epoch");
        plot.YLabel(metric);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static Plot ConfusionPlot(int[,] counts, IReadOnlyList<string> names)
    {
        int k = names.Count;
        var share = new double[k, k];
        for (int r = 0; r < k; r++)
        {
            double total = 0;
            for (int c = 0; c < k; c++)
                total += counts[r, c];
            for (int c = 0; c < k; c++)
                share[r, c] = total > 0 ? counts[r, c] / total : 0;
        }
        var plot = new Plot();
        var map = plot.Add.Heatmap(share);
        map.Colormap = new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues()); // white for none, dark blue for all
        map.Extent = new CoordinateRect(0, k - 1, 0, k - 1); // cell centres at 0..k−1; row 0 at the top, column 0 at the left
        map.ManualRange = new ScottPlot.Range(0, 1);
        var bar = plot.Add.ColorBar(map);
        bar.Label = "share of the true class";
        if (k <= 30)
        {
            for (int r = 0; r < k; r++)
            {
                for (int c = 0; c < k; c++)
                {
                    var text = plot.Add.Text(counts[r, c].ToString(CultureInfo.InvariantCulture), c, k - 1 - r);
                    text.Alignment = Alignment.MiddleCenter;
                    text.LabelFontSize = k <= 12 ? 13 : 9;
                    text.LabelFontColor = share[r, c] > 0.5 ? Colors.White : Colors.Black;
                }
            }
        }
        double[] positions = [.. Enumerable.Range(0, k).Select(i => (double)i)];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. names]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. positions.Select(p => k - 1 - p)], [.. names]);
        if (names.Any(n => n.Length > 3))
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = names.Any(n => n.Length > 3) ? Alignment.MiddleRight : Alignment.UpperCenter;
        plot.Axes.SetLimits(-0.5, k - 0.5, -0.5, k - 0.5);
        plot.Title("Confusion matrix (test split)");
        plot.XLabel("predicted class");
        plot.YLabel("true class");
        return plot;
    }

    private static Plot MisclassifiedPlot(RunResult run, int[] wrong, int[] predicted, int[] truth)
    {
        var plot = new Plot();
        var dims = run.TestImages.Shape.ToArray();
        int h = dims[1], w = dims.Length > 2 ? dims[2] : 1, ch = dims.Length > 3 ? dims[3] : 1;
        if (dims.Length == 2)
            (h, w) = (1, dims[1]);
        int sampleSize = h * w * ch;
        var pixels = run.TestImages.ToArray();
        var probs = run.Probabilities;
        int k = probs.Shape[1];
        var p = probs.ToArray();
        const double cellW = 1.0, cellH = 1.0, gapX = 0.15, gapY = 0.32;
        for (int n = 0; n < wrong.Length; n++)
        {
            int i = wrong[n];
            var span = pixels.AsSpan(i * sampleSize, sampleSize);
            Image image;
            if (ch == 3)
            {
                var rgb = new byte[h, w, 3];
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int c = 0; c < 3; c++)
                            rgb[y, x, c] = ToByte(span[(y * w + x) * 3 + c]);
                image = new Image(rgb);
            }
            else
            {
                var gray = new byte[h, w];
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        gray[y, x] = ToByte(span[(y * w + x) * ch]);
                image = new Image(gray);
            }
            int col = n % GridColumns, row = n / GridColumns;
            double left = col * (cellW + gapX), top = -row * (cellH + gapY);
            var rect = plot.Add.ImageRect(image, new CoordinateRect(left, left + cellW, top - cellH, top));
            rect.AntiAlias = false;
            float confidence = p[i * k + predicted[i]];
            var label = plot.Add.Text($"{run.ClassNames[truth[i]]} → {run.ClassNames[predicted[i]]} {Percent(confidence, 0)}", left + cellW / 2, top - cellH - 0.03);
            label.Alignment = Alignment.UpperCenter;
            label.LabelFontSize = 11;
        }
        int rows = (wrong.Length + GridColumns - 1) / GridColumns;
        plot.Axes.SetLimits(-gapX / 2, GridColumns * (cellW + gapX) - gapX / 2, -rows * (cellH + gapY), 0.05);
        plot.HideAxesAndGrid();
        plot.Title($"Misclassified test images: true → predicted (probability); the first {wrong.Length}");
        return plot;
    }

    /// <summary>0.9712 → "97.12%" (with <paramref name="decimals"/> places), without the space the invariant culture puts before %.</summary>
    public static string Percent(double share, int decimals) =>
        (share * 100).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + "%";

    private static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);

    /// <summary>counts[true class, predicted class].</summary>
    public static int[,] Confusion(int[] truth, int[] predicted, int classes)
    {
        var counts = new int[classes, classes];
        for (int i = 0; i < truth.Length; i++)
        {
            if (truth[i] >= 0 && truth[i] < classes && predicted[i] < classes)
                counts[truth[i], predicted[i]]++;
        }
        return counts;
    }

    /// <summary>Each row's most probable class (the first of equals).</summary>
    public static int[] ArgMax(Tensor probabilities)
    {
        int n = probabilities.Shape[0], k = probabilities.Shape[1];
        var p = probabilities.ToArray();
        var result = new int[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < k; c++)
            {
                if (p[i * k + c] > p[i * k + best])
                    best = c;
            }
            result[i] = best;
        }
        return result;
    }

    // ------------------------------------------------------------------ HTML

    private static string Html(RunResult run, List<(string Title, string File, string Alt, byte[] Png)> images, int[,]? confusion)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        AppendHead(sb, run.Title);
        sb.Append($"<h1>{E(run.Title)}</h1>\n");
        if (run.Stopped is { } stopped)
            sb.Append($"<p class=\"warning\"><b>{E(stopped)}</b></p>\n");
        string acc = run.Test.TryGetValue("accuracy", out float a) ? Percent(a, 2) : "n/a";
        if (run.Regression)
            sb.Append($"<p class=\"headline\">Test RMSE <b>{F(run.Test["rmse"], "G5")}</b>, MAE {F(run.Test["mae"], "G5")}, MSE {F(run.Test["loss"], "G5")} on {run.TestLabels.Shape[0]:N0} test samples.</p>\n");
        else
            sb.Append($"<p class=\"headline\">Test accuracy <b>{acc}</b>, loss {F(run.Test["loss"], "0.0000")} on {run.TestLabels.Shape[0]:N0} test samples.</p>\n");
        sb.Append($"<p class=\"muted\">Run started {E(run.Started.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))}; " +
            "files: <a href=\"model.strata\">model.strata</a>, <a href=\"metrics.json\">metrics.json</a>" +
            string.Concat(images.Select(i => $", <a href=\"{E(i.File)}\">{E(i.File)}</a>")) + ".</p>\n");

        sb.Append("<h2>Settings</h2>\n<table>\n");
        foreach (var (k, v) in run.Settings)
            sb.Append($"<tr><th>{E(k)}</th><td>{E(v)}</td></tr>\n");
        sb.Append("</table>\n");

        sb.Append("<h2>Training</h2>\n<table class=\"grid\">\n<tr><th>epoch</th>");
        var keys = run.History.Keys.ToList();
        foreach (var k in keys)
            sb.Append($"<th>{E(k)}</th>");
        sb.Append("<th>training s</th><th>samples/s</th><th>epoch s</th></tr>\n");
        for (int e = 0; e < run.History.Epochs; e++)
        {
            sb.Append($"<tr><td>{run.FirstEpoch + e}</td>");
            foreach (var k in keys)
                sb.Append($"<td>{F(run.History[k][e], "0.0000")}</td>");
            double t = e < run.TrainSeconds.Count ? run.TrainSeconds[e] : 0;
            // A run resumed mid-epoch trained only the rest of its first epoch.
            double samples = run.EpochSamples is { } es && e < es.Count ? es[e] : run.TrainSamples;
            double rate = t > 0 ? samples / t : 0;
            sb.Append($"<td>{F(t, "0.00")}</td><td>{F(rate, "N0")}</td><td>{F(e < run.EpochSeconds.Count ? run.EpochSeconds[e] : 0, "0.00")}</td></tr>\n");
        }
        sb.Append("</table>\n");
        string[] placed = ["confusion_matrix.png", "misclassified.png", ExplanationsFile, PermutationFile, .. RegressionFiles]; // each in its own section below
        foreach (var (title, file, alt, png) in images.Where(i => !placed.Contains(i.File)))
            AppendImage(sb, title, file, alt, png);
        if (confusion is null)
        {
            sb.Append("<h2>Predictions on the test split</h2>\n");
            foreach (var (title, file, alt, png) in images.Where(i => RegressionFiles.Contains(i.File)))
                AppendImage(sb, title, file, alt, png);
            AppendTail(sb, run, images);
            return sb.ToString();
        }

        sb.Append("<h2>Confusion matrix</h2>\n");
        var cm = images.First(i => i.File == "confusion_matrix.png");
        AppendImage(sb, null, cm.File, cm.Alt, cm.Png);
        int k2 = run.ClassNames.Count;
        if (k2 <= 30)
        {
            sb.Append("<table class=\"grid\">\n<tr><th>true \\ predicted</th>");
            foreach (var n in run.ClassNames)
                sb.Append($"<th>{E(n)}</th>");
            sb.Append("<th>recall</th></tr>\n");
            for (int r = 0; r < k2; r++)
            {
                sb.Append($"<tr><th>{E(run.ClassNames[r])}</th>");
                int total = 0;
                for (int c = 0; c < k2; c++)
                {
                    total += confusion[r, c];
                    sb.Append(r == c ? $"<td><b>{confusion[r, c]}</b></td>" : $"<td>{confusion[r, c]}</td>");
                }
                sb.Append($"<td>{(total > 0 ? Percent(confusion[r, r] / (double)total, 1) : "–")}</td></tr>\n");
            }
            sb.Append("</table>\n");
        }
        if (images.FirstOrDefault(i => i.File == "misclassified.png") is { File: not null } mis)
        {
            sb.Append("<h2>Misclassified test images</h2>\n");
            AppendImage(sb, null, mis.File, mis.Alt, mis.Png);
        }
        if (run.TestTexts is { } texts)
            AppendMessages(sb, run, texts);
        AppendTail(sb, run, images);
        return sb.ToString();
    }

    /// <summary>The explanations, the model summary, the timing and the machine: the end of every report.</summary>
    private static void AppendTail(StringBuilder sb, RunResult run, List<(string Title, string File, string Alt, byte[] Png)> images)
    {
        static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        static string E(string s) => WebUtility.HtmlEncode(s);
        if (run.Explanations is { } explanations)
            AppendExplanations(sb, explanations, images);

        sb.Append("<h2>Model</h2>\n");
        sb.Append($"<pre>{E(run.Summary)}</pre>\n");

        sb.Append("<h2>Timing and machine</h2>\n<table>\n");
        var rows = new List<(string, string)>
        {
            ("training", $"{F(run.TrainSeconds.Sum(), "0.0")} s over {run.TrainSeconds.Count} epoch(s); median {F(run.SamplesPerSecond, "N0")} samples/s (training steps only)"),
            ("evaluation", $"{F(run.EvaluateSeconds, "0.00")} s for {run.TestLabels.Shape[0]:N0} samples (loss, metrics and predictions)"),
        };
        if (run.Explanations is { } ex)
            rows.Add(("explanations", $"{F(ex.Seconds, "0.00")} s"));
        AppendMachine(sb, rows, run.Threads);
    }

    /// <summary>The timing rows, then the machine's (threads, processor, cores, vector width, system, runtime, Strata), closing the page.</summary>
    private static void AppendMachine(StringBuilder sb, List<(string, string)> rows, int threads)
    {
        rows.AddRange([
            ("threads", threads.ToString(CultureInfo.InvariantCulture)),
            ("processor", Machine.Processor),
            ("logical cores", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)),
            ("vector width", Strata.Kernels.KernelSettings.VectorPath),
            ("operating system", RuntimeInformation.OSDescription),
            ("runtime", RuntimeInformation.FrameworkDescription),
            ("Strata", typeof(Strata.Models.Model).Assembly.GetName().Version?.ToString() ?? "?"),
        ]);
        foreach (var (k, v) in rows)
            sb.Append($"<tr><th>{WebUtility.HtmlEncode(k)}</th><td>{WebUtility.HtmlEncode(v)}</td></tr>\n");
        sb.Append("</table>\n</body>\n</html>\n");
    }

    /// <summary>The page's head (title, the shared style) and the opening body tag.</summary>
    private static void AppendHead(StringBuilder sb, string title)
    {
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append($"<title>{WebUtility.HtmlEncode(title)}</title>\n");
        sb.Append("""
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; padding: 0 1em; }
            h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
            .headline { font-size: 1.4em; } .headline b { color: #1a6; }
            table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.25em 0.7em; text-align: left; }
            table.grid td, table.grid th { border: 1px solid #ddd; text-align: right; } th { background: #f4f4f4; }
            img { max-width: 100%; border: 1px solid #eee; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; }
            .muted { color: #777; font-size: 0.9em; }
            .warning { color: #b22; border-left: 4px solid #b22; padding-left: 0.6em; }
            table.grid td.message { text-align: left; font-family: ui-monospace, monospace; font-size: 0.85em; white-space: pre-wrap; }
            </style>
            </head>
            <body>

            """);
    }

    private static void AppendImage(StringBuilder sb, string? title, string file, string alt, byte[] png)
    {
        if (title is not null)
            sb.Append($"<h3>{WebUtility.HtmlEncode(title)}</h3>\n");
        string data = Convert.ToBase64String(png);
        sb.Append($"<p><img src=\"data:image/png;base64,{data}\" alt=\"{WebUtility.HtmlEncode(alt)}\"><br><span class=\"muted\">{WebUtility.HtmlEncode(file)}</span></p>\n");
    }
}

/// <summary>What the report and the benchmarks say about the machine.</summary>
internal static class Machine
{
    public static string Processor { get; } = ReadProcessor();

    private static string ReadProcessor()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null && line.IndexOf(':') is int colon and > 0)
                    return line[(colon + 1)..].Trim();
            }
        }
        catch (IOException)
        {
            // fall through to the architecture
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}

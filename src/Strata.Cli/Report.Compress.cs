using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Strata.Cli;

/// <summary>One row of the before/after table: the figure, each model's value and how the second compares with the first.</summary>
internal sealed record CompareRow(string Figure, string Before, string After, string Change);

/// <summary>
/// The report of `strata compress`: the before/after table (model file size, parameters, nonzero parameters for
/// pruning, test accuracy and loss, inference samples/s), on the console (<see cref="PrintCompress"/>), in
/// report.html (<see cref="CompressHtml"/>, with the settings, the sparsity per layer, the training epochs, both
/// models' summaries and the machine) and in metrics.json (<see cref="CompressJson"/>).
/// </summary>
internal static partial class Report
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>The table's rows: each figure before, after and after / before (accuracy and loss: the difference).</summary>
    public static List<CompareRow> CompareRows(CompressResult r)
    {
        var (b, a) = (r.Before, r.After);
        var rows = new List<CompareRow>
        {
            new("model file", Bytes(b.FileBytes), Bytes(a.FileBytes), Ratio(a.FileBytes, b.FileBytes) +
                (a.FileBytes < b.FileBytes ? $" ({(b.FileBytes / (double)a.FileBytes).ToString("0.0", s_inv)}× smaller)" : "")),
            new("parameters", Count(b.Parameters, b.Int8Parameters), Count(a.Parameters, a.Int8Parameters), Ratio(a.Parameters, b.Parameters)),
        };
        if (r.Sparsity is not null)
            rows.Add(new("nonzero parameters", Nonzero(b), Nonzero(a), Ratio(a.NonzeroParameters, b.NonzeroParameters)));
        rows.Add(new("test accuracy", b.Accuracy is float ba ? Percent(ba, 2) : "n/a", a.Accuracy is float aa ? Percent(aa, 2) : "n/a",
            b.Accuracy is float x && a.Accuracy is float y ? Signed((y - x) * 100, "0.00") + " points" : "–"));
        rows.Add(new("test loss", b.Loss.ToString("0.0000", s_inv), a.Loss.ToString("0.0000", s_inv), Signed(a.Loss - b.Loss, "0.0000")));
        rows.Add(new("inference samples/s", b.SamplesPerSecond.ToString("N0", s_inv), a.SamplesPerSecond.ToString("N0", s_inv),
            Ratio(a.SamplesPerSecond, b.SamplesPerSecond)));
        return rows;
    }

    /// <summary>How the inference figure was measured, in words.</summary>
    public static string InferenceNote(CompressResult r) =>
        $"inference samples/s: the median of {r.Repeats} timed passes over the {r.TestSamples:N0} test samples after one warm-up pass, " +
        $"batch {CompressRun.InferenceBatch}, {r.Threads} thread(s); model files without optimizer state" +
        (r.Deflated ? ", weights deflated in both" : "");

    public static void PrintCompress(CompressResult r)
    {
        var console = AnsiConsole.Console;
        console.Write(new Rule($"[bold]strata compress[/]: {Markup.Escape(r.Method)}").LeftJustified());
        var settings = new Table().HideHeaders().Border(TableBorder.None).AddColumn("").AddColumn("");
        foreach (var (k, v) in r.Settings)
            settings.AddRow(new Text(k, new Style(Color.Grey)), new Text(v));
        console.Write(settings);
        var table = new Table().AddColumn("")
            .AddColumn(new TableColumn($"before: {Markup.Escape(r.Before.Name)}").RightAligned())
            .AddColumn(new TableColumn($"after: {Markup.Escape(r.After.Name)}").RightAligned())
            .AddColumn(new TableColumn("after / before").RightAligned());
        foreach (var row in CompareRows(r))
            table.AddRow(Markup.Escape(row.Figure), Markup.Escape(row.Before), Markup.Escape(row.After), Markup.Escape(row.Change));
        console.Write(table);
        console.MarkupLine($"[grey]{Markup.Escape(InferenceNote(r))}[/]");
        if (r.Sparsity is { } sparsity)
            console.MarkupLine(Markup.Escape("sparsity per kernel: " + string.Join(", ", sparsity.Select(kv => $"{kv.Key} {Percent(kv.Value, 1)}"))));
    }

    public static string CompressHtml(CompressResult r)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        string title = $"Strata compress: {r.Before.Name}, {r.Method}";
        AppendHead(sb, title);
        sb.Append($"<h1>{E(title)}</h1>\n");
        var rows = CompareRows(r);
        sb.Append($"<p class=\"headline\">Model file <b>{E(rows[0].Change)}</b>; test accuracy {E(rows.First(x => x.Figure == "test accuracy").Before)} → " +
            $"<b>{E(rows.First(x => x.Figure == "test accuracy").After)}</b>; inference {E(rows[^1].Change)}.</p>\n");
        sb.Append($"<p class=\"muted\">Run started {E(r.Started.ToString("yyyy-MM-dd HH:mm:ss", s_inv))}; files: <a href=\"{CompressRun.ModelFile}\">{CompressRun.ModelFile}</a>, " +
            "<a href=\"metrics.json\">metrics.json</a>.</p>\n");

        sb.Append("<h2>Before and after</h2>\n<table class=\"grid\">\n");
        sb.Append($"<tr><th></th><th>before: {E(r.Before.Name)}</th><th>after: {E(r.After.Name)}</th><th>after / before</th></tr>\n");
        foreach (var row in rows)
            sb.Append($"<tr><th>{E(row.Figure)}</th><td>{E(row.Before)}</td><td>{E(row.After)}</td><td>{E(row.Change)}</td></tr>\n");
        sb.Append("</table>\n");
        sb.Append($"<p class=\"muted\">{E(InferenceNote(r))}.</p>\n");

        sb.Append("<h2>Settings</h2>\n<table>\n");
        foreach (var (k, v) in r.Settings)
            sb.Append($"<tr><th>{E(k)}</th><td>{E(v)}</td></tr>\n");
        sb.Append("</table>\n");

        if (r.Sparsity is { } sparsity)
        {
            sb.Append("<h2>Sparsity per kernel</h2>\n<table class=\"grid\">\n<tr><th>layer</th><th>zeros</th></tr>\n");
            foreach (var (layer, v) in sparsity)
                sb.Append($"<tr><td>{E(layer)}</td><td>{Percent(v, 2)}</td></tr>\n");
            sb.Append("</table>\n");
        }
        if (r.History is { } history)
        {
            sb.Append($"<h2>{(r.Mode == CompressMode.Distill ? "Distillation" : "Fine-tuning")}</h2>\n<table class=\"grid\">\n<tr><th>epoch</th>");
            var keys = history.Keys.ToList();
            foreach (var k in keys)
                sb.Append($"<th>{E(k)}</th>");
            sb.Append("<th>training s</th></tr>\n");
            for (int e = 0; e < history.Epochs; e++)
            {
                sb.Append($"<tr><td>{e + 1}</td>");
                foreach (var k in keys)
                    sb.Append($"<td>{history[k][e].ToString("0.0000", s_inv)}</td>");
                sb.Append($"<td>{(e < r.TrainSeconds.Count ? r.TrainSeconds[e] : 0).ToString("0.00", s_inv)}</td></tr>\n");
            }
            sb.Append("</table>\n");
        }

        sb.Append($"<h2>Before: {E(r.Before.Name)}</h2>\n<p class=\"muted\">{E(r.Before.Path)}</p>\n<pre>{E(r.Before.Summary)}</pre>\n");
        sb.Append($"<h2>After: {E(r.After.Name)}</h2>\n<p class=\"muted\">{E(r.After.Path)}</p>\n<pre>{E(r.After.Summary)}</pre>\n");

        sb.Append("<h2>Timing and machine</h2>\n<table>\n");
        var timing = new List<(string, string)>
        {
            ("inference, before", Range(r.Before)),
            ("inference, after", Range(r.After)),
        };
        if (r.TrainSeconds.Count > 0)
            timing.Add(("training", $"{r.TrainSeconds.Sum().ToString("0.0", s_inv)} s over {r.TrainSeconds.Count} epoch(s) of {r.TrainSamples:N0} samples"));
        AppendMachine(sb, timing, r.Threads);
        return sb.ToString();
    }

    public static string CompressJson(CompressResult r, string modelPath, string reportPath)
    {
        static JsonObject Figures(ModelFigures f) => new()
        {
            ["name"] = f.Name,
            ["file"] = Path.GetFullPath(f.Path),
            ["file_bytes"] = f.FileBytes,
            ["parameters"] = f.Parameters,
            ["nonzero_parameters"] = f.NonzeroParameters,
            ["int8_parameters"] = f.Int8Parameters,
            ["test_loss"] = TrainRun.Number(f.Loss),
            ["test_accuracy"] = f.Accuracy is float fa ? TrainRun.Number(fa) : null,
            ["inference_samples_per_second"] = Math.Round(f.SamplesPerSecond, 1),
            ["inference_min"] = Math.Round(f.MinSamplesPerSecond, 1),
            ["inference_max"] = Math.Round(f.MaxSamplesPerSecond, 1),
        };
        static double Div(double a, double b) => b > 0 ? Math.Round(a / b, 4) : 0;
        var (before, after) = (r.Before, r.After);
        var json = new JsonObject
        {
            ["mode"] = r.Mode.ToString().ToLowerInvariant(),
            ["method"] = r.Method,
            ["before"] = Figures(before),
            ["after"] = Figures(after),
            ["ratios"] = new JsonObject
            {
                ["file_bytes"] = Div(after.FileBytes, before.FileBytes),
                ["parameters"] = Div(after.Parameters, before.Parameters),
                ["nonzero_parameters"] = Div(after.NonzeroParameters, before.NonzeroParameters),
                ["inference_samples_per_second"] = Div(after.SamplesPerSecond, before.SamplesPerSecond),
            },
            ["accuracy_change"] = before.Accuracy is float b && after.Accuracy is float a ? a - b : null,
            ["train_samples"] = r.History is null ? 0 : r.TrainSamples,
            ["test_samples"] = r.TestSamples,
            ["inference_batch_size"] = CompressRun.InferenceBatch,
            ["repeats"] = r.Repeats,
            ["threads"] = r.Threads,
            ["model_file"] = Path.GetFullPath(modelPath),
            ["report"] = Path.GetFullPath(reportPath),
        };
        if (r.Sparsity is { } sparsity)
            json["sparsity"] = new JsonObject(sparsity.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        if (r.History is { } history)
            json["history"] = new JsonObject(history.Keys.Select(k => KeyValuePair.Create(k, (JsonNode?)new JsonArray([.. history[k].Select(v => TrainRun.Number(v))]))));
        return json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    private static string Range(ModelFigures f) =>
        $"median {f.SamplesPerSecond.ToString("N0", s_inv)} samples/s (min {f.MinSamplesPerSecond.ToString("N0", s_inv)}, max {f.MaxSamplesPerSecond.ToString("N0", s_inv)})";

    private static string Bytes(long bytes) => bytes >= 10 * 1024
        ? $"{(bytes / 1024.0).ToString("N1", s_inv)} KiB"
        : $"{bytes.ToString("N0", s_inv)} bytes";

    private static string Count(long parameters, long int8) =>
        parameters.ToString("N0", s_inv) + (int8 > 0 ? $" ({int8.ToString("N0", s_inv)} int8)" : "");

    private static string Nonzero(ModelFigures f) =>
        $"{f.NonzeroParameters.ToString("N0", s_inv)} ({Percent(f.Parameters > 0 ? f.NonzeroParameters / (double)f.Parameters : 0, 1)})";

    private static string Ratio(double after, double before) => before > 0 ? (after / before).ToString("0.00", s_inv) + "×" : "–";

    private static string Signed(double v, string format) => (v >= 0 ? "+" : "−") + Math.Abs(v).ToString(format, s_inv);
}

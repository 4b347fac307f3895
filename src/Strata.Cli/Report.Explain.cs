using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;
using Strata.Data;
using Strata.Explain;
using Strata.Models;

namespace Strata.Cli;

/// <summary>
/// The report's Explanations section, computed once the model is evaluated: a picture of test images with their
/// maps (image data), the permutation importance of the features (CSV data) or token attributions of a few test
/// messages (text models that embed token ids). <see cref="Summary"/> says what in a few words, <see cref="Seconds"/> what it cost.
/// </summary>
internal sealed record ExplanationSection(string Summary, string Caption, Tensor? Picture, PermutationImportanceResult? Importance,
    IReadOnlyList<string>? TokenFragments, double Seconds);

/// <summary>What `strata explain` and the training report draw: the permutation chart and table, the explanation pages and the report's section.</summary>
internal static partial class Report
{
    /// <summary>The report explains up to this many correctly classified and as many misclassified test images.</summary>
    public const int ExplainedImages = 8;

    /// <summary>The report's image tiles are scaled up to at least this height (small images such as MNIST's 28×28).</summary>
    public const int ExplainedTileHeight = 112;

    /// <summary>The report's token attributions: this many test messages, integrated gradients of this many steps.</summary>
    public const int ExplainedMessages = 4, ReportSteps = 32;

    /// <summary>The report's permutation importance: on at most this many test rows, of tables of at most this many features, shuffled this often.</summary>
    public const int ImportanceRows = 1000, ImportanceMaxFeatures = 100, ImportanceRepeats = 5;

    // ------------------------------------------------------------------ permutation importance

    /// <summary>feature,mean,std,drop_1..drop_R: one row per feature, the most important first (invariant culture, round-trip floats).</summary>
    public static string PermutationCsv(PermutationImportanceResult result)
    {
        static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        int repeats = result.Features[0].Drops.Count;
        var sb = new StringBuilder("feature,mean,std");
        for (int r = 1; r <= repeats; r++)
            sb.Append(CultureInfo.InvariantCulture, $",drop_{r}");
        sb.Append('\n');
        foreach (var f in result.Ranked)
            sb.Append(CsvField(f.Feature)).Append(',').Append(F(f.Mean)).Append(',').Append(F(f.StandardDeviation))
                .Append(string.Concat(f.Drops.Select(d => "," + F(d)))).Append('\n');
        return sb.ToString();
    }

    private static string CsvField(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) < 0 && s.Trim() == s ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// The permutation importance as horizontal bars, the most important feature at the top: each bar the mean
    /// worsening of the score when the feature is shuffled, its error bar one standard deviation over the repeats.
    /// </summary>
    public static (Plot Plot, int Width, int Height) PermutationChart(PermutationImportanceResult result, string title)
    {
        var plot = new Plot();
        var ranked = result.Ranked;
        int n = ranked.Count;
        var bars = new List<Bar>();
        for (int r = 0; r < n; r++)
        {
            var f = ranked[r];
            bars.Add(new Bar
            {
                Position = n - 1 - r,
                Value = f.Mean,
                Error = f.StandardDeviation,
                FillColor = f.Mean >= 0 ? Colors.C0 : Colors.Gray,
                Size = 0.7,
            });
        }
        var series = plot.Add.Bars(bars);
        series.Horizontal = true;
        double[] positions = [.. Enumerable.Range(0, n).Select(r => (double)(n - 1 - r))];
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. ranked.Select(f => f.Feature)]);
        plot.Axes.Margins(left: 0.05, right: 0.1, bottom: 0.5 / Math.Max(n, 1), top: 0.5 / Math.Max(n, 1));
        var zero = plot.Add.VerticalLine(0, 1, Colors.Black);
        zero.LinePattern = LinePattern.Solid;
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{title}: permutation importance ({result.Metric} {result.BaselineScore:0.0000} as given)"));
        plot.XLabel($"drop in {result.Metric} when shuffled (mean ± sd over {ranked[0].Drops.Count})");
        int height = Math.Clamp(140 + 30 * n, 320, 2400);
        return (plot, CurveWidth, height);
    }

    /// <summary>Writes <see cref="PermutationChart"/> as a PNG (atomically) and returns its bytes.</summary>
    public static byte[] SavePermutationChart(string path, PermutationImportanceResult result, string title)
    {
        var (plot, width, height) = PermutationChart(result, title);
        using (plot)
        {
            byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
            Serialization.AtomicFile.Write(path, s => s.Write(png));
            return png;
        }
    }

    /// <summary>The permutation importance as an HTML table, the most important first.</summary>
    private static void AppendImportanceTable(StringBuilder sb, PermutationImportanceResult result)
    {
        static string F(float v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
        sb.Append($"<table class=\"grid\">\n<tr><th>feature</th><th>mean drop in {WebUtility.HtmlEncode(result.Metric)}</th><th>sd</th></tr>\n");
        foreach (var f in result.Ranked)
            sb.Append($"<tr><th>{WebUtility.HtmlEncode(f.Feature)}</th><td>{F(f.Mean)}</td><td>{F(f.StandardDeviation)}</td></tr>\n");
        sb.Append("</table>\n");
    }

    // ------------------------------------------------------------------ strata explain's page

    /// <summary>explanations.html: per input, what the model predicted, what was explained and the picture (embedded).</summary>
    public static string ExplanationsPage(string modelName, string modelPath, Attribution attribution, IReadOnlyList<ExplainedInput> entries)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        string title = $"Strata explain: {modelName}, {attribution.Method}";
        AppendHead(sb, title);
        sb.Append($"<h1>{E(title)}</h1>\n");
        sb.Append($"<p>Model {E(modelPath)}; {entries.Count} input(s). Each picture: the input, the attribution map " +
            (attribution.Signed ? "(red: evidence for the target class, blue: against it)" : "(dark to bright: little to much)") +
            " and the two blended.</p>\n");
        bool complete = entries.Any(e => e.CompletenessError is not null);
        sb.Append("<table class=\"grid\">\n<tr><th>input</th><th>predicted</th><th>probability</th><th>target explained</th><th>method</th>" +
            (complete ? "<th>completeness error</th>" : "") + "</tr>\n");
        foreach (var e in entries)
        {
            sb.Append($"<tr><td>{E(e.Name)}</td><td>{E(e.Predicted)}</td><td>{Percent(e.Probability, 1)}</td><td>{E(e.Target)}</td><td>{E(e.Method)}</td>" +
                (complete ? $"<td>{e.CompletenessError?.ToString("G3", CultureInfo.InvariantCulture) ?? ""}</td>" : "") + "</tr>\n");
        }
        sb.Append("</table>\n");
        foreach (var e in entries)
            AppendImage(sb, $"{e.Name}: predicted {e.Predicted} ({Percent(e.Probability, 1)}), explained {e.Target}", Path.GetFileName(e.File), $"{e.Method} of {e.Name}", e.Png);
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>"; the first N of M tokens" where the model reads only part of a text, else "".</summary>
    public static string TokensShown(TokenRow row) =>
        row.Total > row.Tokens.Length ? $"; the first {row.Tokens.Length} of {row.Total} tokens" : "";

    // ------------------------------------------------------------------ the training report's section

    /// <summary>
    /// The Explanations section of a training run (null where there is nothing to show): Grad-CAM (the last
    /// convolutional layer), else integrated gradients, of the first correctly classified and misclassified test
    /// images; the permutation importance of a CSV table's features on its test split; integrated gradients over
    /// the token embeddings of the first test messages.
    /// </summary>
    public static ExplanationSection? Explanations(Model model, Tensor testX, Tensor testY, Tensor probabilities, IReadOnlyList<string> classNames,
        bool images, IReadOnlyList<string>? featureNames, IReadOnlyList<string>? testTexts)
    {
        var watch = Stopwatch.StartNew();
        ExplanationSection? section;
        try
        {
            section = testTexts is not null ? MessageExplanations(model, testTexts, testY, probabilities, classNames)
                : images ? ImageExplanations(model, testX, testY, probabilities, classNames)
                : featureNames is not null ? ImportanceExplanations(model, testX, testY, featureNames)
                : null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            // A model the explainer cannot take (several inputs, outputs that are not class scores, a layer run
            // twice) still gets its report: the run is done and saved, and the section says why it is empty.
            section = new ExplanationSection("none (the model could not be explained)", $"No explanations: {e.Message}", null, null, null, 0);
        }
        return section is null ? null : section with { Seconds = watch.Elapsed.TotalSeconds };
    }

    private static ExplanationSection? ImageExplanations(Model model, Tensor x, Tensor y, Tensor probabilities, IReadOnlyList<string> names)
    {
        var sample = x.Shape.ToArray()[1..];
        if (sample.Length is not (2 or 3) || (sample.Length == 3 && sample[2] is not (1 or 3)))
            return null;
        var predicted = ArgMax(probabilities);
        var truth = y.ToArray().Select(v => (int)v).ToArray();
        var correct = Enumerable.Range(0, truth.Length).Where(i => predicted[i] == truth[i]).Take(ExplainedImages).ToArray();
        var wrong = Enumerable.Range(0, truth.Length).Where(i => predicted[i] != truth[i]).Take(ExplainedImages).ToArray();
        int[] chosen = [.. correct, .. wrong];
        if (chosen.Length == 0)
            return null;
        int size = sample.Aggregate(1, (a, b) => a * b);
        var batch = new float[chosen.Length * size];
        for (int j = 0; j < chosen.Length; j++)
            x.Span.Slice(chosen[j] * size, size).CopyTo(batch.AsSpan(j * size, size));
        var xs = Tensor.FromArray(batch, [chosen.Length, .. sample]);
        int[] targets = [.. chosen.Select(i => predicted[i])];
        var explainer = new Explainer(model);
        Attribution a;
        string how;
        try
        {
            a = explainer.GradCam(xs, targets);
            how = "the model's last convolutional layer";
        }
        catch (ArgumentException e) when (e is not ArgumentOutOfRangeException)
        {
            a = explainer.IntegratedGradients(xs, targets, steps: ReportSteps); // no convolutional layer
            how = "from a black image, as the model has no convolutional layer";
        }

        int scale = Math.Max(1, (ExplainedTileHeight + sample[0] - 1) / sample[0]);
        int h = sample[0] * scale, w = sample[1] * scale;
        var tiles = new List<Tensor>();
        for (int j = 0; j < chosen.Length; j++)
        {
            var image = Tensor.FromArray(batch.AsSpan(j * size, size), sample);
            if (scale > 1)
                image = Views.Resize(image, h, w).Clamp(0, 1); // bilinear may overshoot [0, 1] by a rounding error
            tiles.Add(Views.Overlay(image, a.Heatmap(j, h, w), signed: a.Signed));
        }
        var columns = new List<Tensor>();
        int rows = Math.Max(correct.Length, wrong.Length);
        foreach (var part in new[] { tiles.Take(correct.Length).ToList(), tiles.Skip(correct.Length).ToList() })
        {
            if (part.Count == 0)
                continue;
            while (part.Count < rows)
                part.Add(Tensor.Full(1f, part[0].Shape.ToArray())); // white, so both columns have the same height
            columns.Add(Views.Panels(part));
        }
        var picture = columns.Count == 1 ? columns[0]
            : Images.Grid(Tensor.Concat([.. columns.Select(c => c.Reshape([1, .. c.Shape.ToArray()]))], 0), columns: 2, pad: 6 * Views.PanelPad, padValue: 1);

        string Name(int c) => c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        var parts = new List<string>();
        if (correct.Length > 0)
            parts.Add($"{(wrong.Length > 0 ? "left" : "rows")}: the first {correct.Length} correctly classified test images ({string.Join(", ", correct.Select(i => Name(truth[i])))})");
        if (wrong.Length > 0)
            parts.Add($"{(correct.Length > 0 ? "right" : "rows")}: the first {wrong.Length} misclassified, true → predicted ({string.Join(", ", wrong.Select(i => $"{Name(truth[i])} → {Name(predicted[i])}"))})");
        string caption = $"{Capitalized(a.Method)}, {how}; the target explained is each image's predicted class. " +
            $"{Capitalized(string.Join("; ", parts))}. Each row: the image, the map " +
            (a.Signed ? "(red: evidence for the predicted class, blue: against it)" : "(dark to bright: little to much evidence for the predicted class)") + ", the blend.";
        return new ExplanationSection($"{a.Method} of {chosen.Length} test images", caption, picture, null, null, 0);
    }

    private static ExplanationSection? ImportanceExplanations(Model model, Tensor x, Tensor y, IReadOnlyList<string> featureNames)
    {
        int n = x.Shape[0];
        if (x.Rank != 2 || n < 2 || featureNames.Count != x.Shape[1])
            return null;
        int features = x.Shape[1];
        if (features > ImportanceMaxFeatures)
            return new ExplanationSection("none (too many features for permutation importance)",
                $"Permutation importance is left out: the table has {features} features; the report measures it for up to {ImportanceMaxFeatures} " +
                "(run `strata explain MODEL --data FILE.csv --method permutation`).", null, null, null, 0);
        int rows = Math.Min(n, ImportanceRows);
        var xs = rows == n ? x : Tensor.FromArray(x.Span[..(rows * features)], rows, features);
        var ys = rows == n ? y : Tensor.FromArray(y.Span[..rows], rows);
        var result = PermutationImportance.Compute(model, xs, ys, repeats: ImportanceRepeats, seed: 0, featureNames: featureNames);
        string caption = string.Create(CultureInfo.InvariantCulture,
            $"Permutation importance on {(rows == n ? "the" : $"the first {rows:N0} rows of the")} test split ({rows:N0} rows): how much {result.Metric} " +
            $"({result.BaselineScore:0.0000} as given) {(result.HigherIsBetter ? "drops" : "rises")} when one feature's values are shuffled across the rows, the mean and standard deviation over {ImportanceRepeats} shuffles.");
        return new ExplanationSection($"permutation importance of {features} features on {rows:N0} test rows", caption, null, result, null, 0);
    }

    private static ExplanationSection? MessageExplanations(Model model, IReadOnlyList<string> texts, Tensor y, Tensor probabilities, IReadOnlyList<string> names)
    {
        var vectorizer = ExplainRun.TokenVectorizer(model);
        int count = Math.Min(ExplainedMessages, texts.Count);
        if (vectorizer is null || count == 0)
            return null;
        var shown = texts.Take(count).ToList();
        var ids = vectorizer.Vectorize(shown);
        var predicted = ArgMax(probabilities);
        var a = new Explainer(model).TokenIntegratedGradients(ids, [.. predicted.Take(count)], steps: ReportSteps);
        var rows = ExplainRun.TokenRows(vectorizer, shown, ids, a);
        int k = probabilities.Shape[1];
        var truth = y.ToArray();
        var fragments = new List<string>();
        for (int i = 0; i < count; i++)
        {
            fragments.Add(TokenHtml.Render(rows[i].Tokens, rows[i].Values, string.Create(CultureInfo.InvariantCulture,
                $"Test message {i + 1}: true {names[(int)truth[i]]}, predicted {names[predicted[i]]} ({Percent(probabilities.Span[i * k + predicted[i]], 1)}); " +
                $"completeness error {a.CompletenessError![i]:G3}{TokensShown(rows[i])}")));
        }
        string caption = $"{Capitalized(a.Method)} from zero embeddings, of the first {count} test messages: each token shaded by its attribution to the predicted class " +
            "(red: evidence for it, blue: against it; the number in its tooltip).";
        return new ExplanationSection($"{a.Method} of {count} test messages", caption, null, null, fragments, 0);
    }

    private static string Capitalized(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>The section's HTML: its picture or chart (embedded), its caption, the table or the token rows.</summary>
    private static void AppendExplanations(StringBuilder sb, ExplanationSection section, List<(string Title, string File, string Alt, byte[] Png)> images)
    {
        sb.Append("<h2>Explanations</h2>\n");
        sb.Append($"<p>{WebUtility.HtmlEncode(section.Caption)} <span class=\"muted\">" +
            $"({section.Seconds.ToString("0.00", CultureInfo.InvariantCulture)} s)</span></p>\n");
        foreach (var file in new[] { ExplanationsFile, PermutationFile })
        {
            if (images.FirstOrDefault(i => i.File == file) is { File: not null } image)
                AppendImage(sb, null, image.File, image.Alt, image.Png);
        }
        if (section.Importance is { } importance)
            AppendImportanceTable(sb, importance);
        foreach (var fragment in section.TokenFragments ?? [])
            sb.Append(fragment).Append('\n');
    }

    public const string ExplanationsFile = "explanations.png", PermutationFile = "permutation.png";
}

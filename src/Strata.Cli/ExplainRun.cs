using System.Globalization;
using Strata.Data;
using Strata.Explain;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Cli;

internal sealed record ExplainSettings(string Model, string[] Inputs, string Method, string? Target, string? Layer, int Steps, int Samples,
    float Noise, int Window, int Stride, float Fill, string? BaselineToken, bool PlainText, string? Data, string? LabelColumn, int Repeats,
    ulong Seed, string Out, int Threads);

/// <summary>One explained input: what the model made of it, what was explained and where the picture went.</summary>
internal sealed record ExplainedInput(string Name, string Predicted, float Probability, string Target, string Method, float? CompletenessError,
    string File, byte[] Png);

/// <summary>
/// `strata explain`: attributions of a saved model's decisions through <see cref="Explainer"/>. Image files
/// (read as `predict` reads them, <see cref="ModelCommands.ReadSamples"/>) get DIR/&lt;stem&gt;.&lt;method&gt;.png
/// (<see cref="Views.Overlay"/>: the image, the map, the blend) and one DIR/explanations.html; texts for a model
/// that starts with its TextVectorization get integrated gradients over the token embeddings, DIR/&lt;stem&gt;.tokens.html
/// (<see cref="TokenHtml"/>); `--method permutation --data FILE.csv` measures <see cref="PermutationImportance"/>
/// (DIR/permutation.csv and DIR/permutation.png). The maps: saliency and smoothgrad show |gradient| (summed over
/// the channels: where a change of the pixel changes the target most, whatever its direction); ig, from a black image
/// (zeros), and occlusion are signed (red for evidence for the target, blue against it); gradcam is ReLU'd evidence
/// at the layer's resolution, resized to the image.
/// </summary>
internal static class ExplainRun
{
    /// <summary>The methods that explain input files.</summary>
    public static readonly string[] AttributionMethods = ["saliency", "smoothgrad", "ig", "gradcam", "occlusion"];

    /// <summary>Every --method.</summary>
    public static readonly string[] Methods = [.. AttributionMethods, "permutation"];

    /// <summary>How many of a text's tokens the command prints.</summary>
    public const int TopTokens = 5;

    public static int Run(ExplainSettings s)
    {
        KernelSettings.MaxThreads = s.Threads;
        if (s.Method == "permutation")
        {
            if (s.Inputs.Length > 0)
                throw new UsageException($"--method permutation measures the features of --data, a CSV file; it takes no input files (got '{s.Inputs[0]}')");
            if (s.Data is null)
                throw new UsageException("--method permutation needs --data, the CSV file to shuffle the features of");
            return Permutation(s);
        }
        if (s.Inputs.Length == 0)
            throw new UsageException($"explain: give the files to explain with --method {s.Method} (image files; texts for a text model)");
        var model = ModelCommands.Load(s.Model, compile: false);
        return model.TextInput is null ? ExplainImages(model, s) : ExplainTexts(model, s);
    }

    // ------------------------------------------------------------------ images

    private static int ExplainImages(Model model, ExplainSettings s)
    {
        var (names, x) = ModelCommands.ReadSamples(model, s.Inputs, "explain", csv: false);
        var (probabilities, predicted, targets) = Predictions(model, x, s.Target);
        var attribution = Attribute(new Explainer(model), x, targets, s);
        var shape = ModelChecks.InputShape(model); // [H, W] or [H, W, 1 or 3]: ReadSamples took only images
        int h = shape[0], w = shape[1], size = shape.Size, k = probabilities.Shape[1];
        Directory.CreateDirectory(s.Out);
        var stems = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<ExplainedInput>();
        for (int i = 0; i < names.Count; i++)
        {
            var image = Tensor.FromArray(x.Span.Slice(i * size, size), shape.ToArray());
            var overlay = Views.Overlay(image, attribution.Heatmap(i, h, w), signed: attribution.Signed);
            string file = Path.Combine(s.Out, $"{UniqueStem(names[i], stems)}.{s.Method}.png");
            Images.SavePng(file, overlay);
            var entry = new ExplainedInput(names[i], ModelCommands.ClassName(model, predicted[i]), probabilities.Span[i * k + predicted[i]],
                ModelCommands.ClassName(model, targets[i]), attribution.Method, attribution.CompletenessError?[i], file, File.ReadAllBytes(file));
            entries.Add(entry);
            Console.WriteLine($"{entry.Name}: {entry.Predicted} {Report.Percent(entry.Probability, 1)}, target {entry.Target}" +
                (entry.CompletenessError is float e ? string.Create(CultureInfo.InvariantCulture, $", completeness error {e:G3}") : "") + $" -> {file}");
        }
        string page = Path.Combine(s.Out, "explanations.html");
        TrainRun.WriteAtomically(page, Report.ExplanationsPage(model.Name, s.Model, attribution, entries));
        Console.WriteLine($"page: {page}");
        return Commands.Ok;
    }

    private static Attribution Attribute(Explainer explainer, Tensor x, int[] targets, ExplainSettings s) => s.Method switch
    {
        "saliency" => explainer.Saliency(x, targets, SaliencyMode.AbsoluteGradient),
        "smoothgrad" => explainer.SmoothGrad(x, targets, s.Noise, s.Samples, SaliencyMode.AbsoluteGradient, s.Seed),
        "ig" => explainer.IntegratedGradients(x, targets, baseline: null, s.Steps),
        "gradcam" => GradCam(explainer, x, targets, s.Layer),
        "occlusion" => explainer.Occlusion(x, targets, s.Window, s.Stride, s.Fill),
        _ => throw new UsageException($"--method: '{s.Method}' does not explain input files"),
    };

    /// <summary>
    /// Grad-CAM on the named (or the last) convolutional layer. The inputs and targets are checked by then,
    /// so an argument the library rejects is the layer: a usage mistake, with the library's reason.
    /// </summary>
    private static Attribution GradCam(Explainer explainer, Tensor x, int[] targets, string? layer)
    {
        try
        {
            return explainer.GradCam(x, targets, layer);
        }
        catch (ArgumentException e) when (e is not ArgumentOutOfRangeException)
        {
            if (layer is null)
                throw new UsageException($"--method gradcam: model '{explainer.Model.Name}' has no convolutional layer; explain it with saliency, smoothgrad, ig or occlusion");
            const string prefix = "Explainer: ";
            throw new UsageException($"--layer: {(e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message)}");
        }
    }

    /// <summary>The outputs, each sample's predicted class, and the class to explain for each (--target, else the predicted one).</summary>
    private static (Tensor Probabilities, int[] Predicted, int[] Targets) Predictions(Model model, Tensor x, string? target)
    {
        var probabilities = model.Predict(x, batchSize: 256);
        if (probabilities.Rank != 2)
            throw new InvalidDataException($"explain: model '{model.Name}' gives outputs {probabilities.Shape}; attributions need class scores [samples, classes]");
        var predicted = Report.ArgMax(probabilities);
        int[] targets = target is null ? predicted : [.. Enumerable.Repeat(TargetIndex(model, target, probabilities.Shape[1]), predicted.Length)];
        return (probabilities, predicted, targets);
    }

    /// <summary>--target as a class name of the model, else as an output index.</summary>
    /// <exception cref="UsageException">Neither (the message gives the outputs and the first class names).</exception>
    private static int TargetIndex(Model model, string target, int outputs)
    {
        var names = model.ClassNames;
        for (int i = 0; names is not null && i < Math.Min(names.Count, outputs); i++)
        {
            if (names[i] == target)
                return i;
        }
        if (int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < outputs)
            return index;
        string classes = names is null ? "" : $"; its classes: {string.Join(", ", names.Take(20))}{(names.Count > 20 ? ", ..." : "")}";
        throw new UsageException($"--target: '{target}' is neither a class of model '{model.Name}' nor one of its {outputs} output indices (0–{outputs - 1}){classes}");
    }

    /// <summary>A file's name without its extension, made unique among the names already used (name-2, name-3, ...).</summary>
    private static string UniqueStem(string path, HashSet<string> used)
    {
        string stem = Path.GetFileNameWithoutExtension(path);
        string unique = stem;
        for (int n = 2; !used.Add(unique); n++)
            unique = $"{stem}-{n}";
        return unique;
    }

    // ------------------------------------------------------------------ texts

    private static int ExplainTexts(Model model, ExplainSettings s)
    {
        if (s.Method != "ig")
            throw new UsageException($"--method {s.Method}: text model '{model.Name}' is explained with --method ig only (integrated gradients over its token embeddings)");
        var vectorizer = TokenVectorizer(model)
            ?? throw new InvalidDataException($"explain: text model '{model.Name}' does not embed token ids (its TextVectorization gives {model.TextInput!.OutputMode} rows" +
                $"{(model.Layers.Any(l => l is Embedding) ? "" : ", and it has no Embedding")}); token attributions need an Embedding of int token ids (the lstm, gru and rcnn presets)");
        int? baseline = s.BaselineToken is null ? null : BaselineId(vectorizer, s.BaselineToken);
        var (names, texts) = ModelCommands.ReadTexts(model, s.Inputs, s.PlainText);
        var ids = vectorizer.Vectorize(texts);
        var (probabilities, predicted, targets) = Predictions(model, ids, s.Target);
        var attribution = new Explainer(model).TokenIntegratedGradients(ids, targets, s.Steps, baselineToken: baseline);
        var rows = TokenRows(vectorizer, texts, ids, attribution);
        string baselineText = s.BaselineToken is null ? "zero embeddings" : $"the embedding of '{s.BaselineToken}'";
        Directory.CreateDirectory(s.Out);
        var stems = new HashSet<string>(StringComparer.Ordinal);
        int k = probabilities.Shape[1];
        for (int i = 0; i < names.Count; i++)
        {
            string file = Path.Combine(s.Out, $"{UniqueStem(names[i], stems)}.tokens.html");
            string predictedClass = ModelCommands.ClassName(model, predicted[i]), targetClass = ModelCommands.ClassName(model, targets[i]);
            float error = attribution.CompletenessError![i];
            string title = string.Create(CultureInfo.InvariantCulture,
                $"{names[i]}: predicted {predictedClass} ({Report.Percent(probabilities.Span[i * k + predicted[i]], 1)}); attributions to {targetClass}, " +
                $"{attribution.Method} from {baselineText}; completeness error {error:G3}{Report.TokensShown(rows[i])}");
            TrainRun.WriteAtomically(file, TokenHtml.Page([TokenHtml.Render(rows[i].Tokens, rows[i].Values, title)], $"Strata explain: {model.Name} on {Path.GetFileName(names[i])}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{names[i]}: {predictedClass} {Report.Percent(probabilities.Span[i * k + predicted[i]], 1)}, target {targetClass}, completeness error {error:G3} -> {file}"));
            var top = Enumerable.Range(0, rows[i].Tokens.Length).OrderByDescending(p => rows[i].Values[p]).ThenBy(p => p).Take(TopTokens);
            Console.WriteLine("  top tokens: " + string.Join(", ", top.Select(p => string.Create(CultureInfo.InvariantCulture, $"{rows[i].Tokens[p]} {rows[i].Values[p]:+0.0000;-0.0000;0.0000}"))));
        }
        return Commands.Ok;
    }

    /// <summary>A text model's TextVectorization when it gives token ids to an Embedding (what token attributions need), else null.</summary>
    public static TextVectorization? TokenVectorizer(Model model) =>
        model.TextInput is { OutputMode: TextOutputMode.Int } v && model.Layers.Any(l => l is Embedding) ? v : null;

    /// <summary>The vocabulary id of --baseline-token's word (standardized as the texts are).</summary>
    private static int BaselineId(TextVectorization vectorizer, string word)
    {
        var tokens = vectorizer.Tokenize(word);
        if (tokens.Count != 1)
            throw new UsageException($"--baseline-token: expected one word, '{word}' is {tokens.Count} tokens after standardization");
        var vocabulary = vectorizer.GetVocabulary();
        for (int id = 2; id < vocabulary.Count; id++) // 0 and 1 are the padding and OOV tokens
        {
            if (vocabulary[id] == tokens[0])
                return id;
        }
        throw new UsageException($"--baseline-token: '{word}' is not in the model's vocabulary of {vocabulary.Count:N0} tokens");
    }

    /// <summary>
    /// Each text's tokens as the model reads them, padding left out, with their attributions: a known id as its
    /// vocabulary entry, an unknown one as [UNK:word]. Total counts the text's tokens, also those past the sequence length.
    /// </summary>
    public static List<TokenRow> TokenRows(TextVectorization vectorizer, IReadOnlyList<string> texts, Tensor ids, Attribution attribution)
    {
        var vocabulary = vectorizer.GetVocabulary();
        int length = ids.Shape[1];
        var rows = new List<TokenRow>();
        for (int i = 0; i < texts.Count; i++)
        {
            var words = vectorizer.Tokenize(texts[i]);
            var tokens = new List<string>();
            var values = new List<float>();
            for (int p = 0; p < length; p++)
            {
                int id = (int)ids.Span[i * length + p];
                if (id == 0)
                    continue; // padding
                tokens.Add(id == 1 && p < words.Count ? $"[UNK:{words[p]}]" : vocabulary[id]);
                values.Add(attribution.Map.Span[i * length + p]);
            }
            rows.Add(new TokenRow([.. tokens], [.. values], words.Count));
        }
        return rows;
    }

    // ------------------------------------------------------------------ permutation importance

    private static int Permutation(ExplainSettings s)
    {
        string source = s.Data!;
        if (!source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--data: --method permutation takes a CSV file of numbers, got '{source}'");
        if (!File.Exists(source))
            throw new FileNotFoundException($"--data: '{source}' does not exist", source);
        var model = ModelCommands.Load(s.Model); // compiled: its first metric scores the shuffles
        var spec = new DataSpec(source, null, null, s.LabelColumn, 0);
        if (model.TextInput is not null || DataSources.IsText(spec))
            throw new InvalidDataException(model.TextInput is not null
                ? $"model/data mismatch: model '{model.Name}' takes text; permutation importance shuffles the numeric feature columns of a CSV file"
                : $"--data: '{source}' holds texts (a '{DataSources.DefaultTextColumn}' column); permutation importance shuffles numeric feature columns");
        CsvData csv;
        if (TabularModels.Encoding(model) is { } encoding)
        {
            // Text columns: encoded by the model's own OneHotColumns (a value it was not trained on is none of its values).
            var task = TabularModels.IsRegression(model) ? TaskKind.Regression : TaskKind.Classification;
            var (x, y) = DataSources.LoadTable(spec with { Task = task }, encoding, whole: true).Train.ToTensors();
            csv = new CsvData(x, y.Reshape([y.Shape[0]]), [.. encoding.Columns.Select(c => c.Name)], null);
        }
        else
        {
            csv = DataSources.LoadCsv(spec);
        }
        var input = ModelChecks.InputShape(model);
        int features = csv.Features.Shape[1];
        if (input.Rank != 1 || input[0] != features)
            throw new InvalidDataException($"model/data mismatch: model '{model.Name}' takes samples of shape {input}; '{source}' has {features} feature column(s) " +
                $"besides the label: {string.Join(", ", csv.FeatureNames)}");
        // A compiled model is scored by its first metric (or its loss); an uncompiled one by accuracy when it
        // scores classes, by the mean squared error when it has one output.
        Metrics.Metric? metric = null;
        if (model.Loss is null)
        {
            var probe = model.Predict(csv.Features.Slice(..1));
            int outputs = probe.Shape[probe.Rank - 1];
            metric = outputs > 1 ? new Metrics.SparseCategoricalAccuracy() : new Metrics.MeanSquaredErrorMetric();
        }
        var result = PermutationImportance.Compute(model, csv, metric, repeats: s.Repeats, seed: s.Seed);
        Console.Write(result.ToTable());
        Directory.CreateDirectory(s.Out);
        string table = Path.Combine(s.Out, "permutation.csv"), chart = Path.Combine(s.Out, "permutation.png");
        TrainRun.WriteAtomically(table, Report.PermutationCsv(result));
        Report.SavePermutationChart(chart, result, $"{model.Name} on {Path.GetFileName(source)}");
        Console.WriteLine($"table: {table}");
        Console.WriteLine($"chart: {chart}");
        return Commands.Ok;
    }
}

/// <summary>A text's tokens (padding left out) and their attributions; Total: the text's token count, also those past the model's sequence length.</summary>
internal sealed record TokenRow(string[] Tokens, float[] Values, int Total);

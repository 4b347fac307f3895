using System.Globalization;
using Spectre.Console;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Cli;

/// <summary>`strata evaluate`, `predict`, `summary` and `export`: commands on a saved model.</summary>
internal static class ModelCommands
{
    public static Model Load(string path, bool compile = true)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"model file '{path}' does not exist", path);
        return Model.Load(path, compile);
    }

    /// <summary>The model's name for output <paramref name="index"/> (its saved class names), else the index.</summary>
    public static string ClassName(Model model, int index) =>
        model.ClassNames is { } names && index < names.Count ? names[index] : index.ToString(CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------ evaluate

    public static int Evaluate(string modelPath, DataSpec spec, int batchSize, int threads)
    {
        KernelSettings.MaxThreads = threads;
        var model = Load(modelPath);
        bool regression = TabularModels.IsRegression(model);
        if (model.Loss is null && regression)
            model.Compile(new Adam(), new MeanSquaredError(), "mae", "rmse"); // for its loss and metrics; nothing is trained
        else if (model.Loss is null)
            model.Compile(new Adam(), new SparseCategoricalCrossentropy(), "accuracy");
        (Dataset Test, IReadOnlyList<string> ClassNames, string Description) data;
        if (DataSources.IsText(spec))
        {
            var text = DataSources.LoadText(spec);
            data = (text.Test.ToDataset(DataSources.VectorizerOf(model, text.Description)), text.ClassNames, text.Description);
        }
        else
        {
            if (model.TextInput is not null)
                throw new InvalidDataException($"model/data mismatch: model '{model.Name}' takes text (its first layer is TextVectorization); {spec.Source} is not text");
            if (spec.Source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                spec = spec with { Task = regression ? TaskKind.Regression : TaskKind.Classification }; // the model's task, not the labels' guess
            var loaded = DataSources.Load(spec, TabularModels.Encoding(model));
            data = (loaded.Test, loaded.ClassNames, loaded.Description);
        }
        var test = ModelChecks.Conform(model, data.Test, data.Description, data.ClassNames);
        var (x, y) = test.ToTensors();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var results = model.Evaluate(x, y, batchSize);
        var probabilities = model.Predict(x, batchSize);
        double seconds = watch.Elapsed.TotalSeconds;

        var console = AnsiConsole.Console;
        console.MarkupLine($"[bold]{Markup.Escape(model.Name)}[/] ({Markup.Escape(modelPath)}) on {Markup.Escape(data.Description)}, test split: {test.Count:N0} samples");
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (k, v) in results)
            table.AddRow(k, v.ToString("0.0000", CultureInfo.InvariantCulture));
        console.Write(table);
        if (regression)
        {
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{test.Count / Math.Max(seconds, 1e-9):N0} samples/s ({seconds:0.00} s, {threads} thread(s))"));
            return Commands.Ok;
        }

        int k2 = data.ClassNames.Count;
        var confusion = Report.Confusion([.. y.ToArray().Select(v => (int)v)], Report.ArgMax(probabilities), k2);
        console.WriteLine("Confusion matrix (rows: true class, columns: predicted class):");
        var cm = new Table().Border(TableBorder.Simple).AddColumn("true \\ predicted");
        foreach (var n in data.ClassNames)
            cm.AddColumn(new TableColumn(Markup.Escape(n)).RightAligned());
        for (int r = 0; r < k2; r++)
        {
            var cells = new List<string> { Markup.Escape(data.ClassNames[r]) };
            for (int c = 0; c < k2; c++)
                cells.Add(r == c ? $"[bold]{confusion[r, c]}[/]" : confusion[r, c].ToString(CultureInfo.InvariantCulture));
            cm.AddRow(cells.ToArray());
        }
        console.Write(cm);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{test.Count / Math.Max(seconds, 1e-9):N0} samples/s ({seconds:0.00} s, {threads} thread(s))"));
        return Commands.Ok;
    }

    // ------------------------------------------------------------------ predict

    public static int Predict(string modelPath, string[] inputs, int top, int threads, bool plainText = false)
    {
        KernelSettings.MaxThreads = threads;
        var model = Load(modelPath, compile: false);
        if (model.TextInput is not null)
            return PredictTexts(model, inputs, top, plainText);
        var (names, x) = ReadSamples(model, inputs, "predict");
        PrintPredictions(model, names, model.Predict(x, batchSize: 256), top);
        return Commands.Ok;
    }

    /// <summary>
    /// The samples of image files (read by <see cref="ImageSample"/>) and CSV files (one sample per row, <see cref="CsvRows"/>)
    /// as one batch [samples, ...the model's input shape], with a name per sample (the file, or file:line for a CSV row);
    /// folders give the image and CSV files in them (<see cref="MessageFiles.Expand"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">No samples, or a file the model cannot take (the message names it).</exception>
    public static (List<string> Names, Tensor Samples) ReadSamples(Model model, IEnumerable<string> inputs, string command, bool csv = true)
    {
        var shape = ModelChecks.InputShape(model);
        var names = new List<string>();
        var samples = new List<float[]>();
        bool IsSampleFile(string f) => (csv && f.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) || Images.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant());
        foreach (var input in MessageFiles.Expand(inputs, IsSampleFile, csv ? "images or CSV files" : "images"))
        {
            if (input.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            {
                if (!csv)
                    throw new UsageException($"{command}: '{input}' is a CSV file; it takes image files (the rows of a CSV file are explained with --data FILE --method permutation)");
                var rows = TabularModels.Encoding(model) is { } encoding ? EncodedRows(input, encoding) : CsvRows(input, shape);
                foreach (var (line, row) in rows)
                {
                    names.Add($"{input}:{line}");
                    samples.Add(row);
                }
            }
            else
            {
                names.Add(input);
                samples.Add(ImageSample(input, shape, model.Name));
            }
        }
        if (samples.Count == 0)
            throw new InvalidDataException($"{command}: the inputs hold no samples");
        var x = Tensor.Zeros([samples.Count, .. shape.ToArray()]);
        var xs = x.AsWritableSpan();
        for (int i = 0; i < samples.Count; i++)
            samples[i].CopyTo(xs.Slice(i * shape.Size, shape.Size));
        return (names, x);
    }

    /// <summary>Text files and mail messages through a model that starts with its TextVectorization (<see cref="MessageFiles"/>).</summary>
    private static int PredictTexts(Model model, string[] inputs, int top, bool plainText)
    {
        var (names, texts) = ReadTexts(model, inputs, plainText);
        PrintPredictions(model, names, model.Predict(texts, batchSize: 256), top);
        return Commands.Ok;
    }

    /// <summary>The files (or the files in the folders) as messages for a text model, each read by <see cref="MessageFiles.Read"/>, with their names.</summary>
    /// <exception cref="InvalidDataException">An image file, or a file that is not text (the message names it).</exception>
    public static (List<string> Names, List<string> Texts) ReadTexts(Model model, IEnumerable<string> inputs, bool plainText)
    {
        var names = new List<string>();
        var texts = new List<string>();
        foreach (var input in MessageFiles.Expand(inputs, _ => true, "files"))
        {
            if (Images.Extensions.Contains(Path.GetExtension(input).ToLowerInvariant()))
                throw new InvalidDataException($"model/data mismatch: model '{model.Name}' takes text (its first layer is TextVectorization); '{input}' is an image");
            names.Add(input);
            texts.Add(MessageFiles.Read(input, plainText).Text);
        }
        return (names, texts);
    }

    /// <summary>One line per input: its name, the most probable class and its probability, then the next <paramref name="top"/> − 1.</summary>
    private static void PrintPredictions(Model model, List<string> names, Tensor probabilities, int top)
    {
        if (TabularModels.IsRegression(model))
        {
            // A regression predicts one number per sample: printed as it is (7 significant digits, a float's).
            var values = probabilities.ToArray();
            for (int i = 0; i < names.Count; i++)
                Console.WriteLine($"{names[i]}: {values[i].ToString("G7", CultureInfo.InvariantCulture)}");
            return;
        }
        int k = probabilities.Shape[probabilities.Rank - 1];
        var p = probabilities.ToArray();
        for (int i = 0; i < names.Count; i++)
        {
            var ranked = Enumerable.Range(0, k).OrderByDescending(c => p[i * k + c]).Take(Math.Min(top, k)).ToArray();
            string rest = string.Join(", ", ranked.Skip(1).Select(c => $"{ClassName(model, c)} {Report.Percent(p[i * k + c], 1)}"));
            Console.WriteLine($"{names[i]}: {ClassName(model, ranked[0])} {Report.Percent(p[i * k + ranked[0]], 1)}" + (rest.Length > 0 ? $" (then {rest})" : ""));
        }
    }

    /// <summary>An image file as the model's input: resized, grayscale or RGB as the input has 1 or 3 channels, pixels scaled to [0, 1].</summary>
    public static float[] ImageSample(string path, Shape input, string modelName)
    {
        if (Path.GetExtension(path).ToLowerInvariant() is ".txt" or ".eml")
            throw new InvalidDataException($"model/data mismatch: model '{modelName}' takes samples of shape {input}, not text; '{path}' is a text file (give it to a text model: lstm, gru, rcnn, bow)");
        int channels = input.Rank switch { 2 => 1, 3 => input[2], _ => 0 };
        if (channels is not (1 or 3))
            throw new InvalidDataException($"model/data mismatch: model '{modelName}' takes samples of shape {input}, not images; '{path}' is an image (give CSV rows)");
        var image = Images.Load(path, channels == 1 ? ColorMode.Grayscale : ColorMode.Rgb, (input[0], input[1]));
        var values = image.ToArray();
        System.Numerics.Tensors.TensorPrimitives.Multiply(values, 1f / 255f, values);
        return values;
    }

    /// <summary>
    /// The rows of a CSV file as samples of an input of F values (a vector of F features, or an image of
    /// F pixels read row by row): each row holds F numbers, or F + 1 with the label last (ignored). A
    /// first line that is not all numbers is a header.
    /// </summary>
    private static IEnumerable<(int Line, float[] Row)> CsvRows(string path, Shape input)
    {
        int f = input.Size;
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            var fields = text.Split(',');
            var values = new float[fields.Length];
            bool numeric = true;
            int check = fields.Length == f + 1 ? f : fields.Length; // a label last may be text (a class name): it is not read
            for (int i = 0; i < check && numeric; i++)
                numeric = float.TryParse(fields[i].Trim().Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]);
            if (!numeric)
            {
                if (line == 1)
                    continue; // the header
                throw new InvalidDataException($"{path}, line {line}: expected {f} numbers (or {f + 1} with the label last), got '{text}'");
            }
            if (fields.Length != f && fields.Length != f + 1)
                throw new InvalidDataException($"model/data mismatch: {path}, line {line} has {fields.Length} values; the model takes {f} features (or {f + 1} with the label last)");
            int infinite = Array.FindIndex(values, v => !float.IsFinite(v));
            if (infinite >= 0)
                throw new InvalidDataException($"{path}, line {line}, column {infinite + 1}: '{fields[infinite].Trim()}' is outside float32's range (±{float.MaxValue:G9}) or not a number");
            yield return (line, values[..f]);
        }
    }

    /// <summary>
    /// The rows of a CSV file for a model that starts with <see cref="Layers.OneHotColumns"/>: a header that names the
    /// model's columns picks them by name (in any order, other columns ignored); without one each row holds the
    /// columns in the model's order, or those and the label last (ignored). Text values are encoded by the layer,
    /// which rejects a value it was not trained on, naming the column, the value and the line.
    /// </summary>
    private static IEnumerable<(int Line, float[] Row)> EncodedRows(string path, Layers.OneHotColumns encoding)
    {
        var records = CsvTable.ReadRecords(path);
        var names = encoding.Columns.Select(c => c.Name).ToArray();
        int f = names.Length;
        int[] map = [.. Enumerable.Range(0, f)];
        int start = 0;
        if (records.Count > 0 && records[0].Fields.Select(x => x.Trim()).ToList() is var first && names.All(first.Contains))
        {
            map = [.. names.Select(n => first.IndexOf(n))];
            start = 1;
        }
        var fields = new string[f];
        foreach (var (line, row) in records.Skip(start))
        {
            if (start == 0 && row.Length != f && row.Length != f + 1)
                throw new InvalidDataException($"model/data mismatch: {path}, line {line} has {row.Length} values; the model takes the {f} columns {string.Join(", ", names)} (or {f + 1} with the label last), or a header naming them");
            if (start == 1 && row.Length != records[0].Fields.Length)
                throw new InvalidDataException($"{path}, line {line}: expected {records[0].Fields.Length} fields (as the header), got {row.Length}");
            for (int i = 0; i < f; i++)
                fields[i] = row[map[i]];
            var values = new float[f];
            encoding.Encode(fields, values, unknownAsNone: false, where: $"{path} line {line}");
            yield return (line, values);
        }
    }

    // ------------------------------------------------------------------ summary and export

    public static int Summary(string modelPath)
    {
        var model = Load(modelPath);
        Console.Write(model.Summary());
        Console.WriteLine($"Input shape: {ModelChecks.InputShape(model)}");
        if (model.ClassNames is { } names)
            Console.WriteLine($"Classes ({names.Count}): {string.Join(", ", names)}");
        if (model.Optimizer is { } o)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Compiled: {o.GetType().Name} (learning rate {o.LearningRate:G4}), loss {model.Loss!.GetType().Name}, metrics {string.Join(", ", model.Metrics.Select(m => m.Name))}; {model.CompletedEpochs} epoch(s) trained"));
        return Commands.Ok;
    }

    public static int Export(string modelPath, string onnxPath)
    {
        var model = Load(modelPath, compile: false);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(onnxPath));
        if (dir is not null && !Directory.Exists(dir))
            throw new DirectoryNotFoundException($"export: the folder of '{onnxPath}' does not exist");
        model.ExportOnnx(onnxPath);
        Console.WriteLine($"wrote {onnxPath} ({new FileInfo(onnxPath).Length:N0} bytes): ONNX opset 17, input [batch, {string.Join(", ", ModelChecks.InputShape(model).ToArray())}]");
        return Commands.Ok;
    }
}

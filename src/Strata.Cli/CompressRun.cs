using System.Globalization;
using Strata.Compression;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Cli;

/// <summary>Which of `strata compress`'s three ways: --quantize, --prune or --distill-from.</summary>
internal enum CompressMode
{
    Quantize,
    Prune,
    Distill,
}

internal sealed record CompressSettings(string? Model, CompressMode Mode, bool Dynamic, int Calibration, float Sparsity, bool Structured,
    string? Teacher, string Student, float Temperature, float Alpha, int Epochs, int BatchSize, string Optimizer, float? LearningRate,
    int Samples, ulong Seed, int Repeats, int Threads, string Out, DataSpec Data);

/// <summary>
/// One model's column of the report: its file's size (written without optimizer state), its parameters (every
/// weight value, int8 codes included) and those that are not zero, its test loss and accuracy, and its inference
/// samples/s (<see cref="QuickBench.InferenceRate"/>: median, minimum, maximum).
/// </summary>
internal sealed record ModelFigures(string Name, string Path, long FileBytes, long Parameters, long NonzeroParameters, long Int8Parameters,
    float Loss, float? Accuracy, double SamplesPerSecond, double MinSamplesPerSecond, double MaxSamplesPerSecond, string Summary);

/// <summary>What a `strata compress` run leaves for its report.</summary>
internal sealed record CompressResult(CompressMode Mode, string Method, IReadOnlyList<(string Key, string Value)> Settings, ModelFigures Before,
    ModelFigures After, IReadOnlyDictionary<string, float>? Sparsity, History? History, IReadOnlyList<double> TrainSeconds, int TrainSamples,
    int TestSamples, int Repeats, int Threads, bool Deflated, DateTime Started);

/// <summary>
/// `strata compress`: a trained model made smaller or faster through <see cref="Strata.Compression"/> — int8
/// quantization (<see cref="Quantizer.QuantizeStatic"/> calibrated on the first --calibration training samples, or
/// <see cref="Quantizer.QuantizeDynamic"/>), magnitude pruning during fine-tuning (<see cref="MagnitudePruning"/> on a
/// <see cref="PolynomialDecay"/> schedule, then <see cref="Pruning.Strip"/>), structured pruning
/// (<see cref="StructuredPruning.RemoveFilters(Sequential, IReadOnlyDictionary{string, float}, FilterNorm, ulong)"/>
/// then fine-tuning) or distillation (<see cref="Distiller"/>, keeping its student). The new model is saved as
/// DIR/model.strata and loaded back from there to be measured; both models are measured the same way on the same
/// test split, and the report (console table, DIR/report.html, DIR/metrics.json) sets them side by side.
/// </summary>
internal static class CompressRun
{
    /// <summary>Evaluation and timed inference run in batches of this size.</summary>
    public const int InferenceBatch = 256;

    public const string ModelFile = "model.strata";

    public static int Run(CompressSettings s)
    {
        KernelSettings.MaxThreads = s.Threads;
        var started = DateTime.Now;
        string beforePath = s.Model ?? s.Teacher!;
        CheckFile(s.Model is null ? "--distill-from" : "model", beforePath);
        if (s.Teacher is not null)
            CheckFile("--distill-from", s.Teacher);
        string modelPath = Path.Combine(s.Out, ModelFile);
        foreach (var input in new[] { s.Model, s.Teacher })
        {
            if (input is not null && Path.GetFullPath(input) == Path.GetFullPath(modelPath))
                throw new UsageException($"--out: '{s.Out}' would overwrite '{input}' with the compressed model; choose another folder");
        }
        if (s.Mode == CompressMode.Distill && !Presets.Names.Contains(s.Student) && !File.Exists(s.Student)
            && !(s.Student.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || s.Student.Contains(Path.DirectorySeparatorChar)))
            throw new UsageException($"--student: unknown preset '{s.Student}' (expected {string.Join(", ", Presets.Names)}, or a spec .json file)");
        if (DataSources.IsText(s.Data))
            throw new UsageException($"compress: text data ({s.Data.Source}) is not supported yet; compress takes image and number data");

        var before = ModelCommands.Load(beforePath, compile: false);
        if (before.TextInput is not null)
            throw new InvalidDataException($"compress: model '{before.Name}' ({beforePath}) takes text (its first layer is TextVectorization); compress takes image and number models");
        if ((s.Mode == CompressMode.Quantize || s.Structured) && before is not Sequential)
            throw new InvalidDataException($"{(s.Mode == CompressMode.Quantize ? "--quantize" : "--structured")}: model '{before.Name}' ({beforePath}) is a functional model; " +
                $"{(s.Mode == CompressMode.Quantize ? "int8 quantization" : "structured pruning")} takes a Sequential model");
        if (TabularModels.IsRegression(before))
            throw new InvalidDataException($"compress: model '{before.Name}' ({beforePath}) is a regression (one number out); compress reports test accuracy and takes classifiers only, for now");
        var data = DataSources.Load(s.Data, TabularModels.Encoding(before)); // a table's text columns: the model's vocabularies
        var train = ModelChecks.Conform(before, data.Train, data.Description, data.ClassNames);
        if (s.Samples > 0 && s.Samples < train.Count)
            train = train.Subset([.. Enumerable.Range(0, s.Samples)]);
        var test = ModelChecks.Conform(before, data.Test, data.Description, data.ClassNames);
        var (tx, ty) = test.ToTensors();

        var settings = new List<(string, string)>
        {
            ("model", $"{before.Name} ({beforePath}, {new FileInfo(beforePath).Length:N0} bytes as given)"),
            ("data", data.Description),
            ("test samples", $"{test.Count:N0}"),
        };
        // Each way works on copies, so the model before is measured as it came; what the library refuses
        // (a layer it cannot quantize or rewrite, a student that does not fit the teacher) stops the run before any training.
        var (after, method, history, timer) = s.Mode switch
        {
            CompressMode.Quantize => Quantize((Sequential)before, train, s, settings),
            CompressMode.Prune => Prune(before, train, s, settings),
            _ => Distill(before, beforePath, train, data, s, settings),
        };
        after.ClassNames ??= before.ClassNames ?? data.ClassNames;
        settings.AddRange([("threads", $"{s.Threads}"), ("output", Path.GetFullPath(s.Out))]);

        Directory.CreateDirectory(s.Out);
        bool deflate = s.Mode == CompressMode.Prune && !s.Structured; // the zeros of a pruned kernel deflate away
        var beforeFigures = Measure(before, beforePath, Resaved(before, s.Out, deflate), tx, ty, s.Repeats);
        after.Save(modelPath, compressWeights: deflate);
        var saved = Model.Load(modelPath, compile: false); // what is measured is what was written
        var afterFigures = Measure(saved, modelPath, new FileInfo(modelPath).Length, tx, ty, s.Repeats);
        var sparsity = s.Mode == CompressMode.Prune && !s.Structured ? Pruning.Sparsity(saved) : null;

        var result = new CompressResult(s.Mode, method, settings, beforeFigures, afterFigures, sparsity, history, timer?.TrainSeconds ?? [],
            train.Count, test.Count, s.Repeats, s.Threads, deflate, started);
        Report.PrintCompress(result);
        string report = Path.Combine(s.Out, "report.html");
        TrainRun.WriteAtomically(report, Report.CompressHtml(result));
        TrainRun.WriteAtomically(Path.Combine(s.Out, "metrics.json"), Report.CompressJson(result, modelPath, report));
        Console.WriteLine($"model: {Path.GetFullPath(modelPath)}");
        Console.WriteLine($"report: {Path.GetFullPath(report)}");
        return Commands.Ok;
    }

    private static void CheckFile(string option, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{(option == "model" ? "" : option + ": ")}model file '{path}' does not exist", path);
    }

    // ------------------------------------------------------------------ the three ways

    private static (Model, string, History?, EpochTimer?) Quantize(Sequential model, Dataset train, CompressSettings s, List<(string, string)> settings)
    {
        if (s.Dynamic)
        {
            settings.Add(("quantization", "dynamic int8: Dense weights int8 per output unit, each batch's inputs quantized by their own range"));
            return (Refused("--quantize int8 --dynamic", () => Quantizer.QuantizeDynamic(model)), "dynamic int8 quantization", null, null);
        }
        int n = Math.Min(s.Calibration, train.Count);
        var (calibration, _) = train.Subset([.. Enumerable.Range(0, n)]).ToTensors();
        settings.Add(("quantization", $"static int8: weights per output channel, activations per tensor calibrated (min/max) on the first {n:N0} training samples"));
        return (Refused("--quantize int8", () => Quantizer.QuantizeStatic(model, calibration)), "static int8 quantization", null, null);
    }

    /// <summary>What the library makes, or its refusal (an ArgumentException naming the layer or value) as a failure that names the option.</summary>
    private static T Refused<T>(string option, Func<T> make)
    {
        try
        {
            return make();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            throw new InvalidDataException($"{option}: {e.Message}", e);
        }
    }

    private static (Model, string, History?, EpochTimer?) Prune(Model model, Dataset train, CompressSettings s, List<(string, string)> settings)
    {
        string sparsity = s.Sparsity.ToString("0.###", CultureInfo.InvariantCulture);
        if (s.Structured)
        {
            var seq = (Sequential)model;
            // The output layer (the last Dense or convolution) keeps its units: they are the classes.
            var layers = seq.Layers.Where(l => l is Dense or Conv2D or Conv1D).SkipLast(1).ToList();
            if (layers.Count == 0)
                throw new InvalidDataException($"--structured: model '{model.Name}' has no Dense, Conv2D or Conv1D layer before its output layer to remove filters or units from");
            var fractions = layers.ToDictionary(l => l.Name, _ => s.Sparsity);
            var smaller = Refused($"--prune {sparsity} --structured", () => StructuredPruning.RemoveFilters(seq, fractions, FilterNorm.L1, s.Seed));
            var kept = string.Join(", ", layers.Select(l => $"{l.Name} {Units(l)} → {Units(smaller.Layers.First(x => x.Name == l.Name))}"));
            settings.Add(("pruning", $"structured: {sparsity} of the filters / units of each layer but the output layer removed (smallest L1 norm): {kept}"));
            var (h, t) = FineTune(smaller, train, s, settings, []);
            return (Pruning.Strip(smaller), $"structured pruning ({sparsity} of the filters / units removed)", h, t);
        }
        var schedule = Schedule(s.Sparsity, Steps(train.Count, s.BatchSize) * s.Epochs);
        var pruning = new MagnitudePruning(schedule);
        settings.Add(("pruning", $"magnitude, per layer, every prunable kernel (biases kept): {schedule}"));
        var copy = Pruning.Strip(model); // the same architecture and weights, so that the original is measured as it came
        Refused("--prune", () => Pruning.PrunableLayers(copy)); // a model without a prunable layer fails here, before training
        var (history, timer) = FineTune(copy, train, s, settings, [pruning]);
        return (Pruning.Strip(copy), $"magnitude pruning to {sparsity} sparsity", history, timer);
    }

    private static int Units(Layer l) => l switch { Dense d => d.Units, ConvolutionLayer c => c.Filters, _ => 0 };

    private static long Steps(int samples, int batchSize) => (samples + batchSize - 1) / batchSize;

    /// <summary>
    /// Sparsity 0 → <paramref name="sparsity"/> along TF-MOT's polynomial decay (power 3) over the first half of
    /// the <paramref name="steps"/> (rounded down to a whole number of mask updates, at most 100 steps apart, at least 4
    /// updates where there are steps for them), then held; a run of a single step prunes to it at once.
    /// </summary>
    public static PruningSchedule Schedule(float sparsity, long steps)
    {
        long ramp = steps / 2;
        if (ramp < 1)
            return new ConstantSparsity(sparsity, beginStep: 0, endStep: 0, frequency: 1);
        int frequency = (int)Math.Clamp(ramp / 4, 1, 100);
        return new PolynomialDecay(0, sparsity, beginStep: 0, endStep: ramp / frequency * frequency, power: 3, frequency: frequency);
    }

    private static (Model, string, History?, EpochTimer?) Distill(Model before, string beforePath, Dataset train, LoadedData data, CompressSettings s,
        List<(string, string)> settings)
    {
        var teacher = Path.GetFullPath(s.Teacher!) == Path.GetFullPath(beforePath) ? before : ModelCommands.Load(s.Teacher!, compile: false);
        if (!ReferenceEquals(teacher, before))
            train = ModelChecks.Conform(teacher, train, data.Description, data.ClassNames); // the teacher must take the same samples; the student takes its shape
        var shape = ModelChecks.InputShape(teacher);
        bool preset = Presets.Names.Contains(s.Student);
        var student = Refused($"--student {s.Student}", () => preset
            ? Presets.Create(s.Student, shape.ToArray(), data.ClassNames.Count, s.Seed)
            : TrainRun.FromSpec(s.Student, s.Seed, "--student"));
        var distiller = Refused($"--student {s.Student}", () => new Distiller(teacher, student, s.Temperature, s.Alpha));
        settings.Add(("distillation", string.Create(CultureInfo.InvariantCulture,
            $"teacher {teacher.Name} ({s.Teacher}), student {student.Name} ({(preset ? "preset" : "spec")} {s.Student}), temperature {s.Temperature:G4}, alpha {s.Alpha:G4}: " +
            $"alpha · student loss + (1 − alpha) · KL(teacher ‖ student) · T²")));
        var (history, timer) = FineTune(distiller, train, s, settings, []);
        return (distiller.Student, $"distillation into {s.Student}", history, timer);
    }

    /// <summary>Compiles <paramref name="model"/> afresh (--optimizer, --learning-rate; sparse categorical cross-entropy) and trains it --epochs.</summary>
    private static (History, EpochTimer) FineTune(Model model, Dataset train, CompressSettings s, List<(string, string)> settings, Callback[] callbacks)
    {
        var optimizer = OptimizerNames.Create(s.Optimizer, s.LearningRate);
        if (model is Distiller d)
            d.Compile(optimizer, new SparseCategoricalCrossentropy(), null, "accuracy");
        else
            model.Compile(optimizer, new SparseCategoricalCrossentropy(), "accuracy");
        settings.Add(("training", $"{s.Epochs} epoch(s) on {train.Count:N0} training samples, batch size {s.BatchSize}, {TrainRun.Describe(optimizer)}, seed {s.Seed}"));
        var timer = new EpochTimer();
        var loader = new DataLoader(train, s.BatchSize, shuffle: true, s.Seed, workers: 1);
        var history = TrainRun.FitWithProgress(model, loader, s.Epochs, train.Count, s.BatchSize, timer, callbacks);
        if (model.StopReason is { } why)
            throw new InvalidOperationException(why);
        return (history, timer);
    }

    // ------------------------------------------------------------------ measuring

    /// <summary>The size of <paramref name="model"/>'s file as the compressed one is written (no optimizer state; deflated or not alike).</summary>
    private static long Resaved(Model model, string folder, bool deflate)
    {
        string path = Path.Combine(folder, $".before-{Guid.NewGuid():N}.strata");
        try
        {
            model.Save(path, compressWeights: deflate);
            return new FileInfo(path).Length;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The figures of an uncompiled model; it is compiled (Adam, sparse categorical cross-entropy, accuracy) to be evaluated.</summary>
    private static ModelFigures Measure(Model model, string path, long fileBytes, Tensor x, Tensor y, int repeats)
    {
        var weights = model.Weights.ToList();
        long parameters = weights.Sum(w => (long)w.Value.Size);
        long nonzero = weights.Sum(w => w.Value.Size - Zeros(w.Value.Span));
        long int8 = weights.Where(w => w.StoredAsInt8).Sum(w => (long)w.Value.Size);
        model.Compile(new Adam(), new SparseCategoricalCrossentropy(), "accuracy");
        // The same samples in this model's input shape (a student takes the teacher's: [28, 28, 1] where the model it replaces took [28, 28]).
        var input = ModelChecks.InputShape(model);
        if (new Shape(x.Shape.Dims[1..]) != input && x.Shape.Size == (long)x.Shape[0] * input.Size)
            x = x.Reshape([x.Shape[0], .. input.Dims]);
        var logs = model.Evaluate(x, y, InferenceBatch);
        var (median, min, max) = QuickBench.InferenceRate(model, x, InferenceBatch, repeats);
        return new ModelFigures(model.Name, path, fileBytes, parameters, nonzero, int8, logs["loss"],
            logs.TryGetValue("accuracy", out float a) ? a : null, median, min, max, model.Summary()); // after running: with its execution path
    }

    private static long Zeros(ReadOnlySpan<float> values)
    {
        long n = 0;
        foreach (float v in values)
        {
            if (v == 0)
                n++;
        }
        return n;
    }
}

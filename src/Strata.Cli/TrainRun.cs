using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;
using Strata.Training;

namespace Strata.Cli;

internal sealed record TrainSettings(string Model, DataSpec Data, int Epochs, int BatchSize, string Optimizer, float? LearningRate,
    bool Augment, float ValidationSplit, ulong Seed, int Threads, string Out, string? Resume, string? MetricsJson, int Samples,
    int? MaxTokens = null, int? SequenceLength = null, DistributedSettings? Distributed = null);

/// <summary>What --optimizer names: the optimizers <see cref="OptimizerRegistry"/> creates by name, each with its own default rate.</summary>
internal static class OptimizerNames
{
    public static IReadOnlyList<string> All => OptimizerRegistry.CreateNames;

    /// <exception cref="UsageException">A name the registry does not create (the message quotes it and the choices).</exception>
    public static Optimizer Create(string name, float? learningRate)
    {
        if (!All.Contains(name, StringComparer.OrdinalIgnoreCase))
            throw new UsageException($"--optimizer: unknown optimizer '{name}' (expected {string.Join(", ", All)})");
        return OptimizerRegistry.Create(name, learningRate);
    }
}

/// <summary>Checks that a model takes a data set's samples and scores its classes.</summary>
internal static class ModelChecks
{
    public static Shape InputShape(Model model) => model.Layers[0].InputShape;

    /// <summary>
    /// The data set as the model takes it: unchanged, or viewed with the model's input shape when the
    /// two differ only by axes of length 1 ([28, 28, 1] samples for a [28, 28] input).
    /// </summary>
    /// <exception cref="InvalidDataException">The shapes or the class counts do not match (the message quotes both).</exception>
    public static Dataset Conform(Model model, Dataset data, string dataName, IReadOnlyList<string> classNames)
    {
        var input = InputShape(model);
        int outputs = model.Layers[^1].OutputShape is { Rank: 1 } o ? o[0] : -1;
        // A regression's data has no class names; its model outputs one number.
        if (outputs != Math.Max(classNames.Count, 1))
            throw new InvalidDataException($"model/data mismatch: model '{model.Name}' outputs {(outputs < 0 ? $"shape {model.Layers[^1].OutputShape}" : outputs == 1 ? "1 value" : $"{outputs} class scores")}; " +
                (classNames.Count == 0 ? $"{dataName} is a regression (1 number per row)" : $"{dataName} has {classNames.Count} classes"));
        var sample = data.SampleShape;
        if (sample == input)
            return data;
        if (sample.Size == input.Size && Squeeze(sample).SequenceEqual(Squeeze(input)))
            return Dataset.FromFunction(data.Count, input, data.TargetShape, data.Read, data.ClassNames);
        throw new InvalidDataException($"model/data mismatch: model '{model.Name}' takes samples of shape {input}; {dataName} has samples of shape {sample}");
    }

    private static IEnumerable<int> Squeeze(Shape s) => s.ToArray().Where(d => d != 1);
}

/// <summary>
/// `strata demo` and `strata train`: load the data, build (or resume) the model, train it with a live
/// progress display, evaluate it on the test split, save it, and write the report and the metrics.
/// </summary>
internal static class TrainRun
{
    /// <summary>The preset `train` uses on text data when no --model is given.</summary>
    public const string DefaultTextPreset = "lstm";

    public static int Run(TrainSettings s, bool demo)
    {
        KernelSettings.MaxThreads = s.Threads;
        // Joined first: every rank fails alike when mpirun is missing; ranks other than 0 print nothing to stdout,
        // and only rank 0 writes to the output folder.
        using var dist = DistributedRun.Start(s);
        var console = AnsiConsole.Console;
        var started = DateTime.Now;
        bool isText = DataSources.IsText(s.Data);
        CheckModelForData(s, isText);
        // Taken before anything is loaded, so that a second run on the same folder is refused at once.
        using var folderLock = dist is { IsLead: false } ? null : RunLock.Acquire(s.Out);
        using var interruption = new Interruption();
        LoadedData data;
        Dataset train;
        Dataset? validation = null;
        Model model;
        int initialEpoch = 0, initialBatch = 0;
        string modelName;
        IReadOnlyList<string>? testTexts = null;
        string? textSettings = null;
        string? tabular = null; // what a CSV table's model has in front of the preset
        if (isText)
        {
            // Texts are cut and split first: the vocabulary is learned from the training part alone.
            var text = DataSources.LoadText(s.Data);
            var trainTexts = text.Train;
            if (s.Samples > 0 && s.Samples < trainTexts.Count)
                trainTexts = trainTexts.Subset([.. Enumerable.Range(0, s.Samples)]);
            TextDataset? validationTexts = null;
            if (s.ValidationSplit > 0)
                (trainTexts, validationTexts) = ValidationSplit(() => DataSources.SplitTexts(trainTexts, s.ValidationSplit, s.Seed));
            (model, initialEpoch, initialBatch, modelName) = CreateOrResume(s, TaskKind.Classification, () =>
            {
                var vectorizer = TextPresets.Vectorizer(s.Model, trainTexts.Texts, s.MaxTokens ?? TextPresets.DefaultMaxTokens,
                    s.SequenceLength ?? TextPresets.DefaultSequenceLength);
                return TextPresets.Create(s.Model, vectorizer, text.ClassNames.Count, s.Seed);
            });
            var v = DataSources.VectorizerOf(model, text.Description);
            if (!v.HasVocabulary)
                v.Adapt(trainTexts.Texts); // a spec file whose TextVectorization came without its vocabulary
            textSettings = Describe(v);
            data = new LoadedData(trainTexts.ToDataset(v), text.Test.ToDataset(v), text.ClassNames, text.Description, Images: false);
            train = data.Train;
            validation = validationTexts?.ToDataset(v);
            testTexts = text.Test.Texts;
        }
        else
        {
            (data, train, validation) = LoadSplits(s, s.Data, null);
            var (loaded, trainPart) = (data, train); // for the preset (a lambda cannot capture the out variables)
            (model, initialEpoch, initialBatch, modelName) = CreateOrResume(s, data.Task, () =>
            {
                if (loaded.TaskReason is null)
                    return CreatePreset(s.Model, trainPart.SampleShape, loaded.ClassNames.Count, s.Seed);
                (var m, tabular) = TabularModels.Create(s.Model, loaded, trainPart, s.Seed);
                return m;
            });
            if (model.TextInput is not null)
                throw new InvalidDataException($"model/data mismatch: model '{model.Name}' takes text (its first layer is TextVectorization); {data.Description} is not text");
            if (data.TaskReason is not null)
                (data, train, validation, tabular) = TabularModels.Conform(s, model, data, train, validation, tabular);
        }
        train = ModelChecks.Conform(model, train, data.Description, data.ClassNames);
        if (validation is not null)
            validation = ModelChecks.Conform(model, validation, data.Description, data.ClassNames);
        var test = ModelChecks.Conform(model, data.Test, data.Description, data.ClassNames);
        bool regression = data.Task == TaskKind.Regression;
        model.ClassNames = regression ? null : data.ClassNames;

        ISampleTransform? augment = null;
        if (s.Augment)
        {
            if (!data.Images || train.SampleShape.Rank != 3)
                throw new UsageException($"--augment needs images [height, width, channels] taken by the model; {data.Description} gives samples of shape {train.SampleShape}");
            augment = new ImageDataGenerator { RotationRange = 10, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ZoomRange = 0.1f };
        }

        string modelPath = Path.Combine(s.Out, "model.strata");
        var loader = new DataLoader(train, s.BatchSize, shuffle: true, s.Seed, transform: augment, workers: 1);
        if (initialBatch >= loader.BatchCount)
            throw new UsageException($"--resume: '{s.Resume}' stopped in epoch {initialEpoch + 1} after batch {initialBatch}, but this run's epochs have " +
                $"{loader.BatchCount} batch(es) ({train.Count:N0} samples in batches of {s.BatchSize}); resume with the interrupted run's --batch-size, --samples and --validation-split");
        var settings = new List<(string, string)>
        {
            ("model", modelName),
            ("data", data.Description),
            ("training samples", $"{train.Count:N0}" + (validation is null ? "" : $" (+ {validation.Count:N0} for validation)")),
            ("test samples", $"{test.Count:N0}"),
            ("epochs", initialBatch > 0 ? $"{s.Epochs} (from epoch {initialEpoch + 1}, batch {initialBatch + 1} of {loader.BatchCount})"
                : initialEpoch > 0 ? $"{s.Epochs} (from epoch {initialEpoch + 1})" : $"{s.Epochs}"),
            ("batch size", $"{s.BatchSize}"),
            ("optimizer", Describe(model.Optimizer!)),
            ("loss", model.Loss!.GetType().Name),
            ("augmentation", augment is null ? "none" : "rotation ±10°, shifts ±10%, zoom ±10%"),
            ("seed", $"{s.Seed}"),
            ("threads", $"{s.Threads}"),
            ("output", Path.GetFullPath(s.Out)),
        };
        if (textSettings is not null)
            settings.Insert(2, ("text", textSettings));
        if (dist is not null)
            settings.Add(dist.Setting(s.BatchSize));
        if (data.TaskReason is not null)
        {
            settings.Insert(2, ("task", $"{(regression ? "regression" : "classification")} ({data.TaskReason})"));
            settings.Insert(3, ("preprocessing", tabular ?? "none"));
            if (data.UnknownTestValues > 0)
                settings.Insert(4, ("unseen values", $"{data.UnknownTestValues} text value(s) of the test rows are not in the training vocabulary: encoded as none of its values"));
        }
        console.Write(new Rule(demo ? "[bold]Strata demo[/]: the seed CNN on MNIST" : "[bold]Strata train[/]").LeftJustified());
        var table = new Table().HideHeaders().Border(TableBorder.None).AddColumn("").AddColumn("");
        foreach (var (k, v) in settings)
            table.AddRow(new Text(k, new Style(Color.Grey)), new Text(v));
        console.Write(table);

        var timer = new EpochTimer();
        var validationLoader = validation is null ? null : new DataLoader(validation, 256, shuffle: false);
        var lastBatch = new LastBatchLogs();
        var guard = new TerminateOnNaN();
        var checkpoint = new ModelCheckpoint(modelPath, saveBestOnly: false); // skips an epoch whose loss is not finite
        // Distributed: this rank's shards, the gradients averaged over the ranks, checkpoints from rank 0 only.
        using var session = dist?.Attach(model, loader, validationLoader, initialEpoch, initialBatch, interruption.Token);
        var history = FitWithProgress(model, session?.Train ?? loader, s.Epochs, session?.Train.SampleCount ?? train.Count, s.BatchSize, timer,
            dist is { IsLead: false } ? [guard, lastBatch] : [guard, checkpoint, lastBatch], session?.Validation ?? validationLoader,
            initialEpoch, initialBatch, session?.Token ?? interruption.Token);
        if (dist is { IsLead: false })
            return guard.At is not null ? Commands.Failed : session!.Token.IsCancellationRequested ? Commands.Interrupted : Commands.Ok;
        // A run that diverged stops as a divergence even when a signal came after: its checkpoint is the last good epoch, not this point.
        var stop = guard.At is null ? InterruptedRun.After(model, s, interruption, modelPath, loader.BatchCount, lastBatch, initialEpoch, initialBatch, dist?.Replicas) : null;
        bool told = false;
        if (stop is { Trained: true } && dist is not null)
        {
            // mpirun sends SIGKILL one second after its SIGTERM (odls_base_sigkill_timeout): say where the checkpoint is
            // now, before the evaluation and the report, which may not finish in that time.
            foreach (var line in stop.Lines)
                Console.Out.WriteLine(line);
            Console.Out.Flush();
            told = true;
        }
        if (stop is { Trained: false })
        {
            foreach (var line in stop.Lines)
                Console.Out.WriteLine(line);
            return Commands.Interrupted;
        }
        if (stop is not null)
            settings.Add(("interrupted", stop.Message));
        if (session is not null)
        {
            string traffic = session.Traffic.ToString();
            settings.Add(("gradient all-reduce", $"rank 0: {traffic}"));
            Console.Out.WriteLine($"Gradient all-reduce (rank 0): {traffic}");
        }
        string? stopped = null;
        string? goodModel = modelPath; // the model file the run leaves, or null
        if (guard.At is { } at)
        {
            // Diverged: stop at that batch (or at the end of the epoch whose validation loss was not finite), keep the
            // last good checkpoint as the model — this run's, or the one it resumed from — and still report.
            goodModel = checkpoint.Saved.Count > 0 ? modelPath : s.Resume;
            string where = at.Batch >= 0 ? $"at epoch {at.Epoch + 1}, batch {at.Batch + 1} of {loader.BatchCount}" : $"at the end of epoch {at.Epoch + 1}";
            string lr = Describe(model.Optimizer!);
            if (goodModel is not null)
                model = Model.Load(goodModel);
            stopped = string.Create(CultureInfo.InvariantCulture,
                $"training diverged: the {at.Key} became {at.Value} {where}; try a lower learning rate ({lr} now, --learning-rate{(s.Resume is null ? "" : "; it applies to a resumed run too")}). ") +
                (goodModel is null ? "No epoch of this run ended with a finite loss, so this run saved no model; the test figures are the diverged model's."
                    : $"{Path.GetFileName(goodModel)} ({goodModel}) holds the model " +
                      (model.CompletedBatches > 0 ? $"in epoch {model.CompletedEpochs + 1} after batch {model.CompletedBatches}" : $"after epoch {model.CompletedEpochs}") +
                      ", the last with a finite loss; the test figures are that model's.");
            console.MarkupLine($"[red]{Markup.Escape(stopped)}[/]");
        }
        bool savedModel = goodModel is not null;

        var evalWatch = Stopwatch.StartNew();
        var (tx, ty) = test.ToTensors();
        var results = model.Evaluate(tx, ty, batchSize: 256);
        var probabilities = model.Predict(tx, batchSize: 256);
        double evalSeconds = evalWatch.Elapsed.TotalSeconds; // model.strata: saved by the checkpoint after the last epoch
        var explanations = Report.Explanations(model, tx, ty, probabilities, data.ClassNames, data.Images, data.FeatureNames, testTexts);

        var trainRates = timer.TrainSeconds.Select((t, i) => timer.SamplesOf(i, train.Count, s.BatchSize) / Math.Max(t, 1e-9)).ToList();
        double medianRate = Median(trainRates);
        var run = new RunResult(
            Title: demo ? "Strata demo: the seed CNN on MNIST" : $"Strata: {modelName} on {data.Description}",
            Settings: settings,
            History: history,
            FirstEpoch: initialEpoch + 1,
            Test: results,
            TestImages: tx,
            TestLabels: ty,
            Probabilities: probabilities,
            ClassNames: data.ClassNames,
            Regression: regression,
            Images: data.Images,
            TestTexts: testTexts,
            Explanations: explanations,
            Summary: model.Summary(),
            TrainSeconds: timer.TrainSeconds,
            EpochSeconds: timer.EpochSeconds,
            SamplesPerSecond: medianRate,
            EvaluateSeconds: evalSeconds,
            Started: started,
            Threads: s.Threads,
            TrainSamples: train.Count,
            Stopped: stopped,
            EpochSamples: [.. timer.TrainSeconds.Select((_, i) => timer.SamplesOf(i, train.Count, s.BatchSize))]);
        var files = Report.Write(s.Out, run);

        var metrics = new JsonObject
        {
            ["model"] = modelName,
            ["data"] = data.Description,
            ["test_loss"] = Number(results["loss"]),
            ["task"] = regression ? "regression" : "classification",
            ["test_accuracy"] = results.TryGetValue("accuracy", out float acc) ? Number(acc) : null,
            ["train_samples_per_second"] = Math.Round(medianRate, 1),
            ["epoch_seconds"] = new JsonArray([.. timer.EpochSeconds.Select(v => (JsonNode)Math.Round(v, 4))]),
            ["train_seconds"] = new JsonArray([.. timer.TrainSeconds.Select(v => (JsonNode)Math.Round(v, 4))]),
            ["threads"] = s.Threads,
            ["batch_size"] = s.BatchSize,
            ["epochs"] = s.Epochs,
            ["initial_epoch"] = initialEpoch,
            ["train_samples"] = train.Count,
            ["validation_samples"] = validation?.Count ?? 0,
            ["test_samples"] = test.Count,
            ["seed"] = s.Seed,
            ["history"] = new JsonObject(history.Keys.Select(k => KeyValuePair.Create(k, (JsonNode?)new JsonArray([.. history[k].Select(v => Number(v))])))),
            ["diverged"] = guard.At is not null,
            ["stopped"] = stopped,
            ["model_file"] = goodModel is null ? null : Path.GetFullPath(goodModel),
            ["report"] = Path.GetFullPath(files.Html),
        };
        double? meanMse = null;
        if (regression)
        {
            meanMse = TabularModels.MeanPredictorMse(train, ty);
            metrics["test_mse"] = Number(results["loss"]);
            metrics["test_mae"] = Number(results["mae"]);
            metrics["test_rmse"] = Number(results["rmse"]);
            metrics["test_mse_of_training_mean"] = Number(meanMse.Value);
        }
        if (stop is not null)
            metrics["interrupted"] = stop.Json();
        string metricsText = metrics.ToJsonString(new System.Text.Json.JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "1E+30", "model's": the file is read by people too
        });
        WriteAtomically(Path.Combine(s.Out, "metrics.json"), metricsText);
        if (s.MetricsJson is { } mj)
            WriteAtomically(mj, metricsText);

        console.Write(new Rule().LeftJustified());
        string accuracy = results.TryGetValue("accuracy", out float a) ? Report.Percent(a, 2) : "n/a";
        console.MarkupLine(regression
            ? string.Create(CultureInfo.InvariantCulture, $"[bold]test RMSE {results["rmse"]:G5}[/], MAE {results["mae"]:G5} (MSE {results["loss"]:G5}; predicting the training mean: MSE {meanMse:G5}) on {test.Count:N0} test samples")
            : string.Create(CultureInfo.InvariantCulture, $"[bold]test accuracy {accuracy}[/] (loss {results["loss"]:0.0000}) on {test.Count:N0} test samples"));
        console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"training: {timer.TrainSeconds.Sum():0.0} s over {timer.TrainSeconds.Count} epoch(s), median {EpochText.Rate(medianRate)}; evaluation {evalSeconds:0.0} s")));
        if (explanations is not null)
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"explanations: {explanations.Summary}, {explanations.Seconds:0.0} s")));
        if (savedModel)
            console.MarkupLine($"model: [link]{Markup.Escape(Path.GetFullPath(goodModel!))}[/]");
        else
            console.MarkupLine("model: none saved (training diverged before an epoch ended with a finite loss)");
        console.MarkupLine($"report: [link]{Markup.Escape(Path.GetFullPath(files.Html))}[/]");
        if (stop is not null)
        {
            Console.Out.Flush();
            if (!told)
            {
                foreach (var line in stop.Lines)
                    Console.Out.WriteLine(line);
            }
            return Commands.Interrupted;
        }
        return stopped is null ? Commands.Ok : Commands.Failed;
    }

    /// <summary>A figure for metrics.json: JSON has no NaN or infinity, so a non-finite value is written as null.</summary>
    internal static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    /// <summary>
    /// Fit with the progress display: the live bars on a terminal (<see cref="LiveProgress"/>), else a plain line
    /// per epoch (<see cref="PlainProgress"/>). <paramref name="timer"/> goes first among the callbacks (so that the
    /// others' work is not timed), then <paramref name="callbacks"/>, then the display.
    /// </summary>
    public static History FitWithProgress(Model model, DataLoader loader, int epochs, int samples, int batchSize, EpochTimer timer,
        IEnumerable<Callback> callbacks, DataLoader? validation = null, int initialEpoch = 0, int initialBatch = 0,
        CancellationToken cancellationToken = default)
    {
        var console = AnsiConsole.Console;
        var all = new List<Callback> { timer };
        all.AddRange(callbacks);
        if (console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            History history = null!;
            console.Progress().AutoClear(false).HideCompleted(false).Columns(LiveProgress.Columns()).Start(ctx =>
            {
                all.Add(new LiveProgress(ctx, epochs, samples, batchSize, timer));
                history = model.Fit(loader, epochs, validation, all, initialEpoch: initialEpoch, initialBatch: initialBatch,
                    cancellationToken: cancellationToken);
            });
            return history;
        }
        all.Add(new PlainProgress(Console.Out, epochs, samples, timer, batchSize));
        return model.Fit(loader, epochs, validation, all, initialEpoch: initialEpoch, initialBatch: initialBatch, cancellationToken: cancellationToken);
    }

    /// <summary>The data, its training split cut to --samples and split for --validation-split.</summary>
    internal static (LoadedData Data, Dataset Train, Dataset? Validation) LoadSplits(TrainSettings s, DataSpec spec, Layers.OneHotColumns? encoding)
    {
        var data = DataSources.Load(spec, encoding);
        var train = data.Train;
        Dataset? validation = null;
        if (s.Samples > 0 && s.Samples < train.Count)
            train = train.Subset([.. Enumerable.Range(0, s.Samples)]);
        if (s.ValidationSplit > 0)
            (train, validation) = ValidationSplit(() => train.Split(s.ValidationSplit, s.Seed));
        return (data, train, validation);
    }

    /// <summary>A validation split, or the reason it cannot be made as a usage mistake.</summary>
    private static (TFirst, TLast) ValidationSplit<TFirst, TLast>(Func<(TFirst, TLast)> split)
    {
        try
        {
            return split();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new UsageException($"--validation-split: {e.Message}");
        }
    }

    /// <summary>
    /// The model of the run: the checkpoint of --resume, compiled as it was; else <paramref name="preset"/>
    /// (for a preset name) or the spec file, compiled with --optimizer and --learning-rate.
    /// </summary>
    private static (Model Model, int InitialEpoch, int InitialBatch, string Name) CreateOrResume(TrainSettings s, TaskKind task, Func<Model> preset)
    {
        if (s.Resume is { } checkpoint)
        {
            var model = Model.Load(checkpoint);
            if (model.Optimizer is null || (model.CompletedEpochs == 0 && model.CompletedBatches == 0))
                throw new InvalidDataException($"--resume: '{checkpoint}' is not a training checkpoint (it holds no optimizer state or completed epochs)");
            int initialEpoch = model.CompletedEpochs, initialBatch = model.CompletedBatches;
            if (initialEpoch >= s.Epochs)
                throw new UsageException($"--resume: '{checkpoint}' has already trained {initialEpoch} epoch(s); pass --epochs greater than {initialEpoch}");
            string where = initialBatch > 0 ? $"in epoch {initialEpoch + 1} after batch {initialBatch}" : $"after epoch {initialEpoch}";
            string rate = "";
            if (s.LearningRate is float lr)
            {
                // The way out of a divergence: resume from the last good checkpoint with a lower rate.
                model.Optimizer.LearningRate = lr;
                rate = string.Create(CultureInfo.InvariantCulture, $", learning rate set to {lr:G4}");
            }
            return (model, initialEpoch, initialBatch, $"{model.Name} (resumed from {checkpoint} {where}{rate})");
        }
        bool isPreset = Presets.Names.Contains(s.Model) || TextPresets.IsTextPreset(s.Model);
        var created = isPreset ? preset() : FromSpec(s.Model, s.Seed);
        if (task == TaskKind.Regression)
            created.Compile(OptimizerNames.Create(s.Optimizer, s.LearningRate), new MeanSquaredError(), "mae", "rmse");
        else
            created.Compile(OptimizerNames.Create(s.Optimizer, s.LearningRate), new SparseCategoricalCrossentropy(), "accuracy");
        return (created, 0, 0, isPreset ? $"{s.Model} (preset)" : $"{created.Name} (spec {s.Model})");
    }

    /// <summary>
    /// Usage mistakes that need no data loaded: a preset of the other kind of data than --data gives, an
    /// unknown preset, text options without a text preset to take them.
    /// </summary>
    private static void CheckModelForData(TrainSettings s, bool isText)
    {
        string textPresets = string.Join(", ", TextPresets.Names), otherPresets = string.Join(", ", Presets.Names);
        if (s.Resume is null)
        {
            if (isText && Presets.Names.Contains(s.Model))
                throw new UsageException($"--model: '{s.Model}' is a preset for images and numbers, but {s.Data.Source} is text; the text presets are {textPresets}");
            if (!isText && TextPresets.IsTextPreset(s.Model))
                throw new UsageException($"--model: '{s.Model}' is a text preset, but {s.Data.Source} is not text " +
                    $"(text is {DataSources.SpamAssassinName}, a CSV file with a text column or a folder of <class>/*.txt); its presets are {otherPresets}");
            if (!Presets.Names.Contains(s.Model) && !TextPresets.IsTextPreset(s.Model) && !File.Exists(s.Model)
                && !(s.Model.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || s.Model.Contains(Path.DirectorySeparatorChar)))
                throw new UsageException($"--model: unknown preset '{s.Model}' (expected {(isText ? $"{textPresets} for text" : $"{otherPresets}; {textPresets} for text data")}, or a spec .json file)");
        }
        bool takesTextOptions = s.Resume is null && TextPresets.IsTextPreset(s.Model);
        foreach (var (option, value) in new[] { ("--max-tokens", s.MaxTokens), ("--sequence-length", s.SequenceLength) })
        {
            if (value is not null && !takesTextOptions)
                throw new UsageException($"{option} sizes the vectorizer of a new text preset ({textPresets}); " +
                    (s.Resume is not null ? "a resumed model keeps its own" : $"--model {s.Model} has none to size"));
        }
    }

    private static string Describe(TextVectorization v) => v.OutputMode == TextOutputMode.Int
        ? string.Create(CultureInfo.InvariantCulture, $"vocabulary of {v.VocabularySize:N0} tokens; the first {v.OutputSequenceLength} tokens of each text")
        : string.Create(CultureInfo.InvariantCulture, $"{v.OutputMode switch { TextOutputMode.TfIdf => "tf-idf", TextOutputMode.MultiHot => "multi-hot", _ => "counts" }} " +
            $"over a vocabulary of {v.VocabularySize:N0} entries{(v.Ngrams is int n and > 1 ? $" (1- to {n}-grams)" : "")}");

    /// <summary>An image-and-number preset sized for the data.</summary>
    private static Model CreatePreset(string name, Shape sampleShape, int classes, ulong seed)
    {
        try
        {
            return Presets.Create(name, sampleShape.ToArray(), classes, seed);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"model/data mismatch: {e.Message}", e);
        }
    }

    /// <summary>A model spec file: the JSON of a saved model's config.json.</summary>
    public static Model FromSpec(string path, ulong seed, string option = "--model")
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{option}: spec file '{path}' does not exist");
        return Model.FromConfig(File.ReadAllText(path), seed);
    }

    public static string Describe(Optimizer o) =>
        string.Create(CultureInfo.InvariantCulture, $"{o.GetType().Name}, learning rate {o.LearningRate:G4}");

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            return 0;
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>Writes text through a temporary name in the same folder, then renames it into place.</summary>
    public static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Serialization.AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(text);
        });
    }
}

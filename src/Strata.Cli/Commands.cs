using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using Strata.Distributed;

namespace Strata.Cli;

/// <summary>A mistake in how the command was called (exit code 2), as opposed to a failure while running it (1).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The command tree (System.CommandLine) and the exit-code policy: 0 on success; 2 for a usage
/// mistake (unknown command or option, a value of the wrong type or out of range, an unknown
/// preset); 1 for a failure while running (a missing file, unreadable data, a model that does not
/// fit the data); 130 for a training run stopped by Ctrl-C or SIGTERM that saved where it stopped
/// (a second signal exits at once with 1). Every failure is one line on stderr, starting "strata: ".
/// </summary>
internal static partial class Commands
{
    public const int Ok = 0, Failed = 1, Usage = 2, Interrupted = 130;

    public static int Run(string[] args)
    {
        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            string command = string.Join(' ', Path(parse.CommandResult.Command));
            Console.Error.WriteLine($"strata: {OneLine(parse.Errors[0].Message).TrimEnd('.')} (see '{command} --help')");
            return Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"strata: {OneLine(e.Message)}");
            return Usage;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException
            or InvalidOperationException or NotSupportedException or FormatException or InsufficientMemoryException)
        {
            // FileNotFoundException and DirectoryNotFoundException are IOExceptions.
            Console.Error.WriteLine($"strata: {OneLine(e.Message)}");
            return Failed;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("STRATA_DEBUG") is not ("1" or "true"))
        {
            // A fault of Strata's own, not of the input: still one line (STRATA_DEBUG=1 lets it through with its stack trace).
            Console.Error.WriteLine($"strata: internal error ({e.GetType().Name}): {OneLine(e.Message)}; set STRATA_DEBUG=1 for the stack trace");
            return Failed;
        }
    }

    private static IEnumerable<string> Path(Command c)
    {
        var names = new List<string>();
        for (Command? at = c; at is not null; at = at.Parents.OfType<Command>().FirstOrDefault())
            names.Insert(0, at is RootCommand ? "strata" : at.Name);
        return names;
    }

    private static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));

    /// <summary>An option's value for a validator, or null where the value did not parse (that error is already reported).</summary>
    private static T? Parsed<T>(System.CommandLine.Parsing.OptionResult r) where T : struct
    {
        try
        {
            return r.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static RootCommand Build()
    {
        var root = new RootCommand("Strata: build, train, evaluate and ship neural networks from the command line.");
        root.SetAction(_ =>
        {
            new HelpAction().Invoke(root.Parse("--help"));
            return Ok;
        });
        root.Subcommands.Add(DemoCommand());
        root.Subcommands.Add(TrainCommand());
        root.Subcommands.Add(EvaluateCommand());
        root.Subcommands.Add(PredictCommand());
        root.Subcommands.Add(ExplainCommand());
        root.Subcommands.Add(CompressCommand());
        root.Subcommands.Add(SummaryCommand());
        root.Subcommands.Add(ExportCommand());
        root.Subcommands.Add(GanCommand());
        root.Subcommands.Add(GenerateCommand());
        root.Subcommands.Add(BenchCommand());
        root.Subcommands.Add(InfoCommand());
        return root;
    }

    // ------------------------------------------------------------------ options shared by several commands

    private static Option<int> Positive(string name, string description, int defaultValue)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(r =>
        {
            if (Parsed<int>(r) is int v && v < 1)
                r.AddError($"{name} must be at least 1, got {v}");
        });
        return o;
    }

    private static Option<int> NonNegative(string name, string description)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => 0 };
        o.Validators.Add(r =>
        {
            if (Parsed<int>(r) is int v && v < 0)
                r.AddError($"{name} must be 0 or more, got {v}");
        });
        return o;
    }

    private static Option<int?> OptionalPositive(string name, string description)
    {
        var o = new Option<int?>(name) { Description = description };
        o.Validators.Add(r =>
        {
            if (Parsed<int>(r) is int v && v < 1)
                r.AddError($"{name} must be at least 1, got {v}");
        });
        return o;
    }

    private static Option<int> Threads() => Positive("--threads", "Threads for the kernels (default: the processor count)", Environment.ProcessorCount);

    private static Option<string> DataOption(string defaultValue) =>
        new("--data")
        {
            Description = "mnist, fashion-mnist, spam-assassin (the mail corpus shipped with Strata), a CSV file (a table of number and text columns and a label, or texts in a text column), " +
                "a folder of MNIST IDX files, or a class-folder tree (root/<class>/<image or .txt file>; with train/ and test/ subfolders, those are the splits)",
            DefaultValueFactory = _ => defaultValue,
        };

    private sealed record DataOptions(Option<string> Data, Option<string?> ImageSize, Option<string?> ColorMode, Option<string?> LabelColumn,
        Option<string?> TextColumn, Option<int> TestSamples)
    {
        public DataSpec Read(ParseResult p) => new(p.GetValue(Data)!, ParseSize(p.GetValue(ImageSize)), ParseColor(p.GetValue(ColorMode)),
            p.GetValue(LabelColumn), p.GetValue(TestSamples), p.GetValue(TextColumn));

        public void AddTo(Command c)
        {
            c.Options.Add(Data);
            c.Options.Add(ImageSize);
            c.Options.Add(ColorMode);
            c.Options.Add(LabelColumn);
            c.Options.Add(TextColumn);
            c.Options.Add(TestSamples);
        }
    }

    private static DataOptions DataOptionsFor(string defaultData) => new(
        DataOption(defaultData),
        new Option<string?>("--image-size") { Description = "Images from a folder are resized to HxW, e.g. 32x32 (default: the first image's size)" },
        new Option<string?>("--color-mode") { Description = "grayscale or rgb, for images from a folder (default: from the first image)" },
        new Option<string?>("--label-column") { Description = "The label column of a CSV file, by name (default: the last column; for texts, 'label' if there is one)" },
        new Option<string?>("--text-column") { Description = $"The text column of a CSV file of texts, by name (a file with a column named '{DataSources.DefaultTextColumn}' is texts without it)" },
        NonNegative("--test-samples", "Evaluate on the first N test samples only (0: all)"));

    private static (int, int)? ParseSize(string? s)
    {
        if (s is null)
            return null;
        var parts = s.ToLowerInvariant().Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int h) && h > 0
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int w) && w > 0)
            return (h, w);
        throw new UsageException($"--image-size: expected HEIGHTxWIDTH such as 32x32, got '{s}'");
    }

    private static Strata.Data.ColorMode? ParseColor(string? s) => s?.ToLowerInvariant() switch
    {
        null => null,
        "grayscale" or "gray" => Strata.Data.ColorMode.Grayscale,
        "rgb" => Strata.Data.ColorMode.Rgb,
        _ => throw new UsageException($"--color-mode: expected grayscale or rgb, got '{s}'"),
    };

    // ------------------------------------------------------------------ demo and train

    private sealed record TrainOptions(Option<int> Epochs, Option<int> BatchSize, Option<string> Optimizer, Option<float?> LearningRate,
        Option<bool> Augment, Option<float> ValidationSplit, Option<ulong> Seed, Option<int> Threads, Option<string> Out,
        Option<string?> MetricsJson, Option<int> Samples, Option<int?> MaxTokens, Option<int?> SequenceLength, DataOptions Data, Option<string?> Task)
    {
        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Epochs, BatchSize, Optimizer, LearningRate, Augment, ValidationSplit, Seed, Threads, Out, MetricsJson, Samples, MaxTokens, SequenceLength, Task })
                c.Options.Add(o);
            Data.AddTo(c);
        }

        public TrainSettings Read(ParseResult p, string model, string? resume)
        {
            ulong seed = p.GetValue(Seed);
            var data = Data.Read(p);
            if (p.GetValue(Task) is { } task)
            {
                if (!data.Source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || DataSources.IsText(data))
                    throw new UsageException($"--task applies to a CSV file of features and a label; {data.Source} is not one");
                data = data with { Task = task == "regression" ? TaskKind.Regression : TaskKind.Classification };
            }
            return new TrainSettings(model, data, p.GetValue(Epochs), p.GetValue(BatchSize), p.GetValue(Optimizer)!,
                p.GetValue(LearningRate), p.GetValue(Augment), p.GetValue(ValidationSplit), seed, p.GetValue(Threads), p.GetValue(Out)!,
                resume, p.GetValue(MetricsJson), p.GetValue(Samples), p.GetValue(MaxTokens), p.GetValue(SequenceLength));
        }
    }

    private static TrainOptions TrainOptionsFor(int epochs, string outDir, float validationSplit)
    {
        var split = new Option<float>("--validation-split") { Description = "Hold out this fraction of the training samples for validation (0: none)", DefaultValueFactory = _ => validationSplit };
        split.Validators.Add(r =>
        {
            if (Parsed<float>(r) is float v && !(v >= 0 && v < 1))
                r.AddError($"--validation-split must be in [0, 1), got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var lr = new Option<float?>("--learning-rate") { Description = "The optimizer's learning rate (default: the optimizer's own: 0.01 for sgd, momentum and nesterov, 0.001 otherwise)" };
        lr.Validators.Add(r =>
        {
            if (Parsed<float>(r) is float v && !(v > 0 && float.IsFinite(v)))
                r.AddError($"--learning-rate must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        return new TrainOptions(
            Positive("--epochs", "Epochs to train", epochs),
            Positive("--batch-size", "Samples per training step", 32),
            new Option<string>("--optimizer") { Description = $"One of {string.Join(", ", OptimizerNames.All)}", DefaultValueFactory = _ => "adam" },
            lr,
            new Option<bool>("--augment") { Description = "Augment training images (rotation ±10°, shifts and zoom ±10%)" },
            split,
            new Option<ulong>("--seed") { Description = "Seeds initialization, shuffling, splits and augmentation", DefaultValueFactory = _ => 1UL },
            Threads(),
            new Option<string>("--out") { Description = "The folder for the model, the report and its plots", DefaultValueFactory = _ => outDir },
            new Option<string?>("--metrics-json") { Description = "Also write the run's figures as one JSON object to this file" },
            NonNegative("--samples", "Train on the first N training samples only (0: all)"),
            OptionalPositive("--max-tokens", $"Text presets: the vocabulary's size, special tokens included (default {Strata.Models.TextPresets.DefaultMaxTokens:D})"),
            OptionalPositive("--sequence-length", $"Text presets lstm, gru, rcnn: the tokens read per text, padded or cut (default {Strata.Models.TextPresets.DefaultSequenceLength:D}; bow counts every token)"),
            DataOptionsFor("mnist"),
            TaskOption());
    }

    private static Option<string?> TaskOption()
    {
        var o = new Option<string?>("--task")
        {
            Description = "For a CSV file: classification (the label names classes) or regression (the label is a number to predict); " +
                $"default: classification for text labels or at most {DataSources.MaxAutoClasses} distinct whole numbers, else regression",
        };
        o.AcceptOnlyFromAmong("classification", "regression");
        return o;
    }

    private static Command DemoCommand()
    {
        var o = TrainOptionsFor(epochs: 3, outDir: "strata-demo", validationSplit: 0.1f);
        var c = new Command("demo", "The main job: train the seed CNN on the MNIST files shipped with Strata, evaluate it on the 10,000 test images, save the model and write a report");
        o.AddTo(c);
        c.SetAction(p => TrainRun.Run(o.Read(p, "cnn", resume: null), demo: true));
        return c;
    }

    private static Command TrainCommand()
    {
        var o = TrainOptionsFor(epochs: 5, outDir: "strata-run", validationSplit: 0.1f);
        var model = new Option<string?>("--model")
        {
            Description = $"A preset ({string.Join(", ", Strata.Models.Presets.Names)} for images and numbers; {string.Join(", ", Strata.Models.TextPresets.Names)} for text, " +
                $"the default on text data) or a spec file (the JSON of a saved model's config.json)",
        };
        var resume = new Option<string?>("--resume") { Description = "Continue the run saved in this checkpoint (a .strata file written by train) up to --epochs" };
        var distributed = new Option<bool>("--distributed")
        {
            Description = "Data-parallel training: run as one rank of `mpirun -np N strata train --distributed ...` (Open MPI); --batch-size is per rank; rank 0 writes the files",
        };
        var timeout = new Option<double?>("--dist-timeout")
        {
            Description = $"With --distributed: seconds one collective operation may wait for the other ranks before this rank fails (default: the environment variable {DistributedStrategy.TimeoutVariable}, else {DistributedStrategy.DefaultTimeout.TotalSeconds:0})",
        };
        timeout.Validators.Add(r =>
        {
            if (Parsed<double>(r) is double v && !(v > 0 && v <= 86400))
                r.AddError($"--dist-timeout must be a number of seconds in (0, 86400], got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var bucket = new Option<double?>("--dist-bucket-mb")
        {
            Description = $"With --distributed: the size of one gradient all-reduce in MiB (PyTorch DDP's bucket_cap_mb; default {DistributedStrategy.DefaultBucketBytes / 1048576.0:0.##}): " +
                "a bucket of the last layers' gradients is reduced while the backward pass goes on through the earlier ones",
        };
        bucket.Validators.Add(r =>
        {
            if (Parsed<double>(r) is double v && !(v >= 1.0 / 1024 && v <= 1024))
                r.AddError($"--dist-bucket-mb must be from 0.001 (1 KiB) to 1024, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var c = new Command("train", "Train a preset or a model spec on a data set, then evaluate it, save it and write a report") { model, resume, distributed, timeout, bucket };
        o.AddTo(c);
        c.SetAction(p =>
        {
            string? m = p.GetValue(model), r = p.GetValue(resume);
            if (m is null && r is null)
            {
                if (!DataSources.IsText(o.Data.Read(p)))
                    throw new UsageException("train: give --model (a preset or a spec file) or --resume (a checkpoint); only text data has a default model (lstm)");
                m = TrainRun.DefaultTextPreset;
            }
            if (m is not null && r is not null)
                throw new UsageException("train: give either --model or --resume, not both (a checkpoint holds its model)");
            if (p.GetValue(timeout) is not null && !p.GetValue(distributed))
                throw new UsageException("--dist-timeout applies to --distributed training only");
            if (p.GetValue(bucket) is not null && !p.GetValue(distributed))
                throw new UsageException("--dist-bucket-mb applies to --distributed training only");
            var settings = o.Read(p, m ?? "", r) with { Distributed = p.GetValue(distributed) ? new DistributedSettings(p.GetValue(timeout), p.GetValue(bucket)) : null };
            return TrainRun.Run(settings, demo: false);
        });
        return c;
    }

    // ------------------------------------------------------------------ evaluate, predict, summary, export

    private static Argument<string> ModelArgument() => new("model") { Description = "A model file (.strata)" };

    private static Command EvaluateCommand()
    {
        var model = ModelArgument();
        var data = DataOptionsFor("mnist");
        var batch = Positive("--batch-size", "Samples per inference batch", 256);
        var threads = Threads();
        var c = new Command("evaluate", "Evaluate a saved model on a data set's test split: loss, metrics and the confusion matrix") { model, batch, threads };
        data.AddTo(c);
        c.SetAction(p => ModelCommands.Evaluate(p.GetValue(model)!, data.Read(p), p.GetValue(batch), p.GetValue(threads)));
        return c;
    }

    private static Command PredictCommand()
    {
        var model = ModelArgument();
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "Image files or CSV files whose rows are samples; for a text model, text files (UTF-8) or mail messages (headers, MIME, any charset), one message each. A folder: the files in it and below",
            Arity = ArgumentArity.OneOrMore,
        };
        var top = Positive("--top", "Show the N most probable classes per input", 3);
        var plain = new Option<bool>("--plain-text") { Description = "Text models: read every file as plain UTF-8 text, also one that starts with mail headers" };
        var threads = Threads();
        var c = new Command("predict", "Classify images, CSV rows or texts with a saved model: the class and its probability") { model, inputs, top, plain, threads };
        c.SetAction(p => ModelCommands.Predict(p.GetValue(model)!, p.GetValue(inputs)!, p.GetValue(top), p.GetValue(threads), p.GetValue(plain)));
        return c;
    }

    private static Command SummaryCommand()
    {
        var model = ModelArgument();
        var c = new Command("summary", "Print a saved model's layers, output shapes and parameter counts (the Keras-style table)") { model };
        c.SetAction(p => ModelCommands.Summary(p.GetValue(model)!));
        return c;
    }

    private static Command ExportCommand()
    {
        var model = ModelArgument();
        var onnx = new Option<string>("--onnx") { Description = "Write the model as ONNX (opset 17) to this file", Required = true };
        var c = new Command("export", "Export a saved model for other runtimes") { model, onnx };
        c.SetAction(p => ModelCommands.Export(p.GetValue(model)!, p.GetValue(onnx)!));
        return c;
    }

    // ------------------------------------------------------------------ bench

    private static Command BenchCommand()
    {
        var workload = new Argument<string>("workload") { Description = "gemm (matrix products, GFLOP/s), mlp or cnn (training samples/s of the seed models on MNIST)" };
        workload.AcceptOnlyFromAmong("gemm", "mlp", "cnn");
        var batch = Positive("--batch-size", "Samples per training step (mlp, cnn)", 32);
        var threads = Threads();
        var repeats = Positive("--repeats", "Timed repeats after the warm-up; the median is reported", 5);
        var samples = Positive("--samples", "Training samples per timed repeat (mlp, cnn)", 6000);
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table" };
        var c = new Command("bench", "Measure this machine: a quick, honest benchmark with warm-up and the median of repeats") { workload, batch, threads, repeats, samples, json };
        c.SetAction(p => QuickBench.Run(p.GetValue(workload)!, p.GetValue(batch), p.GetValue(threads), p.GetValue(repeats), p.GetValue(samples), p.GetValue(json)));
        return c;
    }
}

using System.CommandLine;
using System.Globalization;

namespace Strata.Cli;

internal static partial class Commands
{
    // ------------------------------------------------------------------ compress

    private static Command CompressCommand()
    {
        var model = new Argument<string?>("model")
        {
            Description = "The model to compress (.strata). With --distill-from: the model the student replaces, for the report's before column " +
                "(default: the teacher)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var quantize = new Option<string?>("--quantize") { HelpName = "int8", Description = "Post-training quantization to int8 (the one type: int8): weights per output channel, activations calibrated on training samples" };
        quantize.Validators.Add(r =>
        {
            string? v = r.Tokens.Count > 0 ? r.Tokens[0].Value : null;
            if (v is not null && v != "int8")
                r.AddError($"--quantize: only int8 is supported, got '{v}'");
        });
        var dynamic = new Option<bool>("--dynamic") { Description = "--quantize: dynamic quantization instead of static (Dense weights int8, each batch's inputs quantized by their own range at run time; no calibration)" };
        var calibration = Positive("--calibration", "--quantize: the training samples (the first N) that calibrate the activation ranges", 1000);
        var prune = OptionalFloat("--prune", "Magnitude pruning to this sparsity, in [0, 1): the share of each kernel's weights set to zero during --epochs of fine-tuning " +
            "(rising from 0 along TF-MOT's polynomial decay over the first half of the steps, then held). With --structured: the share of the filters / units removed " +
            "from each Dense, Conv2D and Conv1D layer except the output layer, before fine-tuning", v => float.IsFinite(v) && v >= 0 && v < 1, "in [0, 1)");
        prune.HelpName = "sparsity";
        var structured = new Option<bool>("--structured") { Description = "--prune: remove whole filters / units (smallest L1 norm) for a smaller, faster network, then fine-tune it" };
        var distill = new Option<string?>("--distill-from") { HelpName = "teacher.strata", Description = "Knowledge distillation: train --student on the labels and on this trained teacher's softened outputs (.strata)" };
        var student = new Option<string>("--student")
        {
            Description = $"--distill-from: the student, a preset ({string.Join(", ", Strata.Models.Presets.Names)}: sized to the teacher's input and classes) or a spec file " +
                "(the JSON of a saved model's config.json)",
            DefaultValueFactory = _ => "mlp",
        };
        var temperature = FiniteFloat("--temperature", "--distill-from: T, dividing both networks' logits before the softmax", 3, v => v > 0, "a positive number");
        var alpha = FiniteFloat("--alpha", "--distill-from: the weight of the student loss on the labels; 1 − alpha weighs the distillation loss", 0.1f, v => v is >= 0 and <= 1, "in [0, 1]");
        var epochs = Positive("--epochs", "--prune, --distill-from: epochs of fine-tuning or distillation", 2);
        var batch = Positive("--batch-size", "--prune, --distill-from: samples per training step (inference and evaluation run in batches of 256)", 32);
        var optimizer = new Option<string>("--optimizer") { Description = $"--prune, --distill-from: one of {string.Join(", ", OptimizerNames.All)}", DefaultValueFactory = _ => "adam" };
        var rate = OptionalFloat("--learning-rate", "--prune, --distill-from: the optimizer's learning rate (default: the optimizer's own)", v => v > 0 && float.IsFinite(v), "a positive number");
        var samples = NonNegative("--samples", "--prune, --distill-from: train on the first N training samples only (0: all)");
        var seed = new Option<ulong>("--seed") { Description = "--prune, --distill-from: seeds the shuffles and the student's initialization", DefaultValueFactory = _ => 1UL };
        var repeats = Positive("--repeats", "Timed inference passes over the test split, after one warm-up pass; the median samples/s is reported", 3);
        var threads = Threads();
        var output = new Option<string>("--out") { Description = "The folder for the compressed model (model.strata), report.html and metrics.json", Required = true };
        var data = DataOptionsFor("mnist");
        var c = new Command("compress", "Shrink a trained model by int8 quantization, pruning or distillation: the new model, and a before/after report " +
            "of file size, parameters, test accuracy and inference speed")
        {
            model, quantize, dynamic, calibration, prune, structured, distill, student, temperature, alpha, epochs, batch, optimizer, rate, samples,
            seed, repeats, threads, output,
        };
        data.AddTo(c);
        Option[] training = [epochs, batch, optimizer, rate, samples, seed];
        var applies = new List<(Option Option, CompressMode[] Modes)>
        {
            (dynamic, [CompressMode.Quantize]), (calibration, [CompressMode.Quantize]), (structured, [CompressMode.Prune]),
            (student, [CompressMode.Distill]), (temperature, [CompressMode.Distill]), (alpha, [CompressMode.Distill]),
        };
        applies.AddRange(training.Select(o => (o, new[] { CompressMode.Prune, CompressMode.Distill })));
        c.SetAction(p =>
        {
            var given = new List<(CompressMode Mode, string Text)>();
            if (p.GetValue(quantize) is { } q)
                given.Add((CompressMode.Quantize, $"--quantize {q}"));
            if (p.GetValue(prune) is float s)
                given.Add((CompressMode.Prune, $"--prune {s.ToString(CultureInfo.InvariantCulture)}"));
            if (p.GetValue(distill) is { } t)
                given.Add((CompressMode.Distill, $"--distill-from {t}"));
            if (given.Count == 0)
                throw new UsageException("compress: give one of --quantize int8, --prune SPARSITY or --distill-from TEACHER");
            if (given.Count > 1)
                throw new UsageException($"compress: give only one of --quantize, --prune and --distill-from, got {string.Join(" and ", given.Select(g => g.Text))}");
            var mode = given[0].Mode;
            foreach (var (option, modes) in applies)
            {
                if (p.GetResult(option) is { Implicit: false } && !modes.Contains(mode))
                    throw new UsageException($"{option.Name} applies to {string.Join(" and ", modes.Select(ModeOption))}, not {ModeOption(mode)}");
            }
            if (p.GetValue(dynamic) && p.GetResult(calibration) is { Implicit: false })
                throw new UsageException("--calibration applies to static quantization; --dynamic quantizes each batch by its own range at run time");
            string? m = p.GetValue(model);
            if (m is null && mode != CompressMode.Distill)
                throw new UsageException($"compress: give the model to compress (a .strata file) before {given[0].Text}");
            return CompressRun.Run(new CompressSettings(m, mode, p.GetValue(dynamic), p.GetValue(calibration), p.GetValue(prune) ?? 0, p.GetValue(structured),
                p.GetValue(distill), p.GetValue(student)!, p.GetValue(temperature), p.GetValue(alpha), p.GetValue(epochs), p.GetValue(batch),
                p.GetValue(optimizer)!, p.GetValue(rate), p.GetValue(samples), p.GetValue(seed), p.GetValue(repeats), p.GetValue(threads),
                p.GetValue(output)!, data.Read(p)));
        });
        return c;
    }

    private static string ModeOption(CompressMode mode) => mode switch
    {
        CompressMode.Quantize => "--quantize",
        CompressMode.Prune => "--prune",
        _ => "--distill-from",
    };
}

using System.Text.Json;
using Strata.Compression;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Cli;

/// <summary>
/// Shared by the `strata compress` tests: the seed MLP trained through `strata train` (2 epochs on 3,000 MNIST
/// images), a functional model file, and two student specs — a small MLP and one that scores 5 classes.
/// </summary>
public sealed class CliCompressFixture : IDisposable
{
    public CliCompressFixture()
    {
        Root = Directory.CreateTempSubdirectory("strata-cli-compress-").FullName;
        Train = CliRunner.Run(Root, "train", "--model", "mlp", "--samples", "3000", "--epochs", "2", "--validation-split", "0", "--test-samples", "200",
            "--threads", "2", "--out", Path.Combine(Root, "mlp"));
        var shape = Train.ExitCode == 0 ? Model.Load(Mlp, compile: false).InputShapes![0].ToArray() : [28, 28, 1];

        var input = Input.Create(shape);
        var functional = new Model(input, new Dense(10, "softmax").Apply(new Flatten().Apply(input)), seed: 1, name: "functional");
        functional.Save(Functional);
        File.WriteAllText(SmallStudent, ModelFile.ArchitectureJson(
            new Sequential([new Input(shape), new Flatten(), new Dense(32, "relu"), new Dense(10, "softmax")], seed: 1, name: "small")));
        File.WriteAllText(FiveClassStudent, ModelFile.ArchitectureJson(Presets.Create("mlp", shape, classes: 5, seed: 1)));
    }

    public string Root { get; }
    public CliResult Train { get; }
    public string Mlp => Path.Combine(Root, "mlp", "model.strata");
    public string Functional => Path.Combine(Root, "functional.strata");
    public string SmallStudent => Path.Combine(Root, "small-student.json");
    public string FiveClassStudent => Path.Combine(Root, "five-class-student.json");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>`strata compress` run as a user runs it, on small settings: each way end to end, and the mistakes.</summary>
public sealed class CliCompressTests(CliCompressFixture fx) : IClassFixture<CliCompressFixture>
{
    private static readonly Lazy<(Tensor Images, int[] Labels)> s_test = new(() =>
    {
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: false);
        return (images, [.. labels.Select(v => (int)v)]);
    });

    private string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(fx.Root, name + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    /// <summary>Runs compress on the trained MLP (its path first unless <paramref name="args"/> starts with an option), checks it succeeded, returns the output folder.</summary>
    private (string Out, CliResult Result, JsonElement Metrics) Compress(string name, params string[] args)
    {
        Assert.True(fx.Train.ExitCode == 0, fx.Train.ToString());
        string outDir = NewFolder(name);
        string[] all = args.Length > 0 && args[0].StartsWith("--", StringComparison.Ordinal) && !args.Contains("--distill-from")
            ? ["compress", fx.Mlp, .. args, "--threads", "2", "--repeats", "1", "--out", outDir]
            : ["compress", .. args, "--threads", "2", "--repeats", "1", "--out", outDir];
        var r = CliRunner.Run(fx.Root, all);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        return (outDir, r, CliRunner.ReadJson(Path.Combine(outDir, "metrics.json")));
    }

    /// <summary>The report's table on the console and in report.html, and the figures' consistency in metrics.json.</summary>
    private static void CheckReport(string outDir, CliResult r, JsonElement m, bool nonzero)
    {
        string[] figures = ["model file", "parameters", "test accuracy", "test loss", "inference samples/s"];
        foreach (var figure in figures.Append("after / before").Append("median of 1 timed passes"))
            Assert.Contains(figure.Split(' ')[0], r.Stdout);
        Assert.Equal(nonzero, r.Stdout.Contains("nonzero parameters", StringComparison.Ordinal));
        CliTests.CheckHtml(outDir, images: 0);
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        foreach (var figure in figures)
            Assert.Contains($"<tr><th>{System.Net.WebUtility.HtmlEncode(figure)}</th><td>", html);
        Assert.Equal(nonzero, html.Contains("<tr><th>nonzero parameters</th>", StringComparison.Ordinal));
        Assert.Contains("the median of 1 timed passes over the 1,000 test samples after one warm-up pass", html);
        foreach (var side in new[] { "before", "after" })
        {
            var f = m.GetProperty(side);
            Assert.True(File.Exists(f.GetProperty("file").GetString()));
            Assert.True(f.GetProperty("file_bytes").GetInt64() > 1000);
            Assert.InRange(f.GetProperty("test_accuracy").GetDouble(), 0.3, 1.0);
            Assert.True(f.GetProperty("inference_samples_per_second").GetDouble() > 0);
            Assert.True(f.GetProperty("nonzero_parameters").GetInt64() <= f.GetProperty("parameters").GetInt64());
        }
        Assert.Equal(m.GetProperty("after").GetProperty("file_bytes").GetInt64(), new FileInfo(Path.Combine(outDir, "model.strata")).Length);
        Assert.Equal(1000, m.GetProperty("test_samples").GetInt32());
        double ratio = m.GetProperty("after").GetProperty("file_bytes").GetDouble() / m.GetProperty("before").GetProperty("file_bytes").GetDouble();
        Assert.Equal(ratio, m.GetProperty("ratios").GetProperty("file_bytes").GetDouble(), tolerance: 1e-4); // rounded to 4 places
    }

    /// <summary>The saved model's accuracy on the first 1,000 test images, evaluated here.</summary>
    private static float Accuracy(Model model)
    {
        var (images, labels) = s_test.Value;
        var x = images.Slice(..1000).Reshape([1000, .. model.InputShapes![0].ToArray()]);
        var y = Tensor.FromArray(labels[..1000].Select(v => (float)v).ToArray());
        model.Compile(new Adam(), new SparseCategoricalCrossentropy(), "accuracy");
        return model.Evaluate(x, y, 256)["accuracy"];
    }

    // ------------------------------------------------------------------ the three ways

    [Fact]
    public void Quantize_int8_writes_a_loadable_int8_sequential_as_accurate_as_the_float_model_and_4x_smaller()
    {
        var (outDir, r, m) = Compress("int8", "--quantize", "int8", "--calibration", "200", "--test-samples", "1000");
        CheckReport(outDir, r, m, nonzero: false);
        Assert.Contains("static int8 quantization", r.Stdout);
        Assert.Contains("calibrated (min/max) on the first 200 training samples", File.ReadAllText(Path.Combine(outDir, "report.html")));

        var model = Model.Load(Path.Combine(outDir, "model.strata"));
        var q = Assert.IsType<Sequential>(model);
        Assert.Equal(3, q.Layers.OfType<QuantizedDense>().Count(d => !d.Dynamic));
        Assert.Equal(Model.Load(fx.Mlp).ClassNames, q.ClassNames);
        float accuracy = Accuracy(q);
        Assert.Equal(accuracy, m.GetProperty("after").GetProperty("test_accuracy").GetSingle(), 5);
        double before = m.GetProperty("before").GetProperty("test_accuracy").GetDouble();
        Assert.True(Math.Abs(accuracy - before) <= 0.01, $"int8 {accuracy}, float {before}");
        Assert.True(m.GetProperty("after").GetProperty("int8_parameters").GetInt64() > 100_000);
        Assert.InRange(m.GetProperty("ratios").GetProperty("file_bytes").GetDouble(), 0.2, 1 / 3.5);
    }

    [Fact]
    public void Quantize_dynamic_keeps_the_dense_layers_int8_with_per_batch_inputs()
    {
        var (outDir, r, m) = Compress("dynamic", "--quantize", "int8", "--dynamic", "--test-samples", "1000");
        CheckReport(outDir, r, m, nonzero: false);
        var q = Assert.IsType<Sequential>(Model.Load(Path.Combine(outDir, "model.strata")));
        Assert.Equal(3, q.Layers.OfType<QuantizedDense>().Count(d => d.Dynamic));
        Assert.True(Math.Abs(Accuracy(q) - m.GetProperty("before").GetProperty("test_accuracy").GetDouble()) <= 0.01);
    }

    [Fact]
    public void Prune_fine_tunes_to_the_requested_sparsity_and_the_file_shrinks()
    {
        var (outDir, r, m) = Compress("prune", "--prune", "0.9", "--epochs", "2", "--samples", "4000", "--test-samples", "1000");
        CheckReport(outDir, r, m, nonzero: true);
        Assert.Contains("Epoch 2/2", r.Stdout);
        var model = Model.Load(Path.Combine(outDir, "model.strata"));
        Assert.Null(model.Optimizer); // stripped: a plain model
        var sparsity = Pruning.Sparsity(model);
        Assert.Equal(3, sparsity.Count);
        // Each kernel keeps round(n · 0.1) weights: 784·128 → 10,035 of 100,352.
        Assert.Equal(1 - Math.Round(100_352 * 0.1) / 100_352, sparsity["dense"], 6);
        Assert.All(sparsity.Values, v => Assert.InRange(v, 0.8995, 0.9005));
        foreach (var (layer, v) in sparsity)
            Assert.Equal(v, m.GetProperty("sparsity").GetProperty(layer).GetSingle(), 6);
        Assert.InRange(m.GetProperty("ratios").GetProperty("nonzero_parameters").GetDouble(), 0.09, 0.12);
        Assert.True(m.GetProperty("ratios").GetProperty("file_bytes").GetDouble() < 0.25, "the zeros deflate away");
        Assert.Equal(Accuracy(model), m.GetProperty("after").GetProperty("test_accuracy").GetSingle(), 5);
        Assert.True(m.GetProperty("after").GetProperty("test_accuracy").GetDouble() > 0.6);
        Assert.Equal(2, m.GetProperty("history").GetProperty("loss").GetArrayLength());
    }

    [Fact]
    public void Structured_pruning_removes_that_share_of_every_layers_units_but_the_outputs()
    {
        var (outDir, r, m) = Compress("structured", "--prune", "0.5", "--structured", "--epochs", "1", "--samples", "2000", "--test-samples", "1000");
        CheckReport(outDir, r, m, nonzero: false);
        Assert.Contains("(smallest L1 norm): dense 128 → 64, dense_1 64 → 32", File.ReadAllText(Path.Combine(outDir, "report.html")));
        var model = Assert.IsType<Sequential>(Model.Load(Path.Combine(outDir, "model.strata")));
        Assert.Equal([64, 32, 10], model.Layers.OfType<Dense>().Select(d => d.Units));
        // 784·64 + 64 + 64·32 + 32 + 32·10 + 10.
        Assert.Equal(52_650, m.GetProperty("after").GetProperty("parameters").GetInt64());
        Assert.Equal(109_386, m.GetProperty("before").GetProperty("parameters").GetInt64());
        Assert.Equal(Accuracy(model), m.GetProperty("after").GetProperty("test_accuracy").GetSingle(), 5);
    }

    [Fact]
    public void Distillation_trains_the_student_preset_or_spec_and_saves_it()
    {
        var (outDir, r, m) = Compress("distill", fx.Mlp, "--distill-from", fx.Mlp, "--student", "mlp", "--epochs", "1", "--samples", "2000", "--test-samples", "1000");
        CheckReport(outDir, r, m, nonzero: false);
        Assert.Contains("distillation_loss", r.Stdout);
        var student = Assert.IsType<Sequential>(Model.Load(Path.Combine(outDir, "model.strata")));
        Assert.Equal(109_386, student.Weights.Sum(w => w.Value.Size)); // the mlp preset
        Assert.Equal(Model.Load(fx.Mlp).ClassNames, student.ClassNames);
        Assert.Equal(Accuracy(student), m.GetProperty("after").GetProperty("test_accuracy").GetSingle(), 5);
        Assert.Equal(1, m.GetProperty("history").GetProperty("distillation_loss").GetArrayLength());

        // Without the model argument the teacher is the model before; a spec file is the student.
        var (outDir2, r2, m2) = Compress("distill-spec", "--distill-from", fx.Mlp, "--student", fx.SmallStudent, "--epochs", "1", "--samples", "2000",
            "--test-samples", "1000", "--temperature", "4", "--alpha", "0.2");
        CheckReport(outDir2, r2, m2, nonzero: false);
        Assert.Equal(Path.GetFullPath(fx.Mlp), m2.GetProperty("before").GetProperty("file").GetString());
        Assert.Equal("small", m2.GetProperty("after").GetProperty("name").GetString());
        Assert.Equal(784 * 32 + 32 + 32 * 10 + 10, m2.GetProperty("after").GetProperty("parameters").GetInt64());
        Assert.Contains("temperature 4, alpha 0.2", File.ReadAllText(Path.Combine(outDir2, "report.html")));
    }

    // ------------------------------------------------------------------ mistakes

    [Theory]
    [InlineData(2, "compress: give one of --quantize int8, --prune SPARSITY or --distill-from TEACHER", "{mlp}")]
    [InlineData(2, "give only one of --quantize, --prune and --distill-from, got --quantize int8 and --prune 0.5", "{mlp}", "--quantize", "int8", "--prune", "0.5")]
    [InlineData(2, "got --prune 0.5 and --distill-from {mlp}", "{mlp}", "--prune", "0.5", "--distill-from", "{mlp}")]
    [InlineData(2, "--quantize: only int8 is supported, got 'int4'", "{mlp}", "--quantize", "int4")]
    [InlineData(2, "--prune must be in [0, 1), got 1", "{mlp}", "--prune", "1")]
    [InlineData(2, "--prune must be in [0, 1), got -0.1", "{mlp}", "--prune", "-0.1")]
    [InlineData(2, "--epochs must be at least 1, got 0", "{mlp}", "--prune", "0.5", "--epochs", "0")]
    [InlineData(2, "--epochs must be at least 1, got 0", "--distill-from", "{mlp}", "--epochs", "0")]
    [InlineData(2, "--epochs applies to --prune and --distill-from, not --quantize", "{mlp}", "--quantize", "int8", "--epochs", "2")]
    [InlineData(2, "--structured applies to --prune, not --distill-from", "--distill-from", "{mlp}", "--structured")]
    [InlineData(2, "--calibration applies to --quantize, not --prune", "{mlp}", "--prune", "0.5", "--calibration", "10")]
    [InlineData(2, "--calibration applies to static quantization", "{mlp}", "--quantize", "int8", "--dynamic", "--calibration", "10")]
    [InlineData(2, "--calibration must be at least 1, got 0", "{mlp}", "--quantize", "int8", "--calibration", "0")]
    [InlineData(2, "give the model to compress (a .strata file) before --quantize int8", "--quantize", "int8")]
    [InlineData(2, "--student: unknown preset 'resnet'", "--distill-from", "{mlp}", "--student", "resnet")]
    [InlineData(2, "--alpha must be in [0, 1], got 2", "--distill-from", "{mlp}", "--alpha", "2")]
    [InlineData(1, "model file 'missing.strata' does not exist", "missing.strata", "--quantize", "int8")]
    [InlineData(1, "--distill-from: model file 'nothere.strata' does not exist", "{mlp}", "--distill-from", "nothere.strata")]
    [InlineData(1, "--quantize: model 'functional' ({functional}) is a functional model; int8 quantization takes a Sequential model", "{functional}", "--quantize", "int8")]
    [InlineData(1, "--structured: model 'functional' ({functional}) is a functional model", "{functional}", "--prune", "0.5", "--structured")]
    [InlineData(1, "the student 'mlp' outputs [batch, 5], the teacher 'mlp' [batch, 10]; they must score the same classes",
        "--distill-from", "{mlp}", "--student", "{five}")]
    public void Mistakes_exit_non_zero_with_one_line_naming_the_option_and_the_value(int exitCode, string message, params string[] args)
    {
        Assert.True(fx.Train.ExitCode == 0, fx.Train.ToString());
        string Fill(string a) => a.Replace("{mlp}", fx.Mlp, StringComparison.Ordinal).Replace("{functional}", fx.Functional, StringComparison.Ordinal)
            .Replace("{five}", fx.FiveClassStudent, StringComparison.Ordinal);
        string outDir = Path.Combine(fx.Root, "mistake-" + Guid.NewGuid().ToString("N")[..8]);
        var r = CliRunner.Run(fx.Root, ["compress", .. args.Select(Fill), "--test-samples", "100", "--out", outDir]);
        Assert.True(r.ExitCode == exitCode, r.ToString());
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("strata: ", line);
        Assert.Contains(Fill(message), line);
        Assert.False(File.Exists(Path.Combine(outDir, "model.strata")));
    }

    [Fact]
    public void The_output_folder_must_not_be_where_the_model_came_from()
    {
        Assert.True(fx.Train.ExitCode == 0, fx.Train.ToString());
        var before = File.ReadAllBytes(fx.Mlp);
        var r = CliRunner.Run(fx.Root, "compress", fx.Mlp, "--quantize", "int8", "--out", Path.GetDirectoryName(fx.Mlp)!);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("--out: ", Assert.Single(r.ErrorLines));
        Assert.Contains("would overwrite", r.Stderr);
        Assert.Equal(before, File.ReadAllBytes(fx.Mlp));
    }

    [Fact]
    public void Help_names_the_three_ways_and_what_structured_removes()
    {
        var r = CliRunner.Run(fx.Root, "compress", "--help");
        Assert.True(r.ExitCode == 0, r.ToString());
        string help = System.Text.RegularExpressions.Regex.Replace(r.Stdout, @"\s+", " ");
        foreach (var option in new[] { "--quantize", "--dynamic", "--calibration", "--prune", "--structured", "--distill-from", "--student", "--epochs", "--out", "--data", "--test-samples", "--threads" })
            Assert.Contains(option, help);
        Assert.Contains("from each Dense, Conv2D and Conv1D layer except the output layer", help);
        Assert.Contains("mlp, cnn, cnn3", help);
    }
}

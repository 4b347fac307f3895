using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Data;
using Strata.Models;
using Strata.Serialization;

namespace Strata.Tests.Cli;

/// <summary>
/// Shared by the CLI tests: a temporary folder, an MLP trained once through `strata train` (2 epochs on
/// 3,000 MNIST images, evaluated on 2,000 test images), a CSV file of three Gaussian blobs and a small
/// class-folder tree of MNIST digits as PNG files.
/// </summary>
public sealed class CliFixture : IDisposable
{
    public CliFixture()
    {
        Root = Directory.CreateTempSubdirectory("strata-cli-").FullName;
        MlpFolder = Path.Combine(Root, "mlp");
        MetricsPath = Path.Combine(Root, "mlp-metrics.json");
        Train = CliRunner.Run(Root, "train", "--model", "mlp", "--samples", "3000", "--epochs", "2", "--test-samples", "2000",
            "--threads", "2", "--out", MlpFolder, "--metrics-json", MetricsPath);
        BlobsCsv = Path.Combine(Root, "blobs.csv");
        WriteBlobs(BlobsCsv);
        DigitTree = Path.Combine(Root, "digits");
        WriteDigitTree(DigitTree);
    }

    public string Root { get; }
    public string MlpFolder { get; }
    public string MlpModel => Path.Combine(MlpFolder, "model.strata");
    public string MetricsPath { get; }
    public CliResult Train { get; }
    public string BlobsCsv { get; }
    public string DigitTree { get; }

    /// <summary>300 rows of two features in three well-separated classes named by text, with a header.</summary>
    private static void WriteBlobs(string path)
    {
        var rng = new Random(7);
        var lines = new List<string> { "x1,x2,species" };
        (double X, double Y, string Name)[] centres = [(0, 0, "alpha"), (4, 0, "beta"), (0, 4, "gamma")];
        for (int i = 0; i < 300; i++)
        {
            var c = centres[i % 3];
            double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{c.X + 0.5 * Gauss():0.0000},{c.Y + 0.5 * Gauss():0.0000},{c.Name}"));
        }
        File.WriteAllLines(path, lines);
    }

    /// <summary>digits/zero, digits/one, digits/two: 40 MNIST training images of each as grayscale PNG files.</summary>
    private static void WriteDigitTree(string root)
    {
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: true);
        string[] names = ["zero", "one", "two"];
        var count = new int[3];
        for (int i = 0; i < labels.Length && count.Min() < 40; i++)
        {
            int label = labels[i];
            if (label > 2 || count[label] >= 40)
                continue;
            string dir = Path.Combine(root, names[label]);
            Directory.CreateDirectory(dir);
            Images.SavePng(Path.Combine(dir, $"{count[label]++:D3}.png"), images.Slice(i..(i + 1)).Reshape([28, 28, 1]));
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>The `strata` command run as a user runs it: a separate process per command, small settings.</summary>
public sealed class CliTests(CliFixture fx) : IClassFixture<CliFixture>
{
    private string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(fx.Root, name + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    // ------------------------------------------------------------------ train, demo and the report

    [Fact]
    public void Train_saves_the_model_the_report_and_the_metrics()
    {
        Assert.True(fx.Train.ExitCode == 0, fx.Train.ToString());
        Assert.Equal("", fx.Train.Stderr);
        Assert.Contains("Epoch 2/2", fx.Train.Stdout);
        Assert.Matches(@"test accuracy \d+\.\d\d% \(loss \d\.\d{4}\) on 2,000 test samples", fx.Train.Stdout);

        var m = CliRunner.ReadJson(fx.MetricsPath);
        Assert.InRange(m.GetProperty("test_accuracy").GetDouble(), 0.85, 1.0);
        Assert.InRange(m.GetProperty("test_loss").GetDouble(), 0.01, 0.6);
        Assert.True(m.GetProperty("train_samples_per_second").GetDouble() > 0);
        Assert.Equal(2, m.GetProperty("epoch_seconds").GetArrayLength());
        Assert.All(m.GetProperty("epoch_seconds").EnumerateArray(), e => Assert.True(e.GetDouble() > 0));
        Assert.Equal(2, m.GetProperty("threads").GetInt32());
        Assert.Equal(32, m.GetProperty("batch_size").GetInt32());
        Assert.Equal(2, m.GetProperty("epochs").GetInt32());
        Assert.Equal(2700, m.GetProperty("train_samples").GetInt32()); // 3,000 less the 10% validation split
        Assert.Equal(2000, m.GetProperty("test_samples").GetInt32());
        Assert.Equal(2, m.GetProperty("history").GetProperty("val_accuracy").GetArrayLength());
        // The median of the per-epoch training rates.
        var rates = m.GetProperty("train_seconds").EnumerateArray().Select(t => 2700 / t.GetDouble()).Order().ToArray();
        Assert.Equal((rates[0] + rates[1]) / 2, m.GetProperty("train_samples_per_second").GetDouble(), 0.01 * rates[1]);
        // The same object is in the output folder.
        Assert.Equal(File.ReadAllText(fx.MetricsPath), File.ReadAllText(Path.Combine(fx.MlpFolder, "metrics.json")));
    }

    [Fact]
    public void The_report_folder_holds_the_plots_and_a_self_contained_html_page()
    {
        Assert.True(fx.Train.ExitCode == 0, fx.Train.ToString());
        var expected = new Dictionary<string, (int W, int H)>
        {
            ["loss.png"] = (800, 450),
            ["accuracy.png"] = (800, 450),
            ["confusion_matrix.png"] = (720, 640),
            ["misclassified.png"] = (880, 578),
            // Integrated gradients (the MLP has no convolution) of 8 correctly classified and 8 misclassified test
            // images, each row 112 × (3·112 + 4), the two columns 12 pixels apart.
            ["explanations.png"] = (2 * 340 + 12, 8 * 112 + 7 * 2),
        };
        foreach (var (file, (w, h)) in expected)
        {
            var image = StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(Path.Combine(fx.MlpFolder, file)));
            Assert.True((image.Width, image.Height) == (w, h), $"{file} is {image.Width}×{image.Height}, expected {w}×{h}");
        }
        CheckHtml(fx.MlpFolder, expected.Count);
        string html = File.ReadAllText(Path.Combine(fx.MlpFolder, "report.html"));
        foreach (string part in new[] { "Settings", "Confusion matrix", "Misclassified test images", "Explanations", "Integrated gradients (32 steps), from a black image",
            "Total params: 109,386", "Timing and machine", "val_accuracy" })
            Assert.Contains(part, html);
        // The HTML table of the confusion matrix adds up to the test samples.
        var counts = Regex.Matches(html, @"<td>(?:<b>)?(\d+)(?:</b>)?</td>").Select(x => int.Parse(x.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.True(counts.Sum() >= 2000);
    }

    /// <summary>Every file the page links to exists; every embedded image decodes; nothing is fetched from elsewhere.</summary>
    internal static void CheckHtml(string folder, int images)
    {
        string html = File.ReadAllText(Path.Combine(folder, "report.html"));
        var refs = Regex.Matches(html, "(?:src|href)=\"([^\"]*)\"").Select(x => x.Groups[1].Value).ToList();
        Assert.NotEmpty(refs);
        int embedded = 0;
        foreach (var r in refs)
        {
            if (r.StartsWith("data:image/png;base64,", StringComparison.Ordinal))
            {
                var bytes = Convert.FromBase64String(r["data:image/png;base64,".Length..]);
                var image = StbImageSharp.ImageResult.FromMemory(bytes);
                Assert.True(image.Width > 100 && image.Height > 100);
                embedded++;
                continue;
            }
            Assert.DoesNotContain("://", r);
            Assert.True(File.Exists(Path.Combine(folder, Uri.UnescapeDataString(r))), $"report.html refers to '{r}', which is not in {folder}");
        }
        Assert.Equal(images, embedded);
    }

    [Fact]
    public void Demo_trains_the_seed_cnn_and_reports_its_test_accuracy()
    {
        string outDir = NewFolder("demo");
        var r = CliRunner.Run(fx.Root, "demo", "--epochs", "1", "--samples", "3000", "--test-samples", "1000", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var acc = Regex.Match(r.Stdout, @"test accuracy (\d+\.\d\d)%");
        Assert.True(acc.Success, r.Stdout);
        Assert.InRange(double.Parse(acc.Groups[1].Value, CultureInfo.InvariantCulture), 80, 100);
        var model = Model.Load(Path.Combine(outDir, "model.strata"));
        Assert.Equal("cnn", model.Name);
        Assert.Equal(1, model.CompletedEpochs);
        Assert.Equal(Mnist.ClassNames, model.ClassNames);
        Assert.Contains(model.Layers, l => l is Strata.Layers.Conv2D);
        CheckHtml(outDir, 5); // loss, accuracy, confusion matrix, misclassified images, explanations
        Assert.Contains("Grad-CAM (conv2d_1)", File.ReadAllText(Path.Combine(outDir, "report.html")));
    }

    [Fact]
    public void A_resumed_run_ends_exactly_where_an_uninterrupted_one_does()
    {
        string whole = NewFolder("whole"), half = NewFolder("half"), rest = NewFolder("rest");
        string[] common = ["--model", "mlp", "--samples", "1500", "--test-samples", "500", "--threads", "2", "--seed", "5"];
        Assert.Equal(0, CliRunner.Run(fx.Root, ["train", .. common, "--epochs", "2", "--out", whole]).ExitCode);
        Assert.Equal(0, CliRunner.Run(fx.Root, ["train", .. common, "--epochs", "1", "--out", half]).ExitCode);
        var resumed = CliRunner.Run(fx.Root, "train", "--resume", Path.Combine(half, "model.strata"), "--samples", "1500", "--test-samples", "500",
            "--threads", "2", "--seed", "5", "--epochs", "2", "--out", rest);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("Epoch 2/2", resumed.Stdout);
        Assert.DoesNotContain("Epoch 1/2", resumed.Stdout);
        var a = CliRunner.ReadJson(Path.Combine(whole, "metrics.json"));
        var b = CliRunner.ReadJson(Path.Combine(rest, "metrics.json"));
        Assert.Equal(a.GetProperty("test_loss").GetDouble(), b.GetProperty("test_loss").GetDouble());
        Assert.Equal(a.GetProperty("history").GetProperty("loss")[1].GetDouble(), b.GetProperty("history").GetProperty("loss")[0].GetDouble());
        Assert.Equal(a.GetProperty("history").GetProperty("val_accuracy")[1].GetDouble(), b.GetProperty("history").GetProperty("val_accuracy")[0].GetDouble());
        Assert.Equal(Model.Load(Path.Combine(whole, "model.strata")).GetWeights(), Model.Load(Path.Combine(rest, "model.strata")).GetWeights());
    }

    [Fact]
    public void A_spec_file_is_a_saved_models_config()
    {
        string spec = Path.Combine(NewFolder("spec"), "spec.json");
        using (var zip = ZipFile.OpenRead(fx.MlpModel))
            zip.GetEntry("config.json")!.ExtractToFile(spec);
        string outDir = NewFolder("from-spec");
        var r = CliRunner.Run(fx.Root, "train", "--model", spec, "--samples", "1000", "--epochs", "1", "--test-samples", "500", "--optimizer", "rmsprop", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var model = Model.Load(Path.Combine(outDir, "model.strata"));
        Assert.Equal(109_386, model.Weights.Sum(w => w.Value.Size));
        Assert.IsType<Strata.Optimizers.RmsProp>(model.Optimizer);
    }

    /// <summary>The optimizer names the library creates (the CLI process registers nothing of its own).</summary>
    private static IEnumerable<string> BuiltInOptimizers => OptimizerRegistry.CreateNames.Where(n => !n.StartsWith("test_", StringComparison.Ordinal));

    public static TheoryData<string> RegisteredOptimizers() => new(BuiltInOptimizers);

    [Theory]
    [MemberData(nameof(RegisteredOptimizers))]
    public void Every_registered_optimizer_trains_by_name_with_its_own_rate_or_the_given_one(string name)
    {
        foreach (float? rate in new float?[] { null, 0.0625f })
        {
            string outDir = NewFolder("optimizer-" + name);
            string[] args = ["train", "--model", "mlp", "--data", fx.BlobsCsv, "--epochs", "1", "--validation-split", "0", "--optimizer", name, "--out", outDir];
            if (rate is float lr)
                args = [.. args, "--learning-rate", lr.ToString(CultureInfo.InvariantCulture)];
            var r = CliRunner.Run(fx.Root, args);
            Assert.True(r.ExitCode == 0, r.ToString());
            var saved = Model.Load(Path.Combine(outDir, "model.strata")).Optimizer!;
            // The registry's optimizer of that name: its type's default settings, the rate replaced when given.
            var expected = OptimizerRegistry.Create(name, rate);
            Assert.Equal(expected.GetType(), saved.GetType());
            Assert.Equal(expected.GetConfig(), saved.GetConfig());
            Assert.Equal(rate ?? OptimizerRegistry.Create(name).LearningRate, saved.LearningRate);
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{expected.GetType().Name}, learning rate {saved.LearningRate:G4}"), r.Stdout);
        }
    }

    [Fact]
    public void The_optimizer_option_lists_the_registered_names_in_its_help_and_its_error()
    {
        string names = string.Join(", ", BuiltInOptimizers);
        Assert.Equal("adagrad, adam, adamw, momentum, nesterov, rmsprop, sgd", names);
        var help = CliRunner.Run(fx.Root, "train", "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains($"One of {names} [default: adam]", Regex.Replace(help.Stdout, @"\s+", " "));
        var r = CliRunner.Run(fx.Root, "train", "--model", "mlp", "--optimizer", "adamax");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal($"strata: --optimizer: unknown optimizer 'adamax' (expected {names})", Assert.Single(r.ErrorLines));
    }

    [Fact]
    public void Csv_files_train_evaluate_and_predict_with_their_class_names()
    {
        string outDir = NewFolder("csv");
        var r = CliRunner.Run(fx.Root, "train", "--model", "mlp", "--data", fx.BlobsCsv, "--epochs", "20", "--batch-size", "16", "--validation-split", "0", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var m = CliRunner.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(60, m.GetProperty("test_samples").GetInt32()); // 20% of 300 held out
        Assert.InRange(m.GetProperty("test_accuracy").GetDouble(), 0.95, 1.0);
        Assert.False(File.Exists(Path.Combine(outDir, "misclassified.png"))); // not images
        string model = Path.Combine(outDir, "model.strata");

        var e = CliRunner.Run(fx.Root, "evaluate", model, "--data", fx.BlobsCsv);
        Assert.True(e.ExitCode == 0, e.ToString());
        Assert.Contains(m.GetProperty("test_accuracy").GetDouble().ToString("0.0000", CultureInfo.InvariantCulture), e.Stdout);
        Assert.Contains("gamma", e.Stdout);

        string rows = Path.Combine(outDir, "rows.csv");
        File.WriteAllLines(rows, ["x1,x2", "0.1,-0.2", "4.2,0.1", "-0.3,3.9"]);
        var p = CliRunner.Run(fx.Root, "predict", model, rows);
        Assert.True(p.ExitCode == 0, p.ToString());
        var lines = p.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith($"{rows}:2: alpha ", lines[0]);
        Assert.StartsWith($"{rows}:3: beta ", lines[1]);
        Assert.StartsWith($"{rows}:4: gamma ", lines[2]);
    }

    [Fact]
    public void A_class_folder_tree_trains_and_its_images_are_predicted_by_folder_name()
    {
        string outDir = NewFolder("tree");
        var r = CliRunner.Run(fx.Root, "train", "--model", "cnn", "--data", fx.DigitTree, "--epochs", "4", "--batch-size", "8", "--validation-split", "0", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("28×28, grayscale", r.Stdout);
        var m = CliRunner.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(24, m.GetProperty("test_samples").GetInt32()); // 20% of 120 held out
        Assert.InRange(m.GetProperty("test_accuracy").GetDouble(), 0.75, 1.0);
        var model = Model.Load(Path.Combine(outDir, "model.strata"));
        Assert.Equal(["one", "two", "zero"], model.ClassNames);
        string image = Path.Combine(fx.DigitTree, "one", "000.png");
        var p = CliRunner.Run(fx.Root, "predict", Path.Combine(outDir, "model.strata"), image, "--top", "2");
        Assert.True(p.ExitCode == 0, p.ToString());
        Assert.Matches($@"^{Regex.Escape(image)}: (one|two|zero) \d+\.\d% \(then (one|two|zero) \d+\.\d%\)\n$", p.Stdout);
    }

    // ------------------------------------------------------------------ commands on a saved model

    [Fact]
    public void Evaluate_reproduces_the_training_runs_test_figures()
    {
        var r = CliRunner.Run(fx.Root, "evaluate", fx.MlpModel, "--test-samples", "2000");
        Assert.True(r.ExitCode == 0, r.ToString());
        var m = CliRunner.ReadJson(fx.MetricsPath);
        Assert.Contains(m.GetProperty("test_accuracy").GetDouble().ToString("0.0000", CultureInfo.InvariantCulture), r.Stdout);
        Assert.Contains(m.GetProperty("test_loss").GetDouble().ToString("0.0000", CultureInfo.InvariantCulture), r.Stdout);
        Assert.Contains("Confusion matrix", r.Stdout);
        Assert.Contains("2,000 samples", r.Stdout);
    }

    [Fact]
    public void Predict_gives_the_models_own_classes_and_probabilities_for_image_files()
    {
        string dir = NewFolder("predict");
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: false);
        var files = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            string f = Path.Combine(dir, $"digit{i}-true{labels[i]}.png");
            Images.SavePng(f, images.Slice(i..(i + 1)).Reshape([28, 28, 1]));
            files.Add(f);
        }
        var r = CliRunner.Run(fx.Root, ["predict", fx.MlpModel, .. files]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);

        var model = Model.Load(fx.MlpModel);
        var expected = model.Predict(images.Slice(..6).Reshape([6, 28, 28, 1])).ToArray();
        for (int i = 0; i < 6; i++)
        {
            int best = Enumerable.Range(0, 10).MaxBy(c => expected[i * 10 + c]);
            string probability = (expected[i * 10 + best] * 100).ToString("F1", CultureInfo.InvariantCulture);
            Assert.StartsWith($"{files[i]}: {best} {probability}% (then ", lines[i]);
        }
    }

    [Fact]
    public void Summary_prints_the_keras_style_table()
    {
        var r = CliRunner.Run(fx.Root, "summary", fx.MlpModel);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("dense (Dense)", r.Stdout);
        Assert.Contains("(None, 128)", r.Stdout);
        Assert.Contains("Total params: 109,386", r.Stdout);
        Assert.Contains("Classes (10): 0, 1, 2", r.Stdout);
        Assert.Contains("2 epoch(s) trained", r.Stdout);
    }

    [Fact]
    public void Export_writes_an_onnx_file_that_onnx_runtime_runs_to_the_same_outputs()
    {
        string onnx = Path.Combine(NewFolder("export"), "mlp.onnx");
        var r = CliRunner.Run(fx.Root, "export", fx.MlpModel, "--onnx", onnx);
        Assert.True(r.ExitCode == 0, r.ToString());
        var (images, _) = Mnist.Load(RepoPaths.Mnist, train: false);
        var x = images.Slice(..20).Reshape([20, 28, 28, 1]);
        var expected = Model.Load(fx.MlpModel).Predict(x).ToArray();
        using var session = new InferenceSession(onnx);
        var input = NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), new DenseTensor<float>(x.ToArray(), x.Shape.ToArray()));
        using var results = session.Run([input]);
        var actual = results.Single().AsEnumerable<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5f, $"output {i}: {actual[i]} in ONNX Runtime, {expected[i]} in Strata");
    }

    // ------------------------------------------------------------------ bench

    [Fact]
    public void Bench_gemm_json_gives_every_shape_with_median_min_and_max()
    {
        var r = CliRunner.Run(fx.Root, "bench", "gemm", "--json", "--repeats", "2", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var j = doc.RootElement;
        Assert.Equal("gemm", j.GetProperty("workload").GetString());
        Assert.Equal("GFLOP/s", j.GetProperty("unit").GetString());
        Assert.Equal(1, j.GetProperty("threads").GetInt32());
        Assert.Equal(4, j.GetProperty("shapes").GetArrayLength());
        foreach (var s in j.GetProperty("shapes").EnumerateArray())
        {
            double min = s.GetProperty("min").GetDouble(), median = s.GetProperty("median").GetDouble(), max = s.GetProperty("max").GetDouble();
            Assert.True(min > 0 && min <= median && median <= max, s.ToString());
        }
        var largest = j.GetProperty("shapes")[3];
        Assert.Equal(1024, largest.GetProperty("m").GetInt32());
        Assert.Equal(largest.GetProperty("median").GetDouble(), j.GetProperty("median").GetDouble());
    }

    [Fact]
    public void Bench_mlp_json_gives_training_samples_per_second()
    {
        var r = CliRunner.Run(fx.Root, "bench", "mlp", "--json", "--repeats", "3", "--samples", "2000", "--batch-size", "64", "--threads", "2");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        var j = doc.RootElement;
        Assert.Equal("mlp", j.GetProperty("workload").GetString());
        Assert.Equal("samples/s", j.GetProperty("unit").GetString());
        Assert.Equal(64, j.GetProperty("batch_size").GetInt32());
        Assert.Equal(2, j.GetProperty("threads").GetInt32());
        double min = j.GetProperty("min").GetDouble(), median = j.GetProperty("median").GetDouble(), max = j.GetProperty("max").GetDouble();
        Assert.True(min > 1000 && min <= median && median <= max, j.ToString());
    }

    // ------------------------------------------------------------------ help and errors

    [Theory]
    [InlineData("--help")]
    [InlineData("demo", "--help")]
    [InlineData("train", "--help")]
    [InlineData("evaluate", "--help")]
    [InlineData("predict", "--help")]
    [InlineData("explain", "--help")]
    [InlineData("compress", "--help")]
    [InlineData("summary", "--help")]
    [InlineData("export", "--help")]
    [InlineData("bench", "--help")]
    public void Every_command_has_help(params string[] args)
    {
        var r = CliRunner.Run(fx.Root, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Usage:", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Theory]
    [InlineData(2, "unknown preset 'nonesuch'", "train", "--model", "nonesuch")]
    [InlineData(2, "--epochs must be at least 1, got 0", "train", "--model", "mlp", "--epochs", "0")]
    [InlineData(2, "'abc'", "train", "--model", "mlp", "--epochs", "abc")]
    [InlineData(2, "--frobnicate", "train", "--frobnicate")]
    [InlineData(2, "'nonesuch'", "nonesuch")]
    [InlineData(2, "'fft'", "bench", "fft")]
    [InlineData(2, "--validation-split must be in [0, 1), got 1.5", "train", "--model", "mlp", "--validation-split", "1.5")]
    [InlineData(2, "unknown optimizer 'adamax'", "train", "--model", "mlp", "--optimizer", "adamax")]
    [InlineData(2, "give --model", "train")]
    [InlineData(2, "--image-size", "train", "--model", "cnn", "--image-size", "big")]
    [InlineData(1, "model file 'missing.strata' does not exist", "evaluate", "missing.strata")]
    [InlineData(1, "'no/such/folder' is neither", "train", "--model", "mlp", "--data", "no/such/folder")]
    [InlineData(1, "spec file 'nothere.json' does not exist", "train", "--model", "nothere.json")]
    public void Mistakes_exit_non_zero_with_one_clear_line(int exitCode, string message, params string[] args)
    {
        var r = CliRunner.Run(fx.Root, args);
        Assert.True(r.ExitCode == exitCode, r.ToString());
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("strata: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public void Model_and_data_mismatches_exit_1_with_one_clear_line()
    {
        void Check(string expected, params string[] args)
        {
            var r = CliRunner.Run(fx.Root, args);
            Assert.True(r.ExitCode == 1, r.ToString());
            var line = Assert.Single(r.ErrorLines);
            Assert.StartsWith("strata: model/data mismatch", line);
            Assert.Contains(expected, line);
        }
        // A 10-class MNIST model on the three-class CSV; the CNN preset on two features; image files to a CSV model.
        Check("outputs 10 class scores", "evaluate", fx.MlpModel, "--data", fx.BlobsCsv);
        Check("[2]", "train", "--model", "cnn", "--data", fx.BlobsCsv);
        string rows = Path.Combine(NewFolder("mismatch"), "rows.csv");
        File.WriteAllLines(rows, ["1,2,3"]);
        Check("784 features", "predict", fx.MlpModel, rows);
        var r = CliRunner.Run(fx.Root, "train", "--model", "mlp", "--data", fx.BlobsCsv, "--augment");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--augment needs images", Assert.Single(r.ErrorLines));
        var resume = CliRunner.Run(fx.Root, "train", "--resume", fx.MlpModel, "--epochs", "2", "--samples", "3000");
        Assert.Equal(2, resume.ExitCode);
        Assert.Contains("already trained 2 epoch(s)", Assert.Single(resume.ErrorLines));
    }
}

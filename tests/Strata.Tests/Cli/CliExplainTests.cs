using System.Globalization;
using Strata.Data;

namespace Strata.Tests.Cli;

/// <summary>
/// Shared by the `strata explain` tests: three small models trained through `strata train` — the seed CNN on a
/// class-folder tree of MNIST digits (zero, one, two), the seed MLP on a CSV table whose label depends on one
/// column only, and the lstm text preset on two topics — and two test digits as PNG files.
/// </summary>
public sealed class CliExplainFixture : IDisposable
{
    public CliExplainFixture()
    {
        Root = Directory.CreateTempSubdirectory("strata-cli-explain-").FullName;
        var (train, trainLabels) = Mnist.Load(RepoPaths.Mnist, train: true);
        string tree = Path.Combine(Root, "digits");
        string[] names = ["zero", "one", "two"];
        var count = new int[3];
        for (int i = 0; i < trainLabels.Length && count.Min() < 40; i++)
        {
            int label = trainLabels[i];
            if (label > 2 || count[label] >= 40)
                continue;
            Directory.CreateDirectory(Path.Combine(tree, names[label]));
            Images.SavePng(Path.Combine(tree, names[label], $"{count[label]++:D3}.png"), train.Slice(i..(i + 1)).Reshape([28, 28, 1]));
        }
        ImageRun = Path.Combine(Root, "cnn");
        ImageTrain = CliRunner.Run(Root, "train", "--model", "cnn", "--data", tree, "--epochs", "4", "--batch-size", "8", "--validation-split", "0",
            "--threads", "2", "--out", ImageRun);

        // The test split's first zero and first one.
        var (test, testLabels) = Mnist.Load(RepoPaths.Mnist, train: false);
        foreach (int digit in new[] { 0, 1 })
        {
            int at = Array.IndexOf(testLabels, (byte)digit);
            string file = Path.Combine(Root, $"digit-{names[digit]}.png");
            Images.SavePng(file, test.Slice(at..(at + 1)).Reshape([28, 28, 1]));
            Digits.Add(file);
        }

        SignalCsv = Path.Combine(Root, "signal.csv");
        WriteSignal(SignalCsv, features: 3);
        CsvRun = Path.Combine(Root, "table");
        CsvTrain = CliRunner.Run(Root, "train", "--model", "mlp", "--data", SignalCsv, "--epochs", "10", "--batch-size", "16", "--validation-split", "0",
            "--threads", "2", "--out", CsvRun);

        string topics = Path.Combine(Root, "topics");
        foreach (var (text, label, i) in CliTextFixture.Topics(60, seed: 3))
        {
            Directory.CreateDirectory(Path.Combine(topics, label));
            File.WriteAllText(Path.Combine(topics, label, $"{i:D3}.txt"), text);
        }
        TextRun = Path.Combine(Root, "text");
        TextTrain = CliRunner.Run(Root, "train", "--data", topics, "--epochs", "3", "--sequence-length", "24", "--validation-split", "0",
            "--threads", "2", "--out", TextRun);
    }

    public string Root { get; }
    public string ImageRun { get; }
    public string ImageModel => Path.Combine(ImageRun, "model.strata");
    public CliResult ImageTrain { get; }
    public List<string> Digits { get; } = [];
    public string SignalCsv { get; }
    public string CsvRun { get; }
    public string CsvModel => Path.Combine(CsvRun, "model.strata");
    public CliResult CsvTrain { get; }
    public string TextRun { get; }
    public string TextModel => Path.Combine(TextRun, "model.strata");
    public CliResult TextTrain { get; }

    /// <summary>
    /// 300 rows: noise columns (standard normal) around one informative column, "signal" (±1.5 by class, σ 0.5),
    /// second; the label (0 or 1) last.
    /// </summary>
    public static void WriteSignal(string path, int features)
    {
        var rng = new Random(11);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var header = Enumerable.Range(0, features).Select(f => f == 1 ? "signal" : $"noise_{f}");
        var lines = new List<string> { string.Join(',', header) + ",label" };
        for (int i = 0; i < 300; i++)
        {
            int c = i % 2;
            var row = Enumerable.Range(0, features).Select(f => f == 1 ? (2 * c - 1) * 1.5 + 0.5 * Gauss() : Gauss());
            lines.Add(string.Join(',', row.Select(v => v.ToString("0.0000", CultureInfo.InvariantCulture))) + $",{c}");
        }
        File.WriteAllLines(path, lines);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>`strata explain` on images, texts and CSV tables, its mistakes, and the Explanations section of `strata train`'s report.</summary>
public sealed class CliExplainTests(CliExplainFixture fx) : IClassFixture<CliExplainFixture>
{
    private string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(fx.Root, name + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    private static (int Width, int Height) PngSize(string path)
    {
        var image = StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(path));
        return (image.Width, image.Height);
    }

    private static string[] Lines(CliResult r) => r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    // ------------------------------------------------------------------ images

    [Theory]
    [InlineData("saliency")]
    [InlineData("smoothgrad", "--samples", "8")]
    [InlineData("ig", "--steps", "16")]
    [InlineData("gradcam", "--layer", "conv2d")]
    [InlineData("occlusion", "--window", "7", "--stride", "7")]
    public void Each_method_writes_an_overlay_per_image_and_one_page(string method, params string[] options)
    {
        Assert.True(fx.ImageTrain.ExitCode == 0, fx.ImageTrain.ToString());
        string outDir = NewFolder(method);
        var r = CliRunner.Run(fx.Root, ["explain", fx.ImageModel, .. fx.Digits, "--method", method, "--out", outDir, .. options]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        var lines = Lines(r);
        Assert.Equal(fx.Digits.Count + 1, lines.Length); // a line per input, then the page
        for (int i = 0; i < fx.Digits.Count; i++)
        {
            string png = Path.Combine(outDir, $"{Path.GetFileNameWithoutExtension(fx.Digits[i])}.{method}.png");
            // The image, the map and the blend, 2 white pixels apart: 28 × (3·28 + 4).
            Assert.Equal((3 * 28 + 4, 28), PngSize(png));
            // The predicted class is explained by default.
            Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(fx.Digits[i])}: (?<c>one|two|zero) \d+\.\d%, target \k<c>" +
                (method == "ig" ? @", completeness error [0-9.E+-]+" : "") + $" -> {System.Text.RegularExpressions.Regex.Escape(png)}$", lines[i]);
        }
        string html = File.ReadAllText(Path.Combine(outDir, "explanations.html"));
        Assert.Equal(fx.Digits.Count, html.Split("data:image/png;base64,").Length - 1);
        Assert.All(fx.Digits, d => Assert.Contains(d, html));
        Assert.Contains(method == "ig" ? "<th>completeness error</th>" : "<th>target explained</th>", html);
    }

    [Fact]
    public void The_target_is_a_class_name_or_an_output_index()
    {
        string outDir = NewFolder("target");
        var byName = CliRunner.Run(fx.Root, "explain", fx.ImageModel, fx.Digits[0], "--method", "saliency", "--target", "two", "--out", outDir);
        Assert.True(byName.ExitCode == 0, byName.ToString());
        Assert.Contains(", target two -> ", byName.Stdout);
        // The class folders sort as one, two, zero: output 2 is "zero".
        var byIndex = CliRunner.Run(fx.Root, "explain", fx.ImageModel, fx.Digits[0], "--method", "saliency", "--target", "2", "--out", outDir);
        Assert.True(byIndex.ExitCode == 0, byIndex.ToString());
        Assert.Contains(", target zero -> ", byIndex.Stdout);
        Assert.Contains("<td>zero</td>", File.ReadAllText(Path.Combine(outDir, "explanations.html")));
    }

    [Theory]
    [InlineData("'dense' is Dense, not a convolutional", "{image}", "--method", "gradcam", "--layer", "dense")]
    [InlineData("no layer named 'nonesuch'", "{image}", "--method", "gradcam", "--layer", "nonesuch")]
    [InlineData("--target: 'three' is neither a class", "{image}", "--method", "ig", "--target", "three")]
    [InlineData("--target: '3' is neither a class", "{image}", "--method", "ig", "--target", "3")]
    [InlineData("'lime' not recognized", "{image}", "--method", "lime")]
    [InlineData("--method permutation needs --data", "--method", "permutation")]
    [InlineData("--data applies to --method permutation, not occlusion", "{image}", "--method", "occlusion", "--data", "{csv}")]
    [InlineData("--layer applies to --method gradcam, not ig", "{image}", "--method", "ig", "--layer", "conv2d")]
    [InlineData("give the files to explain", "--method", "saliency")]
    public void Usage_mistakes_exit_2_with_one_clear_line(string message, params string[] args)
    {
        var r = CliRunner.Run(fx.Root, ["explain", fx.ImageModel, .. args.Select(a => a.Replace("{image}", fx.Digits[0]).Replace("{csv}", fx.SignalCsv))]);
        Assert.True(r.ExitCode == 2, r.ToString());
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("strata: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public void Images_to_a_model_of_numbers_exit_1_with_one_clear_line()
    {
        var r = CliRunner.Run(fx.Root, "explain", fx.CsvModel, fx.Digits[0], "--method", "saliency", "--out", NewFolder("mismatch"));
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("model/data mismatch: model 'mlp' takes samples of shape [3], not images", Assert.Single(r.ErrorLines));
    }

    // ------------------------------------------------------------------ CSV tables

    [Fact]
    public void Permutation_ranks_the_informative_column_first_in_its_table_and_chart()
    {
        Assert.True(fx.CsvTrain.ExitCode == 0, fx.CsvTrain.ToString());
        string outDir = NewFolder("permutation");
        var r = CliRunner.Run(fx.Root, "explain", fx.CsvModel, "--data", fx.SignalCsv, "--method", "permutation", "--repeats", "3", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("permutation importance (accuracy: ", r.Stdout);
        var rows = File.ReadAllLines(Path.Combine(outDir, "permutation.csv"));
        Assert.Equal("feature,mean,std,drop_1,drop_2,drop_3", rows[0]);
        Assert.Equal(4, rows.Length);
        var signal = rows[1].Split(',');
        Assert.Equal("signal", signal[0]);
        // Shuffling the signal leaves about chance (0.5); shuffling noise changes little.
        Assert.InRange(double.Parse(signal[1], CultureInfo.InvariantCulture), 0.25, 0.6);
        Assert.All(rows[2..], row => Assert.InRange(double.Parse(row.Split(',')[1], CultureInfo.InvariantCulture), -0.05, 0.05));
        var (width, height) = PngSize(Path.Combine(outDir, "permutation.png"));
        Assert.Equal(800, width);
        Assert.True(height >= 320, $"permutation.png is {height} pixels high");
    }

    [Fact]
    public void A_csv_file_with_other_columns_than_the_model_takes_exits_1_naming_them()
    {
        string csv = Path.Combine(NewFolder("wide"), "wide.csv");
        CliExplainFixture.WriteSignal(csv, features: 4);
        var r = CliRunner.Run(fx.Root, "explain", fx.CsvModel, "--data", csv, "--method", "permutation", "--out", NewFolder("wide-out"));
        Assert.True(r.ExitCode == 1, r.ToString());
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("strata: model/data mismatch: model 'mlp' takes samples of shape [3]", line);
        Assert.Contains("has 4 feature column(s) besides the label: noise_0, signal, noise_2, noise_3", line);
    }

    // ------------------------------------------------------------------ texts

    [Fact]
    public void A_text_model_gets_token_attributions_as_html_and_its_top_tokens()
    {
        Assert.True(fx.TextTrain.ExitCode == 0, fx.TextTrain.ToString());
        string dir = NewFolder("text"), message = Path.Combine(dir, "match.txt");
        File.WriteAllText(message, "The striker scored a late goal and the coach praised the team");
        var r = CliRunner.Run(fx.Root, "explain", fx.TextModel, message, "--method", "ig", "--steps", "16", "--out", dir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = Lines(r);
        Assert.Equal(2, lines.Length);
        string page = Path.Combine(dir, "match.tokens.html");
        Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(message)}: (?<c>cooking|sports) \d+\.\d%, target \k<c>, completeness error [0-9.E+-]+ -> ", lines[0]);
        Assert.EndsWith(page, lines[0]);
        Assert.Matches(@"^  top tokens: (\S+ [+-]?\d\.\d{4}(, |$)){5}", lines[1]);
        string html = File.ReadAllText(page);
        Assert.Contains(">striker</span>", html);
        Assert.Contains(">[UNK:praised]</span>", html); // not among the topics' words
        Assert.DoesNotContain("\"></span>", html); // padding left out: no empty token spans
        var wrong = CliRunner.Run(fx.Root, "explain", fx.TextModel, message, "--method", "occlusion", "--out", dir);
        Assert.True(wrong.ExitCode == 2, wrong.ToString());
        Assert.Contains("--method ig only", Assert.Single(wrong.ErrorLines));
    }

    // ------------------------------------------------------------------ the training report

    [Fact]
    public void The_report_of_an_image_run_explains_test_images_with_grad_cam()
    {
        Assert.True(fx.ImageTrain.ExitCode == 0, fx.ImageTrain.ToString());
        Assert.Matches(@"\nexplanations: Grad-CAM \(conv2d_1\) of \d+ test images, \d+\.\d s\n", fx.ImageTrain.Stdout);
        string html = File.ReadAllText(Path.Combine(fx.ImageRun, "report.html"));
        Assert.Contains("<h2>Explanations</h2>", html);
        Assert.Contains("Grad-CAM (conv2d_1), the model&#39;s last convolutional layer; the target explained is each image&#39;s predicted class", html);
        // 24 test images (20% of 120): 8 correctly classified rows, and a second column where any are misclassified.
        double accuracy = CliRunner.ReadJson(Path.Combine(fx.ImageRun, "metrics.json")).GetProperty("test_accuracy").GetDouble();
        int wrong = (int)Math.Round((1 - accuracy) * 24);
        int tile = 112, rowWidth = 3 * tile + 4;
        Assert.Equal((wrong > 0 ? 2 * rowWidth + 12 : rowWidth, 8 * tile + 7 * 2), PngSize(Path.Combine(fx.ImageRun, "explanations.png")));
        CliTests.CheckHtml(fx.ImageRun, wrong > 0 ? 5 : 4); // loss, accuracy, confusion matrix, misclassified (if any), explanations
    }

    [Fact]
    public void The_report_of_a_csv_run_shows_the_permutation_importance_of_its_features()
    {
        Assert.True(fx.CsvTrain.ExitCode == 0, fx.CsvTrain.ToString());
        string html = File.ReadAllText(Path.Combine(fx.CsvRun, "report.html"));
        Assert.Contains("<h2>Explanations</h2>", html);
        Assert.Contains("Permutation importance on the test split (60 rows)", html);
        int signal = html.IndexOf("<tr><th>signal</th>", StringComparison.Ordinal);
        Assert.True(signal > 0 && signal < html.IndexOf("<tr><th>noise_0</th>", StringComparison.Ordinal)
            && signal < html.IndexOf("<tr><th>noise_2</th>", StringComparison.Ordinal), "signal is not ranked first");
        Assert.True(File.Exists(Path.Combine(fx.CsvRun, "permutation.png")));
        CliTests.CheckHtml(fx.CsvRun, 4); // loss, accuracy, confusion matrix, permutation importance
    }

    [Fact]
    public void The_report_of_a_text_run_shows_token_attributions_of_test_messages()
    {
        Assert.True(fx.TextTrain.ExitCode == 0, fx.TextTrain.ToString());
        string html = File.ReadAllText(Path.Combine(fx.TextRun, "report.html"));
        Assert.Contains("<h2>Explanations</h2>", html);
        for (int i = 1; i <= 4; i++)
            Assert.Contains($"Test message {i}: true ", html);
        Assert.DoesNotContain("Test message 5", html);
    }
}

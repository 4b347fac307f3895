using System.Buffers.Binary;
using System.Globalization;
using Strata.Data;
using Strata.Models;

namespace Strata.Tests.Cli;

/// <summary>
/// Shared by the GAN command tests: a small folder of MNIST-format IDX files (the first 512 training
/// and 1,000 test images) and one tiny `strata gan` run of each kind on it (256 images, 2 epochs,
/// width 4, latent 8, 200 scored images).
/// </summary>
public sealed class CliGanFixture : IDisposable
{
    public static readonly string[] TinyRun = ["--samples", "256", "--epochs", "2", "--width", "4", "--latent", "8", "--score-samples", "200", "--batch", "64", "--threads", "2"];

    public CliGanFixture()
    {
        Root = Directory.CreateTempSubdirectory("strata-cli-gan-").FullName;
        Data = Path.Combine(Root, "idx");
        WriteIdx(Data, "train", 512);
        WriteIdx(Data, "t10k", 1000);
        Unconditional = Path.Combine(Root, "gan");
        Conditional = Path.Combine(Root, "cgan");
        UnconditionalRun = CliRunner.Run(Root, ["gan", "--data", Data, .. TinyRun, "--out", Unconditional]);
        ConditionalRun = CliRunner.Run(Root, ["gan", "--conditional", "--data", Data, .. TinyRun, "--out", Conditional]);
    }

    public string Root { get; }
    public string Data { get; }
    public string Unconditional { get; }
    public string Conditional { get; }
    public CliResult UnconditionalRun { get; }
    public CliResult ConditionalRun { get; }

    /// <summary>The first <paramref name="n"/> images and labels of a shipped MNIST split as raw IDX files.</summary>
    private static void WriteIdx(string folder, string split, int n)
    {
        Directory.CreateDirectory(folder);
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: split == "train");
        var pixels = images.Slice(..n).ToArray();
        var imageBytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(imageBytes, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(imageBytes.AsSpan(4), n);
        BinaryPrimitives.WriteInt32BigEndian(imageBytes.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(imageBytes.AsSpan(12), 28);
        for (int i = 0; i < pixels.Length; i++)
            imageBytes[16 + i] = (byte)MathF.Round(pixels[i] * 255);
        File.WriteAllBytes(Path.Combine(folder, $"{split}-images-idx3-ubyte"), imageBytes);
        var labelBytes = new byte[8 + n];
        BinaryPrimitives.WriteInt32BigEndian(labelBytes, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labelBytes.AsSpan(4), n);
        for (int i = 0; i < n; i++)
            labelBytes[8 + i] = (byte)labels[i];
        File.WriteAllBytes(Path.Combine(folder, $"{split}-labels-idx1-ubyte"), labelBytes);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>`strata gan` and `strata generate`, run as a user runs them.</summary>
public sealed class CliGanTests(CliGanFixture fx) : IClassFixture<CliGanFixture>
{
    private string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(fx.Root, name + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    private static (int Width, int Height, byte[] Grey) Png(string path)
    {
        var image = StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(path), StbImageSharp.ColorComponents.Grey);
        return (image.Width, image.Height, image.Data);
    }

    private static string[][] Csv(string path) => [.. File.ReadAllLines(path).Select(l => l.Split(','))];

    /// <summary>Copies a run's folder (to resume it without touching the shared one).</summary>
    private string CopyRun(string from)
    {
        string to = NewFolder("copy");
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return to;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_gan_run_writes_grids_scores_curves_checkpoint_generator_and_report(bool conditional)
    {
        var r = conditional ? fx.ConditionalRun : fx.UnconditionalRun;
        string dir = conditional ? fx.Conditional : fx.Unconditional;
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        Assert.Contains("Epoch 2/2", r.Stdout);
        // The epoch line's training rate counts every image of the epoch (it once counted one: "0 samples/s").
        // 256 images trained in at most the epoch's seconds (scoring included there): at least 256 / seconds, less rounding.
        var rate = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"Epoch 2/2 - ([0-9.]+) s - ([0-9,]+) samples/s");
        Assert.True(rate.Success, r.Stdout);
        double seconds = double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(int.Parse(rate.Groups[2].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) >= 256 / (seconds + 0.05) - 1, rate.Value);
        Assert.Contains("real test images (200): classifier score ", r.Stdout);

        // Sample grids: 8×8 images of 28 pixels with 2-pixel gaps, or a row per digit of 10.
        int side = conditional ? 10 * 30 - 2 : 8 * 30 - 2;
        foreach (string grid in new[] { "epoch-001.png", "epoch-002.png" })
        {
            var (w, h, _) = Png(Path.Combine(dir, "samples", grid));
            Assert.Equal((side, side), (w, h));
        }
        Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, "samples")).Length);
        var plots = conditional ? new[] { "losses.png", "scores.png", "class_accuracy.png" } : ["losses.png", "scores.png"];
        foreach (string plot in plots)
        {
            var (pw, ph, _) = Png(Path.Combine(dir, plot));
            Assert.Equal((800, 450), (pw, ph));
        }
        Assert.Equal(conditional, File.Exists(Path.Combine(dir, "class_accuracy.png")));

        // scores.csv: the header, the real images as epoch 0, one row per epoch.
        var rows = Csv(Path.Combine(dir, "scores.csv"));
        Assert.Equal("epoch,images,d_loss,g_loss,classifier_score,frechet_distance,class_accuracy,seconds", string.Join(',', rows[0]));
        Assert.Equal(4, rows.Length);
        Assert.Equal(["0", "real", "", ""], rows[1][..4]);
        Assert.Equal("", rows[1][7]);
        for (int e = 1; e <= 2; e++)
        {
            var row = rows[e + 1];
            Assert.Equal([e.ToString(CultureInfo.InvariantCulture), "generated"], row[..2]);
            foreach (int column in new[] { 2, 3, 4, 5, 7 })
                Assert.True(double.IsFinite(double.Parse(row[column], CultureInfo.InvariantCulture)), $"row {e}, column {rows[0][column]}: '{row[column]}'");
            double score = double.Parse(row[4], CultureInfo.InvariantCulture);
            Assert.InRange(score, 1.0, 10.0); // exp of a KL divergence over 10 classes
            Assert.True(double.Parse(row[5], CultureInfo.InvariantCulture) >= 0);
        }
        foreach (var row in rows[1..])
        {
            if (conditional)
                Assert.InRange(double.Parse(row[6], CultureInfo.InvariantCulture), 0.0, 1.0);
            else
                Assert.Equal("", row[6]);
        }
        // The classifier reads most real test images as their own digit, and real images score far better than an untrained generator's.
        if (conditional)
            Assert.InRange(double.Parse(rows[1][6], CultureInfo.InvariantCulture), 0.9, 1.0);
        Assert.True(double.Parse(rows[1][4], CultureInfo.InvariantCulture) > double.Parse(rows[3][4], CultureInfo.InvariantCulture));
        Assert.True(double.Parse(rows[1][5], CultureInfo.InvariantCulture) < double.Parse(rows[3][5], CultureInfo.InvariantCulture));

        // Per-step losses: 256 images in batches of 64, two epochs.
        var steps = Csv(Path.Combine(dir, "batch_losses.csv"));
        Assert.Equal("epoch,batch,d_loss,g_loss", string.Join(',', steps[0]));
        Assert.Equal(9, steps.Length);
        Assert.Equal(["2", "4"], steps[^1][..2]);
        // Each epoch's mean loss is the mean of its steps' (equal batches).
        double meanD = steps[5..].Average(s => double.Parse(s[2], CultureInfo.InvariantCulture));
        Assert.Equal(double.Parse(rows[3][2], CultureInfo.InvariantCulture), meanD, 1e-4);

        // The checkpoint holds the whole GAN after epoch 2; the generator alone loads as a model.
        var gan = Gan.Load(Path.Combine(dir, "gan.strata"));
        Assert.Equal(2, gan.CompletedEpochs);
        Assert.Equal(conditional, gan is ConditionalGan);
        var generator = Model.Load(Path.Combine(dir, "generator.strata"));
        Assert.Equal(conditional ? 2 : 1, generator.InputCount);
        Assert.Equal([8], generator.InputShapes![0].ToArray());
        var z = gan.SampleLatent(3, seed: 2);
        Assert.Equal(conditional ? ((ConditionalGan)gan).Generate(z, [4, 1, 9]).ToArray() : gan.Generate(z).ToArray(),
            (conditional ? generator.Predict([z, Tensor.FromArray([4f, 1f, 9f]).Reshape([3, 1])]) : generator.Predict(z)).ToArray());

        // report.html: the last grid and the plots embedded, every linked file present, the real row in the table.
        CliTests.CheckHtml(dir, plots.Length + 1);
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        foreach (string part in new[] { "Samples after epoch 2", "samples/epoch-002.png", "real (test)", "Fréchet distance", "Generator", "Discriminator", "Timing and machine" })
            Assert.Contains(part, html);
        Assert.Equal(conditional, html.Contains("read as requested", StringComparison.Ordinal));
    }

    [Fact]
    public void Generate_draws_the_grid_of_the_saved_generator()
    {
        string dir = NewFolder("generate");
        string png = Path.Combine(dir, "grid.png");
        string generatorPath = Path.Combine(fx.Unconditional, "generator.strata");
        var r = CliRunner.Run(fx.Root, "generate", generatorPath, "--count", "6", "--seed", "5", "--out", png);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("6 images", r.Stdout);
        // The same pixels as Gan.Generate(6, seed 5) mapped from [−1, 1] to bytes, in a grid of 3 columns, 2 rows.
        var gan = Gan.Load(Path.Combine(fx.Unconditional, "gan.strata"));
        var expected = Images.Grid(((gan.Generate(6, seed: 5) + 1f) * 0.5f).Clamp(0f, 1f), columns: 3, pad: 2, padValue: 1).ToArray();
        var (w, h, grey) = Png(png);
        Assert.Equal((3 * 30 - 2, 2 * 30 - 2), (w, h));
        Assert.Equal(expected.Select(v => (byte)Math.Clamp(MathF.Round(v * 255), 0, 255)).ToArray(), grey);
    }

    [Fact]
    public void Generate_on_a_conditional_generator_draws_a_row_per_digit_or_the_digit_asked_for()
    {
        string dir = NewFolder("generate-conditional");
        string generatorPath = Path.Combine(fx.Conditional, "generator.strata");
        string rows = Path.Combine(dir, "rows.png"), sevens = Path.Combine(dir, "sevens.png");
        var r = CliRunner.Run(fx.Root, "generate", generatorPath, "--count", "20", "--out", rows);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("a row of 2 per class", r.Stdout);
        var (w, h, _) = Png(rows);
        Assert.Equal((2 * 30 - 2, 10 * 30 - 2), (w, h));

        r = CliRunner.Run(fx.Root, "generate", generatorPath, "--digit", "7", "--count", "4", "--seed", "3", "--out", sevens);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("4 images of class 7", r.Stdout);
        var gan = (ConditionalGan)Gan.Load(Path.Combine(fx.Conditional, "gan.strata"));
        var expected = Images.Grid(((gan.Generate(4, digit: 7, seed: 3) + 1f) * 0.5f).Clamp(0f, 1f), columns: 2, pad: 2, padValue: 1).ToArray();
        Assert.Equal(expected.Select(v => (byte)Math.Clamp(MathF.Round(v * 255), 0, 255)).ToArray(), Png(sevens).Grey);
    }

    [Fact]
    public void A_resumed_run_adds_epochs_to_the_scores_and_grids()
    {
        string dir = CopyRun(fx.Unconditional);
        var before = File.ReadAllLines(Path.Combine(dir, "scores.csv"));
        var r = CliRunner.Run(fx.Root, ["gan", "--resume", "--data", fx.Data, "--samples", "256", "--epochs", "3", "--score-samples", "200", "--threads", "2", "--out", dir]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Epoch 3/3", r.Stdout);
        Assert.DoesNotContain("Epoch 2/3", r.Stdout);
        var after = File.ReadAllLines(Path.Combine(dir, "scores.csv"));
        Assert.Equal(5, after.Length);
        Assert.Equal(before[..4], after[..4]); // the real row is measured again, the same
        Assert.StartsWith("3,generated,", after[4]);
        Assert.Equal(13, File.ReadAllLines(Path.Combine(dir, "batch_losses.csv")).Length);
        Assert.True(File.Exists(Path.Combine(dir, "samples", "epoch-003.png")));
        Assert.Equal(3, Gan.Load(Path.Combine(dir, "gan.strata")).CompletedEpochs);
        Assert.Contains("Samples after epoch 3", File.ReadAllText(Path.Combine(dir, "report.html")));
    }

    [Fact]
    public void A_diverged_run_exits_1_with_the_stop_reason_and_keeps_the_last_good_checkpoint()
    {
        string dir = CopyRun(fx.Unconditional);
        var weights = Gan.Load(Path.Combine(dir, "gan.strata")).GetWeights();
        // A learning rate of 1e30 makes the first update's weights overflow: the next losses are NaN.
        var r = CliRunner.Run(fx.Root, ["gan", "--resume", "--data", fx.Data, "--samples", "256", "--epochs", "4", "--score-samples", "200",
            "--learning-rate", "1e30", "--threads", "2", "--out", dir]);
        Assert.True(r.ExitCode == 1, r.ToString());
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("strata: Gan 'dcgan': the ", line);
        Assert.Contains("loss became NaN in epoch 3", line);
        Assert.Contains("gan.strata keeps epoch 2", line);
        var kept = Gan.Load(Path.Combine(dir, "gan.strata"));
        Assert.Equal(2, kept.CompletedEpochs);
        Assert.Equal(weights, kept.GetWeights());
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, "scores.csv")).Length);
        Assert.False(File.Exists(Path.Combine(dir, "samples", "epoch-003.png")));
        Assert.Contains("Training diverged.", File.ReadAllText(Path.Combine(dir, "report.html")));
        // generator.strata is the last good epoch's.
        var z = kept.SampleLatent(2, seed: 1);
        Assert.Equal(kept.Generate(z).ToArray(), Model.Load(Path.Combine(dir, "generator.strata")).Predict(z).ToArray());
    }

    [Fact]
    public void The_readme_gan_tour_runs_as_written_on_small_settings()
    {
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var tour = System.Text.RegularExpressions.Regex.Match(readme, "Generative adversarial networks on MNIST.*?```sh\\n(.*?)```",
            System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(tour.Success, "the README's GAN tour block was not found");
        var commands = tour.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, commands.Length);
        string dir = NewFolder("readme-gan");
        foreach (var line in commands)
        {
            Assert.StartsWith("strata ", line);
            string[] args = line["strata ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (args[0] == "gan") // as written, on the small data and networks of these tests
                args = [.. args, "--data", fx.Data, "--samples", "128", "--width", "4", "--latent", "8", "--score-samples", "100", "--threads", "2"];
            var r = CliRunner.Run(dir, args);
            Assert.True(r.ExitCode == 0, $"{line}\n{r}");
        }
        Assert.Equal(7, File.ReadAllLines(Path.Combine(dir, "runs", "cgan", "scores.csv")).Length); // the header, the real images, 5 epochs
        var (w, h, _) = Png(Path.Combine(dir, "sevens.png"));
        Assert.Equal((8 * 30 - 2, 8 * 30 - 2), (w, h));
        Assert.True(new FileInfo(Path.Combine(dir, "runs", "gan.onnx")).Length > 0);
    }

    [Theory]
    [InlineData("gan", "--help")]
    [InlineData("generate", "--help")]
    public void The_gan_commands_have_help(params string[] args)
    {
        var r = CliRunner.Run(fx.Root, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Usage:", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void Mistakes_exit_non_zero_with_one_clear_line()
    {
        string unconditional = Path.Combine(fx.Unconditional, "generator.strata"), conditional = Path.Combine(fx.Conditional, "generator.strata");
        string png = Path.Combine(NewFolder("mistakes"), "x.png");
        string empty = NewFolder("empty");
        (int, string, string[])[] cases =
        [
            (2, "--digit: 10 is outside the generator's classes 0 … 9", ["generate", conditional, "--digit", "10", "--out", png]),
            (2, "--digit: -1 is outside", ["generate", conditional, "--digit", "-1", "--out", png]),
            (2, "--digit needs a conditional generator", ["generate", unconditional, "--digit", "3", "--out", png]),
            (1, "model file 'missing.strata' does not exist", ["generate", "missing.strata", "--out", png]),
            (1, "is not a generator", ["generate", MlpLike(), "--out", png]),
            (2, "--out", ["generate", unconditional]),
            (2, "--score-samples must be in [2, 500]", ["gan", "--data", fx.Data, "--score-samples", "600", "--out", empty]),
            (2, "--latent sizes a new GAN", ["gan", "--resume", "--latent", "4", "--data", fx.Data, "--out", fx.Unconditional]),
            (1, "--resume: there is no checkpoint", ["gan", "--resume", "--data", fx.Data, "--out", empty]),
            (2, "holds an unconditional GAN: drop --conditional", ["gan", "--resume", "--conditional", "--data", fx.Data, "--epochs", "3", "--out", fx.Unconditional]),
            (2, "already trained 2 epoch(s)", ["gan", "--resume", "--data", fx.Data, "--epochs", "2", "--out", fx.Unconditional]),
            (2, "--label-smoothing must be in [0, 1), got 1", ["gan", "--label-smoothing", "1", "--out", empty]),
            (1, "'no/such/folder' is neither mnist", ["gan", "--data", "no/such/folder", "--out", empty]),
        ];
        foreach (var (exitCode, message, args) in cases)
        {
            var r = CliRunner.Run(fx.Root, args);
            Assert.True(r.ExitCode == exitCode, $"{string.Join(' ', args)}\n{r}");
            var line = Assert.Single(r.ErrorLines);
            Assert.StartsWith("strata: ", line);
            Assert.Contains(message, line);
        }
    }

    /// <summary>A classifier's model file (not a generator): a small Sequential saved once.</summary>
    private string MlpLike()
    {
        string path = Path.Combine(fx.Root, "classifier.strata");
        lock (fx)
        {
            if (!File.Exists(path))
                new Sequential([new Strata.Layers.Input([28, 28, 1]), new Strata.Layers.Flatten(), new Strata.Layers.Dense(10, "softmax")], seed: 1).Save(path);
        }
        return path;
    }
}

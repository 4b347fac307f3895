using System.IO.Compression;
using System.Text.Json;
using Xunit;

namespace Strata.Tests.Cli;

/// <summary>`strata train` meeting a diverging loss, values beyond float32 and a batch too large, as a separate process.</summary>
public sealed class CliRobustTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("strata-robust");

    public void Dispose() => _root.Delete(true);

    [Fact]
    public void A_diverging_run_stops_says_where_keeps_the_earlier_model_and_still_writes_valid_metrics()
    {
        string outDir = Path.Combine(_root.FullName, "nan");
        Directory.CreateDirectory(outDir);
        string model = Path.Combine(outDir, "model.strata");
        byte[] earlier = [1, 2, 3, 4]; // what an earlier run left: this run must not overwrite it with a diverged model
        File.WriteAllBytes(model, earlier);
        var r = CliRunner.Run(_root.FullName, "train", "--model", "mlp", "--data", Path.Combine(RepoPaths.Root, "data", "mnist"), "--samples", "600",
            "--epochs", "3", "--learning-rate", "1e30", "--validation-split", "0", "--test-samples", "200", "--out", outDir);
        Assert.True(r.ExitCode == 1, r.ToString());
        string flat = string.Join(" ", r.Stdout.Split('\n', StringSplitOptions.TrimEntries));
        Assert.Matches(@"training diverged: the loss became (NaN|-?∞|-?Infinity) at epoch 1, batch \d+ of 19; try a lower learning rate", flat);
        Assert.Contains("1E+30", flat);
        Assert.Contains("model: none saved", flat);
        Assert.DoesNotContain("Epoch 2/3", r.Stdout); // stopped at the batch, not trained on
        Assert.Equal(earlier, File.ReadAllBytes(model));

        var metrics = CliRunner.ReadJson(Path.Combine(outDir, "metrics.json")); // valid JSON although the loss is NaN
        Assert.Equal(JsonValueKind.Null, metrics.GetProperty("test_loss").ValueKind);
        Assert.True(metrics.GetProperty("diverged").GetBoolean());
        Assert.Equal(JsonValueKind.Null, metrics.GetProperty("model_file").ValueKind);
        Assert.Contains(metrics.GetProperty("history").GetProperty("loss").EnumerateArray(), v => v.ValueKind == JsonValueKind.Null);
        Assert.StartsWith("training diverged", metrics.GetProperty("stopped").GetString());
        // The rate counts the batches the diverged epoch trained, not the whole epoch.
        int batch = int.Parse(System.Text.RegularExpressions.Regex.Match(flat, @"at epoch 1, batch (\d+) of 19").Groups[1].Value);
        double seconds = metrics.GetProperty("train_seconds")[0].GetDouble(), rate = metrics.GetProperty("train_samples_per_second").GetDouble();
        Assert.InRange(rate * seconds, batch * 32 * 0.98 - 1, batch * 32 * 1.02 + 1);
        Assert.Contains("training diverged", File.ReadAllText(Path.Combine(outDir, "report.html")));
    }

    [Fact]
    public void A_resumed_run_that_diverges_keeps_its_checkpoint_and_a_lower_learning_rate_resumes_it()
    {
        string mnist = Path.Combine(RepoPaths.Root, "data", "mnist");
        string[] common = ["--data", mnist, "--samples", "600", "--validation-split", "0", "--test-samples", "200"];
        string good = Path.Combine(_root.FullName, "good");
        var first = CliRunner.Run(_root.FullName, ["train", "--model", "mlp", .. common, "--epochs", "1", "--out", good]);
        Assert.True(first.ExitCode == 0, first.ToString());
        string checkpoint = Path.Combine(good, "model.strata");
        byte[] before = File.ReadAllBytes(checkpoint);

        string blown = Path.Combine(_root.FullName, "blown");
        var r = CliRunner.Run(_root.FullName, ["train", "--resume", checkpoint, .. common, "--epochs", "3", "--learning-rate", "1e30", "--out", blown]);
        Assert.True(r.ExitCode == 1, r.ToString());
        string flat = string.Join(" ", r.Stdout.Split('\n', StringSplitOptions.TrimEntries));
        Assert.Contains("learning rate set to 1E+30", flat);
        Assert.Matches(@"training diverged: the loss became \S+ at epoch 2, batch \d+ of 19", flat);
        Assert.Contains($"({checkpoint}) holds the model after epoch 1, the last with a finite loss", flat);
        var metrics = CliRunner.ReadJson(Path.Combine(blown, "metrics.json"));
        Assert.Equal(Path.GetFullPath(checkpoint), metrics.GetProperty("model_file").GetString());
        Assert.Equal(JsonValueKind.Number, metrics.GetProperty("test_loss").ValueKind); // the resumed checkpoint's figures, finite
        Assert.Equal(before, File.ReadAllBytes(checkpoint));
        Assert.False(File.Exists(Path.Combine(blown, "model.strata")));

        string lower = Path.Combine(_root.FullName, "lower");
        var again = CliRunner.Run(_root.FullName, ["train", "--resume", checkpoint, .. common, "--epochs", "2", "--learning-rate", "1e-4", "--out", lower]);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("learning rate set to 0.0001", again.Stdout);
        Assert.Equal(2, Strata.Models.Model.Load(Path.Combine(lower, "model.strata")).CompletedEpochs);
    }

    [Fact]
    public void A_regression_that_diverges_still_draws_its_report()
    {
        string outDir = Path.Combine(_root.FullName, "reg");
        var r = CliRunner.Run(_root.FullName, "train", "--model", "mlp", "--data", Path.Combine(RepoPaths.Root, "data", "tabular", "diabetes.csv"),
            "--epochs", "2", "--learning-rate", "1e30", "--out", outDir);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("training diverged", r.Stdout);
        var metrics = CliRunner.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.Equal("regression", metrics.GetProperty("task").GetString());
        Assert.Equal(JsonValueKind.Null, metrics.GetProperty("test_mse").ValueKind);
        foreach (var file in new[] { "report.html", "predicted_vs_true.png", "residuals.png" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), file);
    }

    [Fact]
    public void Csv_values_beyond_float32_stop_the_run_naming_file_line_and_column()
    {
        string csv = Path.Combine(_root.FullName, "over.csv");
        File.WriteAllText(csv, "a,b,label\n1,2,0\n3,1e39,1\n4,5,0\n2,2,1\n");
        string outDir = Path.Combine(_root.FullName, "over");
        var r = CliRunner.Run(_root.FullName, "train", "--model", "mlp", "--data", csv, "--epochs", "1", "--out", outDir);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"CSV '{csv}'", r.Stderr);
        Assert.Contains("line 3 column 'b': '1e39'", r.Stderr);
        Assert.Contains("float32", r.Stderr);
        Assert.False(File.Exists(Path.Combine(outDir, "model.strata")));
    }

    [Fact]
    public void A_batch_that_cannot_fit_fails_at_once_with_the_size_it_needs()
    {
        // A spec whose activations are 16.8 M values per sample: 1,000 samples in one batch need hundreds of GB.
        string spec = Path.Combine(_root.FullName, "wide.json");
        var wide = new Strata.Models.Sequential([new Strata.Layers.Input([28, 28]), new Strata.Layers.Reshape([28, 28, 1]),
            new Strata.Layers.UpSampling2D(146), new Strata.Layers.GlobalAveragePooling2D(), new Strata.Layers.Dense(10, "softmax")], name: "wide");
        string saved = Path.Combine(_root.FullName, "wide.strata");
        wide.Save(saved);
        using (var zip = ZipFile.OpenRead(saved))
            zip.GetEntry("config.json")!.ExtractToFile(spec);
        var r = CliRunner.Run(_root.FullName, "train", "--model", spec, "--data", Path.Combine(RepoPaths.Root, "data", "mnist"), "--samples", "1000",
            "--validation-split", "0", "--batch-size", "1000000000", "--epochs", "1", "--out", Path.Combine(_root.FullName, "wide"));
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("batches of 1,000 samples needs at least", r.Stderr);
        Assert.Contains("smaller batch size", r.Stderr);
    }
}

using System.Text.RegularExpressions;
using Strata.Data;

namespace Strata.Tests.Cli;

/// <summary>The README's command-line tour runs as written, line by line, in a fresh folder.</summary>
public sealed class ReadmeCliTests
{
    [Fact]
    public void The_command_line_tour_runs_as_written()
    {
        var commands = TourBlock("### The command line\\n.*?```sh\\n.*?```\\n\\n```sh\\n(.*?)```", "command-line tour", 6);

        var dir = Directory.CreateTempSubdirectory("strata-readme-cli-");
        try
        {
            // The tour's digit.png: the first MNIST test image (a 7).
            var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: false);
            Images.SavePng(Path.Combine(dir.FullName, "digit.png"), images.Slice(0..1).Reshape([28, 28, 1]));
            foreach (var line in commands)
            {
                var (args, r) = RunTourLine(dir.FullName, line);
                if (args[0] == "predict")
                    Assert.StartsWith($"digit.png: {labels[0]} ", r.Stdout);
            }
            var metrics = CliRunner.ReadJson(Path.Combine(dir.FullName, "runs", "mlp.json"));
            Assert.InRange(metrics.GetProperty("test_accuracy").GetDouble(), 0.95, 1.0);
            Assert.True(File.Exists(Path.Combine(dir.FullName, "runs", "mlp.onnx")));
            Assert.True(File.Exists(Path.Combine(dir.FullName, "runs", "mlp", "report.html")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_text_tour_runs_as_written()
    {
        var commands = TourBlock("### The command line\\n.*?shipped in `data/spam-assassin`:\\n\\n```sh\\n(.*?)```", "text tour", 2);

        var dir = Directory.CreateTempSubdirectory("strata-readme-text-");
        try
        {
            // The tour's message.txt: a message of the user's own.
            File.WriteAllText(Path.Combine(dir.FullName, "message.txt"), "Re: the meeting\n\nSee you at ten; I will bring the slides.");
            foreach (var line in commands)
            {
                var (args, r) = RunTourLine(dir.FullName, line);
                if (args[0] == "predict")
                    Assert.Matches(@"^message\.txt: (ham|spam) \d+\.\d% \(then (ham|spam) \d+\.\d%\)\n$", r.Stdout);
            }
            Assert.True(File.Exists(Path.Combine(dir.FullName, "runs", "spam", "report.html")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
    [Fact]
    public void The_explain_tour_runs_as_written()
    {
        var commands = TourBlock("### The command line\\n.*?`table.csv` is any CSV file of numbers with the label column last:\\n\\n```sh\\n(.*?)```", "explain tour", 6);
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var textTour = Regex.Match(readme, "### The command line\\n.*?shipped in `data/spam-assassin`:\\n\\n```sh\\n(strata train [^\\n]*)\\n", RegexOptions.Singleline);
        Assert.True(textTour.Success, "the README's text tour block was not found");

        var dir = Directory.CreateTempSubdirectory("strata-readme-explain-");
        try
        {
            // The tours' digit.png (the first MNIST test image, a 7), message.txt and runs/spam; a table.csv of numbers.
            var (images, _) = Mnist.Load(RepoPaths.Mnist, train: false);
            Images.SavePng(Path.Combine(dir.FullName, "digit.png"), images.Slice(0..1).Reshape([28, 28, 1]));
            File.WriteAllText(Path.Combine(dir.FullName, "message.txt"), "Re: the meeting\n\nSee you at ten; I will bring the slides.");
            CliExplainFixture.WriteSignal(Path.Combine(dir.FullName, "table.csv"), features: 3);
            foreach (var line in new[] { textTour.Groups[1].Value }.Concat(commands))
                RunTourLine(dir.FullName, line);
            string output = Path.Combine(dir.FullName, "runs", "explain");
            foreach (var file in new[] { "digit.gradcam.png", "digit.ig.png", "explanations.html", "message.tokens.html", "permutation.csv", "permutation.png" })
                Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is not in runs/explain");
            Assert.StartsWith("signal,", File.ReadAllLines(Path.Combine(output, "permutation.csv"))[1]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_table_tour_runs_as_written()
    {
        var commands = TourBlock("### The command line\\n.*?a number to predict\\):\\n\\n```sh\\n(.*?)```", "table tour", 3);

        var dir = Directory.CreateTempSubdirectory("strata-readme-table-");
        try
        {
            // From the repository root, as the tour says: the tables shipped in data/tabular.
            Directory.CreateDirectory(Path.Combine(dir.FullName, "data", "tabular"));
            foreach (var name in new[] { "breast_cancer.csv", "diabetes.csv" })
                File.Copy(Path.Combine(RepoPaths.Root, "data", "tabular", name), Path.Combine(dir.FullName, "data", "tabular", name));
            foreach (var line in commands)
            {
                var (args, r) = RunTourLine(dir.FullName, line);
                if (args[0] == "predict")
                    Assert.Equal(442, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => Regex.IsMatch(l, @"\d")));
            }
            var cancer = CliRunner.ReadJson(Path.Combine(dir.FullName, "runs", "cancer", "metrics.json"));
            Assert.True(cancer.GetProperty("test_accuracy").GetDouble() >= 0.95, cancer.ToString());
            var diabetes = CliRunner.ReadJson(Path.Combine(dir.FullName, "runs", "diabetes", "metrics.json"));
            Assert.Equal("regression", diabetes.GetProperty("task").GetString());
            Assert.True(diabetes.GetProperty("test_mse").GetDouble() <= 0.7 * diabetes.GetProperty("test_mse_of_training_mean").GetDouble(), diabetes.ToString());
            Assert.True(File.Exists(Path.Combine(dir.FullName, "runs", "diabetes", "residuals.png")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_compress_tour_runs_as_written()
    {
        var commands = TourBlock("### The command line\\n.*?into `--out`:\\n\\n```sh\\n(.*?)```", "compress tour", 5);

        var dir = Directory.CreateTempSubdirectory("strata-readme-compress-");
        try
        {
            // From the repository root, as the tour says: the teacher is the classifier shipped in data/mnist.
            var teacher = Path.Combine(dir.FullName, "data", "mnist", "classifier.strata");
            Directory.CreateDirectory(Path.GetDirectoryName(teacher)!);
            File.Copy(Path.Combine(RepoPaths.Mnist, "classifier.strata"), teacher);
            foreach (var line in commands)
                RunTourLine(dir.FullName, line);
            foreach (var run in new[] { "small-int8", "small-sparse", "small-half", "student" })
                foreach (var file in new[] { "model.strata", "report.html", "metrics.json" })
                    Assert.True(File.Exists(Path.Combine(dir.FullName, "runs", run, file)), $"{file} is not in runs/{run}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The lines of the README block that <paramref name="pattern"/> captures (its group 1), checked to be <paramref name="count"/>.</summary>
    private static string[] TourBlock(string pattern, string name, int count)
    {
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var tour = Regex.Match(readme, pattern, RegexOptions.Singleline);
        Assert.True(tour.Success, $"the README's {name} block was not found");
        var commands = tour.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(count, commands.Length);
        return commands;
    }

    /// <summary>Runs one `strata ...` line of a tour in <paramref name="folder"/>; it must succeed.</summary>
    private static (string[] Args, CliResult Result) RunTourLine(string folder, string line)
    {
        Assert.StartsWith("strata ", line);
        var args = line["strata ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var r = CliRunner.Run(folder, args);
        Assert.True(r.ExitCode == 0, $"{line}\n{r}");
        return (args, r);
    }
}

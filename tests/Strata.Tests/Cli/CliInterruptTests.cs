using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Strata.Models;
using Xunit.Abstractions;

namespace Strata.Tests.Cli;

/// <summary>
/// `strata train` against what users do to a run: Ctrl-C (a real SIGINT) mid-epoch then --resume, a
/// second Ctrl-C, SIGKILL at random moments, and two runs on one --out folder. Each test runs the
/// command as a separate process.
/// </summary>
public sealed partial class CliInterruptTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly string _root = Directory.CreateTempSubdirectory("strata-interrupt-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // a child still closing a file: the temp folder is cleaned up later
        }
    }

    /// <summary>10,000 MNIST images (9,000 after the validation split) in batches of 32: 282 per epoch, the last of 8; an epoch takes about half a second, long enough to signal inside one.</summary>
    private static readonly string[] Mnist = ["--model", "mlp", "--samples", "10000", "--test-samples", "500", "--threads", "1", "--seed", "3"];

    /// <summary>
    /// 30,000 images (27,000 trained) in batches of 32: 844 per epoch, the last of 24. On an idle machine the
    /// 10,000-image epoch takes 0.2 s once the JIT is warm, a third of the first epoch's 0.6 s: a signal sent
    /// after that third came after the run's last batch. This epoch takes several times as long, and epoch 1's
    /// share of JIT time is smaller, so a quarter of epoch 1 lands well inside epoch 2.
    /// </summary>
    private static readonly string[] MnistLong = ["--model", "mlp", "--samples", "30000", "--test-samples", "500", "--threads", "1", "--seed", "3"];

    [UnixFact]
    public void Ctrl_C_mid_epoch_saves_that_point_and_the_resumed_run_ends_as_an_uninterrupted_one()
    {
        string stopped = Path.Combine(_root, "stopped"), straight = Path.Combine(_root, "straight");
        using (var run = CliProcess.Start(_root, ["train", .. MnistLong, "--epochs", "2", "--out", "stopped"]))
        {
            run.WaitFor("Epoch 1/2", Minute);
            // Well inside epoch 2: a quarter of epoch 1's time (epoch 2 takes about as long as epoch 1 without its JIT warm-up).
            Thread.Sleep(TimeSpan.FromSeconds(Math.Max(0.01, EpochSeconds(run.Stdout, "Epoch 1/2") / 4)));
            run.Signal(CliProcess.SIGINT);
            var r = run.WaitForExit(Minute);
            Assert.True(r.ExitCode == 130, r.ToString());
            Assert.Contains("SIGINT received: stopping after the current batch", r.Stderr);
            var m = InterruptedLine().Match(r.Stdout);
            Assert.True(m.Success, r.ToString());
            int batch = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.InRange(batch, 1, 843); // mid-epoch: after the first batch, before the last

            // The checkpoint holds that point: epoch 1 done, `batch` batches of epoch 2.
            var checkpoint = Model.Load(Path.Combine(stopped, "model.strata"));
            Assert.Equal((1, batch), (checkpoint.CompletedEpochs, checkpoint.CompletedBatches));
            // metrics.json and the report: the finished epoch in the history, the unfinished one apart.
            var metrics = CliRunner.ReadJson(Path.Combine(stopped, "metrics.json"));
            Assert.Equal(1, metrics.GetProperty("history").GetProperty("loss").GetArrayLength());
            var interrupted = metrics.GetProperty("interrupted");
            Assert.Equal("SIGINT", interrupted.GetProperty("signal").GetString());
            Assert.Equal(2, interrupted.GetProperty("epoch").GetInt32());
            Assert.Equal(batch, interrupted.GetProperty("batches_done").GetInt32());
            Assert.Equal(844, interrupted.GetProperty("batches_per_epoch").GetInt32());
            Assert.InRange(interrupted.GetProperty("partial_epoch").GetProperty("loss").GetDouble(), 0.01, 2.0);
            Assert.Contains($"interrupted by SIGINT in epoch 2 of 2 after batch {batch} of 844", File.ReadAllText(Path.Combine(stopped, "report.html")));

            // Resuming with another batch size cannot continue at that batch: refused, and the checkpoint is left as it was.
            var wrong = CliRunner.Run(_root, "train", "--resume", Path.Combine("stopped", "model.strata"), "--samples", "30000", "--test-samples", "500",
                "--batch-size", "27000", "--epochs", "2", "--out", "wrong");
            Assert.Equal(2, wrong.ExitCode);
            Assert.Contains($"stopped in epoch 2 after batch {batch}, but this run's epochs have 1 batch(es) (27,000 samples in batches of 27000)", wrong.Stderr);

            // The printed command resumes it (run as printed, from the same folder).
            string command = ResumeLine().Match(r.Stdout).Groups[1].Value;
            Assert.Equal($"train --samples 30000 --test-samples 500 --threads 1 --seed 3 --epochs 2 --out stopped --resume {Path.Combine("stopped", "model.strata")}", command);
            var resumed = CliRunner.Run(_root, command.Split(' '));
            Assert.True(resumed.ExitCode == 0, resumed.ToString());
            Assert.Contains($"2 (from epoch 2, batch {batch + 1} of 844)", resumed.Stdout);
        }

        var whole = CliRunner.Run(_root, ["train", .. MnistLong, "--epochs", "2", "--out", "straight"]);
        Assert.True(whole.ExitCode == 0, whole.ToString());
        Assert.Equal(Model.Load(Path.Combine(straight, "model.strata")).GetWeights(), Model.Load(Path.Combine(stopped, "model.strata")).GetWeights());
        var a = CliRunner.ReadJson(Path.Combine(straight, "metrics.json"));
        var b = CliRunner.ReadJson(Path.Combine(stopped, "metrics.json"));
        Assert.Equal(a.GetProperty("test_loss").GetDouble(), b.GetProperty("test_loss").GetDouble());
        // Epoch 2's training figures cover all its batches, the ones before the interruption included.
        Assert.Equal(a.GetProperty("history").GetProperty("loss")[1].GetDouble(), b.GetProperty("history").GetProperty("loss")[0].GetDouble());
        Assert.Equal(a.GetProperty("history").GetProperty("accuracy")[1].GetDouble(), b.GetProperty("history").GetProperty("accuracy")[0].GetDouble());
        Assert.False(b.TryGetProperty("interrupted", out _));
    }

    /// <summary>The seconds an epoch's line reports ("Epoch 1/2 - 0.4 s - ...").</summary>
    private static double EpochSeconds(string stdout, string epoch)
    {
        var m = Regex.Match(stdout, Regex.Escape(epoch) + @" - (\d+\.\d) s");
        Assert.True(m.Success, $"no '{epoch} - N s' line in\n{stdout}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"interrupted by SIGINT in epoch 2 of 2 after batch (\d+) of 844 \(that epoch so far: loss: \d\.\d{4} - accuracy: \d\.\d{4}\)\n")]
    private static partial Regex InterruptedLine();

    [GeneratedRegex(@"\nresume with: strata (.+)\n")]
    private static partial Regex ResumeLine();

    [UnixFact]
    public void SIGTERM_stops_the_same_way()
    {
        using var run = CliProcess.Start(_root, ["train", .. Mnist, "--epochs", "2", "--out", "term"]);
        run.WaitFor("Epoch 1/2", Minute);
        run.Signal(CliProcess.SIGTERM);
        var r = run.WaitForExit(Minute);
        Assert.True(r.ExitCode == 130, r.ToString());
        Assert.Contains("SIGTERM received", r.Stderr);
        Assert.Contains("interrupted by SIGTERM", r.Stdout);
        var checkpoint = Model.Load(Path.Combine(_root, "term", "model.strata"));
        Assert.Equal(1, checkpoint.CompletedEpochs);
    }

    [UnixFact]
    public void A_second_Ctrl_C_exits_at_once_and_leaves_a_checkpoint_that_loads()
    {
        // 54,000 images an epoch, 3 epochs: left alone after one signal it would still save, evaluate and report.
        using var run = CliProcess.Start(_root, "train", "--model", "mlp", "--samples", "60000", "--test-samples", "10000", "--threads", "1",
            "--epochs", "3", "--out", "twice");
        run.WaitFor("Epoch 1/3", Minute);
        run.Signal(CliProcess.SIGINT);
        run.WaitFor("SIGINT received", Minute);
        var watch = Stopwatch.StartNew();
        run.Signal(CliProcess.SIGINT);
        var r = run.WaitForExit(Minute);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.InRange(watch.Elapsed.TotalSeconds, 0, 5);
        Assert.Contains("second signal: exiting at once", r.Stderr);
        Assert.DoesNotContain("test accuracy", r.Stdout); // it did not go on to evaluate
        // What is there is whole: the epoch-1 checkpoint, or the mid-epoch one if its save finished first.
        string folder = Path.Combine(_root, "twice");
        var checkpoint = Model.Load(Path.Combine(folder, "model.strata"));
        Assert.Equal(1, checkpoint.CompletedEpochs);
        CheckIntact(folder);
    }

    // ------------------------------------------------------------------ the lock

    [UnixFact]
    public void A_second_run_on_the_same_folder_is_refused_at_once_while_the_first_runs()
    {
        string folder = Path.Combine(_root, "shared");
        // Twenty epochs: after the first there are seconds of training left (19 × 0.1 s or more), and the refusal needs no data loaded.
        using var first = CliProcess.Start(_root, ["train", .. Mnist, "--epochs", "20", "--out", "shared"]);
        first.WaitFor("Epoch 1/20", Minute);
        var second = CliRunner.Run(_root, "train", "--model", "mlp", "--epochs", "1", "--out", "shared");
        Assert.False(first.HasExited); // refused while the first was still training, not after it
        Assert.Equal(1, second.ExitCode);
        string lockFile = Path.Combine(folder, ".strata.lock");
        Assert.Equal($"strata: the output folder '{folder}' is in use by another run: its lock file '{lockFile}' is held " +
            "(wait for that run to finish, stop it, or give another --out)", second.Stderr.TrimEnd('\n'));
        Assert.Equal("", second.Stdout);
        // The first run is untouched by it and ends normally.
        var r = first.WaitForExit(Minute);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(20, Model.Load(Path.Combine(folder, "model.strata")).CompletedEpochs);
        Assert.Equal(20, CliRunner.ReadJson(Path.Combine(folder, "metrics.json")).GetProperty("history").GetProperty("loss").GetArrayLength());
        CheckIntact(folder);
    }

    [UnixFact]
    public void A_lock_file_left_by_a_killed_run_does_not_block_the_next()
    {
        string csv = Blobs();
        string folder = Path.Combine(_root, "stale"), lockFile = Path.Combine(folder, ".strata.lock");
        using (var run = CliProcess.Start(_root, "train", "--model", "mlp", "--data", csv, "--epochs", "50", "--batch-size", "8", "--out", "stale"))
        {
            run.WaitFor("Epoch 1/50", Minute);
            run.Kill();
            run.WaitForExit(Minute);
        }
        Assert.True(File.Exists(lockFile));
        Assert.Matches(@"^pid \d+, started ", File.ReadAllText(lockFile)); // it was held by the killed run
        var next = CliRunner.Run(_root, "train", "--resume", Path.Combine("stale", "model.strata"), "--data", csv, "--epochs", "50",
            "--batch-size", "8", "--out", "stale");
        Assert.True(next.ExitCode == 0, next.ToString());
        Assert.Equal(50, Model.Load(Path.Combine(folder, "model.strata")).CompletedEpochs);
    }

    // ------------------------------------------------------------------ kill -9

    [UnixFact]
    public void SIGKILL_at_20_random_moments_never_leaves_a_corrupt_file_and_every_run_recovers_to_the_uninterrupted_result()
    {
        string csv = Blobs();
        // 30 short epochs, each ending in a checkpoint save: about a third of the run's time is training and saving.
        const int Epochs = 30;
        string[] Args(string folder) => ["--data", csv, "--epochs", $"{Epochs}", "--batch-size", "8", "--threads", "1", "--seed", "4", "--out", folder];
        // The run's length as the kills will see it: the faster of two runs (the first also warms the disk cache).
        double seconds = double.MaxValue;
        foreach (string folder in new[] { "warm-up", "reference" })
        {
            var watch = Stopwatch.StartNew();
            var reference = CliRunner.Run(_root, ["train", "--model", "mlp", .. Args(folder)]);
            seconds = Math.Min(seconds, watch.Elapsed.TotalSeconds);
            Assert.True(reference.ExitCode == 0, reference.ToString());
        }
        var expected = Model.Load(Path.Combine(_root, "reference", "model.strata")).GetWeights();
        double testLoss = CliRunner.ReadJson(Path.Combine(_root, "reference", "metrics.json")).GetProperty("test_loss").GetDouble();

        var rng = new Random(21);
        var saved = new List<int>();
        for (int i = 0; i < 20; i++)
        {
            string name = $"kill-{i:00}", folder = Path.Combine(_root, name), model = Path.Combine(folder, "model.strata");
            // Moments spread over the whole run, from start-up to the last report file.
            var moment = TimeSpan.FromSeconds(rng.NextDouble() * seconds);
            using (var run = CliProcess.Start(_root, ["train", "--model", "mlp", .. Args(name)]))
            {
                Thread.Sleep(moment);
                if (!run.HasExited)
                    run.Kill();
                run.WaitForExit(Minute);
            }
            CheckIntact(folder);
            int epochs = File.Exists(model) ? Model.Load(model).CompletedEpochs : 0;
            int temporaries = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.tmp").Count() : 0;
            saved.Add(epochs);
            output.WriteLine($"kill {i:00} at {moment.TotalSeconds:0.00} s: {epochs} epoch(s) saved, {temporaries} temporary file(s) left, " +
                $"files: {(Directory.Exists(folder) ? string.Join(", ", Directory.EnumerateFiles(folder).Select(Path.GetFileName).Order()) : "none")}");
            if (epochs < Epochs)
            {
                // Resume from the checkpoint, or start afresh where the kill came before the first one.
                string[] again = epochs > 0 ? ["train", "--resume", Path.Combine(name, "model.strata"), .. Args(name)] : ["train", "--model", "mlp", .. Args(name)];
                var r = CliRunner.Run(_root, again);
                Assert.True(r.ExitCode == 0, $"after the kill at {moment.TotalSeconds:0.00} s ({epochs} epochs saved): {r}");
                CheckIntact(folder);
                Assert.Empty(Directory.EnumerateFiles(folder, "*.tmp")); // the resumed run cleared what the kill left
                Assert.Equal(testLoss, CliRunner.ReadJson(Path.Combine(folder, "metrics.json")).GetProperty("test_loss").GetDouble());
            }
            var weights = Model.Load(model).GetWeights();
            Assert.True(expected.Length == weights.Length && expected.Zip(weights).All(p => p.First.SequenceEqual(p.Second)),
                $"kill {i} at {moment.TotalSeconds:0.00} s: the final weights differ from the uninterrupted run's");
        }
        // The moments really were spread: kills before the first checkpoint, and kills in the middle of training.
        Assert.Contains(0, saved);
        Assert.Contains(saved, e => e is > 0 and < Epochs);
    }

    /// <summary>
    /// Every file in a run folder is whole: the model loads, metrics.json parses, report.html is complete,
    /// each PNG decodes; the only others are the lock file and temporaries (".NAME.GUID.tmp") of a write cut short.
    /// </summary>
    private static void CheckIntact(string folder)
    {
        if (!Directory.Exists(folder))
            return;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(file);
            if (name == ".strata.lock" || Regex.IsMatch(name, @"^\..+\.[0-9a-f]{32}\.tmp$"))
                continue;
            try
            {
                switch (Path.GetExtension(name))
                {
                    case ".strata":
                        Model.Load(file);
                        break;
                    case ".json":
                        CliRunner.ReadJson(file);
                        break;
                    case ".html":
                        Assert.EndsWith("</body>\n</html>\n", File.ReadAllText(file));
                        break;
                    case ".png":
                        Assert.True(Strata.Data.Images.Load(file).Size > 0);
                        break;
                    default:
                        Assert.Fail($"unexpected file '{name}' in {folder}");
                        break;
                }
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"'{file}' is broken: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>A CSV of three Gaussian blobs (600 rows): the fastest real run, about 1.5 s of which most is start-up.</summary>
    private string Blobs()
    {
        string path = Path.Combine(_root, "blobs.csv");
        if (File.Exists(path))
            return path;
        var rng = new Random(7);
        var lines = new List<string> { "x1,x2,species" };
        (double X, double Y, string Name)[] centres = [(0, 0, "alpha"), (4, 0, "beta"), (0, 4, "gamma")];
        for (int i = 0; i < 600; i++)
        {
            var c = centres[i % 3];
            double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{c.X + 0.5 * Gauss():0.0000},{c.Y + 0.5 * Gauss():0.0000},{c.Name}"));
        }
        File.WriteAllLines(path, lines);
        return path;
    }
}

using System.Diagnostics;
using System.Globalization;
using Strata.Models;
using Strata.Tests.Cli;

namespace Strata.Tests.Distributed;

/// <summary>
/// `mpirun -np 2 strata train --distributed` against one process, on real MNIST (the first 160 training
/// images, 100 test images, the mlp preset, Adam): equal models, run-to-run identity, checkpoints that move
/// between rank counts, faults that end the job with a clear error, and bad input.
/// </summary>
[Collection("Distributed")] // one mpirun at a time: the machine has 2 cores
public sealed class DistributedTrainingTests(DistributedTrainingTests.OneProcess reference) : IDisposable, IClassFixture<DistributedTrainingTests.OneProcess>
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-dist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The reference run, once for the class: one process, batch 16, 2 epochs (20 steps).</summary>
    public sealed class OneProcess : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("strata-dist-one-").FullName;
        private readonly Lazy<float[][]> _weights;

        public OneProcess() => _weights = new(() =>
        {
            Ok(CliRunner.Run(_dir, Train(Path.Combine(_dir, "one"), 16, 2, "--model", "mlp")));
            return WeightsOf(Path.Combine(_dir, "one"));
        });

        public float[][] Weights => _weights.Value;

        public void Dispose() => Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The training arguments of every run here: 160 samples, no validation split, 100 test samples, 1 thread.</summary>
    private static string[] Train(string outDir, int batch, int epochs, params string[] more) =>
        ["train", "--data", RepoPaths.Mnist, "--samples", "160", "--validation-split", "0", "--test-samples", "100", "--threads", "1",
         "--seed", "7", "--batch-size", $"{batch}", "--epochs", $"{epochs}", "--out", outDir, .. more];

    private string Out(string name) => Path.Combine(_dir, name);

    private static float[][] WeightsOf(string outDir) => Model.Load(Path.Combine(outDir, "model.strata")).GetWeights();

    private static CliResult Ok(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    /// <summary>Every weight tensor's largest difference within 1e-5 of its largest magnitude.</summary>
    private static void AssertClose(float[][] expected, float[][] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            float scale = expected[i].Max(MathF.Abs), diff = 0;
            for (int k = 0; k < expected[i].Length; k++)
                diff = Math.Max(diff, MathF.Abs(expected[i][k] - actual[i][k]));
            Assert.True(diff <= 1e-5f * scale, $"{what}: weight {i}: max |difference| {diff:G4} > 1e-5 × max |weight| {scale:G4}");
        }
    }

    /// <summary>Some weight tensor moved by more than 1e-3 of its magnitude.</summary>
    private static void AssertFar(float[][] initial, float[][] trained)
    {
        double most = 0;
        for (int i = 0; i < initial.Length; i++)
        {
            float scale = initial[i].Max(MathF.Abs);
            for (int k = 0; k < initial[i].Length; k++)
                most = Math.Max(most, MathF.Abs(initial[i][k] - trained[i][k]) / Math.Max(scale, 1e-30f));
        }
        Assert.True(most > 1e-3, $"training moved the weights by at most {most:G3} of their magnitude");
    }

    [MpiFact]
    public void Two_ranks_of_batch_8_train_the_model_one_process_trains_with_batch_16_and_repeat_bit_for_bit()
    {
        // 160 samples / 16 per step = 10 steps per epoch, 2 epochs = 20 optimizer steps.
        var single = reference.Weights;
        var two = Ok(Mpi.Run(_dir, 2, Train(Out("two"), 8, 2, "--model", "mlp", "--distributed")));
        Ok(Mpi.Run(_dir, 2, Train(Out("again"), 8, 2, "--model", "mlp", "--distributed")));
        AssertClose(single, WeightsOf(Out("two")), "2 ranks × 8 vs 1 process × 16");
        Assert.Equal(WeightsOf(Out("two")), WeightsOf(Out("again"))); // bit for bit
        AssertFar(Presets.Create("mlp", [28, 28], 10, 7).GetWeights(), single); // trained: the comparison is not of untouched weights
        // Rank 0 alone printed the run and wrote the files.
        Assert.Single(two.Stdout.Split('\n'), l => l.StartsWith("Epoch 2/2", StringComparison.Ordinal));
        Assert.Contains("2 ranks (MPI) × batch 8 = 16 samples per step", two.Stdout.Replace("\n", " ", StringComparison.Ordinal).Replace("  ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Out("two"), "report.html")));
    }

    [MpiFact]
    public void Small_buckets_reduced_during_the_backward_pass_train_the_same_model_bit_for_bit()
    {
        // 10 KiB buckets: the mlp preset's 0.42 MiB of gradients go out in two all-reduces, the later layers' while the
        // backward pass is still in the first layer (whose kernel, the largest, closes the last bucket with the loss);
        // with 2 ranks each sum is one float addition, so the bucketing cannot change a bit.
        var small = Ok(Mpi.Run(_dir, 2, Train(Out("small"), 8, 2, "--model", "mlp", "--distributed", "--dist-bucket-mb", "0.01")));
        var one = Ok(Mpi.Run(_dir, 2, Train(Out("one-bucket"), 8, 2, "--model", "mlp", "--distributed", "--dist-bucket-mb", "64")));
        Assert.Equal(WeightsOf(Out("one-bucket")), WeightsOf(Out("small")));
        AssertClose(reference.Weights, WeightsOf(Out("small")), "2 ranks × 8 in small buckets vs 1 process × 16");
        var line = small.Stdout.Split('\n').Single(l => l.StartsWith("Gradient all-reduce (rank 0):", StringComparison.Ordinal));
        var m = System.Text.RegularExpressions.Regex.Match(line, @"(\d+) steps of [\d.]+ MiB in (\d+) buckets; (\d+) of (\d+) buckets started during the backward pass");
        Assert.True(m.Success, line);
        int steps = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), buckets = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        int overlapped = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        Assert.Equal(20, steps);
        Assert.True(buckets >= 2, line);
        // Every step but the first (which lays the buckets out) starts every bucket but the last during the pass.
        Assert.True(overlapped >= (steps - 2) * (buckets - 1), line);
        Assert.Contains("0 of 20 buckets started during the backward pass", one.Stdout, StringComparison.Ordinal); // one bucket: the loss's, after the pass
    }

    [MpiFact]
    public void A_checkpoint_of_two_ranks_resumes_on_one_and_one_of_one_resumes_on_two()
    {
        var straight = reference.Weights;

        // Epoch 1 on 2 ranks (batch 8 each), epoch 2 on 1 process (batch 16): the same 20 steps.
        Ok(Mpi.Run(_dir, 2, Train(Out("a1"), 8, 1, "--model", "mlp", "--distributed")));
        Ok(CliRunner.Run(_dir, Train(Out("a2"), 16, 2, "--resume", Path.Combine(Out("a1"), "model.strata"))));
        AssertClose(straight, WeightsOf(Out("a2")), "2 ranks then 1");

        // And the other way.
        Ok(CliRunner.Run(_dir, Train(Out("b1"), 16, 1, "--model", "mlp")));
        Ok(Mpi.Run(_dir, 2, Train(Out("b2"), 8, 2, "--resume", Path.Combine(Out("b1"), "model.strata"), "--distributed")));
        AssertClose(straight, WeightsOf(Out("b2")), "1 then 2 ranks");
        Assert.Equal(2, Model.Load(Path.Combine(Out("b2"), "model.strata")).CompletedEpochs);
    }

    /// <summary>A run long enough to be caught in the middle: 2 ranks, many epochs, a checkpoint after each.</summary>
    private CliProcess StartLongRun(string outDir, params string[] more)
    {
        var p = Mpi.Start(_dir, 2, ["train", "--data", RepoPaths.Mnist, "--samples", "320", "--validation-split", "0", "--test-samples", "100",
            "--threads", "1", "--batch-size", "8", "--epochs", "500", "--model", "mlp", "--out", outDir, "--distributed", .. more]);
        p.WaitFor("Epoch 2/500", TimeSpan.FromMinutes(2)); // epoch 1's checkpoint is written
        return p;
    }

    [MpiFact]
    public void A_rank_that_dies_ends_the_job_within_seconds_and_its_last_checkpoint_resumes()
    {
        using var p = StartLongRun(Out("killed"));
        int[] ranks = Mpi.RankPids(p.Id, 2, TimeSpan.FromSeconds(10));
        var watch = Stopwatch.StartNew();
        CliProcess.Signal(ranks[1], 9); // SIGKILL
        var r = p.WaitForExit(TimeSpan.FromSeconds(60));
        // Stated bound: mpirun notices a dead rank at once and ends the others; 30 s leaves room for a loaded machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the job took {watch.Elapsed.TotalSeconds:0.0} s to end\n{r}");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("rank 1", r.Stdout + r.Stderr, StringComparison.Ordinal);
        Assert.Contains("signal 9", r.Stdout + r.Stderr, StringComparison.Ordinal);
        Assert.True(Model.Load(Path.Combine(Out("killed"), "model.strata")).CompletedEpochs >= 1); // rank 0's last checkpoint is whole
    }

    [MpiFact]
    public void A_rank_that_hangs_makes_the_others_fail_with_the_timeout_and_its_last_checkpoint_resumes()
    {
        using var p = StartLongRun(Out("hung"), "--dist-timeout", "5");
        int[] ranks = Mpi.RankPids(p.Id, 2, TimeSpan.FromSeconds(10));
        var watch = Stopwatch.StartNew();
        CliProcess.Signal(ranks[1], 19); // SIGSTOP: alive, but never reaches the next all-reduce
        var r = p.WaitForExit(TimeSpan.FromSeconds(90));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(40), $"the job took {watch.Elapsed.TotalSeconds:0.0} s to end\n{r}");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("strata: rank 0 of 2: all-reduce of the gradients", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("did not complete within 5 s: another rank died, hangs", r.Stderr, StringComparison.Ordinal);
        ResumesOnOneProcess(Out("hung"));
    }

    [MpiFact]
    public void Ctrl_c_to_mpirun_stops_every_rank_after_the_same_step_and_the_printed_command_resumes_under_mpirun()
    {
        // Open MPI's defaults: mpirun turns SIGINT into SIGTERM to every rank and sends SIGKILL one second later.
        using var p = StartLongRun(Out("ctrl-c"));
        p.Signal(CliProcess.SIGINT);
        var r = p.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.Contains("interrupted by SIGTERM", r.Stdout, StringComparison.Ordinal);
        string resume = r.Stdout.Split('\n').Single(l => l.StartsWith("resume with: ", StringComparison.Ordinal))["resume with: ".Length..].Trim();
        Assert.StartsWith("mpirun -np 2 strata train ", resume, StringComparison.Ordinal);
        string checkpoint = Path.Combine(Out("ctrl-c"), "model.strata");
        Assert.Contains($"--resume {checkpoint}", resume, StringComparison.Ordinal);
        var saved = Model.Load(checkpoint);
        Assert.True(saved.CompletedEpochs >= 1, $"the checkpoint holds {saved.CompletedEpochs} epochs and {saved.CompletedBatches} batches");

        // The printed command, one epoch further instead of to epoch 500, runs under mpirun and finishes that epoch.
        var args = resume["mpirun -np 2 strata ".Length..].Split(' ').ToList();
        int at = args.IndexOf("--epochs");
        args[at + 1] = $"{saved.CompletedEpochs + 1}";
        args[args.IndexOf("--out") + 1] = Out("ctrl-c-resumed");
        Ok(Mpi.Run(_dir, 2, [.. args]));
        var resumed = Model.Load(Path.Combine(Out("ctrl-c-resumed"), "model.strata"));
        Assert.Equal((saved.CompletedEpochs + 1, 0), (resumed.CompletedEpochs, resumed.CompletedBatches));
    }

    /// <summary>The checkpoint a faulted run left (rank 0's, after its last whole epoch) resumes on one process for one more epoch.</summary>
    private void ResumesOnOneProcess(string outDir)
    {
        string checkpoint = Path.Combine(outDir, "model.strata");
        int done = Model.Load(checkpoint).CompletedEpochs;
        Assert.True(done >= 1, $"the checkpoint holds {done} epochs");
        var r = Ok(CliRunner.Run(_dir, ["train", "--data", RepoPaths.Mnist, "--samples", "320", "--validation-split", "0", "--test-samples", "100",
            "--threads", "1", "--batch-size", "16", "--epochs", $"{done + 1}", "--resume", checkpoint, "--out", Out("resumed")]));
        Assert.Equal(done + 1, Model.Load(Path.Combine(Out("resumed"), "model.strata")).CompletedEpochs);
        Assert.Contains($"from epoch {done + 1}", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Distributed_outside_mpirun_is_refused_naming_the_cause()
    {
        var r = CliRunner.Run(_dir, Train(Out("alone"), 8, 1, "--model", "mlp", "--distributed"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("strata: distributed training: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE and PMIX_RANK are unset)", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Out("alone")));
    }

    [Fact]
    public void A_timeout_without_distributed_is_a_usage_error()
    {
        var r = CliRunner.Run(_dir, Train(Out("t"), 8, 1, "--model", "mlp", "--dist-timeout", "5"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--dist-timeout applies to --distributed training only", r.Stderr, StringComparison.Ordinal);
    }

    [MpiFact]
    public void Open_mpi_missing_is_refused_on_every_rank_naming_the_library()
    {
        var env = new Dictionary<string, string> { ["STRATA_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40" };
        string[] args = Train(Out("nolib"), 8, 1, "--model", "mlp", "--distributed");
        using var p = CliProcess.Start(Mpi.StartInfo(_dir, env, args, args));
        var r = p.WaitForExit(TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, r.ExitCode);
        // Each rank fails alike at once; mpirun ends the job at the first exit, so a slower rank's line may be cut.
        Assert.Matches(@"strata: rank [01] of 2: MPI: Open MPI's libmpi\.so\.40 could not be loaded \(/nonexistent/libmpi\.so\.40: cannot open shared object file", r.Stderr);
        Assert.Contains("install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or correct STRATA_MPI_LIBRARY", r.Stderr, StringComparison.Ordinal);
    }

    [MpiFact]
    public void Ranks_with_different_data_sizes_fail_alike_naming_the_difference()
    {
        string[] rank0 = Train(Out("sizes"), 8, 1, "--model", "mlp", "--distributed");
        string[] rank1 = [.. rank0];
        rank1[Array.IndexOf(rank1, "160")] = "96";
        var r = Mpi.RunEach(_dir, rank0, rank1);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("strata: rank 1 of 2: the ranks disagree on the training samples: this rank has 96, rank 0 has 160", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("strata: rank 0 of 2: the ranks disagree on the training samples: this rank (0) has 160, but other ranks differ (from 96 to 160)", r.Stderr, StringComparison.Ordinal);
    }

    [MpiFact]
    public void Ranks_with_different_models_fail_alike_naming_the_difference()
    {
        var r = Mpi.RunEach(_dir, Train(Out("models"), 8, 1, "--model", "mlp", "--distributed"), Train(Out("models"), 8, 1, "--model", "cnn", "--distributed"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("strata: rank 1 of 2: the ranks disagree on the model's weight count: this rank has", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("strata: rank 0 of 2: the ranks disagree on the model's weight count: this rank (0) has 109386", r.Stderr, StringComparison.Ordinal);
    }
}

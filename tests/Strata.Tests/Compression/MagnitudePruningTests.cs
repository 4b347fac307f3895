using Strata.Compression;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Compression;

public sealed class MagnitudePruningTests
{
    internal static Sequential Mlp(ulong seed = 3) =>
        new([new Input([2]), new Dense(32, "relu"), new Dense(32, "relu"), new Dense(3, "softmax")], seed, "pruned_mlp");

    internal static Sequential Compiled(ulong seed = 3)
    {
        var model = Mlp(seed);
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
        return model;
    }

    private static float[][] Kernels(Model model) => [.. Pruning.PrunableLayers(model).Select(l => Pruning.KernelOf(l)!.Value.ToArray())];

    private static int Kept(int n, double sparsity) => (int)Math.Round(n * (1.0 - sparsity));

    [Fact]
    public void Per_layer_pruning_zeroes_exactly_the_smallest_magnitudes_of_each_kernel()
    {
        var model = Mlp();
        var before = Kernels(model);
        var biases = model.Layers.OfType<Dense>().Select(d => d.Bias!.Value.ToArray()).ToArray();
        var result = Pruning.Prune(model, 0.7f);
        var after = Kernels(model);
        for (int i = 0; i < before.Length; i++)
        {
            int n = before[i].Length, zeros = after[i].Count(v => v == 0);
            Assert.Equal(n - Kept(n, 0.7), zeros); // 64 → 45, 1024 → 717, 96 → 67
            // Every pruned magnitude is at most every kept one; the kept weights are unchanged.
            float maxPruned = Enumerable.Range(0, n).Where(k => after[i][k] == 0).Max(k => Math.Abs(before[i][k]));
            float minKept = Enumerable.Range(0, n).Where(k => after[i][k] != 0).Min(k => Math.Abs(before[i][k]));
            Assert.True(maxPruned <= minKept, $"kernel {i}: pruned {maxPruned} > kept {minKept}");
            Assert.All(Enumerable.Range(0, n).Where(k => after[i][k] != 0), k => Assert.Equal(before[i][k], after[i][k]));
            Assert.Equal((float)zeros / n, result[Pruning.PrunableLayers(model)[i].Name]);
        }
        // Biases are not pruned.
        Assert.Equal(biases, model.Layers.OfType<Dense>().Select(d => d.Bias!.Value.ToArray()).ToArray());
    }

    [Fact]
    public void Global_pruning_uses_one_threshold_across_the_kernels()
    {
        var model = Mlp();
        // The last kernel's weights ten times larger: with one threshold it loses far fewer than the others.
        var last = model.Layers.OfType<Dense>().Last().Kernel.Value.AsWritableSpan();
        foreach (ref float v in last)
            v *= 10;
        var before = Kernels(model);
        var sparsity = Pruning.Prune(model, 0.6f, global: true);
        var after = Kernels(model);
        int total = before.Sum(k => k.Length), zeros = after.Sum(k => k.Count(v => v == 0));
        Assert.Equal(total - Kept(total, 0.6), zeros);
        var pruned = before.SelectMany((k, i) => k.Where((_, j) => after[i][j] == 0)).Select(Math.Abs).Max();
        var kept = before.SelectMany((k, i) => k.Where((_, j) => after[i][j] != 0)).Select(Math.Abs).Min();
        Assert.True(pruned <= kept, $"pruned {pruned} > kept {kept}");
        var names = Pruning.PrunableLayers(model).Select(l => l.Name).ToArray();
        Assert.True(sparsity[names[2]] < 0.3f, $"the scaled layer lost {sparsity[names[2]]}");
        Assert.True(sparsity[names[1]] > 0.6f, $"the middle layer lost only {sparsity[names[1]]}");
    }

    [Fact]
    public void Only_the_named_layers_are_pruned()
    {
        var model = Mlp();
        var names = Pruning.PrunableLayers(model).Select(l => l.Name).ToArray();
        var result = Pruning.Prune(model, 0.5f, [names[1]]);
        Assert.Equal([names[1]], result.Keys);
        var all = Pruning.Sparsity(model);
        Assert.Equal(0.5f, all[names[1]]);
        Assert.Equal(0f, all[names[0]]);
        Assert.Equal(0f, all[names[2]]);
    }

    /// <summary>After every batch (it runs after the pruning callback): the kernels' zero counts, and whether the last mask's zeros held.</summary>
    private sealed class ZeroWatcher(MagnitudePruning pruning) : Callback
    {
        public List<(long Step, int[] Zeros)> Batches { get; } = [];
        public int Resurrected { get; private set; }
        private int[][]? _mask;

        public override void OnBatchEnd(int batch, Logs logs)
        {
            var kernels = pruning.PrunedLayers.Select(l => Pruning.KernelOf(l)!.Value).ToArray();
            if (_mask is not null)
            {
                for (int i = 0; i < kernels.Length; i++)
                    Resurrected += _mask[i].Count(p => kernels[i].Span[p] != 0);
            }
            _mask = Pruning.ZerosOf(kernels);
            Batches.Add((Model!.Optimizer!.Iterations - 1, [.. _mask.Select(m => m.Length)]));
        }
    }

    [Fact]
    public void Fit_with_adam_keeps_the_masks_at_the_schedule_s_sparsity_on_the_compiled_plan()
    {
        var (x, y) = TestData.Blobs(96, 5);
        var model = Compiled();
        var schedule = new PolynomialDecay(0.2f, 0.8f, beginStep: 2, endStep: 14, power: 3, frequency: 4);
        var pruning = new MagnitudePruning(schedule);
        var watcher = new ZeroWatcher(pruning);
        model.Fit(x, y, epochs: 6, batchSize: 16, seed: 1, callbacks: [pruning, watcher]); // 36 steps
        Assert.Contains("compiled plan", model.ExecutionPath);
        Assert.Equal(0, watcher.Resurrected);
        var sizes = pruning.PrunedLayers.Select(l => Pruning.KernelOf(l)!.Value.Size).ToArray();
        float current = 0;
        foreach (var (step, zeros) in watcher.Batches)
        {
            if (schedule.ShouldUpdate(step))
                current = schedule.SparsityAt(step); // steps 2, 6, 10, 14
            for (int i = 0; i < sizes.Length; i++)
                Assert.Equal(step < 2 ? 0 : sizes[i] - Kept(sizes[i], current), zeros[i]);
        }
        Assert.Equal(0.8f, current, 6);
        Assert.Equal(0.8f, pruning.CurrentSparsity!.Value, 6);
        Assert.Equal(14, pruning.LastUpdateStep);
    }

    [Fact]
    public void Without_the_callback_adam_moves_pruned_weights_off_zero()
    {
        // Shows what the reapplication after each step guards against: the moments keep moving pruned weights.
        var (x, y) = TestData.Blobs(96, 5);
        var model = Compiled();
        model.Fit(x, y, epochs: 2, batchSize: 16, seed: 1, callbacks: [new MagnitudePruning(new ConstantSparsity(0.5f, frequency: 1000))]);
        var zeros = Pruning.ZerosOf([.. Pruning.PrunableLayers(model).Select(l => Pruning.KernelOf(l)!.Value)]);
        model.Fit(x, y, epochs: 1, batchSize: 16, seed: 2);
        var kernels = Pruning.PrunableLayers(model).Select(l => Pruning.KernelOf(l)!.Value).ToArray();
        int moved = zeros.Select((z, i) => z.Count(p => kernels[i].Span[p] != 0)).Sum();
        Assert.True(moved > zeros.Sum(z => z.Length) / 2, $"only {moved} pruned weights moved");
    }

    [Fact]
    public void Global_pruning_in_fit_reaches_the_exact_total()
    {
        var (x, y) = TestData.Blobs(64, 6);
        var model = Compiled();
        var pruning = new MagnitudePruning(new ConstantSparsity(0.75f, beginStep: 3, frequency: 5), global: true);
        model.Fit(x, y, epochs: 3, batchSize: 16, seed: 1, callbacks: [pruning]);
        var kernels = Kernels(model);
        int total = kernels.Sum(k => k.Length);
        Assert.Equal(total - Kept(total, 0.75), kernels.Sum(k => k.Count(v => v == 0)));
    }

    [Fact]
    public void Masks_and_the_schedule_position_survive_save_load_and_resume()
    {
        var (x, y) = TestData.Blobs(96, 7);
        MagnitudePruning Callback() => new(new PolynomialDecay(0f, 0.7f, beginStep: 0, endStep: 24, frequency: 6));
        // Uninterrupted: 5 epochs of 6 steps (updates at 0, 6, 12, 18, 24).
        var whole = Compiled();
        whole.Fit(x, y, epochs: 5, batchSize: 16, seed: 4, callbacks: [Callback()]);

        var first = Compiled();
        first.Fit(x, y, epochs: 2, batchSize: 16, seed: 4, callbacks: [Callback()]);
        string path = Path.Combine(Path.GetTempPath(), $"strata-prune-{Guid.NewGuid():N}.strata");
        try
        {
            first.Save(path, compressWeights: true);
            var resumed = Model.Load(path);
            Assert.Equal(12, resumed.Optimizer!.Iterations);
            var pruning = Callback();
            var watcher = new ZeroWatcher(pruning);
            resumed.Fit(x, y, epochs: 5, batchSize: 16, seed: 4, initialEpoch: 2, callbacks: [pruning, watcher]);
            Assert.Equal(0, watcher.Resurrected);
            Assert.Equal(whole.GetWeights(), resumed.GetWeights()); // bit for bit
            Assert.Equal(24, pruning.LastUpdateStep);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_resumed_run_between_updates_keeps_the_recovered_masks()
    {
        var (x, y) = TestData.Blobs(96, 8);
        var first = Compiled();
        first.Fit(x, y, epochs: 1, batchSize: 16, seed: 4, callbacks: [new MagnitudePruning(new ConstantSparsity(0.6f, endStep: 0))]);
        string path = Path.Combine(Path.GetTempPath(), $"strata-prune-{Guid.NewGuid():N}.strata");
        try
        {
            first.Save(path);
            var resumed = Model.Load(path);
            var zeros = Pruning.ZerosOf([.. Pruning.PrunableLayers(resumed).Select(l => Pruning.KernelOf(l)!.Value)]);
            Assert.True(zeros.Sum(z => z.Length) > 0);
            // No update in the resumed epochs (the schedule ended at step 0): only the recovered masks hold the zeros,
            // against the restored Adam moments.
            var pruning = new MagnitudePruning(new ConstantSparsity(0.6f, endStep: 0));
            resumed.Fit(x, y, epochs: 3, batchSize: 16, seed: 4, initialEpoch: 1, callbacks: [pruning]);
            var after = Pruning.ZerosOf([.. Pruning.PrunableLayers(resumed).Select(l => Pruning.KernelOf(l)!.Value)]);
            Assert.Equal(zeros, after);
            Assert.Equal(0.6f, pruning.CurrentSparsity);
            Assert.Equal(0, pruning.LastUpdateStep);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Bad_input_is_refused_naming_the_layer_and_the_value()
    {
        var model = new Sequential([new Input([4, 4]), new Flatten(name: "flat"), new Dense(3, name: "out")], name: "m");
        Assert.Contains("Pruning.Prune: sparsity must be in [0, 1), got 1",
            Assert.Throws<ArgumentOutOfRangeException>(() => Pruning.Prune(model, 1f)).Message);
        Assert.Contains("got -0.5", Assert.Throws<ArgumentOutOfRangeException>(() => Pruning.Prune(model, -0.5f)).Message);
        Assert.Contains("layer 'flat' is a Flatten, which has no prunable kernel",
            Assert.Throws<ArgumentException>(() => Pruning.Prune(model, 0.5f, ["flat"])).Message);
        Assert.Contains("model 'm' has no layer 'dense_9'",
            Assert.Throws<ArgumentException>(() => Pruning.Prune(model, 0.5f, ["dense_9"])).Message);
        var noKernels = new Sequential([new Input([4, 4]), new Flatten()], name: "flat_only");
        Assert.Contains("model 'flat_only' has no prunable layer", Assert.Throws<ArgumentException>(() => Pruning.Prune(noKernels, 0.5f)).Message);

        // The callback checks the same when training begins.
        model.Compile(new Adam(), new MeanSquaredError());
        var e = Assert.Throws<ArgumentException>(() => model.Fit(Tensor.Zeros([4, 4, 4]), Tensor.Zeros([4, 3]),
            callbacks: [new MagnitudePruning(new ConstantSparsity(0.5f), ["flat"])]));
        Assert.Contains("MagnitudePruning: layer 'flat' is a Flatten", e.Message);
    }
}

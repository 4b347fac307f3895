using Strata.Layers;
using Strata.Training;

namespace Strata.Compression;

/// <summary>
/// Magnitude pruning during <c>Fit</c> (TF-MOT's prune_low_magnitude with its UpdatePruningStep
/// callback): before each step the <see cref="Schedule"/> is asked whether to recompute the masks —
/// at its target sparsity, from the current magnitudes (weights already pruned are zero, so they stay
/// pruned as the sparsity grows) — and after every optimizer step the masks are applied again, so the
/// pruned weights are exactly zero between steps whatever the optimizer's momentum would do to them.
/// The weights are written in place, so training keeps running on its compiled plan.
/// </summary>
/// <remarks>
/// The schedule's step is the optimizer's update count (<see cref="Optimizers.Optimizer.Iterations"/>),
/// which a checkpoint saves; the masks are the kernels' zeros. So a model saved with
/// <see cref="Models.Model.Save"/> and loaded again resumes pruning exactly where it stopped when
/// given a callback with the same settings: at the start of Fit, once the schedule has begun, the
/// masks are recovered from the zeros. (Before the schedule begins nothing is masked, so a kernel's
/// own zeros are not frozen.)
/// </remarks>
public sealed class MagnitudePruning : Callback
{
    private IReadOnlyList<Layer>? _layers;
    private IReadOnlyList<Tensor>? _kernels;
    private int[][]? _pruned;

    /// <param name="schedule">When to recompute the masks and at which sparsity.</param>
    /// <param name="layers">The names of the layers to prune; null for every Dense, Conv2D, Conv1D, DepthwiseConv2D and Conv2DTranspose.</param>
    /// <param name="global">One magnitude threshold across all the pruned kernels (so some layers lose more than others) instead of one per layer.</param>
    public MagnitudePruning(PruningSchedule schedule, IEnumerable<string>? layers = null, bool global = false)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        Schedule = schedule;
        LayerNames = layers?.ToArray();
        Global = global;
    }

    /// <summary>When to recompute the masks and at which sparsity.</summary>
    public PruningSchedule Schedule { get; }

    /// <summary>The layers named for pruning, or null for every prunable layer.</summary>
    public IReadOnlyList<string>? LayerNames { get; }

    /// <summary>
    /// True: one magnitude threshold across all the pruned kernels (so some layers lose more than others); false: one threshold per layer.
    /// </summary>
    public bool Global { get; }

    /// <summary>The sparsity of the masks in force (the schedule's value at their last update); null before any.</summary>
    public float? CurrentSparsity { get; private set; }

    /// <summary>The optimizer step at which the masks were last recomputed; −1 before any.</summary>
    public long LastUpdateStep { get; private set; } = -1;

    /// <summary>The layers being pruned (known once training begins).</summary>
    public IReadOnlyList<Layer> PrunedLayers => _layers ?? [];

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        var model = Model!;
        if (model.Optimizer is null)
            throw new InvalidOperationException($"MagnitudePruning: model '{model.Name}' has no optimizer (compile it first; a model with several optimizers is not supported)");
        (_layers, _kernels) = Pruning.Select(model, LayerNames, "MagnitudePruning");
        // Resumed (or continued) after the schedule began: the masks are the kernels' zeros.
        long done = model.Optimizer.Iterations;
        _pruned = done > Schedule.BeginStep ? Pruning.ZerosOf(_kernels) : null;
        if (_pruned is not null && LastUpdateStep < 0)
        {
            LastUpdateStep = LastScheduledUpdate(done - 1);
            CurrentSparsity = Schedule.SparsityAt(LastUpdateStep);
        }
    }

    /// <inheritdoc/>
    public override void OnBatchBegin(int batch)
    {
        long step = Model!.Optimizer!.Iterations;
        if (!Schedule.ShouldUpdate(step))
            return;
        float sparsity = Schedule.SparsityAt(step);
        _pruned = Pruning.SelectPruned(_kernels!, sparsity, Global);
        Pruning.Apply(_kernels!, _pruned);
        CurrentSparsity = sparsity;
        LastUpdateStep = step;
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(int batch, Logs logs)
    {
        if (_pruned is not null)
            Pruning.Apply(_kernels!, _pruned);
    }

    /// <summary>The last step ≤ <paramref name="step"/> at which the schedule recomputed masks.</summary>
    private long LastScheduledUpdate(long step)
    {
        long last = Schedule.EndStep == -1 ? step : Math.Min(step, Schedule.EndStep);
        return last - (last - Schedule.BeginStep) % Schedule.Frequency;
    }
}

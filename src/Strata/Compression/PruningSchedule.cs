namespace Strata.Compression;

/// <summary>
/// When pruning masks are recomputed and to what sparsity (TensorFlow Model Optimization's pruning
/// schedules). Steps count optimizer updates from 0. A mask is recomputed at step s when
/// beginStep ≤ s, s ≤ endStep (or endStep = −1: no end) and (s − beginStep) is a multiple of the
/// frequency; between those steps (and after endStep) the last masks stay in force.
/// </summary>
/// <remarks>
/// Steps are the optimizer's <see cref="Optimizers.Optimizer.Iterations"/>: to prune a model that has
/// already trained, start the schedule at its current count (or compile it afresh). The final sparsity
/// is reached only when endStep − beginStep is a multiple of the frequency (as in TF-MOT).
/// </remarks>
public abstract class PruningSchedule
{
    private protected PruningSchedule(long beginStep, long endStep, int frequency, bool openEnded)
    {
        string name = GetType().Name;
        if (beginStep < 0)
            throw new ArgumentOutOfRangeException(nameof(beginStep), $"{name}: beginStep must be at least 0, got {beginStep}");
        if (frequency < 1)
            throw new ArgumentOutOfRangeException(nameof(frequency), $"{name}: frequency must be at least 1, got {frequency}");
        if (!(openEnded && endStep == -1) && endStep < beginStep)
            throw new ArgumentOutOfRangeException(nameof(endStep),
                $"{name}: endStep must be at least beginStep = {beginStep}{(openEnded ? " (or −1 for no end)" : "")}, got {endStep}");
        BeginStep = beginStep;
        EndStep = endStep;
        Frequency = frequency;
    }

    /// <summary>The first step at which masks are computed.</summary>
    public long BeginStep { get; }

    /// <summary>The last step at which masks may be recomputed; −1 for none.</summary>
    public long EndStep { get; }

    /// <summary>Masks are recomputed every this many steps from <see cref="BeginStep"/>.</summary>
    public int Frequency { get; }

    /// <summary>Whether masks are recomputed at <paramref name="step"/> (TF-MOT's should_prune_in_step).</summary>
    public bool ShouldUpdate(long step) =>
        step >= BeginStep && (EndStep == -1 || step <= EndStep) && (step - BeginStep) % Frequency == 0;

    /// <summary>The target sparsity (fraction of weights at zero, in [0, 1)) at <paramref name="step"/>.</summary>
    public abstract float SparsityAt(long step);

    /// <summary>Throws unless <paramref name="value"/> is a sparsity in [0, 1).</summary>
    private protected static float CheckSparsity(string owner, string what, float value) =>
        value is >= 0 and < 1 ? value
            : throw new ArgumentOutOfRangeException(what, $"{owner}: {what} must be in [0, 1), got {value}");
}

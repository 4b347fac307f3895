namespace Strata.Compression;

/// <summary>
/// Prunes to one sparsity throughout: masks recomputed at beginStep and every
/// <see cref="PruningSchedule.Frequency"/> steps after it until endStep (TF-MOT's ConstantSparsity).
/// </summary>
public sealed class ConstantSparsity : PruningSchedule
{
    /// <param name="sparsity">The fraction of weights set to zero, in [0, 1).</param>
    /// <param name="beginStep">The first step that prunes (≥ 0).</param>
    /// <param name="endStep">The last step that may recompute masks (≥ beginStep), or −1 for no end.</param>
    /// <param name="frequency">Steps between mask updates (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value out of its range (the message quotes it).</exception>
    public ConstantSparsity(float sparsity, long beginStep = 0, long endStep = -1, int frequency = 100)
        : base(beginStep, endStep, frequency, openEnded: true) =>
        Sparsity = CheckSparsity(nameof(ConstantSparsity), nameof(sparsity), sparsity);

    /// <summary>The target sparsity.</summary>
    public float Sparsity { get; }

    /// <inheritdoc/>
    public override float SparsityAt(long step) => Sparsity;

    /// <summary>The settings: "ConstantSparsity(0.5, steps 0.., every 100)".</summary>
    public override string ToString() => $"ConstantSparsity({Sparsity}, steps {BeginStep}..{(EndStep == -1 ? "" : EndStep)}, every {Frequency})";
}

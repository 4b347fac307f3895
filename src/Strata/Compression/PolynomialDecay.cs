namespace Strata.Compression;

/// <summary>
/// Sparsity rising from an initial to a final value along a polynomial (TF-MOT's PolynomialDecay, after
/// Zhu and Gupta, "To prune, or not to prune", 2017):
/// s(t) = final + (initial − final)·(1 − p)^power with p = clamp((t − beginStep)/(endStep − beginStep), 0, 1).
/// With power 3 most of the pruning happens early, while the network can still recover.
/// </summary>
public sealed class PolynomialDecay : PruningSchedule
{
    /// <param name="initialSparsity">Sparsity at beginStep, in [0, 1).</param>
    /// <param name="finalSparsity">Sparsity from endStep on, in [0, 1).</param>
    /// <param name="beginStep">The first step that prunes (≥ 0).</param>
    /// <param name="endStep">The step that reaches the final sparsity (&gt; beginStep).</param>
    /// <param name="power">The exponent of the decay (&gt; 0; 1 is linear).</param>
    /// <param name="frequency">Steps between mask updates (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value out of its range (the message quotes it).</exception>
    public PolynomialDecay(float initialSparsity, float finalSparsity, long beginStep, long endStep, float power = 3, int frequency = 100)
        : base(beginStep, endStep, frequency, openEnded: false)
    {
        InitialSparsity = CheckSparsity(nameof(PolynomialDecay), nameof(initialSparsity), initialSparsity);
        FinalSparsity = CheckSparsity(nameof(PolynomialDecay), nameof(finalSparsity), finalSparsity);
        if (endStep == beginStep)
            throw new ArgumentOutOfRangeException(nameof(endStep), $"PolynomialDecay: endStep must be after beginStep = {beginStep}, got {endStep}");
        if (!(power > 0) || !float.IsFinite(power))
            throw new ArgumentOutOfRangeException(nameof(power), $"PolynomialDecay: power must be positive and finite, got {power}");
        Power = power;
    }

    /// <summary>The sparsity at the begin step, in [0, 1).</summary>
    public float InitialSparsity { get; }
    /// <summary>The sparsity from the end step on, in [0, 1).</summary>
    public float FinalSparsity { get; }
    /// <summary>The exponent of the decay (&gt; 0; 1 is linear).</summary>
    public float Power { get; }

    /// <inheritdoc/>
    public override float SparsityAt(long step)
    {
        double p = Math.Clamp((double)(step - BeginStep) / (EndStep - BeginStep), 0, 1);
        return (float)(FinalSparsity + (InitialSparsity - FinalSparsity) * Math.Pow(1 - p, Power));
    }

    /// <summary>The settings: "PolynomialDecay(0 → 0.8, power 3, steps 0..1000, every 100)".</summary>
    public override string ToString() =>
        $"PolynomialDecay({InitialSparsity} → {FinalSparsity}, power {Power}, steps {BeginStep}..{EndStep}, every {Frequency})";
}

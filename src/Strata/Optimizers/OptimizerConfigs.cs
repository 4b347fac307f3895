namespace Strata.Optimizers;

/// <summary>
/// The settings every optimizer saves (filled in by <see cref="Optimizer.GetConfig"/>): the rate when it is
/// constant, else the schedule, and the clipping. A subclass's config derives from this record and adds its
/// own settings; an optimizer without settings of its own uses this record as it is.
/// </summary>
public record OptimizerConfig
{
    /// <summary>The constant rate (null when a schedule sets it).</summary>
    public float? LearningRate { get; init; }

    /// <summary>The schedule (null when the rate is constant).</summary>
    public ILearningRateSchedule? Schedule { get; init; }

    /// <see cref="Optimizer.ClipValue"/>.
    public float? ClipValue { get; init; }

    /// <see cref="Optimizer.ClipNorm"/>.
    public float? ClipNorm { get; init; }

    /// <see cref="Optimizer.GlobalClipNorm"/>.
    public float? GlobalClipNorm { get; init; }
}

/// <summary>Config of <see cref="Sgd"/>.</summary>
public sealed record SgdConfig(float Momentum, bool Nesterov) : OptimizerConfig;

/// <summary>Config of <see cref="Adagrad"/>.</summary>
public sealed record AdagradConfig(float InitialAccumulator, float Epsilon) : OptimizerConfig;

/// <summary>Config of <see cref="RmsProp"/>.</summary>
public sealed record RmsPropConfig(float Rho, float Momentum, float Epsilon) : OptimizerConfig;

/// <summary>Config of <see cref="Adam"/>.</summary>
public sealed record AdamConfig(float Beta1, float Beta2, float Epsilon) : OptimizerConfig;

/// <summary>Config of <see cref="AdamW"/>.</summary>
public sealed record AdamWConfig(float Beta1, float Beta2, float Epsilon, float WeightDecay) : OptimizerConfig;

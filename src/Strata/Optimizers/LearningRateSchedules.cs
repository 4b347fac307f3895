namespace Strata.Optimizers;

/// <summary>
/// A learning rate as a function of the optimizer step (0 for the first update). A custom schedule
/// registers once with <see cref="Serialization.ScheduleRegistry"/> so that model files can save it.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>The rate for the update at <paramref name="step"/> (0 for the first).</summary>
    float Rate(long step);

    /// <summary>
    /// The settings a model file saves, as the config type the schedule is registered with: by default the
    /// schedule itself (a record whose constructor takes its properties, registered as its own config).
    /// </summary>
    object GetConfig() => this;
}

/// <summary>lr₀ · rate^(step / decaySteps) (with staircase, the exponent is floored).</summary>
public sealed record ExponentialDecay(float InitialLearningRate, long DecaySteps, float DecayRate, bool Staircase = false) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public float Rate(long step)
    {
        double p = (double)step / DecaySteps;
        return (float)(InitialLearningRate * Math.Pow(DecayRate, Staircase ? Math.Floor(p) : p));
    }
}

/// <summary>values[i] while step ≤ boundaries[i] (values has one more entry than boundaries).</summary>
public sealed record PiecewiseConstantDecay : ILearningRateSchedule
{
    /// <param name="boundaries">The last step of each interval, increasing.</param>
    /// <param name="values">The rate of each interval: one more than the boundaries (the last one after the last boundary).</param>
    /// <exception cref="ArgumentException"><paramref name="values"/> is not one longer than <paramref name="boundaries"/>.</exception>
    public PiecewiseConstantDecay(long[] boundaries, float[] values)
    {
        if (values.Length != boundaries.Length + 1)
            throw new ArgumentException($"PiecewiseConstantDecay: expected {boundaries.Length + 1} values for {boundaries.Length} boundaries, got {values.Length}");
        Boundaries = boundaries;
        Values = values;
    }

    /// <summary>The last step of each interval, increasing.</summary>
    public long[] Boundaries { get; }
    /// <summary>The rate of each interval; the last one holds after the last boundary.</summary>
    public float[] Values { get; }

    /// <inheritdoc/>
    public float Rate(long step)
    {
        for (int i = 0; i < Boundaries.Length; i++)
        {
            if (step <= Boundaries[i])
                return Values[i];
        }
        return Values[^1];
    }
}

/// <summary>lr₀ / (1 + rate · step / decaySteps) — the classic "decay" of Keras 2's SGD when decaySteps = 1.</summary>
public sealed record InverseTimeDecay(float InitialLearningRate, long DecaySteps, float DecayRate, bool Staircase = false) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public float Rate(long step)
    {
        double p = (double)step / DecaySteps;
        return (float)(InitialLearningRate / (1 + DecayRate * (Staircase ? Math.Floor(p) : p)));
    }
}

/// <summary>Cosine decay to alpha·lr₀ over decaySteps: lr₀ · ((1 − α) · ½(1 + cos(π · min(step, T) / T)) + α).</summary>
public sealed record CosineDecay(float InitialLearningRate, long DecaySteps, float Alpha = 0) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public float Rate(long step)
    {
        double p = Math.Min(step, DecaySteps) / (double)DecaySteps;
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * p));
        return (float)(InitialLearningRate * ((1 - Alpha) * cosine + Alpha));
    }
}

/// <summary>A constant rate.</summary>
internal sealed record ConstantRate(float Value) : ILearningRateSchedule
{
    public float Rate(long step) => Value;
}

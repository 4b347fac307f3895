using Strata.Metrics;

namespace Strata.Losses;

/// <summary>How per-sample losses become the training objective.</summary>
public enum LossReduction
{
    /// <summary>The weighted sum divided by the number of samples (Keras' default).</summary>
    SumOverBatchSize,
    /// <summary>The weighted sum.</summary>
    Sum,
    /// <summary>No reduction: one loss per sample.</summary>
    None,
}

/// <summary>The settings a loss saves: its reduction; a loss with settings of its own derives a record from this one.</summary>
public record LossConfig(LossReduction Reduction);

/// <summary>Config of <see cref="Huber"/>.</summary>
public sealed record HuberConfig(float Delta, LossReduction Reduction) : LossConfig(Reduction);

/// <summary>Config of the cross-entropies.</summary>
public sealed record CrossentropyConfig(bool FromLogits, LossReduction Reduction) : LossConfig(Reduction);

/// <summary>
/// The base of all losses: subclasses compute one loss per sample (<see cref="PerSample"/>); the
/// base applies sample weights and the reduction, and validates shapes. A custom loss returns its settings
/// from <see cref="GetConfig"/> and registers once with <see cref="Serialization.LossRegistry"/> so that
/// model files can save it.
/// </summary>
public abstract class Loss
{
    /// <param name="name">The Keras name (<see cref="Name"/>), used in logs and model files.</param>
    /// <param name="reduction">How the per-sample losses become the loss (<see cref="Reduction"/>).</param>
    protected Loss(string name, LossReduction reduction)
    {
        Name = name;
        Reduction = reduction;
    }

    /// <summary>The Keras name.</summary>
    public string Name { get; }

    /// <summary>How the weighted per-sample losses are reduced: their mean over the batch (default), their sum, or none.</summary>
    public LossReduction Reduction { get; }

    /// <summary>The settings a model file saves, as the config type the loss is registered with (by default its reduction).</summary>
    public virtual LossConfig GetConfig() => new(Reduction);

    /// <summary>
    /// The accuracy that fits this loss's targets and predictions, which <c>Compile</c>'s "accuracy" (or "acc")
    /// stands for, as Keras picks it: by default <see cref="Accuracy"/> (predictions equal to the targets); the
    /// cross-entropies override it (class index or one-hot targets, a threshold on probabilities or logits),
    /// and so may a custom loss.
    /// </summary>
    /// <param name="name">The metric's name in logs and History.</param>
    public virtual Metric MatchingAccuracy(string name) => new Accuracy(name);

    /// <summary>The loss of a batch: per-sample losses, weighted, then reduced.</summary>
    /// <param name="yTrue">Targets.</param>
    /// <param name="yPred">Predictions [batch, ...].</param>
    /// <param name="sampleWeight">Optional weights [batch].</param>
    /// <exception cref="ArgumentException">Shapes that do not fit; the message names the loss and both shapes.</exception>
    public Tensor Compute(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null)
    {
        if (yPred.Rank < 1)
            throw new ArgumentException($"{Name}: predictions need a batch axis, got {yPred.Shape}");
        Validate(yTrue, yPred);
        var perSample = PerSample(yTrue, yPred);
        if (sampleWeight is not null)
        {
            if (sampleWeight.Rank != 1 || sampleWeight.Shape[0] != yPred.Shape[0])
                throw new ArgumentException($"{Name}: sample weights must have shape [{yPred.Shape[0]}], got {sampleWeight.Shape}");
            perSample = perSample * sampleWeight;
        }
        return Reduction switch
        {
            LossReduction.Sum => perSample.Sum(),
            LossReduction.SumOverBatchSize => perSample.Sum() * (1f / Math.Max(1, perSample.Size)),
            _ => perSample,
        };
    }

    /// <summary>One loss per sample, shape [batch].</summary>
    protected abstract Tensor PerSample(Tensor yTrue, Tensor yPred);

    /// <summary>Default: targets and predictions have the same shape.</summary>
    protected virtual void Validate(Tensor yTrue, Tensor yPred)
    {
        if (yTrue.Shape != yPred.Shape)
            throw new ArgumentException($"{Name}: targets {yTrue.Shape} and predictions {yPred.Shape} must have the same shape");
    }

    /// <summary>Mean over every axis but the batch axis: [batch, ...] → [batch].</summary>
    protected static Tensor MeanPerSample(Tensor t) =>
        t.Rank == 1 ? t : t.Reshape(t.Shape[0], -1).Mean(1);

    /// <summary>Sum over every axis but the batch axis.</summary>
    protected static Tensor SumPerSample(Tensor t) =>
        t.Rank == 1 ? t : t.Reshape(t.Shape[0], -1).Sum(1);

    /// <summary>Keras' epsilon for clipping probabilities.</summary>
    protected const float Epsilon = 1e-7f;

    /// <summary>The Keras name.</summary>
    public override string ToString() => Name;
}

using Strata.Metrics;

namespace Strata.Losses;

/// <summary>Mean squared error: mean((y − ŷ)²) over each sample.</summary>
public sealed class MeanSquaredError(LossReduction reduction = LossReduction.SumOverBatchSize) : Loss("mean_squared_error", reduction)
{
    /// <inheritdoc/>
    protected override Tensor PerSample(Tensor yTrue, Tensor yPred) => MeanPerSample((yPred - yTrue).Square());
}

/// <summary>Mean absolute error: mean(|y − ŷ|) over each sample.</summary>
public sealed class MeanAbsoluteError(LossReduction reduction = LossReduction.SumOverBatchSize) : Loss("mean_absolute_error", reduction)
{
    /// <inheritdoc/>
    protected override Tensor PerSample(Tensor yTrue, Tensor yPred) => MeanPerSample((yPred - yTrue).Abs());
}

/// <summary>Huber: ½e² where |e| ≤ δ, else δ(|e| − ½δ); mean over each sample.</summary>
public sealed class Huber : Loss
{
    /// <param name="delta">δ, where the loss turns from quadratic to linear (default 1).</param>
    /// <param name="reduction">How the per-sample losses are reduced (default their mean over the batch).</param>
    public Huber(float delta = 1f, LossReduction reduction = LossReduction.SumOverBatchSize) : base("huber", reduction)
    {
        if (!(delta > 0))
            throw new ArgumentOutOfRangeException(nameof(delta), $"huber: delta must be positive, got {delta}");
        Delta = delta;
    }

    /// <summary>δ, where the loss turns from quadratic to linear.</summary>
    public float Delta { get; }

    /// <inheritdoc/>
    public override LossConfig GetConfig() => new HuberConfig(Delta, Reduction);

    /// <inheritdoc/>
    protected override Tensor PerSample(Tensor yTrue, Tensor yPred)
    {
        var abs = (yPred - yTrue).Abs();
        // With q = min(|e|, δ): ½q² + δ(|e| − q) is both branches in one expression.
        var q = Tensor.Minimum(abs, Delta);
        return MeanPerSample(q.Square() * 0.5f + (abs - q) * Delta);
    }
}

/// <summary>
/// Binary cross-entropy, mean over each sample. From logits: softplus(z) − y·z (stable for any z);
/// from probabilities: −(y log p + (1 − y) log(1 − p)) with p clipped to [ε, 1 − ε].
/// </summary>
public sealed class BinaryCrossentropy(bool fromLogits = false, LossReduction reduction = LossReduction.SumOverBatchSize)
    : Loss("binary_crossentropy", reduction)
{
    /// <summary>Whether predictions are logits (the sigmoid is applied inside, which is more stable) rather than probabilities.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <inheritdoc/>
    public override LossConfig GetConfig() => new CrossentropyConfig(FromLogits, Reduction);

    /// <summary>Binary accuracy, thresholded at 0 on logits (σ(0) = ½) and at ½ on probabilities.</summary>
    public override Metric MatchingAccuracy(string name) => new BinaryAccuracy(FromLogits ? 0f : 0.5f, name);

    /// <inheritdoc/>
    protected override Tensor PerSample(Tensor yTrue, Tensor yPred)
    {
        if (FromLogits)
            return MeanPerSample(yPred.Softplus() - yTrue * yPred);
        var p = yPred.Clamp(Epsilon, 1 - Epsilon);
        return MeanPerSample(-(yTrue * p.Log() + (1f - yTrue) * (1f - p).Log()));
    }
}

/// <summary>
/// Categorical cross-entropy with one-hot (or soft) targets: −Σ y log p over the last axis. From logits it
/// is one fused op (<see cref="Tensor.SoftmaxCrossEntropy"/>: log-softmax and the dot with the targets,
/// gradient softmax·Σy − y); from probabilities it normalizes and clips p to [ε, 1 − ε] like Keras.
/// </summary>
/// <remarks>
/// As Keras does, probabilities that come straight from a softmax over the last axis (a <c>Dense</c> with
/// the softmax activation, an <c>Activation("softmax")</c> layer, <see cref="Tensor.Softmax"/>, with no op
/// in between) in a graph that records gradients are not read at all: the loss runs the fused op on that
/// softmax's input, the logits, so the gradient is softmax − y directly, not through a clip, a log and the
/// softmax's own backward. The value is the same within float rounding except where a probability the
/// targets weigh is below ε = 1e-7 (or above 1 − ε), which the clip moves to the bound: there the fused
/// loss is exact (below ε, −log p is larger than −log ε) and its gradient does not vanish. With recording
/// off (Evaluate, Predict, <see cref="GradMode.Disable"/>) the probabilities are clipped as above.
/// </remarks>
public sealed class CategoricalCrossentropy(bool fromLogits = false, LossReduction reduction = LossReduction.SumOverBatchSize)
    : Loss("categorical_crossentropy", reduction)
{
    /// <summary>Whether predictions are logits (the softmax is applied inside, which is more stable) rather than probabilities.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <inheritdoc/>
    public override LossConfig GetConfig() => new CrossentropyConfig(FromLogits, Reduction);

    /// <summary>Categorical accuracy: the top score against the one-hot target's class.</summary>
    public override Metric MatchingAccuracy(string name) => new CategoricalAccuracy(name);

    /// <inheritdoc/>
    protected override Tensor PerSample(Tensor yTrue, Tensor yPred)
    {
        if (FromLogits)
            return Tensor.SoftmaxCrossEntropy(yPred, yTrue);
        // Straight from a softmax over the last axis: the fused op on its logits (see the remarks).
        if (Tensor.SoftmaxInput(yPred) is { } logits)
            return Tensor.SoftmaxCrossEntropy(logits, yTrue);
        var logP = (yPred / yPred.Sum(-1, keepDims: true)).Clamp(Epsilon, 1 - Epsilon).Log();
        return -(yTrue * logP).Sum(-1);
    }
}

/// <summary>
/// Sparse categorical cross-entropy: integer class targets [batch] (stored as float) against
/// scores [batch, classes]. From logits it is one fused op (<see cref="Tensor.SparseSoftmaxCrossEntropy(Tensor, Tensor)"/>:
/// log-softmax and pick, gradient softmax − one-hot); from probabilities it is −log p[t] with p[t]
/// clipped to [ε, 1 − ε] like Keras.
/// </summary>
/// <remarks>
/// As Keras does, probabilities that come straight from a softmax over the last axis (a <c>Dense</c> with
/// the softmax activation, an <c>Activation("softmax")</c> layer, <see cref="Tensor.Softmax"/>, with no op
/// in between) in a graph that records gradients are not read at all: the loss runs the fused op on that
/// softmax's input, the logits, so the gradient is softmax − one-hot directly, not through a clip, a log
/// and the softmax's own backward. The value is the same within float rounding except where the target's
/// probability is below ε = 1e-7 (or above 1 − ε), which the clip moves to the bound: there the fused loss
/// is exact (below ε, −log p[t] is larger than −log ε) and its gradient does not vanish. With recording off
/// (Evaluate, Predict, <see cref="GradMode.Disable"/>) the probabilities are clipped as above.
/// </remarks>
public sealed class SparseCategoricalCrossentropy(bool fromLogits = false, LossReduction reduction = LossReduction.SumOverBatchSize)
    : Loss("sparse_categorical_crossentropy", reduction)
{
    /// <summary>Whether predictions are logits (the softmax is applied inside, which is more stable) rather than probabilities.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <inheritdoc/>
    public override LossConfig GetConfig() => new CrossentropyConfig(FromLogits, Reduction);

    /// <summary>Sparse categorical accuracy: the top score against the class index.</summary>
    public override Metric MatchingAccuracy(string name) => new SparseCategoricalAccuracy(name);

    /// <inheritdoc/>
    protected override void Validate(Tensor yTrue, Tensor yPred)
    {
        if (yPred.Rank != 2)
            throw new ArgumentException($"{Name}: predictions must be [batch, classes], got {yPred.Shape}");
        bool labelsOk = (yTrue.Rank == 1 && yTrue.Shape[0] == yPred.Shape[0]) || (yTrue.Rank == 2 && yTrue.Shape[0] == yPred.Shape[0] && yTrue.Shape[1] == 1);
        if (!labelsOk)
            throw new ArgumentException($"{Name}: targets must be class indices [{yPred.Shape[0]}], got {yTrue.Shape} for predictions {yPred.Shape}");
    }

    /// <inheritdoc/>
    protected override Tensor PerSample(Tensor yTrue, Tensor yPred)
    {
        var labels = yTrue.Rank == 2 ? yTrue.Reshape(-1) : yTrue;
        // The ops read and check the labels each time they run, with this loss's name in the message.
        if (FromLogits)
            return Tensor.SparseSoftmaxCrossEntropy(yPred, labels, Name);
        // Straight from a softmax over the last axis: the fused op on its logits (see the remarks).
        if (Tensor.SoftmaxInput(yPred) is { } logits)
            return Tensor.SparseSoftmaxCrossEntropy(logits, labels, Name);
        // −log clamp(p[t], ε, 1 − ε): picking first is the same value and gradient as clamping all of p.
        return -Tensor.PickPerRow(yPred, labels, Name).Clamp(Epsilon, 1 - Epsilon).Log();
    }
}

/// <summary>Kullback–Leibler divergence Σ y log(y / p) over the last axis, both clipped to [ε, 1].</summary>
public sealed class KLDivergence(LossReduction reduction = LossReduction.SumOverBatchSize) : Loss("kl_divergence", reduction)
{
    /// <inheritdoc/>
    protected override Tensor PerSample(Tensor yTrue, Tensor yPred)
    {
        var y = yTrue.Clamp(Epsilon, 1);
        var p = yPred.Clamp(Epsilon, 1);
        return (y * (y.Log() - p.Log())).Sum(-1);
    }
}

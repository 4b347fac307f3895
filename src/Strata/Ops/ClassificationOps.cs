using Strata.Autograd;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// Cross-entropy of softmax(logits) against class indices, per row: −log softmax(z)[t], computed
    /// from log-softmax (stable). ∂/∂z = softmax(z) − onehot(t), times the row's gradient.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes that do not fit, or a label that is not a class index.</exception>
    public static Tensor SparseSoftmaxCrossEntropy(Tensor logits, Tensor labels) =>
        SparseSoftmaxCrossEntropy(logits, labels, "sparse_softmax_cross_entropy");

    internal static Tensor SparseSoftmaxCrossEntropy(Tensor logits, Tensor labels, string owner)
    {
        if (logits.Rank != 2 || labels.Rank != 1 || labels.Shape[0] != logits.Shape[0])
            throw new ArgumentException($"sparse_softmax_cross_entropy: expected logits [batch, classes] and labels [batch], got {logits.Shape} and {labels.Shape}");
        return Run(new SparseSoftmaxCrossEntropyNode(logits, labels, owner));
    }

    /// <summary>
    /// Cross-entropy of softmax(logits) against target distributions (one-hot or soft), per row over the
    /// last axis: −Σ y ⊙ log-softmax(z), computed from log-softmax (stable): [..., classes] → [...].
    /// ∂/∂z = g·(softmax(z)·Σy − y), which is g·(softmax(z) − y) for targets that sum to 1; ∂/∂y = −g·log-softmax(z).
    /// </summary>
    /// <param name="logits">Scores z [..., classes] (rank ≥ 1).</param>
    /// <param name="targets">Target distributions y, the same shape as the logits.</param>
    /// <exception cref="ArgumentException">A scalar, or targets whose shape differs from the logits'.</exception>
    public static Tensor SoftmaxCrossEntropy(Tensor logits, Tensor targets)
    {
        if (logits.Rank < 1 || targets.Shape != logits.Shape)
            throw new ArgumentException($"softmax_cross_entropy: expected logits [..., classes] and targets of the same shape, got {logits.Shape} and {targets.Shape}");
        return Run(new SoftmaxCrossEntropyNode(logits, targets));
    }

    /// <summary>x[i, labels[i]] for each row i: [batch, classes] → [batch]. ∂ = g at the picked entries.</summary>
    /// <exception cref="ArgumentException">Shapes that do not fit, or a label that is not a class index.</exception>
    public static Tensor PickPerRow(Tensor x, Tensor labels) => PickPerRow(x, labels, "pick_per_row");

    internal static Tensor PickPerRow(Tensor x, Tensor labels, string owner)
    {
        if (x.Rank != 2 || labels.Rank != 1 || labels.Shape[0] != x.Shape[0])
            throw new ArgumentException($"pick_per_row: expected x [batch, classes] and labels [batch], got {x.Shape} and {labels.Shape}");
        return Run(new PickPerRowNode(x, labels, owner));
    }
}

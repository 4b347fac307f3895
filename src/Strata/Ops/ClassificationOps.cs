namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// Fused softmax cross-entropy with integer labels: per row, −log softmax(z)[label] =
    /// logsumexp(z) − z[label]. ∂/∂z = softmax(z) − onehot(label), times the incoming gradient.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes that do not fit, or a label outside 0..classes−1.</exception>
    public static Tensor SparseSoftmaxCrossEntropy(Tensor logits, Tensor labels)
    {
        if (logits.Rank != 2 || labels.Rank != 1 || labels.Shape[0] != logits.Shape[0])
            throw new ArgumentException($"sparse_softmax_cross_entropy: expected logits [batch, classes] and labels [batch], got {logits.Shape} and {labels.Shape}");
        int rows = logits.Shape[0], classes = logits.Shape[1];
        var idx = LabelIndices(labels, classes, "sparse_softmax_cross_entropy");
        var logSm = Empty(logits.Shape);
        SoftmaxForward(logits.Span, logSm.Data, rows, classes, 1, log: true);
        var r = Empty(new Shape(rows));
        var d = r.Data;
        var ls = logSm.Span;
        for (int i = 0; i < rows; i++)
            d[i] = -ls[i * classes + idx[i]];
        if (NeedsGrad(logits))
        {
            r.Record("sparse_softmax_cross_entropy", g =>
            {
                var grad = logSm.Exp(); // softmax
                var gd = grad.Data;
                var gs = g.Span;
                for (int i = 0; i < rows; i++)
                {
                    gd[i * classes + idx[i]] -= 1;
                    System.Numerics.Tensors.TensorPrimitives.Multiply(gd.Slice(i * classes, classes), gs[i], gd.Slice(i * classes, classes));
                }
                logits.Flow(grad, true);
            }, logits);
        }
        return r;
    }

    /// <summary>x[i, labels[i]] for each row i. ∂/∂x = g placed at the picked entries.</summary>
    public static Tensor PickPerRow(Tensor x, Tensor labels)
    {
        if (x.Rank != 2 || labels.Rank != 1 || labels.Shape[0] != x.Shape[0])
            throw new ArgumentException($"pick_per_row: expected x [batch, classes] and labels [batch], got {x.Shape} and {labels.Shape}");
        int rows = x.Shape[0], classes = x.Shape[1];
        var idx = LabelIndices(labels, classes, "pick_per_row");
        var r = Empty(new Shape(rows));
        for (int i = 0; i < rows; i++)
            r.Data[i] = x.Span[i * classes + idx[i]];
        if (NeedsGrad(x))
        {
            r.Record("pick_per_row", g =>
            {
                var dx = ZerosLike(x);
                for (int i = 0; i < rows; i++)
                    dx.Data[i * classes + idx[i]] = g.Span[i];
                x.Flow(dx, true);
            }, x);
        }
        return r;
    }

    private static int[] LabelIndices(Tensor labels, int classes, string op)
    {
        var idx = new int[labels.Size];
        var s = labels.Span;
        for (int i = 0; i < idx.Length; i++)
        {
            float v = s[i];
            if (!(v >= 0 && v < classes) || v != MathF.Floor(v))
                throw new ArgumentException($"{op}: label {v} at position {i} is not a class index in 0..{classes - 1}");
            idx[i] = (int)v;
        }
        return idx;
    }
}

namespace Strata.Layers;

/// <summary>A weight penalty added to the loss (Keras form: no ½ factor).</summary>
public sealed record Regularizer(float L1, float L2)
{
    /// <summary>l1 · Σ|w|.</summary>
    public static Regularizer OfL1(float l1 = 0.01f) => new(l1, 0);

    /// <summary>l2 · Σw².</summary>
    public static Regularizer OfL2(float l2 = 0.01f) => new(0, l2);

    /// <summary>l1 · Σ|w| + l2 · Σw².</summary>
    public static Regularizer OfL1L2(float l1 = 0.01f, float l2 = 0.01f) => new(l1, l2);

    /// <summary>Adds the penalty's gradient, l1·sign(w) + 2·l2·w, to <paramref name="grad"/> (the planned training step's form).</summary>
    internal void AddGradient(ReadOnlySpan<float> w, Span<float> grad)
    {
        if (L1 != 0)
        {
            for (int i = 0; i < w.Length; i++)
                grad[i] += L1 * MathF.Sign(w[i]);
        }
        if (L2 != 0)
        {
            for (int i = 0; i < w.Length; i++)
                grad[i] += 2 * L2 * w[i];
        }
    }

    /// <summary>The penalty as a differentiable scalar.</summary>
    public Tensor Penalty(Tensor w)
    {
        Tensor total = Tensor.Scalar(0);
        if (L1 != 0)
            total = total + w.Abs().Sum() * L1;
        if (L2 != 0)
            total = total + w.Square().Sum() * L2;
        return total;
    }
}

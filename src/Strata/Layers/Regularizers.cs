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

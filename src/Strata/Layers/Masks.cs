namespace Strata.Layers;

/// <summary>
/// Mask arithmetic shared by the layers that use masks, written from ops so that compiled plans
/// compute masks as the eager step does. A mask is [batch, steps]: 1 where a step holds data, 0 where
/// it is padding.
/// </summary>
internal static class Masks
{
    /// <summary>Far below any activation: a masked step never wins a maximum.</summary>
    private const float Lowest = -3e38f;

    /// <summary>[batch, steps] → [batch, steps, 1], to multiply [batch, steps, channels].</summary>
    public static Tensor PerStep(Tensor mask) => mask.Unsqueeze(-1);

    /// <summary>x where the step is kept, zero where it is masked.</summary>
    public static Tensor Zeroed(Tensor x, Tensor mask) => x * PerStep(mask);

    /// <summary>x where the step is kept, a value below every other where it is masked (for maxima).</summary>
    public static Tensor Lowered(Tensor x, Tensor mask)
    {
        var m = PerStep(mask);
        return x * m + (m - 1f) * -Lowest;
    }

    /// <summary>For each window of steps (valid padding): 1 when every step in it is kept.</summary>
    public static Tensor AllInWindow(Tensor mask, int window, int stride)
    {
        int n = mask.Shape[0], t = mask.Shape[1];
        var holes = (1f - mask).Reshape(n, 1, t, 1);
        var any = Tensor.MaxPool2D(holes, (1, window), (1, stride), Padding.Valid);
        return (1f - any).Reshape(n, -1);
    }

    /// <summary>For each window of steps (same padding): 1 when any step in it is kept.</summary>
    public static Tensor AnyInWindow(Tensor mask, int window, int stride)
    {
        int n = mask.Shape[0], t = mask.Shape[1];
        return Tensor.MaxPool2D(mask.Reshape(n, 1, t, 1), (1, window), (1, stride), Padding.Same).Reshape(n, -1);
    }

    /// <summary>The mean of the mask over each pooling window (as average pooling divides).</summary>
    public static Tensor MeanInWindow(Tensor mask, int window, int stride, Padding padding)
    {
        int n = mask.Shape[0], t = mask.Shape[1];
        return Tensor.AvgPool2D(mask.Reshape(n, 1, t, 1), (1, window), (1, stride), padding).Reshape(n, -1);
    }

    /// <summary>The mask at steps 0, stride, 2·stride, ... (count of them).</summary>
    public static Tensor Strided(Tensor mask, int stride, int count)
    {
        if (stride == 1 && count == mask.Shape[1])
            return mask;
        var idx = new int[count];
        for (int i = 0; i < count; i++)
            idx[i] = i * stride;
        return mask.IndexSelect(1, idx);
    }
}

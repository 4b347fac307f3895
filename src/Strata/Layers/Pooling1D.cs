using Strata.Kernels;

namespace Strata.Layers;

/// <summary>The configuration of a 1-D pooling layer.</summary>
public sealed record Pooling1DConfig(string Name, string Kind, int PoolSize, int Strides, Padding Padding) : LayerConfig(Name);

/// <summary>
/// Shared by the 1-D pooling layers over sequences [batch, steps, C]: window, strides (default: the
/// window), padding. They run as 2-D pooling of height 1, in the graph or in planned form.
/// </summary>
public abstract class Pooling1D : Layer
{
    private Conv2DGeometry _geometry;

    private protected Pooling1D(int poolSize, int? strides, Padding padding, string? name) : base(name)
    {
        Strides = strides ?? poolSize;
        if (poolSize < 1 || Strides < 1)
            throw new ArgumentOutOfRangeException(nameof(poolSize), $"{GetType().Name}: pool size {poolSize} and strides {Strides} must be at least 1");
        if (padding == Padding.Causal)
            throw new ArgumentException($"{GetType().Name}: causal padding is for Conv1D; use valid or same", nameof(padding));
        PoolSize = poolSize;
        Padding = padding;
    }

    /// <summary>Window length, in steps.</summary>
    public int PoolSize { get; }
    /// <summary>Step between windows (default: the window).</summary>
    public int Strides { get; }
    /// <summary>Valid or same (causal is refused).</summary>
    public Padding Padding { get; }

    private protected abstract bool IsMax { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new(Geometry(inputShape).OW, inputShape[1]);

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape) => Geometry(inputShape);

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape) => _geometry = Geometry(inputShape);

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        var g = _geometry;
        int n = x.Shape[0];
        var x4 = x.Reshape(n, 1, g.W, g.C);
        var y = IsMax ? Tensor.MaxPool2D(x4, (1, PoolSize), (1, Strides), Padding) : Tensor.AvgPool2D(x4, (1, PoolSize), (1, Strides), Padding);
        return y.Reshape(n, g.OW, g.C);
    }

    // Masked steps take no part: a maximum over the kept steps, a mean of the kept steps; a window
    // with none gives 0 (and is masked).
    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, Tensor mask, bool training)
    {
        var keep = Masks.PerStep(ComputeMask(x, mask)!);
        if (IsMax)
            return Call(Masks.Lowered(x, mask), training) * keep;
        var counts = Masks.PerStep(Masks.MeanInWindow(mask, PoolSize, Strides, Padding)); // the share of kept steps in each window
        return Call(Masks.Zeroed(x, mask), training) / counts.Clamp(1e-6f, float.MaxValue) * keep;
    }

    /// <summary>Valid padding keeps a window when all its steps are kept; same padding when any is.</summary>
    public override Tensor? ComputeMask(Tensor x, Tensor? mask) => mask is null ? null
        : Padding == Padding.Valid ? Masks.AllInWindow(mask, PoolSize, Strides) : Masks.AnyInWindow(mask, PoolSize, Strides);


    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new Pooling1DConfig(Name, GetType().Name, PoolSize, Strides, Padding);

    private Conv2DGeometry Geometry(Shape s)
    {
        if (s.Rank != 2 || s.Size == 0)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected input [batch, steps, channels], got [batch, {string.Join(", ", s.ToArray())}]");
        var g = Conv2DGeometry.Create(1, s[0], s[1], 1, PoolSize, 1, Strides, 1, 1, Padding == Padding.Same);
        if (g.OW < 1)
            throw new ArgumentException($"{GetType().Name} '{Name}': the window of {PoolSize} is longer than the input of {s[0]} steps");
        return g;
    }
}

/// <summary>The maximum of each window of steps, per channel.</summary>
public sealed class MaxPooling1D(int poolSize = 2, int? strides = null, Padding padding = Padding.Valid, string? name = null)
    : Pooling1D(poolSize, strides, padding, name)
{
    private protected override bool IsMax => true;
}

/// <summary>The mean of each window of steps, per channel (with same padding, of the real steps only).</summary>
public sealed class AveragePooling1D(int poolSize = 2, int? strides = null, Padding padding = Padding.Valid, string? name = null)
    : Pooling1D(poolSize, strides, padding, name)
{
    private protected override bool IsMax => false;
}

/// <summary>Shared by the 1-D global pooling layers: [batch, steps, C] → [batch, C].</summary>
public abstract class GlobalPooling1D(string? name) : Layer(name)
{
    private Conv2DGeometry _geometry;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new(inputShape[1]);

    /// <summary>Sequences of any length (the whole sequence is one window).</summary>
    protected override bool AnySteps => true;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 2 || inputShape.Size == 0)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected input [batch, steps, channels], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    // In a plan: one window over the whole sequence.
    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape) =>
        _geometry = Conv2DGeometry.Create(1, inputShape[0], inputShape[1], 1, inputShape[0], 1, 1, 1, 1, same: false);

    private protected abstract bool IsMax { get; }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => IsMax ? x.Max([1]) : x.Mean([1]);

    // Over the kept steps only (Keras' masked pooling); a sequence with none gives 0.
    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, Tensor mask, bool training)
    {
        var any = mask.Max([1]).Unsqueeze(-1);
        if (IsMax)
            return Masks.Lowered(x, mask).Max([1]) * any;
        return Masks.Zeroed(x, mask).Sum([1]) / mask.Sum([1]).Unsqueeze(-1).Clamp(1f, float.MaxValue);
    }


    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new NamedLayerConfig(Name, GetType().Name);
}

/// <summary>The mean over the steps, per channel.</summary>
public sealed class GlobalAveragePooling1D(string? name = null) : GlobalPooling1D(name)
{
    private protected override bool IsMax => false;
}

/// <summary>The maximum over the steps, per channel.</summary>
public sealed class GlobalMaxPooling1D(string? name = null) : GlobalPooling1D(name)
{
    private protected override bool IsMax => true;
}

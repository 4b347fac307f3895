using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Layers;

/// <summary>The configuration of a <see cref="Rescaling"/> layer.</summary>
public sealed record RescalingConfig(string Name, float Scale, float Offset) : LayerConfig(Name);

/// <summary>Config of a <see cref="Normalization"/> layer: the statistics given to its constructor, if any (adapted ones are weights).</summary>
public sealed record FeatureNormalizationConfig(string Name, string Kind, float[]? Mean = null, float[]? Variance = null) : LayerConfig(Name);

/// <summary>y = x · scale + offset (Keras' Rescaling): <c>new Rescaling(1 / 255f)</c> maps bytes to [0, 1].</summary>
public sealed class Rescaling : Layer
{
    /// <param name="scale">The factor (finite).</param>
    /// <param name="offset">Added after scaling (finite, default 0).</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentException">A scale or offset that is not finite.</exception>
    public Rescaling(float scale, float offset = 0, string? name = null) : base(name)
    {
        if (!float.IsFinite(scale) || !float.IsFinite(offset))
            throw new ArgumentException($"Rescaling: scale and offset must be finite, got {scale} and {offset}");
        Scale = scale;
        Offset = offset;
    }

    /// <summary>The factor x is multiplied by.</summary>
    public float Scale { get; }

    /// <summary>Added after scaling.</summary>
    public float Offset { get; }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => x * Scale + Offset;

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new RescalingConfig(Name, Scale, Offset);
}

/// <summary>
/// Standardizes each feature of the last axis: y = (x − mean) / max(√variance, 1e-7) (Keras'
/// Normalization with axis −1). The mean and variance are non-trainable weights (saved with the
/// model), given to the constructor or fitted on training data by <see cref="Adapt"/>.
/// </summary>
public sealed class Normalization : Layer
{
    private const float Epsilon = 1e-7f;
    private readonly float[]? _mean, _variance;
    private Weight? _meanWeight, _varianceWeight;

    /// <param name="mean">Per-feature means (null: zeros until <see cref="Adapt"/>).</param>
    /// <param name="variance">Per-feature variances (null: ones until <see cref="Adapt"/>).</param>
    /// <param name="name">The layer's name.</param>
    public Normalization(float[]? mean = null, float[]? variance = null, string? name = null) : base(name)
    {
        if ((mean is null) != (variance is null) || (mean is not null && mean.Length != variance!.Length))
            throw new ArgumentException($"Normalization: give mean and variance together, of one length each (got {mean?.Length.ToString() ?? "none"} and {variance?.Length.ToString() ?? "none"})");
        if (variance is not null && variance.Any(v => !(v >= 0)))
            throw new ArgumentException("Normalization: variances must be ≥ 0");
        _mean = (float[]?)mean?.Clone();
        _variance = (float[]?)variance?.Clone();
    }

    /// <summary>The per-feature means (after build).</summary>
    public ReadOnlySpan<float> Mean => (_meanWeight ?? throw new InvalidOperationException($"Normalization '{Name}' is not built yet")).Value.Span;

    /// <summary>The per-feature variances (after build).</summary>
    public ReadOnlySpan<float> Variance => (_varianceWeight ?? throw new InvalidOperationException($"Normalization '{Name}' is not built yet")).Value.Span;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank == 0 || inputShape.Size == 0)
            throw new ArgumentException($"Normalization '{Name}': expected a non-empty per-sample shape, got [batch, {string.Join(", ", inputShape.ToArray())}]");
        if (_mean is not null && inputShape[-1] != _mean.Length)
            throw new ArgumentException($"Normalization '{Name}': {_mean.Length} means given, but the input's last axis has {inputShape[-1]} features");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        int c = inputShape[-1];
        _meanWeight = AddWeight("mean", [c], Initializers.Zeros, trainable: false);
        _varianceWeight = AddWeight("variance", [c], Initializers.Ones, trainable: false);
        _mean?.CopyTo(_meanWeight.Value.AsWritableSpan());
        _variance?.CopyTo(_varianceWeight.Value.AsWritableSpan());
    }

    /// <summary>
    /// Fits the mean and variance of every feature (last axis) over all other axes of
    /// <paramref name="data"/> ([samples, ...per-sample shape]), building the layer if needed.
    /// </summary>
    /// <exception cref="ArgumentException">The data's per-sample shape differs from the built one, or there are no samples.</exception>
    public void Adapt(Tensor data)
    {
        if (data.Rank < 2 || data.Shape[0] == 0)
            throw new ArgumentException($"Normalization '{Name}'.Adapt: expected [samples, ...features] with at least one sample, got {data.Shape}");
        var sample = new Shape(data.Shape.Dims[1..]);
        if (!Built)
            Build(sample);
        else if (sample != InputShape)
            throw new ArgumentException($"Normalization '{Name}'.Adapt: built for [batch, {string.Join(", ", InputShape.ToArray())}], got {data.Shape}");
        int c = sample[-1];
        long rows = data.Size / c;
        // Two passes in double: the mean, then the squared deviations (no cancellation on large offsets).
        var sum = new double[c];
        var x = data.Span;
        for (long r = 0; r < rows; r++)
            for (int k = 0; k < c; k++)
                sum[k] += x[(int)(r * c + k)];
        var mean = sum.Select(s => s / rows).ToArray();
        var sq = new double[c];
        for (long r = 0; r < rows; r++)
            for (int k = 0; k < c; k++)
            {
                double d = x[(int)(r * c + k)] - mean[k];
                sq[k] += d * d;
            }
        var m = _meanWeight!.Value.AsWritableSpan();
        var v = _varianceWeight!.Value.AsWritableSpan();
        for (int k = 0; k < c; k++)
        {
            m[k] = (float)mean[k];
            v[k] = (float)(sq[k] / rows);
        }
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        // From the weights as ops (not constants), so that a compiled plan follows Adapt and loaded weights.
        var scale = 1f / _varianceWeight!.Value.Sqrt().Clamp(Epsilon, float.MaxValue);
        return (x - _meanWeight!.Value) * scale;
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new FeatureNormalizationConfig(Name, "Normalization", _mean, _variance);
}

/// <summary>
/// The base of the random image layers (RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
/// RandomContrast): in training each image of the batch gets its own random transform drawn from the
/// layer's seeded <see cref="Layer.Rng"/>; in inference they pass the input through. Inputs are
/// [height, width, channels] or [height, width] (one channel). Gradients flow back through the
/// transform (its exact adjoint), so a random layer may stand anywhere in a model.
/// </summary>
public abstract class RandomImageLayer : Layer
{
    private protected RandomImageLayer(string? name) : base(name)
    {
    }

    private protected int Height => InputShape[0];

    private protected int Width => InputShape[1];

    private protected int Channels => InputShape.Rank == 3 ? InputShape[2] : 1;

    /// <summary>Floats of per-image transform parameters kept between forward and backward.</summary>
    private protected virtual int ParametersPerImage => 6;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank is not (2 or 3) || inputShape.Size == 0)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected images [batch, height, width, channels] or [batch, height, width], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <summary>Draws one image's transform into <paramref name="parameters"/>.</summary>
    private protected abstract void Draw(Span<float> parameters);

    /// <summary>Applies one image's transform.</summary>
    private protected virtual void Apply(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> p) =>
        ImageWarp.Forward(x, Height, Width, Channels, y, Height, Width, MapOf(p), Interpolation, FillMode, FillValue);

    /// <summary>Adds one image's input gradient to <paramref name="dx"/> (zeroed by the caller).</summary>
    private protected virtual void Adjoint(ReadOnlySpan<float> dy, Span<float> dx, ReadOnlySpan<float> p) =>
        ImageWarp.Backward(dy, Height, Width, Channels, dx, Height, Width, MapOf(p), Interpolation, FillMode);

    private protected virtual Interpolation Interpolation => Interpolation.Bilinear;

    private protected virtual FillMode FillMode => FillMode.Reflect;

    private protected virtual float FillValue => 0;

    private static AffineMap MapOf(ReadOnlySpan<float> p) => new(p[0], p[1], p[2], p[3], p[4], p[5]);

    private protected static void Store(in AffineMap m, Span<float> p)
    {
        p[0] = (float)m.A; p[1] = (float)m.B; p[2] = (float)m.C;
        p[3] = (float)m.D; p[4] = (float)m.E; p[5] = (float)m.F;
    }

    private void ForwardBatch(ReadOnlySpan<float> x, Span<float> y, int batch, Span<float> parameters)
    {
        int size = InputShape.Size, np = ParametersPerImage;
        for (int b = 0; b < batch; b++)
        {
            var p = parameters.Slice(b * np, np);
            Draw(p);
            Apply(x.Slice(b * size, size), y.Slice(b * size, size), p);
        }
    }

    private void BackwardBatch(ReadOnlySpan<float> dy, Span<float> dx, int batch, ReadOnlySpan<float> parameters)
    {
        int size = InputShape.Size, np = ParametersPerImage;
        dx[..(batch * size)].Clear();
        for (int b = 0; b < batch; b++)
            Adjoint(dy.Slice(b * size, size), dx.Slice(b * size, size), parameters.Slice(b * np, np));
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        if (!training)
            return x;
        return Tensor.Run(new RandomImageNode(this, x));
    }

    /// <summary>
    /// The layer's op: each run draws every image's transform from the layer's stream, then warps;
    /// the gradient is the warp's adjoint under the same transforms.
    /// </summary>
    private sealed class RandomImageNode(RandomImageLayer layer, Tensor x) : Autograd.OpNode(layer.GetType().Name, [x], x.Shape)
    {
        private int Batch => Inputs[0].Shape[0];

        public override string Attributes => layer.Name;

        public override void Forward() =>
            layer.ForwardBatch(Inputs[0].Span, Output.Data, Batch, Scratch(0, Batch * layer.ParametersPerImage));

        public override void Backward(Span<float> gy, Autograd.GradSink grads)
        {
            var dx = BeginWrite(grads, 0, 1, out var target, out bool add);
            if (dx.IsEmpty)
                return;
            layer.BackwardBatch(gy, dx, Batch, Scratch(0, Batch * layer.ParametersPerImage));
            EndWrite(dx, target, add);
        }
    }

    /// <summary>A uniform draw in [−f, f].</summary>
    private protected float Symmetric(float f) => f == 0 ? 0 : (2 * Rng.NextFloat() - 1) * f;

    private protected static void CheckFactor(string layer, string what, float f, float max = float.MaxValue)
    {
        if (!(f >= 0 && f <= max))
            throw new ArgumentOutOfRangeException(what, $"{layer}: {what} must be in [0, {max}], got {f}");
    }
}

/// <summary>The configuration of a <see cref="RandomFlip"/> layer.</summary>
public sealed record RandomFlipConfig(string Name, string Mode) : LayerConfig(Name);

/// <summary>Flips each image left-right and/or top-bottom with probability ½ each (Keras' RandomFlip).</summary>
public sealed class RandomFlip : RandomImageLayer
{
    /// <param name="mode">"horizontal", "vertical" or "horizontal_and_vertical".</param>
    /// <param name="name">The layer's name.</param>
    public RandomFlip(string mode = "horizontal_and_vertical", string? name = null) : base(name)
    {
        if (mode is not ("horizontal" or "vertical" or "horizontal_and_vertical"))
            throw new ArgumentException($"RandomFlip: mode must be horizontal, vertical or horizontal_and_vertical, got '{mode}'");
        Mode = mode;
    }

    /// <summary>"horizontal" (left-right), "vertical" (top-bottom) or "horizontal_and_vertical".</summary>
    public string Mode { get; }

    private protected override Interpolation Interpolation => Interpolation.Nearest;

    private protected override void Draw(Span<float> p)
    {
        bool h = Mode != "vertical" && Rng.NextFloat() < 0.5f;
        bool v = Mode != "horizontal" && Rng.NextFloat() < 0.5f;
        Store(ImageTransform.Map(Height, Width, flipHorizontal: h, flipVertical: v), p);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new RandomFlipConfig(Name, Mode);
}

/// <summary>
/// The configuration of a <see cref="RandomRotation"/>, <see cref="RandomTranslation"/> or <see cref="RandomZoom"/> layer.
/// </summary>
public sealed record RandomWarpConfig(string Name, float Factor, float WidthFactor, FillMode FillMode, Interpolation Interpolation, float FillValue) : LayerConfig(Name);

/// <summary>The random layers that warp geometry (rotation, translation, zoom): fill mode, interpolation and fill value.</summary>
public abstract class RandomWarpLayer : RandomImageLayer
{
    private readonly FillMode _fillMode;
    private readonly Interpolation _interpolation;
    private readonly float _fillValue;

    private protected RandomWarpLayer(FillMode fillMode, Interpolation interpolation, float fillValue, string? name) : base(name)
    {
        _fillMode = fillMode;
        _interpolation = interpolation;
        _fillValue = fillValue;
    }

    private protected override FillMode FillMode => _fillMode;

    private protected override Interpolation Interpolation => _interpolation;

    private protected override float FillValue => _fillValue;

    private protected RandomWarpConfig Config(float factor, float widthFactor) => new(Name, factor, widthFactor, _fillMode, _interpolation, _fillValue);
}

/// <summary>
/// Rotates each image about its centre by a random angle in [−factor, factor] × 2π (Keras'
/// RandomRotation: factor 0.1 is up to ±36°). Positive angles turn the content counter-clockwise.
/// </summary>
public sealed class RandomRotation : RandomWarpLayer
{
    /// <param name="factor">The largest rotation, as a fraction of a full turn, in [0, 1] (0.1 is ±36°).</param>
    /// <param name="fillMode">What is read outside the image (default reflect).</param>
    /// <param name="interpolation">Bilinear (default) or nearest.</param>
    /// <param name="fillValue">The value read outside the image with <see cref="FillMode.Constant"/>.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor outside [0, 1].</exception>
    public RandomRotation(float factor, FillMode fillMode = FillMode.Reflect, Interpolation interpolation = Interpolation.Bilinear,
        float fillValue = 0, string? name = null) : base(fillMode, interpolation, fillValue, name)
    {
        CheckFactor("RandomRotation", nameof(factor), factor, 1);
        Factor = factor;
    }

    /// <summary>The largest rotation, as a fraction of a full turn.</summary>
    public float Factor { get; }

    private protected override void Draw(Span<float> p) =>
        Store(ImageTransform.Map(Height, Width, rotation: Symmetric(Factor) * 2 * Math.PI), p);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => Config(Factor, 0);
}

/// <summary>
/// Shifts each image by a random fraction of its height in [−heightFactor, heightFactor] and of its
/// width in [−widthFactor, widthFactor] (Keras' RandomTranslation).
/// </summary>
public sealed class RandomTranslation : RandomWarpLayer
{
    /// <param name="heightFactor">The largest vertical shift, as a fraction of the height, in [0, 1].</param>
    /// <param name="widthFactor">The largest horizontal shift, as a fraction of the width, in [0, 1].</param>
    /// <param name="fillMode">What is read outside the image (default reflect).</param>
    /// <param name="interpolation">Bilinear (default) or nearest.</param>
    /// <param name="fillValue">The value read outside the image with <see cref="FillMode.Constant"/>.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor outside [0, 1].</exception>
    public RandomTranslation(float heightFactor, float widthFactor, FillMode fillMode = FillMode.Reflect,
        Interpolation interpolation = Interpolation.Bilinear, float fillValue = 0, string? name = null) : base(fillMode, interpolation, fillValue, name)
    {
        CheckFactor("RandomTranslation", nameof(heightFactor), heightFactor, 1);
        CheckFactor("RandomTranslation", nameof(widthFactor), widthFactor, 1);
        HeightFactor = heightFactor;
        WidthFactor = widthFactor;
    }

    /// <summary>The largest vertical shift, as a fraction of the height.</summary>
    public float HeightFactor { get; }

    /// <summary>The largest horizontal shift, as a fraction of the width.</summary>
    public float WidthFactor { get; }

    private protected override void Draw(Span<float> p)
    {
        double dy = Symmetric(HeightFactor) * Height, dx = Symmetric(WidthFactor) * Width;
        Store(ImageTransform.Map(Height, Width, shiftX: dx, shiftY: dy), p);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => Config(HeightFactor, WidthFactor);
}

/// <summary>
/// Zooms each image by a random amount in [−heightFactor, heightFactor] (Keras' RandomZoom: positive
/// zooms out, so 0.2 shows up to 20% more around the image; negative zooms in). With widthFactor
/// negative (the default) the width zooms by the same amount and the aspect ratio is kept.
/// </summary>
public sealed class RandomZoom : RandomWarpLayer
{
    /// <param name="heightFactor">The largest zoom, in [0, 0.99]: the amount is drawn in [−heightFactor, heightFactor]; positive zooms out, negative in.</param>
    /// <param name="widthFactor">The width's own factor, in [0, 0.99]; −1 (default): the height's draw, keeping the aspect ratio.</param>
    /// <param name="fillMode">What is read outside the image (default reflect).</param>
    /// <param name="interpolation">Bilinear (default) or nearest.</param>
    /// <param name="fillValue">The value read outside the image with <see cref="FillMode.Constant"/>.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor outside [0, 0.99].</exception>
    public RandomZoom(float heightFactor, float widthFactor = -1, FillMode fillMode = FillMode.Reflect,
        Interpolation interpolation = Interpolation.Bilinear, float fillValue = 0, string? name = null) : base(fillMode, interpolation, fillValue, name)
    {
        CheckFactor("RandomZoom", nameof(heightFactor), heightFactor, 0.99f);
        if (widthFactor != -1)
            CheckFactor("RandomZoom", nameof(widthFactor), widthFactor, 0.99f);
        HeightFactor = heightFactor;
        WidthFactor = widthFactor;
    }

    /// <summary>The largest zoom of the height (a fraction: 0.2 is up to 20%).</summary>
    public float HeightFactor { get; }

    /// <summary>The width's factor, or −1 for "as the height".</summary>
    public float WidthFactor { get; }

    private protected override void Draw(Span<float> p)
    {
        float zy = 1 + Symmetric(HeightFactor);
        float zx = WidthFactor < 0 ? zy : 1 + Symmetric(WidthFactor);
        Store(ImageTransform.Map(Height, Width, zoomX: zx, zoomY: zy), p);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => Config(HeightFactor, WidthFactor);
}

/// <summary>The configuration of a <see cref="RandomContrast"/> layer.</summary>
public sealed record RandomContrastConfig(string Name, float Factor) : LayerConfig(Name);

/// <summary>
/// Scales each image's contrast by a random factor f in [1 − factor, 1 + factor]: every channel
/// becomes (x − its mean over the image) · f + its mean (Keras' RandomContrast, without clipping).
/// </summary>
public sealed class RandomContrast : RandomImageLayer
{
    /// <param name="factor">The largest change of contrast, in [0, 1]: f is drawn in [1 − factor, 1 + factor].</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor outside [0, 1].</exception>
    public RandomContrast(float factor, string? name = null) : base(name)
    {
        CheckFactor("RandomContrast", nameof(factor), factor, 1);
        Factor = factor;
    }

    /// <summary>The largest change of contrast: f is drawn in [1 − factor, 1 + factor].</summary>
    public float Factor { get; }

    private protected override int ParametersPerImage => 1;

    private protected override void Draw(Span<float> p) => p[0] = 1 + Symmetric(Factor);

    private protected override void Apply(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> p) =>
        ImageTransform.Contrast(x, y, Channels, p[0]);

    // y = (x − m)·f + m with m the channel mean is linear in x and symmetric: its adjoint is itself.
    private protected override void Adjoint(ReadOnlySpan<float> dy, Span<float> dx, ReadOnlySpan<float> p) =>
        ImageTransform.Contrast(dy, dx, Channels, p[0]);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new RandomContrastConfig(Name, Factor);
}

using Strata.Ops;

namespace Strata.Layers;

/// <summary>The settings of leaky_relu (its negative slope) and elu (its alpha).</summary>
public sealed record AlphaConfig(float Alpha);

/// <summary>f(x) = x.</summary>
internal sealed class LinearActivation() : ActivationFunction("linear")
{
    public override Tensor Apply(Tensor x) => x;

    internal override bool IsLinear => true;

    internal override bool FusesFromOutput => true;

    internal override bool IsElementwise => true;

    internal override void ForwardInPlace(Span<float> y, int rows, int width)
    {
    }

    internal override void BackwardFromOutput(ReadOnlySpan<float> y, Span<float> dy, int rows, int width)
    {
    }
}

/// <summary>Softmax over the last axis.</summary>
internal sealed class SoftmaxActivation() : ActivationFunction("softmax")
{
    public override Tensor Apply(Tensor x) => x.Softmax(-1);

    internal override bool FusesFromOutput => true;

    internal override void ForwardInPlace(Span<float> y, int rows, int width) => Tensor.SoftmaxRows(y, y, rows, width);

    internal override void BackwardFromOutput(ReadOnlySpan<float> y, Span<float> dy, int rows, int width) =>
        Tensor.SoftmaxBackward(y, dy, rows, width, 1, log: false);
}

/// <summary>An elementwise function of <see cref="PointwiseMath"/>: the op and the fused kernels are the same definition.</summary>
internal sealed class PointwiseActivation(string name, PointwiseKind kind, float alpha = 0) : ActivationFunction(name)
{
    /// <summary>The negative slope of leaky_relu, or the alpha of elu (0 for the others).</summary>
    public float Alpha { get; } = alpha;

    public override Tensor Apply(Tensor x) => Tensor.Run(new PointwiseNode(kind, x, Alpha));

    public override object? GetConfig() => kind is PointwiseKind.LeakyRelu or PointwiseKind.Elu ? new AlphaConfig(Alpha) : null;

    internal override bool FusesFromOutput => PointwiseMath.FromOutput(kind, Alpha);

    internal override bool IsElementwise => true;

    internal override void ForwardInPlace(Span<float> y, int rows, int width) => PointwiseMath.Forward(kind, Alpha, 0, y, y);

    internal override void BackwardFromOutput(ReadOnlySpan<float> y, Span<float> dy, int rows, int width) =>
        PointwiseMath.Backward(kind, Alpha, 0, [], y, dy, dy);
}

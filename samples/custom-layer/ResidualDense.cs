using Strata;
using Strata.Layers;
using Strata.Serialization;

/// <summary>The configuration a <see cref="ResidualDense"/> saves: what its constructor takes (here, its name and the width of its hidden layer).</summary>
public sealed record ResidualDenseConfig(string Name, int Hidden) : LayerConfig(Name);

/// <summary>
/// A residual block written as a user's layer: y = x + relu(x·W1 + b1)·W2 (the shape of x is kept). The Keras
/// lifecycle: the constructor takes configuration only, OnBuild creates the weights once the input shape is
/// known, Call is pure math from Strata's ops, so autograd gives the backward pass and Fit compiles it into a plan.
/// </summary>
public sealed class ResidualDense(int hidden, string? name = null) : Layer(name)
{
    private Weight? _w1, _b1, _w2;

    /// <summary>Lets Model.Load rebuild the layer from its saved config (layers are never created from type names in a file).</summary>
    public static void Register() => LayerRegistry.Register<ResidualDense, ResidualDenseConfig>("ResidualDense", c => new ResidualDense(c.Hidden, c.Name));

    public int Hidden { get; } = hidden;

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    public override LayerConfig GetConfig() => new ResidualDenseConfig(Name, Hidden);

    protected override void OnBuild(Shape inputShape)
    {
        int features = inputShape[-1];
        _w1 = AddWeight("w1", [features, Hidden], Initializers.HeNormal);
        _b1 = AddWeight("b1", [Hidden], Initializers.Zeros);
        // The branch starts at zero: the block begins as the identity and learns what to add.
        _w2 = AddWeight("w2", [Hidden, features], Initializers.Zeros);
    }

    protected override Tensor Call(Tensor x, bool training) => x + (x.MatMul(_w1!.Value) + _b1!.Value).Relu().MatMul(_w2!.Value);
}

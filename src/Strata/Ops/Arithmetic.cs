using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>Elementwise a + b with broadcasting. ∂/∂a = 1, ∂/∂b = 1 (summed over broadcast axes).</summary>
    public static Tensor Add(Tensor a, Tensor b) => Run(new BinaryNode(BinaryKind.Add, a, b));

    /// <summary>Elementwise a − b with broadcasting. ∂/∂a = 1, ∂/∂b = −1.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Run(new BinaryNode(BinaryKind.Sub, a, b));

    /// <summary>Elementwise a · b with broadcasting. ∂/∂a = b, ∂/∂b = a.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Run(new BinaryNode(BinaryKind.Mul, a, b));

    /// <summary>Elementwise a / b with broadcasting. ∂/∂a = 1/b, ∂/∂b = −a/b².</summary>
    public static Tensor Div(Tensor a, Tensor b) => Run(new BinaryNode(BinaryKind.Div, a, b));

    /// <summary>Elementwise a^b with broadcasting. ∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a (defined for a &gt; 0).</summary>
    public static Tensor Pow(Tensor a, Tensor b) => Run(new BinaryNode(BinaryKind.Pow, a, b));

    /// <summary>Elementwise x^p for a constant exponent. ∂/∂x = p·x^(p−1).</summary>
    public Tensor Pow(float p) => Run(new PointwiseNode(PointwiseKind.PowConst, this, p));

    /// <summary>Elementwise minimum with broadcasting; at a tie the gradient is split evenly.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Run(new BinaryNode(BinaryKind.Min, a, b));

    /// <summary>Elementwise maximum with broadcasting; at a tie the gradient is split evenly.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Run(new BinaryNode(BinaryKind.Max, a, b));

    /// <summary>−x.</summary>
    public static Tensor Neg(Tensor x) => Run(new PointwiseNode(PointwiseKind.Neg, x));

    /// <summary>this + other (see <see cref="Add(Tensor, Tensor)"/>).</summary>
    public Tensor Add(Tensor other) => Add(this, other);

    /// <summary>this − other.</summary>
    public Tensor Sub(Tensor other) => Sub(this, other);

    /// <summary>this · other (elementwise).</summary>
    public Tensor Mul(Tensor other) => Mul(this, other);

    /// <summary>this / other (elementwise).</summary>
    public Tensor Div(Tensor other) => Div(this, other);

    /// <summary>Matrix product with another tensor (see <see cref="MatMul(Tensor, Tensor, bool, bool)"/>).</summary>
    public Tensor MatMul(Tensor other) => MatMul(this, other);

    /// <summary>Elementwise a + b with broadcasting (<see cref="Add(Tensor, Tensor)"/>).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);

    /// <summary>Elementwise a − b with broadcasting (<see cref="Sub(Tensor, Tensor)"/>).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);

    /// <summary>Elementwise a · b with broadcasting (<see cref="Mul(Tensor, Tensor)"/>): not a matrix product.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);

    /// <summary>Elementwise a / b with broadcasting (<see cref="Div(Tensor, Tensor)"/>).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);

    /// <summary>−x (<see cref="Neg"/>).</summary>
    public static Tensor operator -(Tensor x) => Neg(x);

    /// <summary>
    /// Sums this tensor down to <paramref name="target"/>, undoing a broadcast: leading axes and axes
    /// where the target has size 1 are summed. Returns this tensor when the shapes already agree.
    /// </summary>
    internal Tensor SumTo(Shape target)
    {
        if (Shape == target)
            return this;
        return Sum(Reduction.AxesOf(Reduction.BroadcastAxes(Shape, target)), keepDims: false).Reshape(target.ToArray());
    }
}

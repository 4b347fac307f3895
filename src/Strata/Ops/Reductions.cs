using Strata.Autograd;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>Sum over the given axes (all axes when none are given). ∂/∂x = 1 broadcast back.</summary>
    public Tensor Sum(int[]? axes = null, bool keepDims = false) => Reduce(ReduceKind.Sum, axes, keepDims, "sum");

    /// <summary>Sum over one axis.</summary>
    public Tensor Sum(int axis, bool keepDims = false) => Sum([axis], keepDims);

    /// <summary>Mean over the given axes (all when none). ∂/∂x = 1/n broadcast back.</summary>
    public Tensor Mean(int[]? axes = null, bool keepDims = false)
    {
        var reduced = ReducedAxes(axes, "mean");
        int n = 1;
        for (int i = 0; i < Rank; i++)
            if (reduced[i]) n *= Shape.Dims[i];
        return Mul(Sum(axes, keepDims), 1f / n);
    }

    /// <summary>Mean over one axis.</summary>
    public Tensor Mean(int axis, bool keepDims = false) => Mean([axis], keepDims);

    /// <summary>Maximum over the given axes; the gradient is split evenly among tied maxima.</summary>
    public Tensor Max(int[]? axes = null, bool keepDims = false) => Reduce(ReduceKind.Max, axes, keepDims, "max");

    /// <summary>Maximum over one axis.</summary>
    public Tensor Max(int axis, bool keepDims = false) => Max([axis], keepDims);

    /// <summary>Minimum over the given axes; the gradient is split evenly among tied minima.</summary>
    public Tensor Min(int[]? axes = null, bool keepDims = false) => Reduce(ReduceKind.Min, axes, keepDims, "min");

    /// <summary>Minimum over one axis.</summary>
    public Tensor Min(int axis, bool keepDims = false) => Min([axis], keepDims);

    /// <summary>Population variance (divides by n; set unbiased to divide by n − 1), composed from mean.</summary>
    public Tensor Variance(int[]? axes = null, bool keepDims = false, bool unbiased = false)
    {
        var reduced = ReducedAxes(axes, "variance");
        int n = 1;
        for (int i = 0; i < Rank; i++)
            if (reduced[i]) n *= Shape.Dims[i];
        var centered = Sub(this, Mean(axes, keepDims: true));
        var ss = centered.Square().Sum(axes, keepDims);
        return Mul(ss, 1f / (unbiased ? Math.Max(1, n - 1) : n));
    }

    /// <summary>The index of the largest value along an axis (first one at a tie), as float; not differentiable.</summary>
    public Tensor ArgMax(int axis = -1, bool keepDims = false)
    {
        int ax = Shape.NormalizeAxis(axis, Rank, "argmax");
        int n = Shape.Dims[ax];
        if (n == 0)
            throw new ArgumentException($"argmax: axis {axis} of shape {Shape} is empty");
        int inner = 1;
        for (int i = ax + 1; i < Rank; i++)
            inner *= Shape.Dims[i];
        return Run(new ArgMaxNode(this, n, inner, ReducedShape(AxisMask(ax), keepDims)));
    }

    private Tensor Reduce(ReduceKind kind, int[]? axes, bool keepDims, string op)
    {
        var reduced = ReducedAxes(axes, op);
        return Run(new ReduceNode(kind, op, this, reduced, ReducedShape(reduced, keepDims: true), ReducedShape(reduced, keepDims)));
    }

    private bool[] ReducedAxes(int[]? axes, string op)
    {
        var reduced = new bool[Rank];
        if (axes is null || axes.Length == 0)
        {
            Array.Fill(reduced, true);
            return reduced;
        }
        foreach (int axis in axes)
        {
            int a = Shape.NormalizeAxis(axis, Rank, op);
            if (reduced[a])
                throw new ArgumentException($"{op}: axis {axis} is given twice for shape {Shape}");
            reduced[a] = true;
        }
        return reduced;
    }

    private bool[] AxisMask(int axis)
    {
        var m = new bool[Rank];
        m[axis] = true;
        return m;
    }

    private Shape ReducedShape(bool[] reduced, bool keepDims)
    {
        var dims = new List<int>(Rank);
        for (int i = 0; i < Rank; i++)
        {
            if (!reduced[i])
                dims.Add(Shape.Dims[i]);
            else if (keepDims)
                dims.Add(1);
        }
        return new Shape(dims.ToArray());
    }
}

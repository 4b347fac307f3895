using Strata.Autograd;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>True when an op on these inputs must record its backward.</summary>
    internal static bool NeedsGrad(Tensor a) => GradMode.IsEnabled && a.RequiresGrad;

    internal static bool NeedsGrad(Tensor a, Tensor b) => GradMode.IsEnabled && (a.RequiresGrad || b.RequiresGrad);

    internal static bool NeedsGrad(ReadOnlySpan<Tensor> inputs)
    {
        if (!GradMode.IsEnabled)
            return false;
        foreach (var t in inputs)
        {
            if (t.RequiresGrad)
                return true;
        }
        return false;
    }

    /// <summary>Attaches a backward closure to an op's result (the caller checked <see cref="NeedsGrad(Tensor)"/>).</summary>
    internal Tensor Record(string op, Action<Tensor> backward, params Tensor[] inputs)
    {
        _requiresGrad = true;
        Node = new ClosureNode(op, inputs, Shape, backward);
        Trace.Current?.Add(Node);
        return this;
    }

    /// <summary>
    /// Runs an op: allocates its output (or shares input 0's buffer for an alias), computes it, and
    /// attaches the node for backward when an input requires gradients and recording is on. A trace
    /// in progress on this thread records the node.
    /// </summary>
    internal static Tensor Run(OpNode node)
    {
        var r = node.AliasesInput ? new Tensor(node.Inputs[0]._data, node.Inputs[0]._start, node.OutputShape) : Empty(node.OutputShape);
        node.Output = r;
        node.Forward();
        if (NeedsGrad(node.Inputs))
        {
            r._requiresGrad = true;
            r.Node = node;
        }
        Trace.Current?.Add(node);
        return r;
    }

    /// <summary>Passes g, summed down to this tensor's shape (undoing a broadcast), as a gradient contribution.</summary>
    internal void FlowSum(Tensor g)
    {
        if (!RequiresGrad)
            return;
        var s = g.SumTo(Shape);
        Flow(s, !ReferenceEquals(s, g));
    }

    /// <summary>
    /// Passes a gradient contribution to an input that requires it. <paramref name="fresh"/> says the
    /// tensor was computed for this call alone, so the input may keep it instead of copying.
    /// </summary>
    internal void Flow(Tensor g, bool fresh)
    {
        if (!RequiresGrad)
            return;
        if (Grad is null && fresh && g.Shape == Shape && g.Size == g._data.Length && g._start == 0)
            Grad = g;
        else
            AccumulateGrad(g.Shape == Shape ? g : g.Reshape(Shape.ToArray()));
    }
}

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
}

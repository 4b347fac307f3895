namespace Strata.Autograd;

/// <summary>
/// Reverse-mode traversal: orders the graph that produced a tensor (iterative depth-first search,
/// so a chain of any length is safe for the stack), then runs each node's backward from the output
/// towards the leaves, with recording disabled. Gradients go into each tensor's own
/// <see cref="Tensor.Grad"/> (<see cref="EagerSink"/>); a compiled <see cref="Plan"/> runs the same
/// node backwards into buffers of its own.
/// </summary>
internal static class BackwardEngine
{
    /// <param name="root">The tensor backpropagated from.</param>
    /// <param name="seed">Its gradient (null: 1 for a one-element tensor).</param>
    /// <param name="retainGraph">Keep the graph for another pass.</param>
    /// <param name="recorded">The pass is one a trace records (ComputeGradients), not a bare Backward().</param>
    /// <param name="wanted">The leaves whose gradients are wanted (null: every leaf that requires them); nodes with no path to one are skipped and other leaves keep their gradients.</param>
    public static void Run(Tensor root, Tensor? seed, bool retainGraph, bool recorded = false, IReadOnlyCollection<Tensor>? wanted = null)
    {
        // A traced step replays only the backward passes it recorded (ComputeGradients).
        if (!recorded)
            Trace.Current?.Fail("the step calls Tensor.Backward(), which a compiled step cannot replay; use Model.ComputeGradients");
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward: tensor {root.Describe()} does not require gradients (no input of its graph has RequiresGrad = true)");
        if (seed is null)
        {
            if (root.Size != 1)
                throw new InvalidOperationException($"Backward: a seed gradient is required for a tensor with shape {root.Shape}; only one-element tensors default to 1");
            seed = Tensor.OnesLike(root);
        }
        else if (seed.Shape != root.Shape)
        {
            throw new ArgumentException($"Backward: seed shape {seed.Shape} differs from the tensor's shape {root.Shape}");
        }

        var order = TopologicalOrder(root);
        WantedSink? filter = null;
        if (wanted is not null)
        {
            // As a plan's pass: a tensor takes part when a wanted leaf lies below it.
            var want = new HashSet<Tensor>(wanted, ReferenceEqualityComparer.Instance);
            var needs = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
            foreach (var t in order) // inputs before outputs
            {
                foreach (var i in t.Node!.Inputs)
                {
                    if (i.RequiresGrad && (i.Node is null ? want.Contains(i) : needs.Contains(i)))
                    {
                        needs.Add(t);
                        break;
                    }
                }
            }
            filter = new WantedSink(want, needs);
        }
        GradSink sink = filter ?? (GradSink)EagerSink.Instance;
        using (GradMode.Disable())
        {
            // Intermediate gradients belong to one pass: a retained graph must not add this pass onto the last.
            foreach (var t in order)
                t.Grad = null;
            root.AccumulateGrad(seed);
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var t = order[i];
                var node = t.Node!;
                if (node.Released)
                    throw new InvalidOperationException($"Backward: the graph through '{node.Op}' was already released by an earlier Backward(); pass retainGraph: true to backpropagate twice");
                if (t.Grad is not null && (filter is null || filter.Takes(t)))
                {
                    // A gradient that outlives the pass (retained) must not be overwritten by the node.
                    var gy = t.KeepsGrad || retainGraph ? t.Grad.ToArray() : t.Grad.Buffer;
                    node.Backward(gy.AsSpan(0, t.Size), sink);
                }
                if (!retainGraph)
                {
                    node.Release();
                    if (!t.KeepsGrad)
                        t.Grad = null;
                }
            }
        }
    }

    /// <summary>The non-leaf tensors that root depends on, each after all of its inputs (post-order).</summary>
    internal static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        if (root.Node is null)
            return order;
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(Tensor Tensor, int Next)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.Node!.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.RequiresGrad && child.Node is not null && visited.Add(child))
                    stack.Push((child, 0));
            }
            else
            {
                order.Add(t);
            }
        }
        return order;
    }
}

/// <summary>The eager engine's gradients: each tensor's <see cref="Tensor.Grad"/>, created by its first contribution.</summary>
/// <summary>The eager sink restricted to the inputs with a path to a wanted leaf.</summary>
internal sealed class WantedSink(HashSet<Tensor> wanted, HashSet<Tensor> needs) : GradSink
{
    /// <summary>Whether the node that produced <paramref name="t"/> runs backward in this pass.</summary>
    public bool Takes(Tensor t) => needs.Contains(t);

    public override bool Wants(OpNode node, int i)
    {
        var t = node.Inputs[i];
        return t.RequiresGrad && (t.Node is null ? wanted.Contains(t) : needs.Contains(t));
    }

    public override Span<float> Target(OpNode node, int i, out bool add) => EagerSink.Instance.Target(node, i, out add);
}

internal sealed class EagerSink : GradSink
{
    public static readonly EagerSink Instance = new();

    public override bool Wants(OpNode node, int i) => node.Inputs[i].RequiresGrad;

    public override Span<float> Target(OpNode node, int i, out bool add)
    {
        var t = node.Inputs[i];
        add = t.Grad is not null;
        if (!add)
            t.Grad = Tensor.Empty(t.Shape);
        return t.Grad!.Data;
    }
}

namespace Strata.Autograd;

/// <summary>
/// Reverse-mode traversal: orders the graph that produced a tensor (iterative depth-first search,
/// so a chain of any length is safe for the stack), then runs each node's backward closure from
/// the output towards the leaves, with recording disabled.
/// </summary>
internal static class BackwardEngine
{
    public static void Run(Tensor root, Tensor? seed, bool retainGraph)
    {
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
                if (t.Grad is not null)
                    node.Backward!(t.Grad);
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
    private static List<Tensor> TopologicalOrder(Tensor root)
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

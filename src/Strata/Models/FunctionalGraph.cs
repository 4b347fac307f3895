using Strata.Layers;

namespace Strata.Models;

/// <summary>
/// The layer graph of a functional model: the nodes between its inputs and its output in an order
/// where every node comes after the nodes it reads, and the distinct layers in that order.
/// </summary>
internal sealed class FunctionalGraph
{
    private readonly SymbolicTensor[] _nodes;
    private readonly int[][] _args;
    private readonly int _output;

    public FunctionalGraph(IReadOnlyList<SymbolicTensor> inputs, SymbolicTensor output, ulong seed, string model)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(output);
        if (inputs.Count == 0)
            throw new ArgumentException($"Model '{model}': needs at least one input");
        var index = new Dictionary<SymbolicTensor, int>(ReferenceEqualityComparer.Instance);
        var nodes = new List<SymbolicTensor>();
        foreach (var input in inputs)
        {
            ArgumentNullException.ThrowIfNull(input, nameof(inputs));
            if (input.Layer is not Input)
                throw new ArgumentException($"Model '{model}': inputs must come from Input.Create(shape), got the output of '{input.Layer.Name}'");
            if (!index.TryAdd(input, nodes.Count))
                throw new ArgumentException($"Model '{model}': input '{input.Layer.Name}' is given twice");
            nodes.Add(input);
        }

        // Iterative post-order walk from the output: a node is placed once all it reads are placed.
        var stack = new Stack<(SymbolicTensor Node, int Next)>();
        if (!index.ContainsKey(output))
            stack.Push((output, 0));
        var onPath = new HashSet<SymbolicTensor>(ReferenceEqualityComparer.Instance) { output };
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (node.Inputs.Count == 0)
                throw new ArgumentException($"Model '{model}': the output depends on input '{node.Layer.Name}', which is not among the model's inputs");
            if (next < node.Inputs.Count)
            {
                stack.Push((node, next + 1));
                var child = node.Inputs[next];
                if (!index.ContainsKey(child) && onPath.Add(child))
                    stack.Push((child, 0));
                continue;
            }
            index[node] = nodes.Count;
            nodes.Add(node);
        }
        _nodes = [.. nodes];
        _args = [.. _nodes.Select(n => n.Inputs.Select(i => index[i]).ToArray())];
        _output = index[output];
        Inputs = [.. inputs];
        Output = output;
        Layers = [.. _nodes.Select(n => n.Layer).Distinct()];

        // Build the layers in order, each seeded from the model's seed and its position.
        for (int i = 0; i < _nodes.Length; i++)
        {
            var layer = _nodes[i].Layer;
            if (layer.Built)
                continue;
            layer.Rng = new Rng(seed * 0x9E3779B97F4A7C15UL + (ulong)Array.IndexOf(Layers, layer) + 1);
            if (layer is MergeLayer merge)
                merge.Build([.. _nodes[i].Inputs.Select(n => n.Shape)]);
            else
                layer.Build(_nodes[i].Inputs.Count == 0 ? _nodes[i].Shape : _nodes[i].Inputs[0].Shape);
        }
    }

    public SymbolicTensor[] Inputs { get; }
    public SymbolicTensor Output { get; }
    public Layer[] Layers { get; }

    /// <summary>Every value of the graph, inputs first, each after the values it reads.</summary>
    public SymbolicTensor[] Nodes => _nodes;

    /// <summary>For each node, the indices of the nodes it reads.</summary>
    public int[][] Args => _args;

    /// <summary>The index of the output node.</summary>
    public int OutputIndex => _output;

    /// <summary>The names of the layers whose outputs feed <paramref name="layer"/> (every call of it).</summary>
    public IEnumerable<string> ConnectedTo(Layer layer) =>
        _nodes.Where(n => n.Layer == layer).SelectMany(n => n.Inputs).Select(i => i.Layer.Name).Distinct();

    public Tensor Run(IReadOnlyList<Tensor> inputs, bool training, string model)
    {
        if (inputs.Count != Inputs.Length)
            throw new ArgumentException($"Model '{model}': expected {Inputs.Length} input(s) ({string.Join(", ", Inputs.Select(i => i.Layer.Name))}), got {inputs.Count}");
        var values = new Tensor[_nodes.Length];
        var masks = new Tensor?[_nodes.Length]; // each value's mask, as in Keras (null: none)
        for (int i = 0; i < _nodes.Length; i++)
        {
            var layer = _nodes[i].Layer;
            var args = _args[i];
            switch (args.Length)
            {
                case 0:
                    values[i] = layer.Forward(inputs[i], null, training, out masks[i]);
                    break;
                case 1:
                    values[i] = layer.Forward(values[args[0]], masks[args[0]], training, out masks[i]);
                    break;
                default:
                    values[i] = ((MergeLayer)layer).Forward(args.Select(a => values[a]).ToArray(), training);
                    masks[i] = MergeLayer.MergeMasks(args.Select(a => masks[a]), values[i]);
                    break;
            }
        }
        return values[_output];
    }
}

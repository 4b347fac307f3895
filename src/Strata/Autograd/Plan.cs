using System.Text;

namespace Strata.Autograd;

/// <summary>
/// A compiled step: the op nodes of one traced call, replayed on the buffers they were traced with.
/// <see cref="Forward"/> runs every node's forward in trace order (each op's own definition, on its own
/// buffers); <see cref="Backward"/> runs, from the root, every node's backward into gradient buffers
/// allocated once (a reshape's gradient shares its input's). Inputs are bound per call by pointing
/// the plan's input tensors at the caller's arrays (no copy). One thread at a time per plan.
/// </summary>
internal sealed class Plan
{
    private readonly OpNode[] _nodes;
    private readonly Tensor[] _inputs;
    private readonly OpNode[] _backward = [];
    private readonly int[] _outBuffer = [];
    private readonly int[][] _inBuffers = [];
    private readonly float[][] _buffers = [];
    private readonly bool[] _written = [];
    private readonly (Tensor Leaf, int Buffer)[] _leaves = [];
    private readonly Sink _sink;
    private readonly int _rootBuffer = -1;

    private Plan(OpNode[] nodes, Tensor[] inputs, Tensor[] outputs, string signature, Tensor? root,
        OpNode[] backward, int[] outBuffer, int[][] inBuffers, float[][] buffers, (Tensor, int)[] leaves, int rootBuffer)
    {
        _nodes = nodes;
        _inputs = inputs;
        Outputs = outputs;
        Signature = signature;
        _backward = backward;
        _outBuffer = outBuffer;
        _inBuffers = inBuffers;
        _buffers = buffers;
        _written = new bool[buffers.Length];
        _leaves = leaves;
        _rootBuffer = rootBuffer;
        _sink = new Sink(this);
        Root = root;
        foreach (var n in nodes)
            BufferBytes += n.AliasesInput ? 0 : 4L * n.OutputShape.Size;
    }

    /// <summary>The traced results (buffers this plan owns and overwrites on every run).</summary>
    public Tensor[] Outputs { get; }

    /// <summary>The scalar backpropagated from, or null for an inference plan.</summary>
    public Tensor? Root { get; }

    /// <summary>What two traces must share to be the same step: ops, settings, shapes, wiring and constants.</summary>
    public string Signature { get; }

    /// <summary>Bytes of op outputs (activations) per run.</summary>
    public long BufferBytes { get; }

    /// <summary>The number of op nodes replayed.</summary>
    public int NodeCount => _nodes.Length;

    /// <summary>
    /// A plan for the nodes of <paramref name="trace"/> (inputs: tensors the plan owns and rebinds;
    /// outputs: traced values to expose; root: backpropagate from it), or null with the reason.
    /// </summary>
    public static Plan? Compile(Trace trace, Tensor[] inputs, Tensor[] outputs, Tensor? root, out string? why)
    {
        why = trace.Failure;
        if (why is not null)
            return null;
        var nodes = trace.Nodes.ToArray();
        var inTrace = new HashSet<OpNode>(nodes, ReferenceEqualityComparer.Instance);
        foreach (var o in outputs)
        {
            if (o.Node is { } n && !inTrace.Contains(n) && !inputs.Contains(o))
            {
                why = $"the result comes from op '{n.Op}' computed outside the step";
                return null;
            }
        }
        for (int i = 0; i < nodes.Length; i++)
            nodes[i].PlanIndex = i;
        var signature = Describe(nodes, inputs, outputs, root);

        if (root is null || !root.RequiresGrad)
            return new Plan(nodes, inputs, outputs, signature, null, [], [], [], [], [], -1);

        // Gradient buffers: one per tensor of the backward graph; a reshape's output shares its input's.
        var order = BackwardEngine.TopologicalOrder(root);
        var bufferOf = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        var buffers = new List<float[]>();
        var leaves = new List<(Tensor, int)>();
        int BufferFor(Tensor t)
        {
            if (bufferOf.TryGetValue(t, out int id))
                return id;
            if (t.Node is { AliasesInput: true } alias && alias.Inputs[0].RequiresGrad)
                id = BufferFor(alias.Inputs[0]);
            else
            {
                id = buffers.Count;
                if (t.Node is null)
                {
                    t.EnsureGrad();
                    buffers.Add(t.Grad!.Buffer);
                    leaves.Add((t, id));
                }
                else
                    buffers.Add(new float[t.Size]);
            }
            bufferOf[t] = id;
            return id;
        }
        var backward = new List<OpNode>();
        var outBuffer = new List<int>();
        var inBuffers = new int[nodes.Length][];
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i].Node!;
            if (!inTrace.Contains(node))
            {
                why = $"the step uses a value computed before it (op '{node.Op}'); compute it inside the step or detach it";
                return null;
            }
            int outId = BufferFor(order[i]);
            var ins = new int[node.Inputs.Length];
            for (int k = 0; k < ins.Length; k++)
                ins[k] = node.Inputs[k].RequiresGrad ? BufferFor(node.Inputs[k]) : -1;
            inBuffers[node.PlanIndex] = ins;
            if (node.AliasesInput)
                continue; // shares its input's gradient buffer: nothing to do
            backward.Add(node);
            outBuffer.Add(outId);
        }
        int rootBuffer = bufferOf[root];
        return new Plan(nodes, inputs, outputs, signature, root, [.. backward], [.. outBuffer], inBuffers, [.. buffers], [.. leaves], rootBuffer);
    }

    /// <summary>Points input i at the caller's tensor's data (same shape).</summary>
    public void Bind(int i, Tensor value)
    {
        if (value.Shape != _inputs[i].Shape)
            throw new ArgumentException($"Plan: input {i} was traced as {_inputs[i].Shape}, got {value.Shape}");
        Bind(i, value.Buffer, value.Start);
    }

    /// <summary>Points input i at its size of elements of an array from <paramref name="start"/> (rows of a larger batch).</summary>
    public void Bind(int i, float[] data, int start)
    {
        var mine = _inputs[i];
        if (!ReferenceEquals(mine.Buffer, data) || mine.Start != start)
            mine.Rebind(data, start);
    }

    /// <summary>The shape input i was traced with.</summary>
    public Shape InputShape(int i) => _inputs[i].Shape;

    /// <summary>Runs every node's forward, in trace order.</summary>
    public void Forward()
    {
        foreach (var n in _nodes)
            n.Forward();
    }

    /// <summary>
    /// Backpropagates 1 from the root: every parameter's <see cref="Tensor.Grad"/> is set to this step's
    /// gradient (zero where the root does not depend on it), as ZeroGrad followed by Backward would.
    /// </summary>
    public void Backward()
    {
        if (Root is null)
            throw new InvalidOperationException("Plan: an inference plan has no backward");
        foreach (var (leaf, id) in _leaves)
        {
            leaf.EnsureGrad();
            _buffers[id] = leaf.Grad!.Buffer; // in case the gradient tensor was replaced
        }
        Array.Clear(_written);
        _buffers[_rootBuffer][0] = 1f;
        _written[_rootBuffer] = true;
        using (GradMode.Disable())
        {
            for (int i = 0; i < _backward.Length; i++)
            {
                int id = _outBuffer[i];
                if (!_written[id])
                    continue; // no path from the root through this node
                var node = _backward[i];
                node.Backward(_buffers[id].AsSpan(0, node.OutputShape.Size), _sink);
            }
        }
        foreach (var (leaf, id) in _leaves)
        {
            if (!_written[id])
                leaf.Grad!.Data.Clear();
        }
    }

    private sealed class Sink(Plan plan) : GradSink
    {
        public override bool Wants(OpNode node, int i) => plan._inBuffers[node.PlanIndex] is { } b && b[i] >= 0;

        public override Span<float> Target(OpNode node, int i, out bool add)
        {
            int id = plan._inBuffers[node.PlanIndex][i];
            add = plan._written[id];
            plan._written[id] = true;
            return plan._buffers[id].AsSpan(0, node.Inputs[i].Size);
        }
    }

    /// <summary>The ops, settings, shapes and wiring of a trace, with leaves named by first appearance.</summary>
    private static string Describe(OpNode[] nodes, Tensor[] inputs, Tensor[] outputs, Tensor? root)
    {
        var sb = new StringBuilder();
        var producer = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < nodes.Length; i++)
            producer[nodes[i].Output] = i;
        string Name(Tensor t)
        {
            if (producer.TryGetValue(t, out int p))
                return $"n{p}";
            int k = Array.IndexOf(inputs, t);
            return k >= 0 ? $"in{k}" : $"leaf{t.Shape}";
        }
        foreach (var n in nodes)
        {
            sb.Append(n.Op).Append('[').Append(n.Attributes).Append("](");
            foreach (var t in n.Inputs)
                sb.Append(Name(t)).Append(t.RequiresGrad ? "*" : "").Append(',');
            sb.Append(")→").Append(n.OutputShape).Append(';');
        }
        sb.Append("out:");
        foreach (var o in outputs)
            sb.Append(Name(o)).Append(',');
        if (root is not null)
            sb.Append("root:").Append(Name(root));
        return sb.ToString();
    }

    /// <summary>
    /// Whether another trace's plan is the same step: the same signature and the same leaves (the same
    /// parameter objects, or constants with the same values).
    /// </summary>
    public bool SameStepAs(Plan other)
    {
        if (Signature != other.Signature || _nodes.Length != other._nodes.Length)
            return false;
        for (int i = 0; i < _nodes.Length; i++)
        {
            var a = _nodes[i].Inputs;
            var b = other._nodes[i].Inputs;
            for (int k = 0; k < a.Length; k++)
            {
                if (a[k].Node is not null || b[k].Node is not null || Array.IndexOf(_inputs, a[k]) >= 0)
                    continue; // computed by the step, or a bound input
                if (IsProduced(a[k]) || ReferenceEquals(a[k], b[k]))
                    continue;
                if (a[k].Shape != b[k].Shape || !a[k].Span.SequenceEqual(b[k].Span))
                    return false;
            }
        }
        return true;
    }

    private bool IsProduced(Tensor t)
    {
        foreach (var n in _nodes)
        {
            if (ReferenceEquals(n.Output, t))
                return true;
        }
        return false;
    }
}

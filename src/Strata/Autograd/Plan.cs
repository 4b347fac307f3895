using System.Text;
using Strata.Training;

namespace Strata.Autograd;

/// <summary>
/// A compiled step: the op nodes of one traced call, replayed on the buffers they were traced with.
/// <see cref="Forward"/> runs every node's forward in trace order (each op's own definition, on its own
/// buffers); <see cref="Backward"/> runs, from the root, every node's backward into gradient buffers
/// allocated once (a reshape's gradient shares its input's). A traced custom step (<see cref="Run"/>)
/// is a program: runs of forwards, backward passes (one per gradient computation, each from its own
/// root to the parameters it asked for) and effects (optimizer updates), in the order they were
/// traced. Inputs are bound per call by pointing the plan's input tensors at the caller's arrays (no
/// copy). One thread at a time per plan.
/// </summary>
internal sealed partial class Plan
{
    private readonly OpNode[] _nodes;
    private readonly Tensor[] _inputs;
    private readonly BackwardPass[] _passes;
    private readonly Trace.Effect[] _effects;
    private readonly Instruction[] _program;
    private readonly HashSet<Tensor> _copies;
    private readonly float[][] _buffers;
    private readonly int[] _offsets; // where each gradient buffer starts in its array (0 until shared)
    private readonly bool[] _written;
    private readonly Sink _sink;

    /// <summary>One backward pass: the nodes from a root back to the parameters wanted, and where their gradients go.</summary>
    private sealed class BackwardPass
    {
        public required OpNode[] Nodes;
        public required int[] OutBuffer;
        public required int[]?[] InBuffers; // by node PlanIndex: the gradient buffer of each input, −1 none
        public required (Tensor Leaf, int Buffer)[] Leaves;
        public required int RootBuffer;
        public required (Tensor Parameter, Tensor Copy, int Buffer)[] Copies; // ComputeGradients' results (and the parameter's buffer, −1 unreached), refreshed after the pass
        public required int[] ReadyStart; // by position in Nodes (+1 for after the pass): Ready[ReadyStart[i]..ReadyStart[i+1]) are final once node i has run
        public required (Tensor Leaf, int Buffer)[] Ready;
    }

    private enum Op { Forward, Backward, Effect }

    private readonly record struct Instruction(Op Kind, int A, int B);

    private Plan(OpNode[] nodes, Tensor[] inputs, Tensor[] outputs, string signature, Tensor? root, BackwardPass[] passes,
        Trace.Effect[] effects, Instruction[] program, HashSet<Tensor> copies, float[][] buffers)
    {
        _nodes = nodes;
        _inputs = inputs;
        Outputs = outputs;
        Signature = signature;
        Root = root;
        _passes = passes;
        _effects = effects;
        _program = program;
        _copies = copies;
        _buffers = buffers;
        _offsets = new int[buffers.Length];
        _written = new bool[buffers.Length];
        _sink = new Sink(this);
        foreach (var n in nodes)
        {
            if (!n.AliasesInput)
                BufferBytesUnshared += 4L * n.OutputShape.Size;
        }
        BufferBytes = PlanActivations();
        var leafArrays = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        foreach (var pass in passes)
        {
            foreach (var (leaf, id) in pass.Leaves)
                leafArrays.Add(buffers[id]);
        }
        foreach (var a in buffers.Distinct(ReferenceEqualityComparer.Instance).Cast<float[]>())
        {
            if (!leafArrays.Contains(a))
                GradientBytes += 4L * a.Length;
        }
        foreach (var pass in passes)
        {
            for (int i = 0; i < pass.Nodes.Length; i++)
                GradientBytesUnshared += 4L * pass.Nodes[i].OutputShape.Size;
        }
    }

    /// <summary>The traced results (buffers this plan owns and overwrites on every run).</summary>
    public Tensor[] Outputs { get; }

    /// <summary>The scalar backpropagated from by <see cref="Backward"/>, or null (an inference plan, or a program).</summary>
    public Tensor? Root { get; }

    /// <summary>What two traces must share to be the same step: ops, settings, shapes, wiring and constants.</summary>
    public string Signature { get; }

    /// <summary>
    /// Bytes of op outputs (activations) per run with activations sharing among themselves where lifetimes
    /// allow (see <see cref="PlanActivations"/>): in an inference plan an output lives to its last reader
    /// (what it runs on), in a training step or a program to the last backward that reads it. A plan
    /// with backward passes runs on <see cref="SharedBytes"/>, activations and gradients together.
    /// </summary>
    public long BufferBytes { get; }

    /// <summary>What the activations would take with a buffer each (for comparison).</summary>
    public long BufferBytesUnshared { get; }

    /// <summary>Bytes of the intermediate gradient buffers (shared where their lifetimes do not overlap).</summary>
    public long GradientBytes { get; }

    /// <summary>What the intermediate gradients would take with a buffer each (for comparison).</summary>
    public long GradientBytesUnshared { get; }

    /// <summary>The number of op nodes replayed.</summary>
    public int NodeCount => _nodes.Length;

    /// <summary>
    /// A plan for the nodes of <paramref name="trace"/> (inputs: tensors the plan owns and rebinds;
    /// outputs: traced values to expose; root: backpropagate from it), or null with the reason.
    /// </summary>
    public static Plan? Compile(Trace trace, Tensor[] inputs, Tensor[] outputs, Tensor? root, out string? why)
    {
        if (trace.Marks.Count > 0)
        {
            why = "the step computes gradients or updates weights inside the trace; compile it as a program";
            return null;
        }
        return Build(trace, inputs, outputs, root, out why);
    }

    /// <summary>
    /// A plan for a whole traced custom step — its forwards, the backward passes its gradient
    /// computations ran and its effects (optimizer updates), replayed in trace order by <see cref="Run"/>
    /// — or null with the reason.
    /// </summary>
    public static Plan? CompileProgram(Trace trace, Tensor[] inputs, Tensor[] outputs, out string? why) =>
        Build(trace, inputs, outputs, null, out why);

    private static string ComputedBefore(OpNode node) =>
        $"the step uses a value computed before it (op '{node.Op}'); compute it inside the step or detach it";

    private static Plan? Build(Trace trace, Tensor[] inputs, Tensor[] outputs, Tensor? root, out string? why)
    {
        why = trace.Failure;
        if (why is not null)
            return null;
        var nodes = trace.Nodes.ToArray();
        var inTrace = new HashSet<OpNode>(nodes, ReferenceEqualityComparer.Instance);
        var copies = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var m in trace.Marks)
        {
            if (m is Trace.GradientMark g)
                copies.UnionWith(g.Copies);
        }
        foreach (var o in outputs)
        {
            if (o.Node is { } n && !inTrace.Contains(n) && !inputs.Contains(o))
            {
                why = $"the result comes from op '{n.Op}' computed outside the step";
                return null;
            }
        }
        foreach (var n in nodes)
        {
            foreach (var t in n.Inputs)
            {
                if (t.Node is { } p && !inTrace.Contains(p) && Array.IndexOf(inputs, t) < 0)
                {
                    why = ComputedBefore(p);
                    return null;
                }
            }
        }
        for (int i = 0; i < nodes.Length; i++)
            nodes[i].PlanIndex = i;
        var name = Namer(nodes, inputs, copies);

        var builder = new PassBuilder(nodes, inTrace);
        var passes = new List<BackwardPass>();
        var effects = new List<Trace.Effect>();
        var program = new List<Instruction>();
        var extra = new StringBuilder();
        int done = 0;
        foreach (var mark in trace.Marks)
        {
            if (mark.At > done)
                program.Add(new Instruction(Op.Forward, done, mark.At));
            done = mark.At;
            switch (mark)
            {
                case Trace.GradientMark g:
                    if (!g.Root.RequiresGrad)
                    {
                        why = "a gradient is computed from a value that depends on no parameter";
                        return null;
                    }
                    var pass = builder.Pass(g.Root, g.Parameters, g.Copies, out why);
                    if (pass is null)
                        return null;
                    program.Add(new Instruction(Op.Backward, passes.Count, 0));
                    passes.Add(pass);
                    extra.Append($"grad@{g.At}({name(g.Root)};{g.Parameters.Length});");
                    break;
                case Trace.EffectMark e:
                    program.Add(new Instruction(Op.Effect, effects.Count, 0));
                    effects.Add(e.Effect);
                    extra.Append($"effect@{e.At}({e.Effect.Description});");
                    break;
            }
        }
        if (nodes.Length > done)
            program.Add(new Instruction(Op.Forward, done, nodes.Length));

        if (root is not null && root.RequiresGrad)
        {
            var pass = builder.Pass(root, null, [], out why);
            if (pass is null)
                return null;
            passes.Add(pass);
        }
        else
            root = null;
        var signature = Describe(nodes, outputs, root, name) + extra;
        return new Plan(nodes, inputs, outputs, signature, root, [.. passes], [.. effects], [.. program], copies, builder.Allocate(passes));
    }

    /// <summary>Builds backward passes over one set of gradient buffers (a tensor's buffer is the same in every pass).</summary>
    private sealed class PassBuilder(OpNode[] nodes, HashSet<OpNode> inTrace)
    {
        private readonly Dictionary<Tensor, int> _bufferOf = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Tensor, int> _copyNames = new(ReferenceEqualityComparer.Instance);

        // Per gradient buffer id: a leaf's own Grad array, or (null) an intermediate one of that size.
        private readonly List<float[]?> _leafArrays = [];
        private readonly List<int> _sizes = [];

        /// <summary>
        /// The arrays behind the buffer ids: a leaf's gradient array, and for intermediate gradients
        /// arrays shared by buffers whose lifetimes do not overlap (a buffer lives from the first
        /// backward node that writes it to the node that reads it, on the passes' one timeline).
        /// </summary>
        public float[][] Allocate(List<BackwardPass> passes)
        {
            int count = _sizes.Count;
            var first = new int[count];
            var last = new int[count];
            Array.Fill(first, int.MaxValue);
            Array.Fill(last, -1);
            void Use(int id, int time)
            {
                first[id] = Math.Min(first[id], time);
                last[id] = Math.Max(last[id], time);
            }
            int t = 0;
            foreach (var pass in passes)
            {
                Use(pass.RootBuffer, t++);
                for (int i = 0; i < pass.Nodes.Length; i++, t++)
                {
                    var node = pass.Nodes[i];
                    Use(pass.OutBuffer[i], t);
                    if (pass.InBuffers[node.PlanIndex] is { } ins)
                    {
                        foreach (int id in ins)
                        {
                            if (id >= 0)
                                Use(id, t);
                        }
                    }
                }
            }
            // Slots by first use: a buffer takes a slot whose last buffer is dead by then; each slot's
            // array is then as large as its largest buffer.
            var order = Enumerable.Range(0, count).Where(id => _leafArrays[id] is null).OrderBy(id => first[id]).ToList();
            var slotOf = new int[count];
            var freeAfter = new List<int>();
            var slotSize = new List<int>();
            foreach (int id in order)
            {
                int k = last[id] < 0 ? -1 : freeAfter.FindIndex(f => f < first[id]);
                if (k < 0)
                {
                    freeAfter.Add(0);
                    slotSize.Add(0);
                    k = freeAfter.Count - 1;
                }
                freeAfter[k] = last[id] < 0 ? int.MaxValue : last[id];
                slotSize[k] = Math.Max(slotSize[k], _sizes[id]);
                slotOf[id] = k;
            }
            var arrays = slotSize.Select(n => new float[n]).ToArray();
            var result = new float[count][];
            foreach (int id in order)
                result[id] = arrays[slotOf[id]];
            for (int id = 0; id < count; id++)
            {
                if (_leafArrays[id] is { } leaf)
                    result[id] = leaf;
            }
            return result;
        }

        private int BufferFor(Tensor t, List<(Tensor, int)>? leaves)
        {
            if (_bufferOf.TryGetValue(t, out int id))
            {
                if (t.Node is null && leaves is not null && !leaves.Exists(l => ReferenceEquals(l.Item1, t)))
                    leaves.Add((t, id));
                return id;
            }
            if (t.Node is { AliasesInput: true } alias && alias.Inputs[0].RequiresGrad)
                id = BufferFor(alias.Inputs[0], leaves);
            else
            {
                id = _sizes.Count;
                _sizes.Add(t.Size);
                if (t.Node is null)
                {
                    t.EnsureGrad();
                    _leafArrays.Add(t.Grad!.Buffer);
                    leaves?.Add((t, id));
                }
                else
                    _leafArrays.Add(null);
            }
            _bufferOf[t] = id;
            return id;
        }

        /// <summary>
        /// When each leaf's gradient is final in a pass: after the last node whose backward writes the leaf's
        /// buffer (leaves no node writes: after the pass), grouped by node position, in pass order.
        /// </summary>
        private static (int[] Start, (Tensor, int)[] Ready) Readiness(List<OpNode> backward, int[]?[] inBuffers, List<(Tensor, int)> leaves)
        {
            var lastWriter = new Dictionary<int, int>();
            for (int i = 0; i < backward.Count; i++)
            {
                if (inBuffers[backward[i].PlanIndex] is { } ins)
                {
                    foreach (int id in ins)
                    {
                        if (id >= 0)
                            lastWriter[id] = i;
                    }
                }
            }
            var at = leaves.Select(l => lastWriter.TryGetValue(l.Item2, out int i) ? i : backward.Count).ToArray();
            var start = new int[backward.Count + 2];
            foreach (int i in at)
                start[i + 1]++;
            for (int i = 1; i < start.Length; i++)
                start[i] += start[i - 1];
            var ready = new (Tensor, int)[leaves.Count];
            var fill = (int[])start.Clone();
            for (int k = 0; k < leaves.Count; k++)
                ready[fill[at[k]]++] = leaves[k];
            return (start, ready);
        }

        /// <summary>
        /// The pass from <paramref name="root"/> to <paramref name="wanted"/> (null: every leaf that
        /// requires gradients); nodes with no path to a wanted leaf are left out.
        /// </summary>
        public BackwardPass? Pass(Tensor root, Tensor[]? wanted, Tensor[] copies, out string? why)
        {
            why = null;
            var want = wanted is null ? null : new HashSet<Tensor>(wanted, ReferenceEqualityComparer.Instance);
            var order = BackwardEngine.TopologicalOrder(root);
            var needs = new Dictionary<Tensor, bool>(ReferenceEqualityComparer.Instance);
            bool Needs(Tensor t)
            {
                if (!t.RequiresGrad)
                    return false;
                if (t.Node is null)
                    return want is null || want.Contains(t);
                return needs.TryGetValue(t, out bool v) && v;
            }
            foreach (var t in order) // inputs before outputs
            {
                bool any = false;
                foreach (var i in t.Node!.Inputs)
                    any |= Needs(i);
                needs[t] = any;
            }
            var leaves = new List<(Tensor, int)>();
            var backward = new List<OpNode>();
            var outBuffer = new List<int>();
            var inBuffers = new int[]?[nodes.Length];
            if (!Needs(root) && root.Node is not null)
                return Finish();
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var t = order[i];
                var node = t.Node!;
                if (!inTrace.Contains(node))
                {
                    why = ComputedBefore(node);
                    return null;
                }
                if (!needs[t])
                    continue;
                int outId = BufferFor(t, leaves);
                var ins = new int[node.Inputs.Length];
                for (int k = 0; k < ins.Length; k++)
                    ins[k] = Needs(node.Inputs[k]) ? BufferFor(node.Inputs[k], leaves) : -1;
                inBuffers[node.PlanIndex] = ins;
                if (node.AliasesInput)
                    continue; // shares its input's gradient buffer: nothing to do
                backward.Add(node);
                outBuffer.Add(outId);
            }
            return Finish();

            BackwardPass Finish()
            {
                int rootBuffer = BufferFor(root, root.Node is null ? leaves : null);
                var pairs = new (Tensor, Tensor, int)[copies.Length];
                for (int k = 0; k < copies.Length; k++)
                {
                    int leafId = leaves.FindIndex(l => ReferenceEquals(l.Item1, wanted![k]));
                    pairs[k] = (wanted![k], copies[k], leafId < 0 ? -1 : leaves[leafId].Item2);
                }
                var (readyStart, ready) = Readiness(backward, inBuffers, leaves);
                return new BackwardPass
                {
                    Nodes = [.. backward],
                    OutBuffer = [.. outBuffer],
                    InBuffers = inBuffers,
                    Leaves = [.. leaves],
                    RootBuffer = rootBuffer,
                    Copies = pairs,
                    ReadyStart = readyStart,
                    Ready = ready,
                };
            }
        }
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

    /// <summary>The nodes, in trace order (for the per-op profile of the benchmarks).</summary>
    internal IReadOnlyList<OpNode> Nodes => _nodes;

    /// <summary>Runs every node's forward, in trace order.</summary>
    public void Forward()
    {
        if (!_shared)
            ShareActivations();
        if (!Poisoning)
        {
            foreach (var n in _nodes)
            {
                long start = Profiler is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                n.Forward();
                Profiler?.Add(n, "forward", start);
            }
            return;
        }
        for (int i = 0; i < _nodes.Length; i++)
        {
            _nodes[i].Forward();
            Poison(_forwardTime[i]);
        }
    }

    /// <summary>
    /// Backpropagates 1 from the root: every parameter's <see cref="Tensor.Grad"/> is set to this step's
    /// gradient (zero where the root does not depend on it), as ZeroGrad followed by Backward would.
    /// <paramref name="observer"/> hears of each parameter as soon as its gradient is final (data-parallel
    /// training starts reducing it while the rest of the pass runs).
    /// </summary>
    public void Backward(IDataParallel? observer = null)
    {
        if (Root is null)
            throw new InvalidOperationException("Plan: this plan has no backward from a root (an inference plan, or a traced program)");
        RunPass(_passes.Length - 1, observer);
    }

    /// <summary>Replays a traced program: its forwards, backward passes and effects, in trace order.</summary>
    public void Run()
    {
        if (!_shared)
            ShareActivations();
        bool poison = Poisoning;
        foreach (var ins in _program)
        {
            switch (ins.Kind)
            {
                case Op.Forward:
                    for (int i = ins.A; i < ins.B; i++)
                    {
                        long start = Profiler is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                        _nodes[i].Forward();
                        Profiler?.Add(_nodes[i], "forward", start);
                        if (poison)
                            Poison(_forwardTime[i]);
                    }
                    break;
                case Op.Backward:
                    RunPass(ins.A);
                    break;
                default:
                    long begin = Profiler is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                    _effects[ins.A].Replay();
                    Profiler?.Add("effect (optimizer update)", begin);
                    if (poison)
                        Poison(_effectTime[ins.A]);
                    break;
            }
        }
    }

    private void RunPass(int index, IDataParallel? observer = null)
    {
        var pass = _passes[index];
        var times = Poisoning ? _passTime[index] : null;
        foreach (var (leaf, id) in pass.Leaves)
        {
            leaf.EnsureGrad();
            _buffers[id] = leaf.Grad!.Buffer; // in case the gradient tensor was replaced
        }
        Array.Clear(_written);
        _buffers[pass.RootBuffer][_offsets[pass.RootBuffer]] = 1f;
        _written[pass.RootBuffer] = true;
        _sink.Pass = pass;
        using (GradMode.Disable())
        {
            for (int i = 0; i < pass.Nodes.Length; i++)
            {
                int id = pass.OutBuffer[i];
                if (_written[id]) // else no path from the root through this node
                {
                    var node = pass.Nodes[i];
                    long start = Profiler is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                    node.Backward(_buffers[id].AsSpan(_offsets[id], node.OutputShape.Size), _sink);
                    Profiler?.Add(node, "backward", start);
                }
                if (times is not null)
                    Poison(times[i]);
                if (observer is not null)
                    Announce(pass, i, observer);
            }
        }
        foreach (var (leaf, id) in pass.Leaves)
        {
            if (!_written[id])
                leaf.Grad!.Data.Clear();
        }
        if (observer is not null)
            Announce(pass, pass.Nodes.Length, observer);
        foreach (var (p, copy, id) in pass.Copies)
        {
            // As ComputeGradients: the parameter's gradient, or zeros (in both) where the root does not reach it.
            if (id >= 0 && _written[id])
                p.Grad!.Span.CopyTo(copy.Data);
            else
            {
                copy.Data.Clear();
                p.Grad?.Data.Clear();
            }
        }
    }

    /// <summary>Tells the observer of the leaves whose gradients are final after node position <paramref name="i"/> (zeroed first where nothing reached them).</summary>
    private void Announce(BackwardPass pass, int i, IDataParallel observer)
    {
        for (int k = pass.ReadyStart[i]; k < pass.ReadyStart[i + 1]; k++)
        {
            var (leaf, id) = pass.Ready[k];
            if (!_written[id])
            {
                leaf.Grad!.Data.Clear();
                _written[id] = true; // cleared: nothing left to do for it after the pass
            }
            observer.GradientReady(leaf);
        }
    }

    private sealed class Sink(Plan plan) : GradSink
    {
        public BackwardPass Pass = null!;

        public override bool Wants(OpNode node, int i) => Pass.InBuffers[node.PlanIndex] is { } b && b[i] >= 0;

        public override Span<float> Target(OpNode node, int i, out bool add)
        {
            int id = Pass.InBuffers[node.PlanIndex]![i];
            add = plan._written[id];
            plan._written[id] = true;
            return plan._buffers[id].AsSpan(plan._offsets[id], node.Inputs[i].Size);
        }
    }

    /// <summary>The ops, settings, shapes and wiring of a trace, with leaves named by first appearance.</summary>
    /// <summary>Names a tensor of a trace: the node that produced it, a bound input, a gradient copy, or a leaf by shape.</summary>
    private static Func<Tensor, string> Namer(OpNode[] nodes, Tensor[] inputs, HashSet<Tensor> copies)
    {
        var producer = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < nodes.Length; i++)
            producer[nodes[i].Output] = i;
        return t =>
        {
            if (producer.TryGetValue(t, out int p))
                return $"n{p}";
            int k = Array.IndexOf(inputs, t);
            return k >= 0 ? $"in{k}" : copies.Contains(t) ? $"grad{t.Shape}" : $"leaf{t.Shape}";
        };
    }

    private static string Describe(OpNode[] nodes, Tensor[] outputs, Tensor? root, Func<Tensor, string> name)
    {
        var sb = new StringBuilder();
        foreach (var n in nodes)
        {
            sb.Append(n.Op).Append('[').Append(n.Attributes).Append("](");
            foreach (var t in n.Inputs)
                sb.Append(name(t)).Append(t.RequiresGrad ? "*" : "").Append(',');
            sb.Append(")→").Append(n.OutputShape).Append(';');
        }
        sb.Append("out:");
        foreach (var o in outputs)
            sb.Append(name(o)).Append(',');
        if (root is not null)
            sb.Append("root:").Append(name(root));
        return sb.ToString();
    }

    /// <summary>
    /// Whether another trace's plan is the same step: the same signature and the same leaves (the same
    /// parameter objects, or constants with the same values).
    /// </summary>
    public bool SameStepAs(Plan other)
    {
        if (Signature != other.Signature || _nodes.Length != other._nodes.Length
            || _passes.Length != other._passes.Length || _effects.Length != other._effects.Length)
            return false;
        for (int i = 0; i < _effects.Length; i++)
        {
            if (!_effects[i].SameAs(other._effects[i]))
                return false;
        }
        for (int i = 0; i < _passes.Length; i++)
        {
            var a = _passes[i].Copies;
            var b = other._passes[i].Copies;
            if (a.Length != b.Length)
                return false;
            for (int k = 0; k < a.Length; k++)
            {
                if (!ReferenceEquals(a[k].Parameter, b[k].Parameter) && (Place(a[k].Parameter) is not { } place || place != other.Place(b[k].Parameter)))
                    return false;
            }
        }
        for (int i = 0; i < _nodes.Length; i++)
        {
            if (!ReferenceEquals(_nodes[i].State, other._nodes[i].State))
                return false; // e.g. a new Rng on every call: the eager step repeats its draws, a replay would not
            var a = _nodes[i].Inputs;
            var b = other._nodes[i].Inputs;
            for (int k = 0; k < a.Length; k++)
            {
                if (a[k].Node is not null || b[k].Node is not null || Array.IndexOf(_inputs, a[k]) >= 0)
                    continue; // computed by the step, or a bound input
                if (Place(a[k]) != other.Place(b[k]))
                    return false; // the same leaf read in different places (one probe used twice, against two)
                if (IsProduced(a[k]) || ReferenceEquals(a[k], b[k]) || (_copies.Contains(a[k]) && other._copies.Contains(b[k])))
                    continue;
                if (a[k].Shape != b[k].Shape || !a[k].Span.SequenceEqual(b[k].Span))
                    return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Where a leaf sits in the plan — a bound input ("in2"), or the first node input that reads it
    /// ("n5.1") — so two traces that take gradients with respect to their own inputs or their own probes
    /// (new tensors on every trace) are still the same step, and a leaf read twice in one trace is read
    /// twice in the other; null for anything else.
    /// </summary>
    private string? Place(Tensor t)
    {
        if (t.Node is not null)
            return null;
        if (_places is null)
        {
            var places = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
            for (int k = 0; k < _inputs.Length; k++)
                places.TryAdd(_inputs[k], $"in{k}");
            for (int i = 0; i < _nodes.Length; i++)
            {
                var ins = _nodes[i].Inputs;
                for (int j = 0; j < ins.Length; j++)
                {
                    if (ins[j].Node is null)
                        places.TryAdd(ins[j], $"n{i}.{j}");
                }
            }
            _places = places;
        }
        return _places.GetValueOrDefault(t);
    }

    private Dictionary<Tensor, string>? _places;

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

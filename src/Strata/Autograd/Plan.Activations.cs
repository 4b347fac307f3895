namespace Strata.Autograd;

/// <summary>
/// A plan's activations (op outputs) on shared arrays. Every run of a plan is one timeline: the
/// forwards, the backward nodes of each pass and the effects, in the order they run. An output's
/// buffer lives from the node that writes it to its last reader on that timeline — a forward that
/// takes it as an input, a backward that reads it (<see cref="OpNode.BackwardReadsInput"/>,
/// <see cref="OpNode.BackwardReadsOutput"/>), an effect that reads it (all of them, unless the effect
/// names what it reads) — a reshape's reads counting for the buffer it shares; the plan's results
/// live to the end. An intermediate gradient lives on the same timeline, from the first backward
/// node (or pass start) that touches it to the last. Buffers of either kind whose lifetimes do not
/// overlap may take the same place in one array (an arena): a gradient born in the backward takes the
/// room of activations that died. Places are given largest buffer first, each at the lowest offset
/// that no buffer alive at the same time holds. The buffers move there before the plan's first replay
/// (the traced step may still run its eager backward on the traced buffers and the gradient arrays of
/// <see cref="PassBuilder.Allocate"/>).
/// </summary>
internal sealed partial class Plan
{
    private int[] _placeOf = [];     // by node: where its output starts in the arena (−1: it keeps its own array)
    private int[] _gradientPlaceOf = []; // by gradient buffer id: where it starts in the arena (−1: a leaf's, or never used)
    private int _arenaLength;
    private int[] _forwardTime = []; // by node
    private int[]?[] _passTime = []; // by pass, then by node of the pass
    private int[] _effectTime = [];  // by effect
    private int[]?[] _deadAfter = []; // by time: the nodes whose (shared) outputs die after that step
    private bool _shared;

    /// <summary>
    /// A check for tests: once the activations are shared, each one is filled with NaN as soon as its
    /// lifetime ends, so a read that a node did not declare changes the results instead of finding the
    /// old values by chance.
    /// </summary>
    internal bool PoisonDeadActivations { get; set; }

    /// <summary>Whether the activations have been moved onto their shared arrays (at the first replay).</summary>
    internal bool ActivationsShared => _shared;

    /// <summary>
    /// Bytes of the arrays a replay runs on for activations and intermediate gradients together: the
    /// arena shared by buffers of either kind whose lifetimes do not overlap, and the results' own arrays.
    /// </summary>
    public long SharedBytes { get; private set; }

    /// <summary>
    /// Plans the timeline, the lifetimes and the shared arrays; returns the activation bytes with
    /// activations sharing among themselves (<see cref="BufferBytes"/>) and sets <see cref="SharedBytes"/>.
    /// </summary>
    private long PlanActivations()
    {
        int n = _nodes.Length;
        var producer = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < n; i++)
            producer[_nodes[i].Output] = i;

        // The timeline: one step per forward node, per backward node of a pass, per effect.
        _forwardTime = new int[n];
        _passTime = new int[]?[_passes.Length];
        var passStart = new int[_passes.Length];
        _effectTime = new int[_effects.Length];
        int time = 0;
        void TimePass(int p)
        {
            passStart[p] = time++; // the root's gradient is set
            var t = _passTime[p] = new int[_passes[p].Nodes.Length];
            for (int j = 0; j < t.Length; j++)
                t[j] = time++;
        }
        foreach (var ins in _program)
        {
            switch (ins.Kind)
            {
                case Op.Forward:
                    for (int i = ins.A; i < ins.B; i++)
                        _forwardTime[i] = time++;
                    break;
                case Op.Backward:
                    TimePass(ins.A);
                    break;
                default:
                    _effectTime[ins.A] = time++;
                    break;
            }
        }
        if (Root is not null)
            TimePass(_passes.Length - 1); // Backward(): after the forwards

        // Lifetimes, by the node that owns each buffer (a reshape's owner is its input's; −1: a bound input's or a leaf's).
        var owner = new int[n];
        var last = new int[n];
        for (int i = 0; i < n; i++)
        {
            owner[i] = !_nodes[i].AliasesInput ? i : producer.TryGetValue(_nodes[i].Inputs[0], out int src) ? owner[src] : -1;
            last[i] = _forwardTime[i];
        }
        void Use(Tensor t, int at)
        {
            if (producer.TryGetValue(t, out int j) && owner[j] >= 0)
                last[owner[j]] = Math.Max(last[owner[j]], at);
        }
        for (int i = 0; i < n; i++)
        {
            foreach (var t in _nodes[i].Inputs)
                Use(t, _forwardTime[i]);
        }
        for (int p = 0; p < _passes.Length; p++)
        {
            if (_passTime[p] is not { } times)
                continue;
            var pass = _passes[p];
            for (int j = 0; j < pass.Nodes.Length; j++)
            {
                var node = pass.Nodes[j];
                var ids = pass.InBuffers[node.PlanIndex]!;
                var wants = new bool[ids.Length];
                for (int k = 0; k < ids.Length; k++)
                    wants[k] = ids[k] >= 0;
                for (int k = 0; k < node.Inputs.Length; k++)
                {
                    if (node.BackwardReadsInput(k, wants))
                        Use(node.Inputs[k], times[j]);
                }
                if (node.BackwardReadsOutput(wants))
                    Use(node.Output, times[j]);
            }
        }
        for (int e = 0; e < _effects.Length; e++)
        {
            int at = _effectTime[e];
            if (_effects[e].Reads is { } reads)
            {
                foreach (var t in reads)
                    Use(t, at);
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    if (owner[i] == i && _forwardTime[i] < at)
                        last[i] = Math.Max(last[i], at);
                }
            }
        }
        var pinned = new bool[n];
        foreach (var o in Outputs)
        {
            if (producer.TryGetValue(o, out int j) && owner[j] >= 0)
                pinned[owner[j]] = true;
        }

        // The intermediate gradients' lifetimes (a leaf's gradient is its own array).
        int count = _buffers.Length;
        var gradFirst = new int[count];
        var gradLast = new int[count];
        Array.Fill(gradFirst, int.MaxValue);
        Array.Fill(gradLast, -1);
        var gradSize = new int[count];
        var leaf = new bool[count];
        void Touch(int id, int at, int size)
        {
            gradFirst[id] = Math.Min(gradFirst[id], at);
            gradLast[id] = Math.Max(gradLast[id], at);
            gradSize[id] = Math.Max(gradSize[id], size);
        }
        for (int p = 0; p < _passes.Length; p++)
        {
            var pass = _passes[p];
            foreach (var (_, id) in pass.Leaves)
                leaf[id] = true;
            if (_passTime[p] is not { } times)
                continue;
            Touch(pass.RootBuffer, passStart[p], 1);
            for (int j = 0; j < pass.Nodes.Length; j++)
            {
                var node = pass.Nodes[j];
                Touch(pass.OutBuffer[j], times[j], node.OutputShape.Size);
                var ids = pass.InBuffers[node.PlanIndex]!;
                for (int k = 0; k < ids.Length; k++)
                {
                    if (ids[k] >= 0)
                        Touch(ids[k], times[j], node.Inputs[k].Size);
                }
            }
        }

        // Activations alone (BufferBytes), then activations and gradients together (what a replay runs on).
        var activations = new List<(int Start, int Last, int Size)>();
        var activationNode = new List<int>();
        long pinnedBytes = 0;
        for (int i = 0; i < n; i++)
        {
            if (owner[i] != i)
                continue; // a reshape (of an op's buffer, of a bound input, of a leaf)
            if (pinned[i])
            {
                pinnedBytes += 4L * _nodes[i].Output.Buffer.Length; // a result the caller reads: its own array
                continue;
            }
            activations.Add((_forwardTime[i], last[i], _nodes[i].OutputShape.Size));
            activationNode.Add(i);
        }
        Place(activations, out int alone);
        var items = new List<(int Start, int Last, int Size)>(activations);
        var gradientIds = new List<int>();
        var distinct = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        long unusedGradientBytes = 0;
        for (int id = 0; id < count; id++)
        {
            if (leaf[id])
                continue;
            if (gradLast[id] < 0)
            {
                if (distinct.Add(_buffers[id]))
                    unusedGradientBytes += 4L * _buffers[id].Length; // never touched: keeps its array
                continue;
            }
            items.Add((gradFirst[id], gradLast[id], gradSize[id]));
            gradientIds.Add(id);
        }
        var places = Place(items, out _arenaLength);
        _placeOf = new int[n];
        Array.Fill(_placeOf, -1);
        for (int k = 0; k < activationNode.Count; k++)
            _placeOf[activationNode[k]] = places[k];
        _gradientPlaceOf = new int[count];
        Array.Fill(_gradientPlaceOf, -1);
        for (int k = 0; k < gradientIds.Count; k++)
            _gradientPlaceOf[gradientIds[k]] = places[activationNode.Count + k];
        SharedBytes = pinnedBytes + unusedGradientBytes + 4L * _arenaLength;

        var dead = new List<int>?[time];
        for (int i = 0; i < n; i++)
        {
            if (_placeOf[i] >= 0)
                (dead[last[i]] ??= []).Add(i);
        }
        _deadAfter = [.. dead.Select(d => d?.ToArray())];
        return pinnedBytes + 4L * alone;
    }

    /// <summary>
    /// Offsets in one array for buffers of given lifetimes (time steps, inclusive) and sizes: the largest
    /// first, each at the lowest offset where it overlaps no buffer placed before it that is alive at the
    /// same time. Offsets are multiples of 16 floats (64 bytes). Returns each buffer's offset and the length.
    /// </summary>
    private static int[] Place(List<(int Start, int Last, int Size)> buffers, out int length)
    {
        const int Align = 16;
        var offset = new int[buffers.Count];
        var placed = new List<int>(); // by offset
        length = 0;
        var order = Enumerable.Range(0, buffers.Count).OrderByDescending(b => buffers[b].Size).ThenBy(b => buffers[b].Start);
        foreach (int b in order)
        {
            var (start, end, size) = buffers[b];
            int at = 0;
            foreach (int o in placed)
            {
                var (s, e, z) = buffers[o];
                if (e < start || s > end)
                    continue; // not alive at the same time
                if (offset[o] >= at + size)
                    break; // the gap below it is large enough
                at = Math.Max(at, (offset[o] + z + Align - 1) / Align * Align);
            }
            offset[b] = at;
            int k = placed.FindIndex(o => offset[o] > at);
            placed.Insert(k < 0 ? placed.Count : k, b);
            length = Math.Max(length, at + size);
        }
        return offset;
    }

    /// <summary>
    /// Moves the activations and intermediate gradients onto their shared arrays (once, before the first
    /// replay: every replay rewrites activations, and each pass writes a gradient whole before adding to it).
    /// </summary>
    private void ShareActivations()
    {
        _shared = true;
        var arena = new float[_arenaLength];
        for (int i = 0; i < _nodes.Length; i++)
        {
            if (_placeOf[i] >= 0)
                _nodes[i].Output.Rebind(arena, _placeOf[i]);
        }
        for (int id = 0; id < _gradientPlaceOf.Length; id++)
        {
            if (_gradientPlaceOf[id] >= 0)
            {
                _buffers[id] = arena;
                _offsets[id] = _gradientPlaceOf[id];
            }
        }
    }

    /// <summary>Whether this run poisons dead activations (<see cref="PoisonDeadActivations"/>, once shared).</summary>
    private bool Poisoning => PoisonDeadActivations && _shared;

    /// <summary>Fills the outputs whose lifetimes end at this step with NaN.</summary>
    private void Poison(int time)
    {
        if (_deadAfter[time] is { } dead)
        {
            foreach (int i in dead)
                _nodes[i].Output.Data.Fill(float.NaN);
        }
    }
}

namespace Strata.Autograd;

/// <summary>
/// A plan's activations (op outputs) on shared arrays. Every run of a plan is one timeline: the
/// forwards, the backward nodes of each pass and the effects, in the order they run. An output's
/// buffer lives from the node that writes it to its last reader on that timeline — a forward that
/// takes it as an input, a backward that reads it (<see cref="OpNode.BackwardReadsInput"/>,
/// <see cref="OpNode.BackwardReadsOutput"/>), an effect that reads it (all of them, unless the effect
/// names what it reads) — a reshape's reads counting for the buffer it shares; the plan's results
/// live to the end. Buffers whose lifetimes do not overlap are rebound onto one array, before the
/// plan's first replay (the traced step may still run its eager backward on the traced buffers).
/// </summary>
internal sealed partial class Plan
{
    private int[] _slotOf = [];     // by node: the shared array its output moves to (−1: it keeps its own)
    private int[] _slotSize = [];   // by shared array: its length
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

    /// <summary>Plans the timeline, the lifetimes and the shared arrays; returns the activation bytes once shared.</summary>
    private long PlanActivations()
    {
        int n = _nodes.Length;
        var producer = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < n; i++)
            producer[_nodes[i].Output] = i;

        // The timeline: one step per forward node, per backward node of a pass, per effect.
        _forwardTime = new int[n];
        _passTime = new int[]?[_passes.Length];
        _effectTime = new int[_effects.Length];
        int time = 0;
        void TimePass(int p)
        {
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

        // Arrays, in order of first write: a buffer takes a free array (its last buffer dead before this one
        // is written) — the smallest that is large enough, else the largest, which grows — or a new one.
        _slotOf = new int[n];
        Array.Fill(_slotOf, -1);
        var freeAfter = new List<int>();
        var sizes = new List<int>();
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
            int need = _nodes[i].OutputShape.Size, start = _forwardTime[i], fit = -1, grow = -1;
            for (int k = 0; k < freeAfter.Count; k++)
            {
                if (freeAfter[k] >= start)
                    continue;
                if (sizes[k] >= need && (fit < 0 || sizes[k] < sizes[fit]))
                    fit = k;
                else if (sizes[k] < need && (grow < 0 || sizes[k] > sizes[grow]))
                    grow = k;
            }
            int slot = fit >= 0 ? fit : grow;
            if (slot < 0)
            {
                freeAfter.Add(0);
                sizes.Add(0);
                slot = freeAfter.Count - 1;
            }
            freeAfter[slot] = last[i];
            sizes[slot] = Math.Max(sizes[slot], need);
            _slotOf[i] = slot;
        }
        _slotSize = [.. sizes];

        var dead = new List<int>?[time];
        for (int i = 0; i < n; i++)
        {
            if (_slotOf[i] >= 0)
                (dead[last[i]] ??= []).Add(i);
        }
        _deadAfter = [.. dead.Select(d => d?.ToArray())];
        return pinnedBytes + 4L * sizes.Sum(s => (long)s);
    }

    /// <summary>Moves the activations onto their shared arrays (once, before the first replay: every replay rewrites them).</summary>
    private void ShareActivations()
    {
        _shared = true;
        var arrays = _slotSize.Select(s => new float[s]).ToArray();
        for (int i = 0; i < _nodes.Length; i++)
        {
            if (_slotOf[i] >= 0)
                _nodes[i].Output.Rebind(arrays[_slotOf[i]]);
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

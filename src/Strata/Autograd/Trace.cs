namespace Strata.Autograd;

/// <summary>
/// Records, on one thread, every op node run while it is open: the raw material of a compiled
/// <see cref="Plan"/>. Opened by the model around one eager step; closed (disposed) after it.
/// </summary>
internal sealed class Trace : IDisposable
{
    [ThreadStatic]
    private static Trace? t_current;

    private readonly Trace? _outer;

    private Trace()
    {
        _outer = t_current;
        _outer?.Fail("the step runs another traced step inside it (TrainStep, Predict or Evaluate), whose ops it does not record");
        t_current = this;
    }

    /// <summary>The trace open on this thread, or null.</summary>
    public static Trace? Current => t_current;

    /// <summary>Starts recording on this thread.</summary>
    public static Trace Begin() => new();

    /// <summary>The nodes in the order they ran (each after the nodes that produced its inputs).</summary>
    public List<OpNode> Nodes { get; } = [];

    /// <summary>Gradient computations and effects, each at the number of nodes recorded before it.</summary>
    public List<Mark> Marks { get; } = [];

    /// <summary>Something a traced step did besides running op nodes, at position <see cref="At"/> in <see cref="Nodes"/>.</summary>
    public abstract record Mark(int At);

    /// <summary>A gradient computation: backward from <paramref name="Root"/>, the gradients of <paramref name="Parameters"/> copied into <paramref name="Copies"/>.</summary>
    public sealed record GradientMark(int At, Tensor Root, Tensor[] Parameters, Tensor[] Copies) : Mark(At);

    /// <summary>A side effect to replay as it is (an optimizer update).</summary>
    public sealed record EffectMark(int At, Effect Effect) : Mark(At);

    /// <summary>
    /// A replayable action: <paramref name="Description"/> goes into the plan's signature, and
    /// <paramref name="Target"/> and <paramref name="Operands"/> must be the same objects in two traces
    /// of the same step. <paramref name="Reads"/> names the values computed by the step's ops that the
    /// action reads (a compiled plan keeps them alive until it runs); null: it may read any of them.
    /// </summary>
    public sealed record Effect(string Description, object Target, Tensor[] Operands, Action Replay, Tensor[]? Reads = null)
    {
        public bool SameAs(Effect other)
        {
            if (!ReferenceEquals(Target, other.Target) || Operands.Length != other.Operands.Length)
                return false;
            for (int i = 0; i < Operands.Length; i++)
            {
                if (!ReferenceEquals(Operands[i], other.Operands[i]))
                    return false;
            }
            return true;
        }
    }

    /// <summary>Records a gradient computation on this thread's trace, if one is open.</summary>
    public static void RecordGradients(Tensor root, Tensor[] parameters, Tensor[] copies)
    {
        if (t_current is { } t)
        {
            t.Marks.Add(new GradientMark(t.Nodes.Count, root, parameters, copies));
            t._owned.UnionWith(copies);
        }
    }

    /// <summary>Records an effect on this thread's trace, if one is open.</summary>
    public static void RecordEffect(Effect effect)
    {
        if (t_current is { } t)
            t.Marks.Add(new EffectMark(t.Nodes.Count, effect));
    }

    /// <summary>Why this trace cannot become a plan (null: it can).</summary>
    public string? Failure { get; private set; }

    private readonly HashSet<Tensor> _owned = new(ReferenceEqualityComparer.Instance);

    /// <summary>Whether <paramref name="t"/> was computed by this trace: an op's output or a recorded gradient copy.</summary>
    public bool Owns(Tensor t) => _owned.Contains(t);

    public void Add(OpNode node)
    {
        node.Pinned = true;
        Nodes.Add(node);
        _owned.Add(node.Output);
        if (Failure is null && node.NotReplayable is { } why)
            Failure = why;
    }

    /// <summary>Marks the trace as not replayable (the first reason is kept).</summary>
    public void Fail(string reason) => Failure ??= reason;

    public void Dispose()
    {
        if (t_current == this)
            t_current = _outer;
    }
}

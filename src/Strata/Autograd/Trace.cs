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
        t_current = this;
    }

    /// <summary>The trace open on this thread, or null.</summary>
    public static Trace? Current => t_current;

    /// <summary>Starts recording on this thread.</summary>
    public static Trace Begin() => new();

    /// <summary>The nodes in the order they ran (each after the nodes that produced its inputs).</summary>
    public List<OpNode> Nodes { get; } = [];

    /// <summary>Why this trace cannot become a plan (null: it can).</summary>
    public string? Failure { get; private set; }

    public void Add(OpNode node)
    {
        node.Pinned = true;
        Nodes.Add(node);
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

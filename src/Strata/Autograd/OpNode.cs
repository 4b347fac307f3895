using System.Numerics.Tensors;

namespace Strata.Autograd;

/// <summary>
/// One application of an op: its inputs, its output and the single definition of its math — a
/// forward and a backward written as kernel calls over the buffers of those tensors. The eager
/// graph runs <see cref="Forward"/> once when the op is called and keeps the node for
/// <see cref="Tensor.Backward"/>; a compiled <see cref="Plan"/> keeps the nodes of a traced step
/// and runs the same two methods again on the same buffers. There is no other copy of an op's math.
/// </summary>
internal abstract class OpNode
{
    private float[]?[]? _scratch;
    private bool[][]? _reduced;

    protected OpNode(string op, Tensor[] inputs, Shape outputShape)
    {
        Op = op;
        Inputs = inputs;
        OutputShape = outputShape;
    }

    /// <summary>The op's name, as error messages and <see cref="Plan"/> descriptions show it.</summary>
    public string Op { get; }

    /// <summary>The tensors the op reads.</summary>
    public Tensor[] Inputs { get; private set; }

    /// <summary>The result's shape (checked by the constructor).</summary>
    public Shape OutputShape { get; }

    /// <summary>The result; set by <see cref="Tensor.Run"/> before <see cref="Forward"/>.</summary>
    public Tensor Output { get; internal set; } = null!;

    /// <summary>The output shares input 0's buffer (a reshape): nothing to compute, only to rebind.</summary>
    public virtual bool AliasesInput => false;

    /// <summary>
    /// Whether <see cref="Backward"/> reads input <paramref name="i"/>'s values, when the inputs marked in
    /// <paramref name="wants"/> want gradients. A compiled plan keeps an op's output (an activation) alive
    /// until the last backward that reads it and reuses its buffer after that, so the answer must not
    /// be false for a value the backward reads. The default, true, is the safe answer of a node that
    /// does not say. State a node keeps in its own arrays between its forward and its backward (masks,
    /// indices, statistics) is not an input and does not count.
    /// </summary>
    public virtual bool BackwardReadsInput(int i, bool[] wants) => true;

    /// <summary>Whether <see cref="Backward"/> reads <see cref="Output"/>'s values (see <see cref="BackwardReadsInput"/>; default true).</summary>
    public virtual bool BackwardReadsOutput(bool[] wants) => true;

    /// <summary>Why a compiled plan cannot replay this node (null: it can).</summary>
    public virtual string? NotReplayable => null;

    /// <summary>Settings beyond the op name and shapes that change the result (compared between two traces).</summary>
    public virtual string Attributes => "";

    /// <summary>
    /// An object the op reads or updates besides its inputs (a random generator, moving statistics):
    /// two traces are the same step only when it is the same object in both.
    /// </summary>
    public virtual object? State => null;

    /// <summary>Computes <see cref="Output"/> from the inputs' current values (overwriting it).</summary>
    public abstract void Forward();

    /// <summary>
    /// Given dL/d(output) in <paramref name="gy"/> (which it may overwrite: nothing reads it afterwards),
    /// passes each input that <paramref name="grads"/> wants its gradient contribution, through
    /// <see cref="GradSink.Target"/> (once per input, in increasing input order).
    /// </summary>
    public abstract void Backward(Span<float> gy, GradSink grads);

    /// <summary>Index in the plan that owns this node (−1: none).</summary>
    internal int PlanIndex { get; set; } = -1;

    /// <summary>Kept by a trace: the eager backward must not release it.</summary>
    internal bool Pinned { get; set; }

    /// <summary>Released by an eager backward pass (its inputs dropped).</summary>
    public bool Released { get; private set; }

    /// <summary>Drops the references that keep the graph alive (unless a trace keeps the node).</summary>
    public void Release()
    {
        if (Pinned)
            return;
        Inputs = [];
        Released = true;
    }

    /// <summary>
    /// A buffer of at least <paramref name="size"/> floats that this node keeps (slot k): a plan's
    /// node allocates it once, an eager node once per call.
    /// </summary>
    protected Span<float> Scratch(int slot, int size)
    {
        _scratch ??= new float[]?[4];
        var a = _scratch[slot];
        if (a is null || a.Length < size)
            _scratch[slot] = a = new float[size];
        return a.AsSpan(0, size);
    }

    /// <summary>
    /// Where a kernel that overwrites its output should write input i's gradient: the gradient buffer
    /// itself on the pass's first contribution, else a scratch buffer that <see cref="EndWrite"/> adds in.
    /// Empty when the input wants no gradient.
    /// </summary>
    protected Span<float> BeginWrite(GradSink grads, int i, int slot, out Span<float> target, out bool add)
    {
        if (!grads.Wants(this, i))
        {
            target = [];
            add = false;
            return [];
        }
        target = grads.Target(this, i, out add);
        return add ? Scratch(slot, target.Length) : target;
    }

    /// <summary>Completes <see cref="BeginWrite"/>: adds the scratch into the gradient when needed.</summary>
    protected static void EndWrite(Span<float> written, Span<float> target, bool add)
    {
        if (add)
            TensorPrimitives.Add(target, written, target);
    }

    /// <summary>Passes <paramref name="value"/> (input i's shape) to input i, when it is wanted.</summary>
    protected void Put(GradSink grads, int i, ReadOnlySpan<float> value)
    {
        if (!grads.Wants(this, i))
            return;
        var t = grads.Target(this, i, out bool add);
        if (add)
            TensorPrimitives.Add(t, value, t);
        else
            value.CopyTo(t);
    }

    /// <summary>
    /// Passes <paramref name="value"/>, of the output's (broadcast) shape, to input i summed down to
    /// that input's shape (undoing the broadcast).
    /// </summary>
    protected void PutReduced(GradSink grads, int i, ReadOnlySpan<float> value, Shape valueShape)
    {
        if (!grads.Wants(this, i))
            return;
        var inShape = Inputs[i].Shape;
        if (inShape.Size == valueShape.Size)
        {
            Put(grads, i, value);
            return;
        }
        _reduced ??= new bool[Inputs.Length][];
        var reduced = _reduced[i] ??= Ops.Reduction.BroadcastAxes(valueShape, inShape);
        var t = grads.Target(this, i, out bool add);
        if (!add)
        {
            Ops.Reduction.Run(Ops.ReduceKind.Sum, value, valueShape, reduced, t);
            return;
        }
        var tmp = Scratch(3, t.Length);
        Ops.Reduction.Run(Ops.ReduceKind.Sum, value, valueShape, reduced, tmp);
        TensorPrimitives.Add(t, tmp, t);
    }

    public override string ToString() => $"{Op}({string.Join(", ", Inputs.Select(t => t.Shape.ToString()))}) → {OutputShape}";
}

/// <summary>Where a backward pass puts gradients: the eager engine's per-tensor buffers, or a plan's.</summary>
internal abstract class GradSink
{
    /// <summary>Whether input <paramref name="i"/> of the node needs a gradient.</summary>
    public abstract bool Wants(OpNode node, int i);

    /// <summary>
    /// The gradient buffer of input <paramref name="i"/> (its shape), and whether to add into it
    /// (<paramref name="add"/> true) or to write it whole (the first contribution of this pass).
    /// </summary>
    public abstract Span<float> Target(OpNode node, int i, out bool add);
}

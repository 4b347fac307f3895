using System.Numerics.Tensors;
using Strata.Autograd;

namespace Strata;

/// <summary>
/// An n-dimensional array of float32, row-major and contiguous, that can take part in automatic
/// differentiation. The data is a managed array that the GC frees: tensors need no disposal.
/// Ops never modify their inputs; reshaping shares data, every other op allocates its result.
/// </summary>
public sealed partial class Tensor
{
    private float[] _data;
    private int _start; // where the elements begin in _data: 0, except for a plan's input bound to rows of a larger array
    private bool _requiresGrad;

    /// <summary>Wraps an array (no copy) with a shape.</summary>
    internal Tensor(float[] data, Shape shape)
    {
        if (data.Length < shape.Size)
            throw new ArgumentException($"Tensor: shape {shape} needs {shape.Size} elements, got {data.Length}");
        _data = data;
        Shape = shape;
    }

    /// <summary>A view of <paramref name="shape"/>.Size elements of an array from <paramref name="start"/> (no copy).</summary>
    internal Tensor(float[] data, int start, Shape shape) : this(data, shape)
    {
        if (start < 0 || data.Length - start < shape.Size)
            throw new ArgumentException($"Tensor: shape {shape} from element {start} needs {shape.Size} elements, the array has {data.Length}");
        _start = start;
    }

    /// <summary>The dimensions.</summary>
    public Shape Shape { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>The number of elements.</summary>
    public int Size => Shape.Size;

    /// <summary>An optional name shown by <see cref="ToString"/> and in error messages.</summary>
    public string? Name { get; set; }

    /// <summary>The elements, read-only.</summary>
    public ReadOnlySpan<float> Span => _data.AsSpan(_start, Shape.Size);

    /// <summary>The elements, writable: for kernels, optimizers and loaders, never for tensors inside a graph.</summary>
    internal Span<float> Data => _data.AsSpan(_start, Shape.Size);

    /// <summary>
    /// The elements, writable in place: for optimizer updates and data loading. Writing into a tensor
    /// that a recorded graph still uses changes what its backward pass computes.
    /// </summary>
    public Span<float> AsWritableSpan() => Data;

    /// <summary>The underlying array (its length may exceed <see cref="Size"/>; the elements begin at <see cref="Start"/>).</summary>
    internal float[] Buffer => _data;

    /// <summary>Where the elements begin in <see cref="Buffer"/>.</summary>
    internal int Start => _start;

    /// <summary>
    /// Points this tensor at another array (a plan's input taking the caller's batch without a copy,
    /// a reshape following its input). Only plans and alias ops call it, on tensors they own.
    /// </summary>
    internal void Rebind(float[] data, int start = 0)
    {
        if (start < 0 || data.Length - start < Shape.Size)
            throw new ArgumentException($"Tensor {Describe()}: cannot rebind to {data.Length - start} elements");
        _data = data;
        _start = start;
    }

    /// <summary>
    /// Whether gradients with respect to this tensor are computed by <see cref="Backward"/>. Set it
    /// on leaves (parameters, inputs); results of ops inherit it from their inputs.
    /// </summary>
    /// <exception cref="InvalidOperationException">Cleared on a tensor produced by a differentiable op.</exception>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!value && Node is not null)
                throw new InvalidOperationException($"Tensor {Describe()}: cannot stop requiring gradients on the result of '{Node.Op}'; use Detach()");
            _requiresGrad = value;
        }
    }

    /// <summary>The accumulated gradient (same shape), or null before the first backward pass.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>The op that produced this tensor, when it is part of a graph.</summary>
    internal OpNode? Node { get; set; }

    /// <summary>Whether this tensor keeps its gradient although it is not a leaf.</summary>
    internal bool KeepsGrad { get; private set; }

    /// <summary>True for tensors that no differentiable op produced (inputs, parameters, constants).</summary>
    public bool IsLeaf => Node is null;

    /// <summary>
    /// Keeps the gradient of this intermediate tensor after <see cref="Backward"/>: the gradient of the latest
    /// pass (leaves instead accumulate over passes until <see cref="ZeroGrad"/>).
    /// </summary>
    public Tensor RetainGrad()
    {
        KeepsGrad = true;
        return this;
    }

    /// <summary>The element at a full index.</summary>
    /// <exception cref="ArgumentException">The index has the wrong rank or is out of range.</exception>
    public float this[params int[] index] => _data[_start + Offset(index)];

    /// <summary>The single value of a one-element tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element.</exception>
    public float ToScalar()
    {
        if (Size != 1)
            throw new InvalidOperationException($"ToScalar: expected a tensor with one element, got shape {Shape}");
        return _data[0];
    }

    /// <summary>A copy of the elements.</summary>
    public float[] ToArray() => Span.ToArray();

    /// <summary>The same data without history: gradients do not flow through the result.</summary>
    public Tensor Detach()
    {
        var r = new Tensor(_data, _start, Shape) { Name = Name };
        if (Autograd.Trace.Current is { } trace)
        {
            // In a traced step the detached value is still the step's: a node (without gradient) keeps it so.
            var node = new Ops.StopGradientNode(this) { Output = r };
            trace.Add(node);
        }
        return r;
    }

    /// <summary>A copy of the data without history.</summary>
    public Tensor Clone() => new(ToArray(), Shape) { Name = Name };

    /// <summary>Sets the gradient to zero (keeping its buffer, so that training steps do not allocate).</summary>
    public void ZeroGrad() => Grad?.Data.Clear();

    /// <summary>
    /// Backpropagates from this tensor: accumulates d(this)/d(leaf) · seed into the <see cref="Grad"/>
    /// of every leaf that requires gradients. The seed defaults to 1 for a one-element tensor.
    /// </summary>
    /// <param name="seed">The gradient of the final objective with respect to this tensor.</param>
    /// <param name="retainGraph">Keep the graph (and intermediate gradients) for another backward pass.</param>
    /// <exception cref="InvalidOperationException">This tensor does not require gradients, or has several elements and no seed.</exception>
    public void Backward(Tensor? seed = null, bool retainGraph = false) => BackwardEngine.Run(this, seed, retainGraph);

    internal int Offset(ReadOnlySpan<int> index)
    {
        if (index.Length != Rank)
            throw new ArgumentException($"Tensor index: expected {Rank} indices for shape {Shape}, got {index.Length}");
        int offset = 0;
        for (int i = 0; i < index.Length; i++)
        {
            int d = Shape.Dims[i];
            int ix = index[i] < 0 ? index[i] + d : index[i];
            if (ix < 0 || ix >= d)
                throw new ArgumentException($"Tensor index: index {index[i]} is out of range for axis {i} of shape {Shape}");
            offset = offset * d + ix;
        }
        return offset;
    }

    /// <summary>The gradient buffer of a leaf, created (zeroed) when there is none yet.</summary>
    internal Span<float> EnsureGrad()
    {
        Grad ??= new Tensor(new float[Shape.Size], Shape);
        return Grad.Data;
    }

    /// <summary>Adds <paramref name="g"/> into this tensor's gradient (allocating it on first use).</summary>
    internal void AccumulateGrad(Tensor g)
    {
        if (g.Shape != Shape)
            throw new InvalidOperationException($"Autograd: gradient of shape {g.Shape} for a tensor of shape {Shape} ({Describe()})");
        if (Grad is null)
            Grad = g.Clone();
        else
            TensorPrimitives.Add(Grad.Span, g.Span, Grad.Data);
    }

    internal string Describe() => Name is null ? $"{Shape}" : $"'{Name}' {Shape}";
}

using System.Collections.Concurrent;

namespace Strata.Layers;

/// <summary>What every layer's config holds; each layer adds its own record.</summary>
public abstract record LayerConfig(string Name);

/// <summary>
/// The base of all layers, in the Keras lifecycle: the constructor takes configuration only;
/// <see cref="Build"/> creates the weights (through <see cref="AddWeight"/>) once the input shape is
/// known; <see cref="Call(Tensor, bool)"/> is the math; <see cref="GetConfig"/> describes the layer. Shapes given to
/// and returned by a layer exclude the batch axis.
/// </summary>
// A layer inside a config (a wrapper's) is JSON as {"class", "config"} through the registry: named on the type, so
// that generated JSON contracts (ModelJsonContext, a custom layer's own) stop here instead of walking a layer's members.
[System.Text.Json.Serialization.JsonConverter(typeof(Serialization.NestedLayerConverter))]
public abstract class Layer
{
    private static readonly ConcurrentDictionary<string, int> s_nameCounters = new();
    private readonly List<Weight> _weights = [];
    private Shape _inputShape;
    private Shape? _appliedShape;

    /// <param name="name">A name; by default the layer's kind with a counter ("dense", "dense_1", ...).</param>
    protected Layer(string? name)
    {
        Name = name ?? UniqueName(DefaultName(GetType()));
    }

    /// <summary>The layer's name.</summary>
    public string Name { get; }

    /// <summary>Whether <see cref="Build"/> has run.</summary>
    public bool Built { get; private set; }

    /// <summary>The per-sample input shape it was built for.</summary>
    /// <exception cref="InvalidOperationException">The layer is not built yet.</exception>
    public Shape InputShape => Built ? _inputShape : throw new InvalidOperationException($"Layer '{Name}' is not built yet");

    /// <summary>The per-sample output shape.</summary>
    public Shape OutputShape => ComputeOutputShape(InputShape);

    /// <summary>All weights, in creation order (a wrapper's own first, then its inner layers').</summary>
    public IReadOnlyList<Weight> Weights => _sublayers.Count == 0 ? _weights : _allWeights ??= [.. _weights, .. _sublayers.SelectMany(l => l.Weights)];

    // A wrapper's flattened list, rebuilt after a weight or an inner layer is added anywhere below it
    // (the per-step plan key reads every layer's weights: no list per step).
    private Weight[]? _allWeights;

    private void WeightsChanged()
    {
        for (var l = this; l is not null; l = l._parent)
            l._allWeights = null;
    }

    /// <summary>The weights that training updates.</summary>
    public IEnumerable<Weight> TrainableWeights => Weights.Where(w => w.Trainable);

    /// <summary>The number of scalars in all weights.</summary>
    public long ParameterCount => Weights.Sum(w => (long)w.Value.Size);

    private readonly List<Layer> _sublayers = [];
    private Layer? _parent;

    /// <summary>"outer/inner/" for an inner layer's weights (its wrappers' names), "" for a layer of its own.</summary>
    private string WeightPrefix => _parent is null ? "" : $"{_parent.WeightPrefix}{_parent.Name}/";

    /// <summary>
    /// Makes <paramref name="layer"/> part of this one (a wrapper's inner layers): its weights become
    /// this layer's, and it draws from this layer's generator. Call it from the constructor or
    /// <see cref="OnBuild"/>, before building the inner layer.
    /// </summary>
    protected TLayer AddSublayer<TLayer>(TLayer layer) where TLayer : Layer
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer._parent is not null || layer.Built)
            throw new ArgumentException($"{this}: {layer} is already built or part of another layer");
        _sublayers.Add(layer);
        layer._parent = this;
        WeightsChanged();
        layer.Rng = Rng;
        return layer;
    }

    /// <summary>The generator for initializers and randomness in training (dropout); set by the model from its seed.</summary>
    protected internal Rng Rng
    {
        get => _rng;
        set
        {
            _rng = value;
            foreach (var l in _sublayers)
                l.Rng = value;
        }
    }

    private Rng _rng = new(0);

    /// <summary>Builds the layer (once) for a per-sample input shape, creating its weights.</summary>
    public void Build(Shape inputShape)
    {
        if (Built)
        {
            if (!Fits(inputShape))
                throw new ArgumentException($"Layer '{Name}': built for input {_inputShape}, cannot rebuild for {inputShape}");
            return;
        }
        ValidateInputShape(inputShape);
        OnBuild(inputShape);
        _inputShape = inputShape;
        Built = true;
    }

    /// <summary>Runs the layer on a batch [batch, ...inputShape], building it first if needed.</summary>
    /// <exception cref="ArgumentException">The input does not match the shape the layer was built for.</exception>
    public Tensor Forward(Tensor x, bool training = false)
    {
        BuildFor(x);
        return Tapped(Call(x, training));
    }

    /// <summary>Builds the layer for a batch's sample shape, or checks the batch against the built shape.</summary>
    private void BuildFor(Tensor x)
    {
        if (x.Rank < 1)
            throw new ArgumentException($"Layer '{Name}': expected a batch of inputs, got a scalar");
        var sample = new Shape(x.Shape.Dims[1..]);
        if (!Built)
            Build(sample);
        else if (!Fits(sample))
            throw new ArgumentException($"Layer '{Name}': expected input with shape [batch, {string.Join(", ", _inputShape.ToArray())}], got {x.Shape}");
    }

    /// <summary>
    /// Runs the layer on a batch with the mask of its input ([batch, steps]: 1 where a step holds data,
    /// 0 where it is padding; null when the input has none) and returns the mask of its output, as
    /// Keras passes <c>_keras_mask</c> along: <c>Embedding</c> (mask_zero) and <c>Masking</c>
    /// create masks, recurrent and 1-D pooling layers use them, and layers that keep the steps pass them on.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor? mask, bool training, out Tensor? outputMask)
    {
        BuildFor(x);
        if (mask is not null && (mask.Rank != 2 || mask.Shape[0] != x.Shape[0] || x.Rank < 2 || mask.Shape[1] != x.Shape[1]))
            throw new ArgumentException($"Layer '{Name}': a mask must be [batch, steps] = [{x.Shape[0]}, {(x.Rank > 1 ? x.Shape[1] : 0)}] for input {x.Shape}, got {mask.Shape}");
        var y = Tapped(mask is null ? Call(x, training) : Call(x, mask, training));
        outputMask = ComputeMask(x, mask);
        return y;
    }

    /// <summary>The output as the active <see cref="LayerTap"/> on this thread sees it (unchanged when none is).</summary>
    private protected Tensor Tapped(Tensor y) => LayerTap.Current is { } tap ? tap.Visit(this, y) : y;

    /// <summary>
    /// Whether the layer accepts a mask and passes it on unchanged (Keras' supports_masking): true for
    /// layers that work on each step alike (Dense, Dropout, Activation, ...). A layer that does not
    /// drops the mask.
    /// </summary>
    protected virtual bool PropagatesMask => false;

    /// <summary><see cref="PropagatesMask"/>, for the ONNX exporter (which mirrors each layer's mask rule).</summary>
    internal bool PassesMask => PropagatesMask;

    /// <summary>
    /// The mask of the output for an input and its mask (Keras' compute_mask): by default the input's
    /// mask when <see cref="PropagatesMask"/>, else none. Layers that create, change or consume masks
    /// override it; it is written from ops, so a compiled plan computes it too.
    /// </summary>
    public virtual Tensor? ComputeMask(Tensor x, Tensor? mask) => PropagatesMask ? mask : null;

    /// <summary>The math with the input's mask (never null here); by default the mask is not used.</summary>
    protected virtual Tensor Call(Tensor x, Tensor mask, bool training) => Call(x, training);

    /// <summary>
    /// Functional API: the symbolic output of this layer applied to <paramref name="input"/>. Checks the
    /// shape now; the weights are created when the model is assembled (seeded by the model).
    /// </summary>
    /// <exception cref="ArgumentException">The input shape does not suit the layer.</exception>
    public SymbolicTensor Apply(SymbolicTensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (this is MergeLayer)
            throw new ArgumentException($"Layer '{Name}': a merge layer takes at least 2 inputs, got 1");
        if (this is Input)
            throw new InvalidOperationException($"Input '{Name}' cannot be applied to a value; create model inputs with Input.Create(shape)");
        CheckInputShape(input.Shape);
        // A layer applied twice (shared weights) must see the same shape both times.
        if (!Built && _appliedShape is { } first && first != input.Shape)
            throw new ArgumentException($"Layer '{Name}': already applied to input [batch, {string.Join(", ", first.ToArray())}], cannot apply it to [batch, {string.Join(", ", input.Shape.ToArray())}]");
        _appliedShape = input.Shape;
        return new SymbolicTensor(ComputeOutputShape(input.Shape), this, [input]);
    }

    /// <summary>Throws unless the layer accepts this per-sample input shape (the built one, once built).</summary>
    internal void CheckInputShape(Shape inputShape)
    {
        if (!Built)
            ValidateInputShape(inputShape);
        else if (!Fits(inputShape))
            throw new ArgumentException($"Layer '{Name}': expected input with shape [batch, {string.Join(", ", _inputShape.ToArray())}], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    private bool Fits(Shape sample) => sample == _inputShape || ((AnySteps || (PropagatesMask && _inputShape.Rank >= 2)) && sample.Rank == _inputShape.Rank && sample.Rank >= 1
        && (_inputShape.Rank >= 2 || AnySteps)
        && sample[0] >= 1 && sample.Dims[1..].SequenceEqual(_inputShape.Dims[1..]));

    /// <summary>
    /// Whether a built layer takes sequences of any length (the first per-sample axis), like Keras'
    /// recurrent layers built for (None, features); its other axes must still match.
    /// </summary>
    protected virtual bool AnySteps => false;

    /// <summary>The output shape (per sample) for an input shape (per sample).</summary>
    public abstract Shape ComputeOutputShape(Shape inputShape);

    /// <summary>The layer's configuration (what serialization saves).</summary>
    public abstract LayerConfig GetConfig();

    /// <summary>Checks an input shape before building; throws with the layer's name on a bad one.</summary>
    protected virtual void ValidateInputShape(Shape inputShape)
    {
    }

    /// <summary>Creates the weights for the given per-sample input shape.</summary>
    protected virtual void OnBuild(Shape inputShape)
    {
    }

    /// <summary>The math: a batch in, a batch out. <paramref name="training"/> switches dropout and similar.</summary>
    protected abstract Tensor Call(Tensor x, bool training);

    /// <summary>Creates a weight named "layer/name" initialized by <paramref name="initializer"/>.</summary>
    protected Weight AddWeight(string name, int[] shape, IInitializer initializer, Regularizer? regularizer = null, bool trainable = true)
    {
        Models.MemoryBudget.CheckWeight($"{GetType().Name} '{Name}'", name, shape);
        // A model being loaded overwrites every weight from its file: no initializer work (or random draws) for them.
        var value = SkipInitialization ? Tensor.Zeros(shape) : initializer.Create(shape, Rng);
        var w = new Weight($"{WeightPrefix}{Name}/{name}", value, trainable, regularizer);
        _weights.Add(w);
        WeightsChanged();
        return w;
    }

    /// <summary>Set (on this thread) while a model file builds its layers, whose weights it then loads.</summary>
    [ThreadStatic]
    internal static bool SkipInitialization;

    /// <summary>The sum of this layer's weight penalties (a scalar; 0 when none).</summary>
    public Tensor RegularizationLoss()
    {
        Tensor total = Tensor.Scalar(0);
        foreach (var w in Weights)
        {
            if (w.Regularizer is not null)
                total = total + w.Regularizer.Penalty(w.Value);
        }
        return total;
    }

    /// <summary>The kind and name, as error messages quote a layer: "Dense 'dense_1'".</summary>
    public override string ToString() => $"{GetType().Name} '{Name}'";

    private static string DefaultName(Type t)
    {
        // "BatchNormalization" → "batch_normalization", "Conv2D" → "conv2d".
        var sb = new System.Text.StringBuilder();
        string n = t.Name;
        for (int i = 0; i < n.Length; i++)
        {
            if (char.IsUpper(n[i]) && i > 0 && char.IsLower(n[i - 1]))
                sb.Append('_');
            sb.Append(char.ToLowerInvariant(n[i]));
        }
        return sb.ToString();
    }

    private static string UniqueName(string prefix)
    {
        int n = s_nameCounters.AddOrUpdate(prefix, 0, (_, c) => c + 1);
        return n == 0 ? prefix : $"{prefix}_{n}";
    }
}

using System.Text.Json.Serialization;
using Strata.Serialization;

namespace Strata.Layers;

/// <summary>The configuration of an <see cref="Embedding"/> layer.</summary>
public sealed record EmbeddingConfig(string Name, int InputDim, int OutputDim, string EmbeddingsInitializer,
    Regularizer? EmbeddingsRegularizer, bool MaskZero) : LayerConfig(Name);

/// <summary>The configuration of a <see cref="Masking"/> layer.</summary>
public sealed record MaskingConfig(string Name, float MaskValue) : LayerConfig(Name);

/// <summary>The configuration of a <see cref="Bidirectional"/> wrapper: the layer it copies, written as its own class and config.</summary>
public sealed record BidirectionalConfig(string Name, Layer Layer, string MergeMode,
    Layer? BackwardLayer) : LayerConfig(Name);

/// <summary>The configuration of a <see cref="TimeDistributed"/> wrapper.</summary>
public sealed record TimeDistributedConfig(string Name, Layer Layer) : LayerConfig(Name);

/// <summary>
/// Keras' Embedding: token ids [batch, steps] (whole numbers stored as float) → vectors [batch,
/// steps, output_dim], rows of a trainable table [input_dim, output_dim]. With <see cref="MaskZero"/>
/// id 0 is padding: the layer's output mask is ids ≠ 0 and the layers after it skip those steps.
/// </summary>
public sealed class Embedding : Layer
{
    private Weight? _embeddings;

    /// <param name="inputDim">Vocabulary size: ids are 0..inputDim−1.</param>
    /// <param name="outputDim">Vector size.</param>
    /// <param name="embeddingsInitializer">Default uniform in [−0.05, 0.05], as in Keras.</param>
    /// <param name="embeddingsRegularizer">Penalty on the table.</param>
    /// <param name="maskZero">Id 0 is padding (then the vocabulary's real tokens start at 1).</param>
    /// <param name="name">Layer name.</param>
    public Embedding(int inputDim, int outputDim, IInitializer? embeddingsInitializer = null, Regularizer? embeddingsRegularizer = null,
        bool maskZero = false, string? name = null) : base(name)
    {
        if (inputDim < 1 || outputDim < 1)
            throw new ArgumentOutOfRangeException(nameof(inputDim), $"Embedding: input_dim ({inputDim}) and output_dim ({outputDim}) must be at least 1");
        InputDim = inputDim;
        OutputDim = outputDim;
        EmbeddingsInitializer = embeddingsInitializer ?? Initializers.RandomUniform();
        EmbeddingsRegularizer = embeddingsRegularizer;
        MaskZero = maskZero;
    }

    /// <summary>Vocabulary size: the ids are 0..InputDim − 1.</summary>
    public int InputDim { get; }
    /// <summary>The size of each embedding vector.</summary>
    public int OutputDim { get; }
    /// <summary>The table's initializer (default uniform in [−0.05, 0.05], as in Keras).</summary>
    public IInitializer EmbeddingsInitializer { get; }
    /// <summary>Penalty on the table, or null.</summary>
    public Regularizer? EmbeddingsRegularizer { get; }
    /// <summary>Whether id 0 is padding: the layer then emits a mask that is 0 there (the real tokens start at 1).</summary>
    public bool MaskZero { get; }

    /// <summary>The table [input_dim, output_dim] (after build).</summary>
    public Weight Embeddings => _embeddings ?? throw new InvalidOperationException($"Embedding '{Name}' is not built yet");

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new([.. inputShape.Dims, OutputDim]);

    /// <summary>Id sequences of any length.</summary>
    protected override bool AnySteps => true;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (MaskZero && inputShape.Rank != 1)
            throw new ArgumentException($"Embedding '{Name}': with mask_zero the input must be ids [batch, steps], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape) =>
        _embeddings = AddWeight("embeddings", [InputDim, OutputDim], EmbeddingsInitializer, EmbeddingsRegularizer);

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => _embeddings!.Value.Gather(x, $"Embedding '{Name}' (input_dim {InputDim})");

    /// <summary>With mask_zero: 1 where the id is not 0.</summary>
    public override Tensor? ComputeMask(Tensor x, Tensor? mask) => MaskZero ? Tensor.NotEqual(x, Tensor.Scalar(0)) : mask;

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new EmbeddingConfig(Name, InputDim, OutputDim, EmbeddingsInitializer.Name, EmbeddingsRegularizer, MaskZero);
}

/// <summary>
/// Keras' Masking: a step whose features all equal <see cref="MaskValue"/> is padding. The output is
/// the input with those steps zeroed, and its mask marks the others.
/// </summary>
public sealed class Masking(float maskValue = 0, string? name = null) : Layer(name)
{
    /// <summary>The value whose steps are padding (default 0): a step whose features all equal it is masked.</summary>
    public float MaskValue { get; } = maskValue;

    /// <inheritdoc/>
    protected override bool AnySteps => true;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 2)
            throw new ArgumentException($"Masking '{Name}': expected input [batch, steps, features], got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Masks.Zeroed(x, ComputeMask(x, null)!);

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, Tensor mask, bool training) => Call(x, training);

    /// <inheritdoc/>
    public override Tensor? ComputeMask(Tensor x, Tensor? mask) => Tensor.NotEqual(x, Tensor.Scalar(MaskValue)).Max([-1]);

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new MaskingConfig(Name, MaskValue);
}

/// <summary>
/// Keras' Bidirectional: runs a copy of a recurrent layer forwards ("forward_" + its name) and another
/// backwards ("backward_" + its name, or <c>backwardLayer</c>), and merges their outputs — concat
/// (default), sum, mul or ave. With return_sequences the backward outputs are put back in time order
/// first, so step t merges both directions' views of step t.
/// </summary>
public sealed class Bidirectional : Layer
{
    private static readonly string[] s_modes = ["concat", "sum", "mul", "ave"];
    private readonly RecurrentLayer _forward, _backward;

    /// <param name="layer">The recurrent layer to copy (it is not used itself).</param>
    /// <param name="mergeMode">concat, sum, mul or ave.</param>
    /// <param name="backwardLayer">The backward layer (default: a copy of <paramref name="layer"/> going the other way); must go backwards relative to it and return the same kind of output.</param>
    /// <param name="name">Layer name.</param>
    public Bidirectional(Layer layer, string mergeMode = "concat", Layer? backwardLayer = null, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is not RecurrentLayer rnn)
            throw new ArgumentException($"Bidirectional: wraps a recurrent layer (SimpleRnn, Lstm, Gru), got {layer}");
        if (!s_modes.Contains(mergeMode))
            throw new ArgumentException($"Bidirectional: merge_mode must be one of {string.Join(", ", s_modes)}, got '{mergeMode}'");
        if (backwardLayer is not null and not RecurrentLayer)
            throw new ArgumentException($"Bidirectional: the backward layer must be a recurrent layer, got {backwardLayer}");
        Layer = layer;
        MergeMode = mergeMode;
        BackwardLayer = backwardLayer;
        var template = (RecurrentConfig)rnn.GetConfig();
        _forward = AddSublayer((RecurrentLayer)LayerRegistry.FromConfig(rnn, template with { Name = $"forward_{rnn.Name}" }));
        if (backwardLayer is RecurrentLayer back)
        {
            if (back.GoBackwards == rnn.GoBackwards || back.ReturnSequences != rnn.ReturnSequences)
                throw new ArgumentException($"Bidirectional: the backward layer '{back.Name}' must have go_backwards = {!rnn.GoBackwards} and return_sequences = {rnn.ReturnSequences}");
            _backward = AddSublayer((RecurrentLayer)LayerRegistry.FromConfig(back, (RecurrentConfig)back.GetConfig() with { Name = $"backward_{back.Name}" }));
        }
        else
            _backward = AddSublayer((RecurrentLayer)LayerRegistry.FromConfig(rnn, template with { Name = $"backward_{rnn.Name}", GoBackwards = !rnn.GoBackwards }));
        if (_forward.Units != _backward.Units && mergeMode != "concat")
            throw new ArgumentException($"Bidirectional: merge_mode '{mergeMode}' needs both directions to have the same units, got {_forward.Units} and {_backward.Units}");
    }

    /// <summary>The layer given to the constructor (its config is what the wrapper saves).</summary>
    public Layer Layer { get; }
    /// <summary>How the two directions' outputs are merged: concat (default), sum, mul or ave.</summary>
    public string MergeMode { get; }
    /// <summary>
    /// The backward layer given to the constructor, or null when the backward direction is a copy of <see cref="Layer"/>.
    /// </summary>
    public Layer? BackwardLayer { get; }

    /// <summary>The forward copy.</summary>
    public RecurrentLayer ForwardLayer => _forward;

    /// <summary>The backward copy.</summary>
    public RecurrentLayer BackwardCopy => _backward;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape)
    {
        var f = _forward.ComputeOutputShape(inputShape);
        int units = MergeMode == "concat" ? _forward.Units + _backward.Units : _forward.Units;
        return new([.. f.Dims[..^1], units]);
    }

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape) => _forward.CheckInputShape(inputShape);

    /// <inheritdoc/>
    protected override bool AnySteps => true;

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        _forward.Build(inputShape);
        _backward.Build(inputShape);
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Merge(x, null, training);

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, Tensor mask, bool training) => Merge(x, mask, training);

    /// <inheritdoc/>
    public override Tensor? ComputeMask(Tensor x, Tensor? mask) => _forward.ReturnSequences ? mask : null;

    private Tensor Merge(Tensor x, Tensor? mask, bool training)
    {
        var f = _forward.Forward(x, mask, training, out _);
        var b = _backward.Forward(x, mask, training, out _);
        if (_forward.ReturnSequences)
            b = ReverseSteps(b);
        return MergeMode switch
        {
            "concat" => Tensor.Concat([f, b], -1),
            "sum" => f + b,
            "mul" => f * b,
            _ => (f + b) * Tensor.Scalar(0.5f),
        };
    }

    private static Tensor ReverseSteps(Tensor y)
    {
        int t = y.Shape[1];
        var idx = new int[t];
        for (int i = 0; i < t; i++)
            idx[i] = t - 1 - i;
        return y.IndexSelect(1, idx);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new BidirectionalConfig(Name, Layer, MergeMode, BackwardLayer);
}

/// <summary>
/// Keras' TimeDistributed: applies one layer to every step of [batch, steps, ...] alike (the steps
/// folded into the batch), [batch, steps, ...] → [batch, steps, ...its output]. A mask passes on.
/// </summary>
public sealed class TimeDistributed : Layer
{
    private readonly Layer _inner;

    /// <param name="layer">The layer applied to every step (not a merge layer or an input).</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> is null.</exception>
    /// <exception cref="ArgumentException">A layer with several inputs, or an input layer.</exception>
    public TimeDistributed(Layer layer, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is MergeLayer or Input)
            throw new ArgumentException($"TimeDistributed: wraps a one-input layer, got {layer}");
        _inner = AddSublayer(layer);
    }

    /// <summary>The layer applied at each step.</summary>
    public Layer Layer => _inner;

    /// <inheritdoc/>
    protected override bool PropagatesMask => true;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new([inputShape[0], .. _inner.ComputeOutputShape(Step(inputShape)).Dims]);

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank < 2)
            throw new ArgumentException($"TimeDistributed '{Name}': expected input [batch, steps, ...], got [batch, {string.Join(", ", inputShape.ToArray())}]");
        _inner.CheckInputShape(Step(inputShape));
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape) => _inner.Build(Step(inputShape));

    private static Shape Step(Shape s) => new(s.Dims[1..]);

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training)
    {
        int n = x.Shape[0], t = x.Shape[1];
        var folded = x.Reshape([n * t, .. x.Shape.Dims[2..]]);
        var y = _inner.Forward(folded, training);
        return y.Reshape([n, t, .. y.Shape.Dims[1..]]);
    }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new TimeDistributedConfig(Name, _inner);
}

using Strata.Ops;

namespace Strata.Layers;

/// <summary>The configuration of a recurrent layer (<see cref="SimpleRnn"/>, <see cref="Lstm"/>, <see cref="Gru"/>).</summary>
public sealed record RecurrentConfig(string Name, int Units, ActivationFunction Activation, ActivationFunction RecurrentActivation,
    bool UseBias, bool ReturnSequences, bool GoBackwards, float Dropout, float RecurrentDropout, string KernelInitializer,
    string RecurrentInitializer, string BiasInitializer, Regularizer? KernelRegularizer, Regularizer? RecurrentRegularizer,
    Regularizer? BiasRegularizer, bool UnitForgetBias = false, bool ReturnState = false) : LayerConfig(Name);

/// <summary>A recurrent layer's outputs: its usual output, and the final states (h; for an LSTM h and c).</summary>
public sealed record RecurrentResult(Tensor Output, IReadOnlyList<Tensor> States);

/// <summary>
/// What the recurrent layers share (Keras' RNN): [batch, steps, features] in; the last output
/// [batch, units], or every step's [batch, steps, units] with <see cref="ReturnSequences"/>. The
/// whole sequence runs as one fused op (<see cref="Tensor.Recurrent(RecurrentCell, Tensor, Tensor, Tensor, Tensor?, Tensor?, Tensor?, Tensor?, bool, ActivationFunction?, ActivationFunction?, bool, Tensor?)"/>),
/// so 1,000-step sequences train without deep graphs. A mask (from <see cref="Embedding"/> with
/// mask_zero, or <see cref="Masking"/>) makes padded steps leave the state unchanged: a padded
/// sequence gives the output of the unpadded one. <see cref="Run"/> also returns the final states
/// and takes initial ones (Keras' return_state and initial_state).
/// </summary>
public abstract class RecurrentLayer : Layer
{
    private readonly RecurrentCell _cell;
    private Weight? _kernel, _recurrentKernel, _bias;

    private protected RecurrentLayer(RecurrentCell cell, int units, ActivationFunction? activation, ActivationFunction? recurrentActivation,
        bool useBias, bool returnSequences, bool returnState, bool goBackwards, float dropout, float recurrentDropout,
        IInitializer? kernelInitializer, IInitializer? recurrentInitializer, IInitializer? biasInitializer,
        Regularizer? kernelRegularizer, Regularizer? recurrentRegularizer, Regularizer? biasRegularizer, string? name) : base(name)
    {
        string kind = GetType().Name;
        if (units < 1)
            throw new ArgumentOutOfRangeException(nameof(units), $"{kind}: units must be at least 1, got {units}");
        if (!(dropout >= 0 && dropout < 1) || !(recurrentDropout >= 0 && recurrentDropout < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), $"{kind}: dropout ({dropout}) and recurrent_dropout ({recurrentDropout}) must be in [0, 1)");
        _cell = cell;
        Units = units;
        Activation = activation ?? ActivationFunction.Tanh;
        RecurrentActivation = recurrentActivation ?? ActivationFunction.Sigmoid;
        foreach (var a in new[] { Activation, RecurrentActivation })
        {
            if (a == ActivationFunction.Softmax)
                throw new ArgumentException($"{kind}: softmax cannot be a gate activation (the cell applies its activations element by element)");
            if (!a.FusesFromOutput)
                throw new ArgumentException($"{kind}: the activation '{a.Name}' cannot run in the fused cell (its derivative needs its input); use linear, relu, sigmoid, tanh or leaky_relu");
        }
        UseBias = useBias;
        ReturnSequences = returnSequences;
        ReturnState = returnState;
        GoBackwards = goBackwards;
        Dropout = dropout;
        RecurrentDropout = recurrentDropout;
        KernelInitializer = kernelInitializer ?? Initializers.GlorotUniform;
        RecurrentInitializer = recurrentInitializer ?? Initializers.Orthogonal;
        BiasInitializer = biasInitializer ?? Initializers.Zeros;
        KernelRegularizer = kernelRegularizer;
        RecurrentRegularizer = recurrentRegularizer;
        BiasRegularizer = biasRegularizer;
    }

    /// <summary>Size of the state h and of each output step.</summary>
    public int Units { get; }
    /// <summary>The candidate and output activation (default tanh).</summary>
    public ActivationFunction Activation { get; }
    /// <summary>The gate activation (default sigmoid; unused by SimpleRnn).</summary>
    public ActivationFunction RecurrentActivation { get; }
    /// <summary>Whether the cell has a bias b.</summary>
    public bool UseBias { get; }

    /// <summary>Output every step [batch, steps, units] rather than the last [batch, units].</summary>
    public bool ReturnSequences { get; }

    /// <summary>
    /// Keras' return_state. A layer in a model has one output, so the states come from <see cref="Run"/>,
    /// which returns them whatever this says; the flag is kept in the config for models built from Keras-style code.
    /// </summary>
    public bool ReturnState { get; }

    /// <summary>Process the steps last to first (the output sequence is then in that order too, as in Keras).</summary>
    public bool GoBackwards { get; }

    /// <summary>Fraction of the input features dropped in training (one mask per sequence, the same at every step).</summary>
    public float Dropout { get; }

    /// <summary>Fraction of the state h₋₁ dropped before the recurrent kernel in training (one mask per sequence).</summary>
    public float RecurrentDropout { get; }

    /// <summary>Initializer of the input kernel W (default Glorot uniform).</summary>
    public IInitializer KernelInitializer { get; }
    /// <summary>Initializer of the recurrent kernel U (default orthogonal).</summary>
    public IInitializer RecurrentInitializer { get; }
    /// <summary>Initializer of the bias (default zeros).</summary>
    public IInitializer BiasInitializer { get; }
    /// <summary>Penalty on W, or null.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Penalty on U, or null.</summary>
    public Regularizer? RecurrentRegularizer { get; }
    /// <summary>Penalty on b, or null.</summary>
    public Regularizer? BiasRegularizer { get; }

    /// <summary>The cell this layer runs.</summary>
    public RecurrentCell Cell => _cell;

    private int GateCount => _cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    /// <summary>W [features, gates·units] (Keras' kernel, gates side by side in Keras' order).</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"{GetType().Name} '{Name}' is not built yet");

    /// <summary>U [units, gates·units].</summary>
    public Weight RecurrentKernel => _recurrentKernel ?? throw new InvalidOperationException($"{GetType().Name} '{Name}' is not built yet");

    /// <summary>b [gates·units] ([2, 3·units] for the GRU), or null without bias.</summary>
    public Weight? Bias => _bias;

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => ReturnSequences ? new(inputShape[0], Units) : new(Units);

    /// <summary>Any number of steps, once built for its features.</summary>
    protected override bool AnySteps => true;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 2 || inputShape[0] < 1 || inputShape[1] < 1)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected input [batch, steps, features] with at least one step and feature, got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override void OnBuild(Shape inputShape)
    {
        int gh = GateCount * Units;
        _kernel = AddWeight("kernel", [inputShape[1], gh], KernelInitializer, KernelRegularizer);
        _recurrentKernel = AddWeight("recurrent_kernel", [Units, gh], RecurrentInitializer, RecurrentRegularizer);
        if (UseBias)
            _bias = AddWeight("bias", _cell == RecurrentCell.Gru ? [2, gh] : [gh], BiasFor(BiasInitializer), BiasRegularizer);
    }

    /// <summary>The bias initializer as built (the LSTM's unit_forget_bias adds ones to the forget gate).</summary>
    private protected virtual IInitializer BiasFor(IInitializer initializer) => initializer;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => RunCore(x, null, null, training, states: false).Output;

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, Tensor mask, bool training) => RunCore(x, mask, null, training, states: false).Output;

    /// <summary>With <see cref="ReturnSequences"/> the mask passes on (one entry per output step); else the output has no steps.</summary>
    public override Tensor? ComputeMask(Tensor x, Tensor? mask) => ReturnSequences ? mask : null;

    /// <summary>
    /// Runs the layer on [batch, steps, features] and returns its output together with its final
    /// states — h, and for an LSTM also c, each [batch, units] — starting from
    /// <paramref name="initialState"/> (the same list; zeros when null).
    /// </summary>
    /// <exception cref="ArgumentException">A wrong input or state shape, or the wrong number of states.</exception>
    public RecurrentResult Run(Tensor x, Tensor? mask = null, IReadOnlyList<Tensor>? initialState = null, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 3)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected input [batch, steps, features], got {x.Shape}");
        if (!Built)
            Build(new Shape(x.Shape.Dims[1..]));
        CheckInputShape(new Shape(x.Shape.Dims[1..]));
        if (mask is not null && mask.Shape != new Shape(x.Shape[0], x.Shape[1]))
            throw new ArgumentException($"{GetType().Name} '{Name}': mask must be [batch, steps] = [{x.Shape[0]}, {x.Shape[1]}], got {mask.Shape}");
        return RunCore(x, mask, initialState, training, states: true);
    }

    private RecurrentResult RunCore(Tensor x, Tensor? mask, IReadOnlyList<Tensor>? initialState, bool training, bool states)
    {
        int expected = _cell == RecurrentCell.Lstm ? 2 : 1;
        if (initialState is not null && initialState.Count != expected)
            throw new ArgumentException($"{GetType().Name} '{Name}': expected {expected} initial state tensor(s) ({(expected == 2 ? "h, c" : "h")}), got {initialState.Count}");
        int n = x.Shape[0], steps = x.Shape[1];
        Tensor? recMask = null;
        if (training && Dropout > 0)
            x = x * Tensor.DropoutMask(new Shape(n, 1, x.Shape[2]), Dropout, Rng);
        if (training && RecurrentDropout > 0)
            recMask = Tensor.DropoutMask(new Shape(n, Units), RecurrentDropout, Rng);
        bool exportCell = states && _cell == RecurrentCell.Lstm;
        var y = Tensor.Recurrent(_cell, $"{GetType().Name} '{Name}'", x, _kernel!.Value, _recurrentKernel!.Value, _bias?.Value,
            initialState?[0], initialState is { Count: 2 } ? initialState[1] : null, mask, recMask, Activation, RecurrentActivation,
            GoBackwards, exportCell);
        var sequence = exportCell ? y.Slice(1, 0, steps) : y;
        var last = LastStep(sequence, steps);
        var output = ReturnSequences ? sequence : last;
        if (!states)
            return new RecurrentResult(output, []);
        return new RecurrentResult(output, exportCell ? [last, y.Slice(1, steps, 1).Reshape(n, Units)] : [last]);
    }

    private Tensor LastStep(Tensor sequence, int steps) =>
        steps == 1 ? sequence.Reshape(sequence.Shape[0], Units) : sequence.Slice(1, steps - 1, 1).Reshape(sequence.Shape[0], Units);

    private protected bool UnitForgetBiasFlag { get; init; }

    /// <inheritdoc/>
    public override LayerConfig GetConfig() => new RecurrentConfig(Name, Units, Activation, RecurrentActivation, UseBias, ReturnSequences,
        GoBackwards, Dropout, RecurrentDropout, KernelInitializer.Name, RecurrentInitializer.Name, BiasInitializer.Name,
        KernelRegularizer, RecurrentRegularizer, BiasRegularizer, UnitForgetBiasFlag, ReturnState);
}

/// <summary>Keras' SimpleRNN: h = activation(x·W + h₋₁·U + b).</summary>
public sealed class SimpleRnn(int units, ActivationFunction? activation = null, bool useBias = true, bool returnSequences = false,
    bool returnState = false, bool goBackwards = false, float dropout = 0, float recurrentDropout = 0, IInitializer? kernelInitializer = null,
    IInitializer? recurrentInitializer = null, IInitializer? biasInitializer = null, Regularizer? kernelRegularizer = null,
    Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null, string? name = null)
    : RecurrentLayer(RecurrentCell.SimpleRnn, units, activation, ActivationFunction.Sigmoid, useBias, returnSequences, returnState, goBackwards,
        dropout, recurrentDropout, kernelInitializer, recurrentInitializer, biasInitializer, kernelRegularizer, recurrentRegularizer,
        biasRegularizer, name);

/// <summary>
/// Keras' LSTM: gates i, f, c, o side by side in W [features, 4·units], U [units, 4·units], b [4·units];
/// c = f⊙c₋₁ + i⊙tanh(c̃), h = o⊙tanh(c). unit_forget_bias (default) starts the forget gate's bias at 1.
/// </summary>
public sealed class Lstm : RecurrentLayer
{
    /// <param name="units">Size of the state and of the output (≥ 1).</param>
    /// <param name="activation">The candidate and output activation (default tanh).</param>
    /// <param name="recurrentActivation">The gate activation (default sigmoid).</param>
    /// <param name="useBias">Whether the cell has a bias.</param>
    /// <param name="returnSequences">Output every step [batch, steps, units] rather than the last [batch, units].</param>
    /// <param name="returnState">Keras' return_state, kept in the config; the states come from <see cref="RecurrentLayer.Run"/>.</param>
    /// <param name="goBackwards">Process the steps last to first.</param>
    /// <param name="dropout">Fraction of the input features dropped in training, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of the state dropped before the recurrent kernel in training, in [0, 1).</param>
    /// <param name="unitForgetBias">Start the forget gate's bias at 1 (default), as Keras does.</param>
    /// <param name="kernelInitializer">Initializer of W (default Glorot uniform).</param>
    /// <param name="recurrentInitializer">Initializer of U (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of b (default zeros).</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="recurrentRegularizer">Penalty on U.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">Units below 1, or a dropout outside [0, 1).</exception>
    /// <exception cref="ArgumentException">An activation the fused cell cannot run (softmax, or one whose derivative needs its input).</exception>
    public Lstm(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, float dropout = 0, float recurrentDropout = 0,
        bool unitForgetBias = true, IInitializer? kernelInitializer = null, IInitializer? recurrentInitializer = null,
        IInitializer? biasInitializer = null, Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null,
        Regularizer? biasRegularizer = null, string? name = null)
        : base(RecurrentCell.Lstm, units, activation, recurrentActivation, useBias, returnSequences, returnState, goBackwards, dropout,
            recurrentDropout, kernelInitializer, recurrentInitializer, biasInitializer, kernelRegularizer, recurrentRegularizer,
            biasRegularizer, name)
    {
        UnitForgetBias = unitForgetBias;
        UnitForgetBiasFlag = unitForgetBias;
    }

    /// <summary>Whether the forget gate's bias starts at 1 (Keras' unit_forget_bias), so that the cell remembers at first.</summary>
    public bool UnitForgetBias { get; }

    private protected override IInitializer BiasFor(IInitializer initializer) =>
        UnitForgetBias ? new ForgetGateOnes(initializer, Units) : initializer;

    private sealed class ForgetGateOnes(IInitializer inner, int units) : IInitializer
    {
        public string Name => inner.Name;

        public Tensor Create(int[] shape, Rng rng)
        {
            var t = inner.Create(shape, rng);
            t.Data.Slice(units, units).Fill(1f);
            return t;
        }
    }
}

/// <summary>
/// Keras' GRU in its default reset_after form: gates z, r, h in W [features, 3·units], U [units, 3·units],
/// b [2, 3·units] (input and recurrent biases); h̃ = tanh(x·W_h + b_h + r⊙(h₋₁·U_h + b′_h)),
/// h = z⊙h₋₁ + (1 − z)⊙h̃.
/// </summary>
public sealed class Gru : RecurrentLayer
{
    /// <param name="units">Size of the state and of the output (≥ 1).</param>
    /// <param name="activation">The candidate and output activation (default tanh).</param>
    /// <param name="recurrentActivation">The gate activation (default sigmoid).</param>
    /// <param name="useBias">Whether the cell has a bias.</param>
    /// <param name="returnSequences">Output every step [batch, steps, units] rather than the last [batch, units].</param>
    /// <param name="returnState">Keras' return_state, kept in the config; the states come from <see cref="RecurrentLayer.Run"/>.</param>
    /// <param name="goBackwards">Process the steps last to first.</param>
    /// <param name="dropout">Fraction of the input features dropped in training, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of the state dropped before the recurrent kernel in training, in [0, 1).</param>
    /// <param name="resetAfter">Keras' reset_after; only true (the default, the reset gate applied after the recurrent kernel) is implemented.</param>
    /// <param name="kernelInitializer">Initializer of W (default Glorot uniform).</param>
    /// <param name="recurrentInitializer">Initializer of U (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of b (default zeros).</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="recurrentRegularizer">Penalty on U.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="name">Layer name.</param>
    /// <exception cref="ArgumentOutOfRangeException">Units below 1, or a dropout outside [0, 1).</exception>
    /// <exception cref="ArgumentException">An activation the fused cell cannot run (softmax, or one whose derivative needs its input).</exception>
    /// <exception cref="NotSupportedException"><paramref name="resetAfter"/> is false.</exception>
    public Gru(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, float dropout = 0, float recurrentDropout = 0,
        bool resetAfter = true, IInitializer? kernelInitializer = null, IInitializer? recurrentInitializer = null,
        IInitializer? biasInitializer = null, Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null,
        Regularizer? biasRegularizer = null, string? name = null)
        : base(RecurrentCell.Gru, units, activation, recurrentActivation, useBias, returnSequences, returnState, goBackwards, dropout,
            recurrentDropout, kernelInitializer, recurrentInitializer, biasInitializer, kernelRegularizer, recurrentRegularizer,
            biasRegularizer, name)
    {
        if (!resetAfter)
            throw new NotSupportedException($"Gru '{Name}': only Keras' default reset_after = true form is implemented (the reset gate applied after the recurrent kernel)");
    }
}

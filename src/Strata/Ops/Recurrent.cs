using Strata.Layers;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// A recurrent pass over a sequence as one op (see <see cref="RecurrentCell"/> for the cells'
    /// equations and weight layouts, which are Keras'): x [batch, steps, features], kernel
    /// [features, G·units], recurrent kernel [units, G·units] with G = 1 (simple RNN), 4 (LSTM) or 3
    /// (GRU); bias [G·units], or [2, 3·units] for the GRU. Returns h after every step, [batch, steps,
    /// units], in processing order (reversed when <paramref name="goBackwards"/>); with
    /// <paramref name="returnCellState"/> (LSTM only) [batch, steps + 1, units], the last step being
    /// the final cell state. A step whose <paramref name="mask"/> [batch, steps] entry is 0 leaves
    /// the state as it was and repeats the previous output. <paramref name="recurrentDropoutMask"/>
    /// [batch, units] multiplies h₋₁ before the recurrent kernel.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes that do not fit each other (the message quotes them), or an activation that cannot be differentiated from its output.</exception>
    public static Tensor Recurrent(RecurrentCell cell, Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? bias = null,
        Tensor? initialState = null, Tensor? initialCellState = null, Tensor? mask = null, bool goBackwards = false,
        ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool returnCellState = false,
        Tensor? recurrentDropoutMask = null) =>
        Recurrent(cell, cell switch { RecurrentCell.Lstm => "lstm", RecurrentCell.Gru => "gru", _ => "simple_rnn" }, x, kernel,
            recurrentKernel, bias, initialState, initialCellState, mask, recurrentDropoutMask, activation ?? ActivationFunction.Tanh,
            recurrentActivation ?? ActivationFunction.Sigmoid, goBackwards, returnCellState);

    /// <summary>The op with the calling layer's name in its messages.</summary>
    internal static Tensor Recurrent(RecurrentCell cell, string owner, Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? bias,
        Tensor? h0, Tensor? c0, Tensor? mask, Tensor? recurrentDropoutMask, ActivationFunction activation,
        ActivationFunction recurrentActivation, bool goBackwards, bool returnCellState) =>
        Run(new RecurrentNode(cell, owner, x, kernel, recurrentKernel, bias, h0, c0, mask, recurrentDropoutMask, activation,
            recurrentActivation, goBackwards, returnCellState));
}

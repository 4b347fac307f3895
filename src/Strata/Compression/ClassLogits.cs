using Strata.Layers;
using Strata.Models;

namespace Strata.Compression;

/// <summary>
/// How a classifier's class logits are read, for distillation: a softmax only normalizes, and
/// softmax(z / T) is what distillation needs, so the logits z are taken before the softmax where
/// the layers allow it — a <see cref="Sequential"/> ending in a softmax <see cref="Dense"/> (its
/// linear part, the same op the layer runs, on the output of the layers before it) or in a softmax
/// <see cref="Activation"/> (its input). Another model whose output layer is a softmax gives
/// log-probabilities: log p = z − logsumexp(z), and softmax is unchanged by a shift, so
/// softmax(log p / T) = softmax(z / T). A model whose output layer has no activation gives logits
/// as they are; one that ends in another activation (sigmoid, ReLU, …) has no class logits to read.
/// </summary>
internal sealed class ClassLogits
{
    // log p of a probability that underflowed stays finite (and its gradient bounded) below this.
    private const float MinProbability = 1e-30f;

    private readonly Kind _kind;

    private ClassLogits(Kind kind) => _kind = kind;

    private enum Kind
    {
        /// <summary>The output is the logits.</summary>
        Output,
        /// <summary>The last layer is a softmax Dense: its linear part on the output of the layers before.</summary>
        DenseBeforeSoftmax,
        /// <summary>The last layer is a softmax Activation: its input.</summary>
        ActivationInput,
        /// <summary>The output is a softmax's: log p.</summary>
        LogProbabilities,
    }

    /// <summary>Whether the logits are taken before the softmax (else as the output or its log).</summary>
    public bool BeforeSoftmax => _kind is Kind.DenseBeforeSoftmax or Kind.ActivationInput;

    /// <summary>What the logits are, in words (for messages and Summary).</summary>
    public string Description => _kind switch
    {
        Kind.DenseBeforeSoftmax => "the final Dense's values before its softmax",
        Kind.ActivationInput => "the input of the final softmax",
        Kind.LogProbabilities => "the log of the softmax output",
        _ => "the output (no activation at the end)",
    };

    /// <summary>Reads how <paramref name="model"/>'s logits are found.</summary>
    /// <param name="model">The network.</param>
    /// <param name="role">"teacher" or "student", for the message.</param>
    /// <exception cref="ArgumentException">The output layer ends in an activation that is neither softmax nor linear.</exception>
    public static ClassLogits Of(Model model, string role)
    {
        var last = model is Sequential s ? s.Layers.Count > 0 ? s.Layers[^1] : null : model.Graph?.Output.Layer;
        var activation = last switch
        {
            Dense d => d.Activation,
            Activation a => a.Function,
            _ => null,
        };
        if (activation is null || activation.IsLinear)
            return new(Kind.Output);
        if (activation is not SoftmaxActivation)
            throw new ArgumentException($"Distiller: the {role} '{model.Name}' ends in {last} with the {activation.Name} activation; distillation needs class scores: logits (no activation) or softmax probabilities");
        return new(model is Sequential ? last is Dense ? Kind.DenseBeforeSoftmax : Kind.ActivationInput : Kind.LogProbabilities);
    }

    /// <summary>Runs the network once: its output (what Forward gives) and its logits.</summary>
    public (Tensor Output, Tensor Logits) Run(Model model, Tensor[] x, bool training)
    {
        switch (_kind)
        {
            case Kind.DenseBeforeSoftmax:
            case Kind.ActivationInput:
            {
                if (x.Length != 1)
                    throw new ArgumentException($"Distiller: Sequential '{model.Name}' takes one input, got {x.Length}");
                var layers = model.Layers;
                // The layers before the last, as Sequential.Forward runs them (masks travel with the values).
                var h = x[0];
                Tensor? mask = null;
                for (int i = 0; i < layers.Count - 1; i++)
                    h = layers[i].Forward(h, mask, training, out mask);
                if (layers[^1] is Activation act)
                    return (act.Function.Apply(h), h);
                var dense = (Dense)layers[^1];
                if (!dense.Built)
                    dense.Build(new Shape(h.Shape.Dims[1..]));
                // Dense's own op without the activation: z = x·W + b, then the softmax the layer applies.
                var z = Tensor.Linear(h, dense.Kernel.Value, dense.Bias?.Value, ActivationFunction.Linear);
                return (dense.Activation.Apply(z), z);
            }
            case Kind.LogProbabilities:
            {
                var p = model.Forward(x, training);
                return (p, p.Clamp(MinProbability, 1).Log());
            }
            default:
            {
                var y = model.Forward(x, training);
                return (y, y);
            }
        }
    }
}

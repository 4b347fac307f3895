using Strata.Autograd;
using Strata.Ops;

namespace Strata
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// An inverted-dropout mask of the given shape, drawn from <paramref name="rng"/> each time the
        /// op runs (one draw per element, in order): 1/(1 − rate) with probability 1 − rate, else 0.
        /// Not differentiable (it has no inputs).
        /// </summary>
        internal static Tensor DropoutMask(Shape shape, float rate, Rng rng) => Run(new DropoutMaskNode(shape, rate, rng));

        /// <summary>
        /// moving ← momentum·moving + (1 − momentum)·value, in place, each time the op runs (batch
        /// normalization's statistics). Returns its (empty) result; it has no gradient.
        /// </summary>
        internal static void UpdateMovingAverage(Tensor moving, Tensor value, float momentum) =>
            Run(new MovingAverageNode(moving, value, momentum));
    }
}

namespace Strata.Ops
{
    internal sealed class DropoutMaskNode(Shape shape, float rate, Rng rng) : OpNode("dropout_mask", [], shape)
    {
        public override string Attributes => $"{rate}";

        public override void Forward()
        {
            var m = Output.Data;
            float keep = 1f / (1 - rate);
            for (int i = 0; i < m.Length; i++)
                m[i] = rng.NextFloat() >= rate ? keep : 0f;
        }

        public override void Backward(Span<float> gy, GradSink grads)
        {
            // No inputs.
        }
    }

    internal sealed class MovingAverageNode(Tensor moving, Tensor value, float momentum) : OpNode("moving_average", [value], Shape.Scalar)
    {
        public override string Attributes => $"{momentum};{moving.Name}";

        public override void Forward()
        {
            var m = moving.Data;
            var b = Inputs[0].Span;
            for (int i = 0; i < m.Length; i++)
                m[i] = momentum * m[i] + (1 - momentum) * b[i];
        }

        public override void Backward(Span<float> gy, GradSink grads)
        {
            // A side effect: no gradient flows through it.
        }
    }
}

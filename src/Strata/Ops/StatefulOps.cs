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
}

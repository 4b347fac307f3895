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

        public override object? State => rng;

        public override bool BackwardReadsInput(int i, bool[] wants) => false;

        public override bool BackwardReadsOutput(bool[] wants) => false;

        public override void Forward()
        {
            var m = Output.Data;
            float keep = 1f / (1 - rate);
            rng.FillUniform(m); // one draw per element, in order; then kept where the draw is ≥ rate
            int i = 0;
            if (System.Numerics.Vector.IsHardwareAccelerated)
            {
                var vr = new System.Numerics.Vector<float>(rate);
                var vk = new System.Numerics.Vector<float>(keep);
                int w = System.Numerics.Vector<float>.Count;
                for (; i <= m.Length - w; i += w)
                {
                    var u = new System.Numerics.Vector<float>(m.Slice(i, w));
                    System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThanOrEqual(u, vr), vk, System.Numerics.Vector<float>.Zero).CopyTo(m.Slice(i, w));
                }
            }
            for (; i < m.Length; i++)
                m[i] = m[i] >= rate ? keep : 0f;
        }

        public override void Backward(Span<float> gy, GradSink grads)
        {
            // No inputs.
        }
    }

    /// <summary>Random values drawn from an <see cref="Rng"/> each time the op runs (no inputs, no gradient).</summary>
    internal sealed class RandomNode(Shape shape, Rng rng, bool normal, float a, float b) : OpNode(normal ? "random_normal" : "random_uniform", [], shape)
    {
        public override string Attributes => $"{a};{b}";

        public override object? State => rng;

        public override bool BackwardReadsInput(int i, bool[] wants) => false;

        public override bool BackwardReadsOutput(bool[] wants) => false;

        public override void Forward() => Fill(Output.Data, rng, normal, a, b);

        public override void Backward(Span<float> gy, GradSink grads)
        {
            // No inputs.
        }

        /// <summary>normal: mean a, standard deviation b; else uniform in [a, b).</summary>
        public static void Fill(Span<float> d, Rng rng, bool normal, float a, float b)
        {
            if (normal)
            {
                for (int i = 0; i < d.Length; i++)
                    d[i] = a + b * rng.NextNormal();
            }
            else
            {
                for (int i = 0; i < d.Length; i++)
                    d[i] = a + (b - a) * rng.NextFloat();
            }
        }
    }
}

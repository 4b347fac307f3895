using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Optimizers;

/// <summary>
/// Stochastic gradient descent, with optional momentum (Keras form): v ← μv − lr·g, then w ← w + v, or
/// with Nesterov w ← w + μv − lr·g. Without momentum: w ← w − lr·g (plain gradient descent).
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <param name="learningRate">The rate (&gt; 0, default 0.01), when there is no schedule.</param>
    /// <param name="momentum">μ, in [0, 1) (default 0: plain gradient descent).</param>
    /// <param name="nesterov">Whether to use Nesterov momentum.</param>
    /// <param name="schedule">A rate per step, in place of <paramref name="learningRate"/>.</param>
    /// <param name="clipValue">Clamp each gradient element to [−v, v].</param>
    /// <param name="clipNorm">Rescale each gradient tensor whose L2 norm exceeds this.</param>
    /// <param name="globalClipNorm">Rescale all gradients together when their joint L2 norm exceeds this.</param>
    /// <exception cref="ArgumentOutOfRangeException">A momentum outside [0, 1), or a rate or clip that is not positive.</exception>
    public Sgd(float learningRate = 0.01f, float momentum = 0, bool nesterov = false, ILearningRateSchedule? schedule = null,
        float? clipValue = null, float? clipNorm = null, float? globalClipNorm = null)
        : base("sgd", learningRate, schedule, clipValue, clipNorm, globalClipNorm)
    {
        if (!(momentum >= 0 && momentum < 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"sgd: momentum must be in [0, 1), got {momentum}");
        Momentum = momentum;
        Nesterov = nesterov;
    }

    /// <summary>μ, the weight of the previous velocity, in [0, 1); 0: plain gradient descent.</summary>
    public float Momentum { get; }
    /// <summary>Whether the step uses Nesterov momentum: w ← w + μv − lr·g.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override int SlotCount => Momentum > 0 ? 1 : 0;

    /// <inheritdoc/>
    protected override string SlotName(int slot) => "velocity";

    /// <inheritdoc/>
    protected override OptimizerConfig CreateConfig() => new SgdConfig(Momentum, Nesterov);

    /// <inheritdoc/>
    protected override void UpdateStep(Span<float> w, ReadOnlySpan<float> g, float[][] slots, float lr)
    {
        if (Momentum == 0)
            TensorPrimitives.MultiplyAdd(g, -lr, w, w); // w ← w − lr·g
        else
            OptimizerKernels.SgdMomentum(w, g, slots[0], Momentum, lr, Nesterov);
    }
}

/// <summary>AdaGrad: a ← a + g², w ← w − lr·g / (√a + ε), a starting at 0.1 (Keras' default).</summary>
public sealed class Adagrad(float learningRate = 0.001f, float initialAccumulator = 0.1f, float epsilon = 1e-7f,
    ILearningRateSchedule? schedule = null, float? clipValue = null, float? clipNorm = null, float? globalClipNorm = null)
    : Optimizer("adagrad", learningRate, schedule, clipValue, clipNorm, globalClipNorm)
{
    /// <summary>The accumulator's starting value a₀ (default 0.1).</summary>
    public float InitialAccumulator { get; } = initialAccumulator;
    /// <summary>ε, added to √a in the denominator (default 10⁻⁷).</summary>
    public float Epsilon { get; } = epsilon;

    /// <inheritdoc/>
    protected override int SlotCount => 1;

    /// <inheritdoc/>
    protected override float SlotInitialValue(int slot) => InitialAccumulator;

    /// <inheritdoc/>
    protected override string SlotName(int slot) => "accumulator";

    /// <inheritdoc/>
    protected override OptimizerConfig CreateConfig() => new AdagradConfig(InitialAccumulator, Epsilon);

    /// <inheritdoc/>
    protected override void UpdateStep(Span<float> w, ReadOnlySpan<float> g, float[][] slots, float lr)
    {
        OptimizerKernels.Adagrad(w, g, slots[0], lr, Epsilon);
    }
}

/// <summary>
/// RMSprop: s ← ρs + (1 − ρ)g², w ← w − lr·g / (√s + ε); with momentum μ the step goes through a
/// velocity m ← μm + lr·g/(√s + ε), w ← w − m.
/// </summary>
public sealed class RmsProp(float learningRate = 0.001f, float rho = 0.9f, float momentum = 0, float epsilon = 1e-7f,
    ILearningRateSchedule? schedule = null, float? clipValue = null, float? clipNorm = null, float? globalClipNorm = null)
    : Optimizer("rmsprop", learningRate, schedule, clipValue, clipNorm, globalClipNorm)
{
    /// <summary>ρ, the decay of the mean square (default 0.9).</summary>
    public float Rho { get; } = rho;
    /// <summary>μ, the momentum of the velocity (default 0: none).</summary>
    public float Momentum { get; } = momentum;
    /// <summary>ε, added to √s in the denominator (default 10⁻⁷).</summary>
    public float Epsilon { get; } = epsilon;

    /// <inheritdoc/>
    protected override int SlotCount => Momentum > 0 ? 2 : 1;

    /// <inheritdoc/>
    protected override string SlotName(int slot) => slot == 0 ? "mean_square" : "momentum";

    /// <inheritdoc/>
    protected override OptimizerConfig CreateConfig() => new RmsPropConfig(Rho, Momentum, Epsilon);

    /// <inheritdoc/>
    protected override void UpdateStep(Span<float> w, ReadOnlySpan<float> g, float[][] slots, float lr)
    {
        OptimizerKernels.RmsProp(w, g, slots[0], Momentum > 0 ? slots[1] : [], Rho, Momentum, lr, Epsilon);
    }
}

/// <summary>
/// Adam (Kingma and Ba): m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², w ← w − lr·m̂/(√v̂ + ε) with
/// m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ). AdamW adds decoupled weight decay: w ← w − lr·λ·w first.
/// </summary>
public class Adam : Optimizer
{
    /// <param name="learningRate">The rate (&gt; 0, default 0.001), when there is no schedule.</param>
    /// <param name="beta1">β₁, the decay of the first moment (default 0.9).</param>
    /// <param name="beta2">β₂, the decay of the second moment (default 0.999).</param>
    /// <param name="epsilon">ε, added to √v̂ in the denominator (default 10⁻⁷).</param>
    /// <param name="schedule">A rate per step, in place of <paramref name="learningRate"/>.</param>
    /// <param name="clipValue">Clamp each gradient element to [−v, v].</param>
    /// <param name="clipNorm">Rescale each gradient tensor whose L2 norm exceeds this.</param>
    /// <param name="globalClipNorm">Rescale all gradients together when their joint L2 norm exceeds this.</param>
    /// <exception cref="ArgumentOutOfRangeException">A rate or clip that is not positive.</exception>
    public Adam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f,
        ILearningRateSchedule? schedule = null, float? clipValue = null, float? clipNorm = null, float? globalClipNorm = null)
        : this("adam", learningRate, beta1, beta2, epsilon, 0, schedule, clipValue, clipNorm, globalClipNorm)
    {
    }

    private protected Adam(string name, float learningRate, float beta1, float beta2, float epsilon, float weightDecay,
        ILearningRateSchedule? schedule, float? clipValue, float? clipNorm, float? globalClipNorm)
        : base(name, learningRate, schedule, clipValue, clipNorm, globalClipNorm)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    /// <summary>β₁, the decay of the first moment m.</summary>
    public float Beta1 { get; }
    /// <summary>β₂, the decay of the second moment v.</summary>
    public float Beta2 { get; }
    /// <summary>ε, added to √v̂ in the denominator.</summary>
    public float Epsilon { get; }
    /// <summary>λ, the decoupled weight decay (0 for Adam; AdamW's).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    protected override int SlotCount => 2;

    /// <inheritdoc/>
    protected override string SlotName(int slot) => slot == 0 ? "m" : "v";

    /// <inheritdoc/>
    protected override OptimizerConfig CreateConfig() => new AdamConfig(Beta1, Beta2, Epsilon);

    /// <inheritdoc/>
    protected override void UpdateStep(Span<float> w, ReadOnlySpan<float> g, float[][] slots, float lr)
    {
        long t = Iterations + 1;
        float c1 = 1 - MathF.Pow(Beta1, t), c2 = 1 - MathF.Pow(Beta2, t);
        if (WeightDecay != 0)
            TensorPrimitives.Multiply(w, 1 - lr * WeightDecay, w); // decoupled: w ← w − lr·λ·w
        OptimizerKernels.Adam(w, g, slots[0], slots[1], Beta1, Beta2, lr, 1 / c1, 1 / c2, Epsilon);
    }
}

/// <summary>Adam with decoupled weight decay (Loshchilov and Hutter); Keras' default decay 0.004.</summary>
public sealed class AdamW(float learningRate = 0.001f, float weightDecay = 0.004f, float beta1 = 0.9f, float beta2 = 0.999f,
    float epsilon = 1e-7f, ILearningRateSchedule? schedule = null, float? clipValue = null, float? clipNorm = null,
    float? globalClipNorm = null)
    : Adam("adamw", learningRate, beta1, beta2, epsilon, weightDecay, schedule, clipValue, clipNorm, globalClipNorm)
{
    /// <inheritdoc/>
    protected override OptimizerConfig CreateConfig() => new AdamWConfig(Beta1, Beta2, Epsilon, WeightDecay);
}

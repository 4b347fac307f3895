using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Onnx;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

/// <summary>A user's own optimizer, loss, schedule, metric and activation, registered the way a user registers them.</summary>
internal static class CustomExtensions
{
    /// <summary>Registers every custom type below (idempotent: the same name and type again replaces the factory).</summary>
    public static void EnsureRegistered()
    {
        OptimizerRegistry.Register<TestSignMomentum, TestSignMomentumConfig>("test_sign_momentum",
            c => new TestSignMomentum(c.LearningRate ?? 0, c.Beta, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        LossRegistry.Register<TestScaledMse, TestScaledMseConfig>("test_scaled_mse", c => new TestScaledMse(c.Scale, c.Reduction));
        ScheduleRegistry.Register<TestHalving>("test_halving");
        MetricRegistry.Register<TestWithin, TestWithinConfig>("test_within", c => new TestWithin(c.Tolerance, c.Name));
        ActivationRegistry.Register<TestSwishBeta, TestBetaConfig>("test_swish_beta", c => new TestSwishBeta(c.Beta));
        ActivationRegistry.Register("test_cube", () => new TestCube());
        // x·σ(βx) in ONNX; test_cube deliberately has no ONNX form.
        OnnxActivations.Register("test_swish_beta", c =>
        {
            float beta = ((TestBetaConfig)c.Activation.GetConfig()!).Beta;
            var scaled = c.Node("Mul", [c.Input, c.Constant([beta])]);
            return c.Node("Mul", [c.Input, c.Node("Sigmoid", [scaled])]);
        });
    }
}

public sealed record TestSignMomentumConfig(float Beta) : OptimizerConfig;

/// <summary>m ← βm + (1 − β)g, w ← w − lr·sign(m): one named slot per weight.</summary>
public sealed class TestSignMomentum(float learningRate = 0.01f, float beta = 0.9f, ILearningRateSchedule? schedule = null,
    float? clipValue = null, float? clipNorm = null, float? globalClipNorm = null)
    : Optimizer("test_sign_momentum", learningRate, schedule, clipValue, clipNorm, globalClipNorm)
{
    public float Beta { get; } = beta;

    protected override int SlotCount => 1;

    protected override string SlotName(int slot) => "momentum";

    protected override OptimizerConfig CreateConfig() => new TestSignMomentumConfig(Beta);

    protected override void UpdateStep(Span<float> w, ReadOnlySpan<float> g, float[][] slots, float lr)
    {
        var m = slots[0];
        for (int i = 0; i < w.Length; i++)
        {
            m[i] = Beta * m[i] + (1 - Beta) * g[i];
            w[i] -= lr * MathF.Sign(m[i]);
        }
    }
}

public sealed record TestScaledMseConfig(float Scale, LossReduction Reduction) : LossConfig(Reduction);

/// <summary>scale · mean((y − ŷ)²) per sample.</summary>
public sealed class TestScaledMse(float scale, LossReduction reduction = LossReduction.SumOverBatchSize) : Loss("test_scaled_mse", reduction)
{
    public float Scale { get; } = scale;

    public override LossConfig GetConfig() => new TestScaledMseConfig(Scale, Reduction);

    protected override Tensor PerSample(Tensor yTrue, Tensor yPred) => MeanPerSample((yPred - yTrue).Square()) * Scale;
}

/// <summary>lr₀ · ½^⌊step / every⌋: a record, registered as its own config.</summary>
public sealed record TestHalving(float Initial, long Every) : ILearningRateSchedule
{
    public float Rate(long step) => Initial * MathF.Pow(0.5f, step / Every);
}

public sealed record TestWithinConfig(string Name, float Tolerance) : MetricConfig(Name);

/// <summary>The fraction of samples whose every output is within the tolerance of its target.</summary>
public sealed class TestWithin(float tolerance, string name = "within") : MeanPerSample(name)
{
    public float Tolerance { get; } = tolerance;

    public override MetricConfig GetConfig() => new TestWithinConfig(Name, Tolerance);

    protected override float Score(Tensor yTrue, Tensor yPred, int i)
    {
        var t = Row(yTrue, i);
        var p = Row(yPred, i);
        for (int j = 0; j < p.Length; j++)
        {
            if (MathF.Abs(p[j] - t[j]) > Tolerance)
                return 0;
        }
        return 1;
    }
}

public sealed record TestBetaConfig(float Beta);

/// <summary>x·σ(βx), written from ops (the gradient comes from them).</summary>
public sealed class TestSwishBeta(float beta) : ActivationFunction("test_swish_beta")
{
    public float Beta { get; } = beta;

    public override Tensor Apply(Tensor x) => x * (x * Beta).Sigmoid();

    public override object? GetConfig() => new TestBetaConfig(Beta);
}

/// <summary>x³: registered, but without an ONNX form.</summary>
public sealed class TestCube() : ActivationFunction("test_cube")
{
    public override Tensor Apply(Tensor x) => x * x * x;
}

using Strata.Optimizers;

namespace Strata.Tests.Optimizers;

/// <summary>The first steps of each optimizer against values worked out by hand (derivations in comments).</summary>
public sealed class OptimizerTests
{
    /// <summary>One parameter w (start 1.0) with the gradient sequence g; returns w after each step.</summary>
    private static float[] Run(Optimizer opt, params float[] grads)
    {
        var w = Tensor.FromArray([1f]);
        w.RequiresGrad = true;
        var result = new float[grads.Length];
        for (int i = 0; i < grads.Length; i++)
        {
            opt.ApplyGradients([(Tensor.FromArray([grads[i]]), w)]);
            result[i] = w[0];
        }
        return result;
    }

    private static void Near(double expected, float actual) => Assert.Equal(expected, actual, 5);

    [Fact]
    public void Sgd_is_w_minus_lr_g()
    {
        var w = Run(new Sgd(0.1f), 0.5f, -1f);
        Near(1 - 0.1 * 0.5, w[0]); // 0.95
        Near(0.95 + 0.1, w[1]); // 1.05
    }

    [Fact]
    public void Sgd_momentum_accumulates_velocity()
    {
        // v1 = −0.1·1 = −0.1 → w = 0.9; v2 = 0.9·(−0.1) − 0.1·1 = −0.19 → w = 0.71.
        var w = Run(new Sgd(0.1f, momentum: 0.9f), 1f, 1f);
        Near(0.9, w[0]);
        Near(0.71, w[1]);
    }

    [Fact]
    public void Sgd_nesterov_looks_ahead()
    {
        // v1 = −0.1 → w = 1 + 0.9·(−0.1) − 0.1 = 0.81; v2 = −0.19 → w = 0.81 + 0.9·(−0.19) − 0.1 = 0.539.
        var w = Run(new Sgd(0.1f, momentum: 0.9f, nesterov: true), 1f, 1f);
        Near(0.81, w[0]);
        Near(0.539, w[1]);
    }

    [Fact]
    public void Adagrad_divides_by_the_root_of_the_accumulated_squares()
    {
        // a1 = 0.1 + 1 = 1.1 → w = 1 − 0.1·1/√1.1 = 0.904653; a2 = 1.1 + 4 = 5.1 → w −= 0.1·2/√5.1.
        var w = Run(new Adagrad(0.1f, epsilon: 0), 1f, 2f);
        Near(1 - 0.1 / Math.Sqrt(1.1), w[0]);
        Near(1 - 0.1 / Math.Sqrt(1.1) - 0.2 / Math.Sqrt(5.1), w[1]);
    }

    [Fact]
    public void RmsProp_uses_a_moving_average_of_squares()
    {
        // s1 = 0.1·1 = 0.1 → w = 1 − 0.01/√0.1; s2 = 0.9·0.1 + 0.1·4 = 0.49 → w −= 0.01·2/0.7.
        var w = Run(new RmsProp(0.01f, rho: 0.9f, epsilon: 0), 1f, 2f);
        Near(1 - 0.01 / Math.Sqrt(0.1), w[0]);
        Near(1 - 0.01 / Math.Sqrt(0.1) - 0.02 / 0.7, w[1]);
    }

    [Fact]
    public void Adam_first_steps_are_bias_corrected()
    {
        // Step 1: m̂ = g, v̂ = g² → w −= lr·g/|g| = lr. Step 2 with g = 2:
        // m = 0.9·0.1 + 0.1·2 = 0.29, m̂ = 0.29/0.19; v = 0.999·0.001 + 0.001·4 = 0.004999, v̂ = 0.004999/0.001999.
        var w = Run(new Adam(0.01f, epsilon: 0), 1f, 2f);
        Near(0.99, w[0]);
        Near(0.99 - 0.01 * (0.29 / 0.19) / Math.Sqrt(0.004999 / 0.001999), w[1]);
    }

    [Fact]
    public void AdamW_decays_weights_before_the_adam_step()
    {
        // w = 1 − 0.01·0.1·1 = 0.999, then the Adam step of 0.01 → 0.989.
        var w = Run(new AdamW(0.01f, weightDecay: 0.1f, epsilon: 0), 1f);
        Near(0.989, w[0]);
    }

    [Fact]
    public void Schedules_give_the_documented_rates()
    {
        Near(0.1 * Math.Pow(0.5, 0.5), new ExponentialDecay(0.1f, 10, 0.5f).Rate(5));
        Near(0.1, new ExponentialDecay(0.1f, 10, 0.5f, Staircase: true).Rate(9));
        Near(0.05, new ExponentialDecay(0.1f, 10, 0.5f, Staircase: true).Rate(10));
        var pw = new PiecewiseConstantDecay([10, 20], [1f, 0.5f, 0.1f]);
        Assert.Equal([1f, 1f, 0.5f, 0.1f], new long[] { 0, 10, 11, 21 }.Select(pw.Rate).ToArray());
        Near(0.1 / (1 + 0.5 * 2), new InverseTimeDecay(0.1f, 1, 0.5f).Rate(2));
        Near(0.1, new CosineDecay(0.1f, 100).Rate(0));
        Near(0.05, new CosineDecay(0.1f, 100).Rate(50));
        Near(0.01, new CosineDecay(0.1f, 100, Alpha: 0.1f).Rate(500));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([1], [1f]));
    }

    [Fact]
    public void A_schedule_drives_the_step_size()
    {
        // Rates 0.1 then 0.05 (staircase halving every step).
        var w = Run(new Sgd(schedule: new ExponentialDecay(0.1f, 1, 0.5f, Staircase: true)), 1f, 1f);
        Near(0.9, w[0]);
        Near(0.85, w[1]);
    }

    [Fact]
    public void Clipping_by_value_norm_and_global_norm()
    {
        Near(1 - 0.1 * 0.5, Run(new Sgd(0.1f, clipValue: 0.5f), 3f)[0]);
        // Per-tensor norm: g = (3, 4) has norm 5 → scaled to norm 1: (0.6, 0.8).
        var w = Tensor.FromArray([0f, 0f]);
        w.RequiresGrad = true;
        new Sgd(1f, clipNorm: 1f).ApplyGradients([(Tensor.FromArray([3f, 4f]), w)]);
        Assert.Equal([-0.6f, -0.8f], w.ToArray());
        // Global norm over two tensors (3) and (4): joint norm 5 → both scaled by 1/5.
        var a = Tensor.FromArray([0f]);
        var b = Tensor.FromArray([0f]);
        a.RequiresGrad = b.RequiresGrad = true;
        new Sgd(1f, globalClipNorm: 1f).ApplyGradients([(Tensor.FromArray([3f]), a), (Tensor.FromArray([4f]), b)]);
        Near(-0.6, a[0]);
        Near(-0.8, b[0]);
    }

    [Fact]
    public void Bad_settings_are_rejected_with_the_optimizer_name()
    {
        Assert.Contains("sgd", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(-1f)).Message);
        Assert.Contains("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1f, momentum: 1f)).Message);
        Assert.Contains("clipNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(clipNorm: 0f)).Message);
        var opt = new Sgd(schedule: new CosineDecay(0.1f, 10));
        Assert.Throws<InvalidOperationException>(() => opt.LearningRate = 0.5f);
    }
}

using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// The fused batch-normalization op over the last (channel) axis of <paramref name="x"/>:
    /// y = γ·(x − μ)/√(σ² + ε) + β. In training μ, σ² are the batch's per-channel mean and biased
    /// variance, and each run also updates the moving statistics (m ← momentum·m + (1 − momentum)·batch
    /// value, in place); in inference they are the moving statistics. γ, β are optional ([channels]).
    /// Backward (training): ∂x = γ/σ̂·(g − mean(g) − x̂·mean(g·x̂)), ∂γ = Σ g·x̂, ∂β = Σ g, with x̂ the
    /// normalized input; in inference ∂x = γ/σ̂·g.
    /// </summary>
    internal static Tensor BatchNorm(Tensor x, Tensor? gamma, Tensor? beta, Tensor movingMean, Tensor movingVariance,
        float momentum, float epsilon, bool training) =>
        Run(new BatchNormNode(x, gamma, beta, movingMean, movingVariance, momentum, epsilon, training));
}

using Strata.Explain;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Explain;

/// <summary>Each method against its definition on models where the answer is known in closed form, and batching.</summary>
public sealed class MethodDefinitionTests
{
    private static Sequential Linear(out float[] w)
    {
        var model = new Sequential([new Input([4]), new Dense(3)], seed: 6);
        model.Build(4);
        w = model.Layers[1].Weights[0].Value.ToArray(); // [4, 3]
        return model;
    }

    [Fact]
    public void Saliency_modes_on_a_linear_model_are_the_weights_their_magnitude_and_the_weights_times_the_input()
    {
        var model = Linear(out var w);
        var x = TestData.Tensor(2, 3, 4);
        int[] targets = [2, 0, 1];
        var explainer = new Explainer(model);
        var g = explainer.Saliency(x, targets).Map.ToArray();
        var a = explainer.Saliency(x, targets, SaliencyMode.AbsoluteGradient).Map.ToArray();
        var gx = explainer.Saliency(x, targets, SaliencyMode.GradientTimesInput).Map.ToArray();
        for (int i = 0; i < 3; i++)
        {
            for (int k = 0; k < 4; k++)
            {
                float wk = w[k * 3 + targets[i]];
                Assert.Equal(wk, g[i * 4 + k], 1e-6f);
                Assert.Equal(MathF.Abs(wk), a[i * 4 + k], 1e-6f);
                Assert.Equal(wk * x.Span[i * 4 + k], gx[i * 4 + k], 1e-6f);
            }
        }
    }

    [Fact]
    public void Smoothgrad_noise_has_the_stated_scale()
    {
        // f(x) = (w·x)² with w = (1, 1, 0, 0) and x = (1, −1, 0, 0): w·x = 0, the value range is 2, so
        // σ = 2·noise and |∂f/∂x_k| = 2|w·n|·|w_k| with w·n ~ N(0, 2σ²): E = 2·|w_k|·σ√2·√(2/π).
        var input = Input.Create([4], "x");
        var dense = new Dense(1, useBias: false);
        var h = dense.Apply(input);
        var model = new Model(input, new Multiply().Apply(h, h), seed: 1);
        var kernel = dense.Weights[0].Value.AsWritableSpan();
        kernel.Clear();
        kernel[0] = kernel[1] = 1;
        var x = Tensor.FromArray([1f, -1f, 0f, 0f], 1, 4);
        const float noise = 0.1f;
        var map = new Explainer(model).SmoothGrad(x, [0], noiseLevel: noise, samples: 4000, mode: SaliencyMode.AbsoluteGradient, seed: 2).Map.ToArray();
        double sigma = noise * 2, expected = 2 * sigma * Math.Sqrt(2) * Math.Sqrt(2 / Math.PI);
        Assert.Equal(expected, map[0], expected * 0.04);
        Assert.Equal(expected, map[1], expected * 0.04);
        Assert.Equal(0, map[2], 1e-6);
    }

    [Fact]
    public void Occlusion_with_overlapping_windows_cut_at_the_edges_equals_a_plain_reference()
    {
        var model = PatchTask.Create(seed: 4);
        model.Build(16, 16, 1);
        var x = TestData.Tensor(8, 2, 16, 16, 1);
        int[] targets = [1, 3];
        const int window = 5, stride = 3; // windows at 0, 3, ..., 12: the last one cut to 4 pixels
        var occ = new Explainer(model).Occlusion(x, targets, window, stride, fill: 0.25f).Map.ToArray();
        var full = model.Predict(x).ToArray();
        for (int i = 0; i < 2; i++)
        {
            var sum = new double[256];
            var count = new int[256];
            int[] starts = [0, 3, 6, 9, 12]; // until a window reaches the edge
            foreach (int top in starts)
            {
                foreach (int left in starts)
                {
                    var copy = x.Span.Slice(i * 256, 256).ToArray();
                    for (int r = top; r < Math.Min(16, top + window); r++)
                    {
                        for (int c = left; c < Math.Min(16, left + window); c++)
                            copy[r * 16 + c] = 0.25f;
                    }
                    double drop = full[i * 4 + targets[i]] - model.Predict(Tensor.FromArray(copy, 1, 16, 16, 1)).Span[targets[i]];
                    for (int r = top; r < Math.Min(16, top + window); r++)
                    {
                        for (int c = left; c < Math.Min(16, left + window); c++)
                        {
                            sum[r * 16 + c] += drop;
                            count[r * 16 + c]++;
                        }
                    }
                }
            }
            for (int p = 0; p < 256; p++)
            {
                Assert.True(count[p] > 0);
                Assert.Equal(sum[p] / count[p], occ[i * 256 + p], 1e-5);
            }
        }
    }

    [Fact]
    public void Results_do_not_depend_on_how_the_batch_is_split()
    {
        var model = PatchTask.Create(seed: 5);
        model.Build(16, 16, 1);
        var x = TestData.Tensor(3, 10, 16, 16, 1);
        var baseline = TestData.Tensor(4, 10, 16, 16, 1);
        var whole = new Explainer(model);
        var split = new Explainer(model) { BatchSize = 3 }; // chunks of 3, 3, 3 and 1
        Assert.Equal(whole.Saliency(x).Map.ToArray(), split.Saliency(x).Map.ToArray());
        Assert.Equal(whole.IntegratedGradients(x, baseline: baseline, steps: 8).Map.ToArray(), split.IntegratedGradients(x, baseline: baseline, steps: 8).Map.ToArray());
        Assert.Equal(whole.SmoothGrad(x, samples: 4, seed: 9).Map.ToArray(), split.SmoothGrad(x, samples: 4, seed: 9).Map.ToArray());
        Assert.Equal(whole.GradCam(x).Map.ToArray(), split.GradCam(x).Map.ToArray());
        Assert.Equal(whole.Occlusion(x).Map.ToArray(), split.Occlusion(x).Map.ToArray());
        Assert.Equal(whole.Saliency(x).Targets, split.Saliency(x).Targets);
    }

    [Fact]
    public void Explaining_leaves_the_weights_gradients_alone()
    {
        var model = PatchTask.Create(seed: 6);
        model.Build(16, 16, 1);
        var explainer = new Explainer(model);
        explainer.Saliency(TestData.Tensor(1, 2, 16, 16, 1));
        explainer.GradCam(TestData.Tensor(1, 2, 16, 16, 1));
        Assert.All(model.TrainableWeights, w => Assert.True(w.Value.Grad is null || w.Value.Grad.ToArray().All(v => v == 0), $"{w.Name} has a gradient"));
    }

    [Fact]
    public void Permutation_importance_falls_back_to_the_loss_and_keeps_the_models_metric_state()
    {
        var (x, y) = TestData.Blobs(300, 1);
        var model = new Sequential([new Input([2]), new Dense(8, "tanh"), new Dense(3, "softmax")], seed: 1);
        model.Compile(new Adam(0.05f), new SparseCategoricalCrossentropy());
        model.Fit(x, y, epochs: 10, batchSize: 32);
        var loss = PermutationImportance.Compute(model, x, y, repeats: 2);
        Assert.Equal("loss", loss.Metric);
        Assert.False(loss.HigherIsBetter);
        Assert.Equal(model.Evaluate(x, y)["loss"], loss.BaselineScore, 1e-4f);
        Assert.All(loss.Features, f => Assert.True(f.Mean > 0.1f, $"{f.Feature}: {f.Mean}")); // both coordinates matter

        model.Compile(new Adam(0.05f), new SparseCategoricalCrossentropy(), "accuracy");
        model.TrainStep(x, y);
        float before = model.Metrics[0].Result();
        var acc = PermutationImportance.Compute(model, x, y, repeats: 2);
        Assert.Equal("accuracy", acc.Metric);
        Assert.Equal(before, model.Metrics[0].Result());
    }
}

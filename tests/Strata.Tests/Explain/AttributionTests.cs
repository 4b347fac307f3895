using Strata.Explain;
using Strata.Layers;
using Strata.Models;
using Strata.Optimizers;
using Strata.Losses;

namespace Strata.Tests.Explain;

public sealed class AttributionTests(MnistExplainFixture fx) : IClassFixture<MnistExplainFixture>
{
    [Fact]
    public void Saliency_equals_central_differences_of_the_target_output_on_a_trained_cnn()
    {
        // A smooth CNN (tanh, average pooling) trained on real digits: no ReLU or max-pool kinks, so
        // every central difference is clean.
        var model = fx.SmoothCnn;
        var probs = model.Predict(fx.Images).ToArray();
        var picked = Enumerable.Range(0, 200).Where(i =>
        {
            float max = 0;
            for (int k = 0; k < 10; k++)
                max = MathF.Max(max, probs[i * 10 + k]);
            return max is > 0.3f and < 0.95f;
        }).Take(3).ToArray();
        Assert.Equal(3, picked.Length);
        var explainer = new Explainer(model);
        foreach (int i in picked)
        {
            var x = fx.Rows(i, 1);
            var map = explainer.Saliency(x);
            int target = map.Targets[0];
            var g = map.Map.ToArray();
            float gmax = g.Max(MathF.Abs);
            Assert.True(gmax > 1e-3f, $"image {i}: the gradient is all but zero ({gmax})");
            // The 8 pixels with the largest gradient, 8 in the middle of the ranking, and 4 of the background.
            var byMagnitude = Enumerable.Range(0, 784).OrderByDescending(k => MathF.Abs(g[k])).ToArray();
            foreach (int k in byMagnitude.Take(8).Concat(byMagnitude.Skip(200).Take(8)).Concat([0, 27, 400, 783]))
            {
                const float h = 5e-3f;
                var xp = x.ToArray();
                var xm = x.ToArray();
                xp[k] += h;
                xm[k] -= h;
                float fp = model.Predict(Tensor.FromArray(xp, 1, 28, 28)).Span[target];
                float fm = model.Predict(Tensor.FromArray(xm, 1, 28, 28)).Span[target];
                float numeric = (fp - fm) / (2 * h);
                Assert.True(MathF.Abs(numeric - g[k]) <= 0.02f * MathF.Abs(g[k]) + 2e-3f * gmax,
                    $"image {i} pixel {k}: backprop {g[k]}, central difference {numeric}");
            }
        }
    }

    [Fact]
    public void Integrated_gradients_are_complete_within_one_percent_at_256_steps_on_the_trained_cnn()
    {
        var x = fx.Rows(0, 20);
        var ig = new Explainer(fx.Model).IntegratedGradients(x, steps: 256);
        for (int i = 0; i < 20; i++)
        {
            float diff = ig.Scores[i] - ig.BaselineScores![i];
            float sum = 0;
            foreach (float v in ig.Map.Span.Slice(i * 784, 784))
                sum += v;
            Assert.True(MathF.Abs(diff) > 0.05f, $"image {i}: f(x) − f(baseline) = {diff} is too small to test completeness on");
            Assert.True(MathF.Abs(sum - diff) <= 0.01f * MathF.Abs(diff), $"image {i}: Σ attributions {sum}, f(x) − f(0) {diff}");
            Assert.InRange(ig.CompletenessError![i], 0f, 0.01f);
        }
        // With 4 steps the quadrature is visibly worse: the error is the method's, not a constant.
        var coarse = new Explainer(fx.Model).IntegratedGradients(x, steps: 4);
        Assert.True(coarse.CompletenessError!.Average() > ig.CompletenessError!.Average());
    }

    [Fact]
    public void Integrated_gradients_on_a_linear_model_are_the_input_difference_times_the_weights()
    {
        var model = new Sequential([new Input([5]), new Dense(3)], seed: 4);
        var x = TestData.Tensor(1, 4, 5);
        var baseline = TestData.Tensor(2, 5);
        int[] targets = [0, 2, 1, 2];
        var ig = new Explainer(model).IntegratedGradients(x, targets, baseline, steps: 16);
        var w = model.Layers[1].Weights[0].Value.Span; // [5, 3]
        for (int i = 0; i < 4; i++)
        {
            for (int k = 0; k < 5; k++)
            {
                float expected = (x.Span[i * 5 + k] - baseline.Span[k]) * w[k * 3 + targets[i]];
                Assert.Equal(expected, ig.Map.Span[i * 5 + k], 1e-6f);
            }
            Assert.True(ig.CompletenessError![i] < 1e-4f);
        }
    }

    [Fact]
    public void Attributions_replay_a_compiled_plan_and_match_the_eager_path_exactly()
    {
        var x = fx.Rows(20, 10);
        var compiled = new Explainer(fx.Model).IntegratedGradients(x, steps: 8);
        Assert.Contains("explain:grad", fx.Model.ExecutionPath);
        Assert.Matches("step:explain:grad.*: compiled plan", fx.Model.ExecutionPath);
        var eagerModel = Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"), compile: false);
        eagerModel.PlansEnabled = false;
        var eager = new Explainer(eagerModel).IntegratedGradients(x, steps: 8);
        Assert.Equal(eager.Map.ToArray(), compiled.Map.ToArray());
        Assert.Equal(eager.Scores, compiled.Scores);
    }

    [Fact]
    public void Grad_cam_uses_the_last_convolution_by_default_and_names_bad_layers()
    {
        var explainer = new Explainer(fx.Model);
        var cam = explainer.GradCam(fx.Rows(0, 4));
        var convs = fx.Model.Layers.Where(l => l is Conv2D).ToList();
        Assert.Contains(convs[^1].Name, cam.Method);
        Assert.Equal(convs[^1].OutputShape[0], cam.Map.Shape[1]);
        Assert.All(cam.Map.ToArray(), v => Assert.True(v >= 0));
        var dense = fx.Model.Layers.First(l => l is Dense).Name;
        var e = Assert.Throws<ArgumentException>(() => explainer.GradCam(fx.Rows(0, 1), layer: dense));
        Assert.Contains(dense, e.Message);
        Assert.Contains("not a convolutional", e.Message);
        Assert.Contains(convs[0].Name, e.Message);
        e = Assert.Throws<ArgumentException>(() => explainer.GradCam(fx.Rows(0, 1), layer: "no_such_layer"));
        Assert.Contains("no_such_layer", e.Message);
    }

    [Fact]
    public void Bad_input_is_named()
    {
        var explainer = new Explainer(fx.Model);
        var e = Assert.Throws<ArgumentException>(() => explainer.Saliency(Tensor.Zeros(2, 28, 27)));
        Assert.Contains("[batch, 28, 28]", e.Message);
        Assert.Contains("[2, 28, 27]", e.Message);
        var o = Assert.Throws<ArgumentOutOfRangeException>(() => explainer.IntegratedGradients(fx.Rows(0, 2), [3, 10]));
        Assert.Contains("target 10", o.Message);
        Assert.Contains("10 outputs", o.Message);
        e = Assert.Throws<ArgumentException>(() => explainer.Saliency(fx.Rows(0, 2), [1]));
        Assert.Contains("one target per sample (2)", e.Message);
        e = Assert.Throws<ArgumentException>(() => explainer.IntegratedGradients(fx.Rows(0, 2), baseline: Tensor.Zeros(28, 27)));
        Assert.Contains("[28, 27]", e.Message);
        e = Assert.Throws<ArgumentException>(() => explainer.TokenIntegratedGradients(fx.Rows(0, 1)));
        Assert.Contains("has no Embedding layer", e.Message);
        e = Assert.Throws<ArgumentException>(() => explainer.FeatureMaps(fx.Rows(0, 1), "nope"));
        Assert.Contains("'nope'", e.Message);
    }

    [Fact]
    public void Feature_maps_are_the_layers_output()
    {
        var conv = fx.Model.Layers.First(l => l is Conv2D);
        var x = fx.Rows(3, 2);
        var maps = new Explainer(fx.Model).FeatureMaps(x, conv.Name);
        Assert.Equal(new Shape([2, .. conv.OutputShape.ToArray()]), maps.Shape);
        Assert.Equal(conv.Forward(x.Reshape(2, 28, 28, 1)).ToArray(), maps.ToArray());
    }

    [Fact]
    public void Smoothgrad_is_seeded_and_averages_noisy_gradients()
    {
        var explainer = new Explainer(fx.Model);
        var x = fx.Rows(5, 3);
        var a = explainer.SmoothGrad(x, samples: 8, seed: 3);
        var b = explainer.SmoothGrad(x, samples: 8, seed: 3);
        var c = explainer.SmoothGrad(x, samples: 8, seed: 4);
        Assert.Equal(a.Map.ToArray(), b.Map.ToArray());
        Assert.NotEqual(a.Map.ToArray(), c.Map.ToArray());
        // No noise: SmoothGrad is the saliency map.
        var plain = explainer.Saliency(x);
        var none = explainer.SmoothGrad(x, noiseLevel: 0, samples: 2);
        Assert.Equal(plain.Map.ToArray(), none.Map.ToArray(), new FloatNear(1e-6f));
    }

    private sealed class FloatNear(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => MathF.Abs(a - b) <= tolerance * (1 + MathF.Abs(a));
        public int GetHashCode(float v) => 0;
    }
}

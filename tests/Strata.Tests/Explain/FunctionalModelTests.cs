using Strata.Autograd;
using Strata.Explain;
using Strata.Layers;
using Strata.Models;

namespace Strata.Tests.Explain;

public sealed class FunctionalModelTests
{
    /// <summary>A functional CNN with a residual merge: conv → (conv + identity) → pooling → softmax (smooth activations).</summary>
    private static Model Residual(out string convName)
    {
        var image = Input.Create([8, 8, 2], "image");
        var a = new Conv2D(4, 3, padding: Padding.Same, activation: "tanh").Apply(image);
        var conv = new Conv2D(4, 3, padding: Padding.Same, activation: "tanh", name: "inner");
        var b = conv.Apply(a);
        var sum = new Add().Apply(a, b);
        var pooled = new GlobalAveragePooling2D().Apply(sum);
        convName = conv.Name;
        return new Model(image, new Dense(3, "softmax").Apply(pooled), seed: 4);
    }

    [Fact]
    public void Saliency_on_a_functional_model_equals_central_differences()
    {
        var model = Residual(out _);
        var x = TestData.Tensor(3, 2, 8, 8, 2);
        var map = new Explainer(model).Saliency(x, [1, 2]);
        var g = map.Map.ToArray();
        var data = x.ToArray();
        for (int k = 0; k < data.Length; k += 7)
        {
            int row = k / 128;
            int target = row == 0 ? 1 : 2;
            const float h = 1e-2f;
            var xp = (float[])data.Clone();
            var xm = (float[])data.Clone();
            xp[k] += h;
            xm[k] -= h;
            float numeric = (model.Predict(Tensor.FromArray(xp, 2, 8, 8, 2)).Span[row * 3 + target]
                - model.Predict(Tensor.FromArray(xm, 2, 8, 8, 2)).Span[row * 3 + target]) / (2 * h);
            Assert.True(MathF.Abs(numeric - g[k]) <= 0.02f * MathF.Abs(g[k]) + 2e-5f, $"element {k}: backprop {g[k]}, central difference {numeric}");
        }
    }

    [Fact]
    public void Grad_cam_on_an_inner_layer_runs_on_the_functional_graph()
    {
        var model = Residual(out string inner);
        var x = TestData.Tensor(5, 3, 8, 8, 2);
        var explainer = new Explainer(model);
        var cam = explainer.GradCam(x, [0, 1, 2], inner);
        Assert.Equal(new Shape([3, 8, 8]), cam.Map.Shape);
        Assert.All(cam.Map.ToArray(), v => Assert.True(v >= 0 && float.IsFinite(v)));
        Assert.Contains(cam.Map.ToArray(), v => v > 0);
        Assert.Equal(new Shape([3, 8, 8, 4]), explainer.FeatureMaps(x, inner).Shape);
    }

    [Fact]
    public void Grad_cam_equals_its_definition_computed_by_hand()
    {
        // The model split at the layer: A = the layers up to it, then the rest run on A as a leaf.
        var model = new Sequential([new Input([10, 10, 1]), new Conv2D(3, 3, activation: "relu"), new Conv2D(5, 3, activation: "tanh", name: "target"),
            new MaxPooling2D(2), new Flatten(), new Dense(4, "softmax")], seed: 8);
        var x = TestData.Tensor(9, 2, 10, 10, 1);
        int[] targets = [3, 1];
        var cam = new Explainer(model).GradCam(x, targets, "target");
        var layers = model.Layers.Where(l => l is not Input).ToList();
        Tensor a;
        using (GradMode.Disable())
            a = layers[1].Forward(layers[0].Forward(x));
        var leaf = Tensor.FromArray(a.ToArray(), a.Shape.ToArray());
        leaf.RequiresGrad = true;
        var y = layers[4].Forward(layers[3].Forward(layers[2].Forward(leaf)));
        var select = Tensor.FromArray([0, 0, 0, 1, 0, 1, 0, 0], 2, 4);
        (y * select).Sum().Backward();
        var g = leaf.Grad!.ToArray();
        var av = a.ToArray();
        for (int i = 0; i < 2; i++)
        {
            var weights = new double[5];
            for (int p = 0; p < 36; p++)
            {
                for (int c = 0; c < 5; c++)
                    weights[c] += g[(i * 36 + p) * 5 + c] / 36.0;
            }
            for (int p = 0; p < 36; p++)
            {
                double sum = 0;
                for (int c = 0; c < 5; c++)
                    sum += weights[c] * av[(i * 36 + p) * 5 + c];
                Assert.Equal(Math.Max(0, sum), cam.Map.Span[i * 36 + p], 1e-5);
            }
        }
        Assert.Contains(cam.Map.ToArray(), v => v > 0);
    }

    [Fact]
    public void A_layer_that_runs_twice_is_refused_for_grad_cam()
    {
        var image = Input.Create([6, 6, 1], "image");
        var shared = new Conv2D(1, 3, padding: Padding.Same, name: "shared");
        var twice = shared.Apply(new Conv2D(1, 3, padding: Padding.Same).Apply(image));
        var model = new Model(image, new Dense(2, "softmax").Apply(new Flatten().Apply(new Add().Apply(shared.Apply(image), twice))), seed: 1);
        var e = Assert.Throws<InvalidOperationException>(() => new Explainer(model).GradCam(TestData.Tensor(1, 1, 6, 6, 1), layer: "shared"));
        Assert.Contains("'shared' runs more than once", e.Message);
    }
}

using Strata.Explain;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Explain;

/// <summary>
/// A synthetic image task whose answer is set by where a patch lies: 16×16 noise images with one bright
/// 4×4 patch inside one quadrant; the class is the quadrant. A CNN trained on it must look at the patch.
/// </summary>
public sealed class PatchTask
{
    public const int Side = 16, Patch = 4;

    public PatchTask()
    {
        (X, Y, Corners) = Make(2400, 1);
        (TestX, TestY, TestCorners) = Make(200, 2);
        Model = Create(seed: 3);
        Model.Compile(new Adam(0.005f), new SparseCategoricalCrossentropy(), "accuracy");
        Model.Fit(X, Y, epochs: 6, batchSize: 32, seed: 1);
        Accuracy = Model.Evaluate(TestX, TestY)["accuracy"];
    }

    public static Sequential Create(ulong seed) => new([new Input([Side, Side, 1]), new Conv2D(8, 3, padding: Padding.Same, activation: "relu"),
        new MaxPooling2D(2), new Conv2D(16, 3, padding: Padding.Same, activation: "relu", name: "last_conv"), new Flatten(), new Dense(4, "softmax")], seed, "patch_cnn");

    public static (Tensor X, Tensor Y, (int Top, int Left)[] Corners) Make(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[n * Side * Side];
        var y = new float[n];
        var corners = new (int, int)[n];
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < Side * Side; p++)
                x[i * Side * Side + p] = 0.4f * rng.NextFloat();
            int quadrant = i % 4;
            int top = quadrant / 2 * 8 + (int)(rng.NextUInt() % 5), left = quadrant % 2 * 8 + (int)(rng.NextUInt() % 5);
            for (int r = top; r < top + Patch; r++)
            {
                for (int c = left; c < left + Patch; c++)
                    x[i * Side * Side + r * Side + c] = 0.8f + 0.2f * rng.NextFloat();
            }
            y[i] = quadrant;
            corners[i] = (top, left);
        }
        return (Tensor.FromArray(x, n, Side, Side, 1), Tensor.FromArray(y), corners);
    }

    public Tensor X { get; }
    public Tensor Y { get; }
    public (int Top, int Left)[] Corners { get; }
    public Tensor TestX { get; }
    public Tensor TestY { get; }
    public (int Top, int Left)[] TestCorners { get; }
    public Sequential Model { get; }
    public float Accuracy { get; }

    public int[] TestLabels => [.. TestY.ToArray().Select(v => (int)v)];
}

public sealed class LocalizationTests(PatchTask task) : IClassFixture<PatchTask>
{
    private const int N = 200;

    [Fact]
    public void The_patch_model_learns_the_task()
    {
        Assert.True(task.Accuracy >= 0.95f, $"test accuracy {task.Accuracy}");
    }

    [Fact]
    public void Grad_cam_is_hottest_on_the_patch_in_at_least_90_percent_of_images()
    {
        var cam = new Explainer(task.Model).GradCam(task.TestX, task.TestLabels, "last_conv");
        Assert.Equal(new Shape([N, 8, 8]), cam.Map.Shape);
        int hits = 0;
        for (int i = 0; i < N; i++)
        {
            // The hottest cell of the 8×8 grid covers a 2×2 block of pixels; it must overlap the patch.
            var (r, c) = ArgMax(cam.Map.Span.Slice(i * 64, 64), 8);
            var (top, left) = task.TestCorners[i];
            if (2 * r + 1 >= top && 2 * r < top + PatchTask.Patch && 2 * c + 1 >= left && 2 * c < left + PatchTask.Patch)
                hits++;
        }
        Assert.True(hits >= 0.9 * N, $"{hits} of {N} Grad-CAM maps are hottest on the patch");
    }

    [Fact]
    public void Occlusion_is_hottest_on_the_patch_in_at_least_90_percent_of_images()
    {
        var occ = new Explainer(task.Model).Occlusion(task.TestX, task.TestLabels, window: 4, stride: 2);
        Assert.Equal(task.TestX.Shape, occ.Map.Shape);
        int hits = 0;
        for (int i = 0; i < N; i++)
        {
            var (r, c) = ArgMax(occ.Map.Span.Slice(i * 256, 256), 16);
            var (top, left) = task.TestCorners[i];
            if (r >= top && r < top + PatchTask.Patch && c >= left && c < left + PatchTask.Patch)
                hits++;
        }
        Assert.True(hits >= 0.9 * N, $"{hits} of {N} occlusion maps are hottest on the patch");
    }

    [Fact]
    public void Occlusion_credits_each_window_with_the_drop_of_the_target_output()
    {
        // Windows that tile the image without overlap: each pixel's value is its window's drop exactly.
        var x = Tensor.FromArray(task.TestX.Span[..256].ToArray(), 1, 16, 16, 1);
        var occ = new Explainer(task.Model).Occlusion(x, [0], window: 8, stride: 8, fill: 0.5f);
        float full = task.Model.Predict(x).Span[0];
        for (int w = 0; w < 4; w++)
        {
            var copy = x.ToArray();
            int top = w / 2 * 8, left = w % 2 * 8;
            for (int r = top; r < top + 8; r++)
            {
                for (int c = left; c < left + 8; c++)
                    copy[r * 16 + c] = 0.5f;
            }
            float drop = full - task.Model.Predict(Tensor.FromArray(copy, 1, 16, 16, 1)).Span[0];
            Assert.Equal(drop, occ.Map.Span[(top + 3) * 16 + left + 5], 1e-5f);
        }
    }

    [Fact]
    public void Maps_of_a_reinitialized_model_differ_from_the_trained_models()
    {
        // Adebayo et al.'s randomization check: the same architecture with fresh weights gives maps with a low rank correlation to the trained model's.
        var fresh = PatchTask.Create(seed: 77);
        fresh.Build(PatchTask.Side, PatchTask.Side, 1);
        var x = Tensor.FromArray(task.TestX.Span[..(40 * 256)].ToArray(), 40, 16, 16, 1);
        var labels = task.TestLabels[..40];
        var trained = new Explainer(task.Model).Saliency(x, labels, SaliencyMode.AbsoluteGradient);
        var random = new Explainer(fresh).Saliency(x, labels, SaliencyMode.AbsoluteGradient);
        var trainedCam = new Explainer(task.Model).GradCam(x, labels);
        var randomCam = new Explainer(fresh).GradCam(x, labels);
        double saliency = 0, cam = 0, self = 0;
        int cams = 0;
        for (int i = 0; i < 40; i++)
        {
            saliency += Spearman(trained.Map.Span.Slice(i * 256, 256), random.Map.Span.Slice(i * 256, 256)) / 40;
            self += Spearman(trained.Map.Span.Slice(i * 256, 256), trained.Map.Span.Slice(i * 256, 256)) / 40;
            // A map of zeros (ReLU of all-negative evidence) has no ranking to compare: left out, not counted as uncorrelated.
            var a = trainedCam.Map.Span.Slice(i * 64, 64);
            var b = randomCam.Map.Span.Slice(i * 64, 64);
            if (a.ContainsAnyExcept(a[0]) && b.ContainsAnyExcept(b[0]))
            {
                cam += Spearman(a, b);
                cams++;
            }
        }
        Assert.Equal(1, self, 1e-9);
        Assert.True(cams >= 20, $"only {cams} of 40 pairs of Grad-CAM maps are not constant");
        cam /= cams;
        Assert.True(saliency < 0.5, $"mean rank correlation of |gradient| maps: {saliency:0.000}");
        Assert.True(cam < 0.5, $"mean rank correlation of Grad-CAM maps: {cam:0.000}");
    }

    private static (int Row, int Col) ArgMax(ReadOnlySpan<float> map, int width)
    {
        int best = 0;
        for (int k = 1; k < map.Length; k++)
        {
            if (map[k] > map[best])
                best = k;
        }
        return (best / width, best % width);
    }

    /// <summary>Spearman's rank correlation (ties get their mean rank).</summary>
    internal static double Spearman(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var ra = Ranks(a);
        var rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average(), num = 0, da = 0, db = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            num += (ra[i] - ma) * (rb[i] - mb);
            da += (ra[i] - ma) * (ra[i] - ma);
            db += (rb[i] - mb) * (rb[i] - mb);
        }
        return da == 0 || db == 0 ? 0 : num / Math.Sqrt(da * db);
    }

    private static double[] Ranks(ReadOnlySpan<float> v)
    {
        var values = v.ToArray();
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && values[order[j + 1]] == values[order[i]])
                j++;
            for (int k = i; k <= j; k++)
                ranks[order[k]] = (i + j) / 2.0;
            i = j + 1;
        }
        return ranks;
    }
}

using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Explain;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// What an explanation costs, against the passes it is made of, on the shipped MNIST classifier (the
/// seed CNN) and a batch of the first <c>batch</c> test digits: integrated gradients with
/// <c>steps</c> steps against <c>steps</c> training forward + backward passes of the same batch
/// (TrainStep with SGD at rate 1e-12: the loss's gradients for every weight) and against <c>steps</c>
/// saliency passes (forward, then backward to the input); Grad-CAM against one saliency pass and one
/// training pass. Each figure is the median of 5 timed repeats after a warm-up.
/// </summary>
internal static class ExplainComparison
{
    public static void Run(string dataDir, int threads, int batch, int steps)
    {
        KernelSettings.MaxThreads = threads;
        var model = Model.Load(Path.Combine(dataDir, "classifier.strata"), compile: false);
        var (images, labels) = Mnist.Load(dataDir, train: false);
        var x = images.Slice(..batch);
        var y = Tensor.FromArray([.. labels[..batch].Select(v => (float)v)]);
        var explainer = new Explainer(model) { BatchSize = batch };
        model.Compile(new Sgd(1e-12f), new SparseCategoricalCrossentropy());

        double ig = Median(() => explainer.IntegratedGradients(x, steps: steps));
        double train = Median(() =>
        {
            for (int s = 0; s < steps; s++)
                model.TrainStep(x, y);
        });
        double saliency = Median(() =>
        {
            for (int s = 0; s < steps; s++)
                explainer.Saliency(x, labels[..batch]);
        });
        double cam = Median(() => explainer.GradCam(x, labels[..batch]));
        double oneSaliency = Median(() => explainer.Saliency(x, labels[..batch]));
        double oneTrain = Median(() => model.TrainStep(x, y));
        var error = explainer.IntegratedGradients(x, steps: steps).CompletenessError!;
        Console.WriteLine(model.ExecutionPath);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            | what (batch {batch}, {threads} thread{(threads == 1 ? "" : "s")}) | ms | ratio |
            | --- | ---: | ---: |
            | integrated gradients, {steps} steps | {ig:F1} | |
            | {steps} training forward + backward passes (TrainStep, SGD at rate 1e-12) | {train:F1} | IG / this = {ig / train:F2} |
            | {steps} saliency passes (forward + backward to the input) | {saliency:F1} | IG / this = {ig / saliency:F2} |
            | Grad-CAM | {cam:F2} | |
            | one saliency pass | {oneSaliency:F2} | Grad-CAM / this = {cam / oneSaliency:F2} |
            | one training forward + backward | {oneTrain:F2} | Grad-CAM / this = {cam / oneTrain:F2} |

            IG completeness error over the batch: median {Percentile(error, 0.5):E2}, max {error.Max():E2}
            """));
    }

    private static double Median(Action run)
    {
        run(); // warm-up: traces, plans, JIT tiers
        run();
        var times = new List<double>();
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[2];
    }

    private static float Percentile(float[] v, double p)
    {
        var s = v.OrderBy(a => a).ToArray();
        return s[(int)Math.Round(p * (s.Length - 1))];
    }
}

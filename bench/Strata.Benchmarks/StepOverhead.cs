using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// The steady state of one compiled training step, without Fit around it: the seed MLP's
/// <see cref="Model.TrainStep(Tensor, Tensor, Tensor?)"/> on one MNIST batch in a loop (time and
/// managed bytes per step), and a dropout mask's draw (bulk uniforms) against one draw per call.
/// </summary>
internal static class StepOverhead
{
    public static void Run(string dataDir, int batch, int steps)
    {
        KernelSettings.MaxThreads = 1;
        var (xAll, yInt) = Mnist.Load(dataDir, train: true);
        var model = Presets.Mlp(seed: 1);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var x = xAll.Slice(..batch).Clone();
        var y = Tensor.FromArray(yInt[..batch].Select(v => (float)v).ToArray());
        for (int i = 0; i < 200; i++)
            model.TrainStep(x, y); // traces, then JIT tiers
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
            model.TrainStep(x, y);
        double us = sw.Elapsed.TotalMicroseconds / steps;
        double bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)steps;
        Console.WriteLine(Inv($"strata train-step {batch} {us:F1} us/step {bytes:F0} B/step ({model.ExecutionPath})"));

        var d = new float[128 * 14 * 14 * 32];
        var rng = new Rng(1);
        for (int w = 0; w < 20; w++)
            rng.FillUniform(d);
        sw.Restart();
        for (int w = 0; w < 50; w++)
            rng.FillUniform(d);
        double bulk = sw.Elapsed.TotalMilliseconds / 50;
        sw.Restart();
        for (int w = 0; w < 50; w++)
        {
            for (int i = 0; i < d.Length; i++)
                d[i] = rng.NextFloat();
        }
        double single = sw.Elapsed.TotalMilliseconds / 50;
        Console.WriteLine(Inv($"strata uniforms {d.Length} bulk {bulk:F2} ms, one call each {single:F2} ms"));
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

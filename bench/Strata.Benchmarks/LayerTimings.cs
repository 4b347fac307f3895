using System.Diagnostics;
using System.Globalization;
using Strata.Kernels;
using Strata.Layers;
using Strata.Models;

namespace Strata.Benchmarks;

/// <summary>
/// Where a training step's time goes: each layer of a seed model run alone in its planned form
/// (forward, then backward with every gradient), median of repeated calls on one batch, with
/// GFLOP/s for the convolutions and dense layers (2 flops per multiply-add; the backward counts
/// the kernel gradient and, except for the first layer, the input gradient).
/// </summary>
internal static class LayerTimings
{
    public static void Run(string workload, int threads, int batch, double seconds)
    {
        KernelSettings.MaxThreads = threads;
        var model = workload switch
        {
            "cnn" => Presets.Cnn(seed: 1),
            "cnn3" => Presets.DeeperCnn(seed: 1),
            "mlp" => Presets.Mlp(seed: 1),
            _ => throw new ArgumentException($"unknown workload '{workload}' (mlp, cnn, cnn3)"),
        };
        var x0 = Tensor.RandomUniform([batch, 28, 28], 0f, 1f, 1);
        model.Forward(x0); // builds every layer
        var values = new List<float[]> { x0.ToArray() };
        Console.WriteLine($"| layer | output | forward ms | forward GFLOP/s | backward ms | backward GFLOP/s |");
        Console.WriteLine($"| --- | --- | ---: | ---: | ---: | ---: |");
        double totalF = 0, totalB = 0;
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            var p = (IPlannedLayer)layer;
            var x = values[^1];
            if (p.IsIdentity(true))
                continue;
            var y = new float[batch * layer.OutputShape.Size];
            var dy = new float[y.Length];
            var dx = values.Count == 1 ? [] : new float[x.Length];
            var scratch = new float[batch * p.ScratchPerSample];
            double f = Median(() => p.PlanForward(x, y, batch, true, scratch), seconds);
            var dyInit = Tensor.RandomUniform([dy.Length], -1f, 1f, 2).ToArray();
            double b = Median(() =>
            {
                dyInit.CopyTo(dy);
                p.PlanBackward(x, y, dy, dx, batch, scratch);
            }, seconds);
            long macs = layer switch
            {
                Conv2D c => (long)batch * layer.OutputShape.Size * c.KernelSize.Height * c.KernelSize.Width * layer.InputShape[-1],
                Dense d => (long)batch * (layer.InputShape.Size / layer.InputShape[-1]) * layer.InputShape[-1] * d.Units,
                _ => 0,
            };
            long backMacs = macs * (dx.Length == 0 ? 1 : 2);
            string shape = string.Join("×", layer.OutputShape.ToArray());
            Console.WriteLine(Inv($"| {layer.Name} | {shape} | {f * 1e3:F3} | {(macs == 0 ? "" : (2 * macs / f / 1e9).ToString("F1", CultureInfo.InvariantCulture))} | {b * 1e3:F3} | {(macs == 0 ? "" : (2 * backMacs / b / 1e9).ToString("F1", CultureInfo.InvariantCulture))} |"));
            totalF += f;
            totalB += b;
            values.Add(y);
        }
        Console.WriteLine(Inv($"| total | batch {batch}, {threads} thread(s) | {totalF * 1e3:F3} | | {totalB * 1e3:F3} | |"));
        Console.WriteLine(Inv($"layers alone: {batch / (totalF + totalB):F0} samples/s (no loss, optimizer or batch gather)"));
    }

    /// <summary>The median time of one call, over repeated calls for at least <paramref name="seconds"/> (and 5 calls), after 3 warm-up calls.</summary>
    internal static double Median(Action a, double seconds)
    {
        for (int i = 0; i < 3; i++)
            a();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        var sw = new Stopwatch();
        while (total.Elapsed.TotalSeconds < seconds || times.Count < 5)
        {
            sw.Restart();
            a();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

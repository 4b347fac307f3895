using System.Globalization;
using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// Conv2D kernels alone, per layer shape: forward and backward (kernel, bias and input gradients)
/// GFLOP/s of the engine with the direct kernel, the narrow kernel and im2col + GEMM, batch 32 — the
/// measurements behind <see cref="ConvolutionEngine.DirectMaxK"/> and <see cref="ConvolutionEngine.NarrowMaxFilters"/>.
/// </summary>
internal static class ConvShapes
{
    // (name, H, W, C, K, F, same)
    private static readonly (string Name, int H, int W, int C, int K, int F, bool Same)[] Shapes =
    [
        ("seed conv1 28x28x1 3x3 ->32", 28, 28, 1, 3, 32, false),
        ("28x28x1 5x5 ->32 same", 28, 28, 1, 5, 32, true),
        ("28x28x2 3x3 ->32", 28, 28, 2, 3, 32, false),
        ("seed conv2 13x13x32 3x3 ->64", 13, 13, 32, 3, 64, false),
        ("deeper conv3 5x5x64 3x3 ->64", 5, 5, 64, 3, 64, false),
        ("rgb 32x32x3 3x3 ->32 same", 32, 32, 3, 3, 32, true),
        ("rgb 32x32x3 5x5 ->32 same", 32, 32, 3, 5, 32, true),
        ("16x16x16 3x3 ->32 same", 16, 16, 16, 3, 32, true),
        ("pointwise 16x16x64 1x1 ->64", 16, 16, 64, 1, 64, false),
        ("narrow 28x28x32 3x3 ->1 same (DCGAN last)", 28, 28, 32, 3, 1, true),
        ("narrow 28x28x32 3x3 ->2 same", 28, 28, 32, 3, 2, true),
        ("narrow 28x28x32 3x3 ->4 same", 28, 28, 32, 3, 4, true),
        ("narrow 28x28x32 3x3 ->6 same", 28, 28, 32, 3, 6, true),
        ("narrow 28x28x32 3x3 ->8 same", 28, 28, 32, 3, 8, true),
        ("narrow 32x32x16 3x3 ->3 same (RGB out)", 32, 32, 16, 3, 3, true),
    ];

    /// <summary>Only the shapes whose name contains this.</summary>
    public static string? Only { get; set; }

    public static void Run(int threads, int batch, double seconds)
    {
        KernelSettings.MaxThreads = threads;
        Console.WriteLine($"| shape (batch {batch}, {threads} thread(s)) | KH·KW·C | kernel | forward GFLOP/s | backward GFLOP/s |");
        Console.WriteLine("| --- | ---: | --- | ---: | ---: |");
        foreach (var s in Shapes)
        {
            if (Only is not null && !s.Name.Contains(Only, StringComparison.OrdinalIgnoreCase))
                continue;
            var g = Conv2DGeometry.Create(s.H, s.W, s.C, s.K, s.K, 1, 1, 1, 1, s.Same);
            var x = Tensor.RandomUniform([batch * s.H * s.W * s.C], -1f, 1f, 1).ToArray();
            var w = Tensor.RandomUniform([g.K * s.F], -1f, 1f, 2).ToArray();
            var bias = new float[s.F];
            var y = new float[batch * g.OH * g.OW * s.F];
            var dy = Tensor.RandomUniform([y.Length], -1f, 1f, 3).ToArray();
            var dw = new float[w.Length];
            var db = new float[s.F];
            var dx = new float[x.Length];
            double flops = 2.0 * batch * g.OH * g.OW * g.K * s.F;
            // direct (few channels only); narrow (few filters only); im2col + GEMM with the columns packed from the
            // images; the columns written out first (forward only differs)
            foreach (var (kernel, explicitColumns) in new[] { (ConvKernel.Direct, false), (ConvKernel.Narrow, false), (ConvKernel.Gemm, false), (ConvKernel.Gemm, true) })
            {
                bool pointwise = ConvolutionEngine.IsPointwise(g);
                if (kernel == ConvKernel.Direct && (pointwise || s.C > 2 * ConvolutionEngine.DirectMaxChannels)
                    || kernel == ConvKernel.Narrow && s.F > 2 * ConvolutionEngine.NarrowMaxFilters
                    || explicitColumns && pointwise)
                    continue;
                ConvolutionEngine.Force = kernel;
                ConvolutionEngine.ExplicitColumns = explicitColumns;
                var engine = new ConvolutionEngine();
                double f = Median(() => engine.Forward(x, w, bias, y, batch, g, s.F, null), seconds);
                double b = Median(() => engine.Backward(x, w, y, dy, dw, db, dx, batch, g, s.F, null), seconds);
                string chosen = ConvolutionEngine.DefaultKernel(g, s.F) == kernel && !explicitColumns ? " (chosen)" : "";
                string name = kernel switch { ConvKernel.Direct => "direct", ConvKernel.Narrow => "narrow", _ => explicitColumns ? "im2col written + GEMM" : "im2col+GEMM" };
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {s.Name} | {g.K} | {name}{chosen} | {flops / f / 1e9:F1} | {2 * flops / b / 1e9:F1} |"));
            }
            ConvolutionEngine.ExplicitColumns = false;
            ConvolutionEngine.Force = null;
        }
    }

    /// <summary>The median time of one call, over repeated calls for about <paramref name="seconds"/> (after a warm-up call).</summary>
    internal static double Median(Action a, double seconds)
    {
        a();
        var times = new List<double>();
        var total = System.Diagnostics.Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || times.Count < 5)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            a();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}

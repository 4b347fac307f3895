using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// The int8 GEMM alone, on each path this machine runs, at the quantized seed models' shapes, next to
/// Strata's float SGEMM at the same shape on one thread: billions of multiply-adds per second and the
/// ratio int8 / float. Run: <c>dotnet run -c Release --project bench/Strata.Benchmarks -- int8gemm</c>.
/// </summary>
internal static class Int8GemmComparison
{
    private static readonly (string Name, int M, int K, int N)[] Shapes =
    [
        ("cnn conv2 (8 images) 968x288*288x64", 968, 288, 64),
        ("cnn dense 8x1600*1600x64", 8, 1600, 64),
        ("mlp dense1 1000x784*784x128", 1000, 784, 128),
        ("mlp dense1 128x784*784x128", 128, 784, 128),
        ("square 512", 512, 512, 512),
    ];

    public static void Run(double seconds)
    {
        Parts(seconds);
        var paths = Enum.GetValues<Int8Path>().Where(Int8Gemm.Supports).ToArray();
        Console.WriteLine($"# int8 GEMM GMAC/s (u8 × s8 → s32), 1 thread, paths {string.Join(", ", paths)}; float SGEMM ({Gemm.SelectedKernel}) at the same shape; {DateTime.UtcNow:yyyy-MM-dd}");
        Console.WriteLine($"| shape | {string.Join(" | ", paths.Select(p => $"{p} GMAC/s"))} | float GMAC/s | best int8 / float |");
        Console.WriteLine($"| --- | {string.Join(" | ", paths.Select(_ => "---:"))} | ---: | ---: |");
        var rng = new System.Random(1);
        foreach (var (name, m, k, n) in Shapes)
        {
            var a = new byte[Int8Gemm.RequiredA(m, k, k)];
            for (int i = 0; i < a.Length; i++)
                a[i] = (byte)rng.Next(128);
            var codes = new sbyte[k * n];
            for (int i = 0; i < codes.Length; i++)
                codes[i] = (sbyte)rng.Next(-127, 128);
            var b = new PackedInt8Matrix(codes, k, n);
            var c = new int[m * n];
            double macs = (double)m * n * k;
            var rates = paths.Select(p => GemmComparison.Measure(() => Int8Gemm.Multiply(m, a, k, b, c, n, p), macs, seconds)).ToArray();
            var fa = a.Select(v => (float)v).ToArray();
            var fb = codes.Select(v => (float)v).ToArray();
            var fc = new float[m * n];
            double f = GemmComparison.Measure(() => Gemm.Sgemm(false, false, m, n, k, 1f, fa, k, fb, n, 0f, fc, n, 1), macs, seconds);
            Console.WriteLine($"| {name} | {string.Join(" | ", rates.Select(r => r.ToString("F1")))} | {f:F1} | {rates.Max() / f:F2} |");
        }
    }

    // The seed CNN's quantized conv2 on 8 images, piece by piece: µs per call of each step of the op.
    private static void Parts(double seconds)
    {
        var g = new Conv2DGeometry(13, 13, 32, 3, 3, 1, 1, 1, 1, 0, 0, 11, 11);
        int images = 8, rows = images * 121, k = g.K, n = 64;
        var rng = new System.Random(2);
        var x = new float[images * 13 * 13 * 32];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)rng.NextDouble() * 3;
        var qp = new QuantParams(3f / 127, 0);
        var codes = new byte[x.Length + 4];
        var cols = new byte[rows * k + 4];
        var w = new sbyte[k * n];
        for (int i = 0; i < w.Length; i++)
            w[i] = (sbyte)rng.Next(-127, 128);
        var b = new PackedInt8Matrix(w, k, n);
        var acc = new int[rows * n];
        var mult = Enumerable.Repeat(0.001f, n).ToArray();
        var bias = new float[n];
        var y = new float[rows * n];
        var outp = new QuantParams(0.05f, 0);
        double us(Action a) => 1e6 / GemmComparison.Measure(a, 1e9, seconds);
        Console.WriteLine($"# quantized conv2 of the seed CNN, 8 images, µs per step: quantize {us(() => QuantizeKernels.Quantize(x, codes, qp)):F1}, " +
            $"im2col {us(() => Im2Col.Expand<byte>(codes, cols, g, 0, images, 0)):F1}, GEMM on the rows {us(() => Int8Gemm.Multiply(rows, cols, k, b, acc, n)):F1}, " +
            $"GEMM on the windows in place {us(() => Int8Gemm.MultiplyWindows(g, images, codes, b, acc, n)):F1}, " +
            $"requantize {us(() => { for (int r = 0; r < rows; r++) QuantizeKernels.Requantize(acc.AsSpan(r * n, n), 0, b.ColumnSums, mult, bias, true, outp, y.AsSpan(r * n, n)); }):F1}");
    }
}

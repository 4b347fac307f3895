using System.Diagnostics;
using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// Strata's SGEMM against OpenBLAS in the same process, same shapes, same thread count: GFLOP/s
/// (median of timed repeats after warm-up) and the ratio. Run: <c>dotnet run -c Release --project
/// bench/Strata.Benchmarks -- gemm [--threads N]</c>.
/// </summary>
internal static class GemmComparison
{
    public sealed record Shape(string Name, bool TransA, bool TransB, int M, int N, int K);

    public static IReadOnlyList<Shape> Shapes { get; } =
    [
        new("square 256", false, false, 256, 256, 256),
        new("square 512", false, false, 512, 512, 512),
        new("square 1024", false, false, 1024, 1024, 1024),
        new("square 2048", false, false, 2048, 2048, 2048),
        // MLP Dense(784→128) at batch 32: forward X·W, backward dX = dY·Wᵀ, dW = Xᵀ·dY.
        new("lstm step fwd 64x256*256x1024", false, false, 64, 1024, 256),
        new("lstm step dh 64x1024*1024x256", false, false, 64, 256, 1024),
        new("lstm dU (6400x256)T*6400x1024", true, false, 256, 1024, 6400),
        new("lstm proj 6400x128*128x1024", false, false, 6400, 1024, 128),
        new("lstm dX 6400x1024*(128x1024)T", false, true, 6400, 128, 1024),
        new("lstm dW (6400x128)T*6400x1024", true, false, 128, 1024, 6400),
        new("mlp b32 fwd 32x784*784x128", false, false, 32, 128, 784),
        new("mlp b32 dX 32x128*(784x128)T", false, true, 32, 784, 128),
        new("mlp b32 dW (32x784)T*32x128", true, false, 784, 128, 32),
        new("mlp b128 fwd 128x784*784x128", false, false, 128, 128, 784),
        new("mlp b128 dX 128x128*(784x128)T", false, true, 128, 784, 128),
        new("mlp b128 dW (128x784)T*128x128", true, false, 784, 128, 128),
        // The seed MLP's first layer at inference, batch 1,000 (88 % of its Predict: `profile mlp --batch 1000`).
        new("mlp b1000 fwd 1000x784*784x128", false, false, 1000, 128, 784),
    ];

    public static void Run(int[] threadCounts, double seconds, string? only)
    {
        bool blas = OpenBlas.IsAvailable;
        Console.WriteLine($"# SGEMM GFLOP/s, Strata ({Gemm.SelectedKernel}) vs OpenBLAS ({(blas ? OpenBlas.CoreName : "not found")}), {DateTime.UtcNow:yyyy-MM-dd}");
        Console.WriteLine($"# {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
        Console.WriteLine("| shape | threads | Strata GFLOP/s | OpenBLAS GFLOP/s | ratio |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (int threads in threadCounts)
        {
            foreach (var s in Shapes)
            {
                if (only is not null && !s.Name.Contains(only, StringComparison.OrdinalIgnoreCase))
                    continue;
                var rng = new System.Random(1);
                var a = Fill(new float[s.M * s.K], rng);
                var b = Fill(new float[s.K * s.N], rng);
                var c = new float[s.M * s.N];
                int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N;
                double flops = 2.0 * s.M * s.N * s.K;
                double strata = Measure(() => Gemm.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c, s.N, threads), flops, seconds);
                double peer = double.NaN;
                if (blas)
                {
                    OpenBlas.Threads(threads);
                    peer = Measure(() => OpenBlas.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c, s.N), flops, seconds);
                }
                Console.WriteLine($"| {s.Name} | {threads} | {strata:F1} | {peer:F1} | {strata / peer:F2} |");
            }
        }
    }

    private static float[] Fill(float[] x, System.Random rng)
    {
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Median GFLOP/s over batches of calls, after a warm-up.</summary>
    public static double Measure(Action call, double flops, double seconds)
    {
        for (int i = 0; i < 3; i++)
            call();
        var sw = Stopwatch.StartNew();
        call();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int perBatch = Math.Max(1, (int)(0.02 / once));
        var rates = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || rates.Count < 5)
        {
            sw.Restart();
            for (int i = 0; i < perBatch; i++)
                call();
            rates.Add(flops * perBatch / sw.Elapsed.TotalSeconds / 1e9);
        }
        rates.Sort();
        return rates[rates.Count / 2];
    }
}

using System.Globalization;
using Strata.Data;
using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// The DCGAN preset's training speed, for the PyTorch peer (bench/compare/gan_torch.py, the identical
/// networks and step): real images per second through the two-update step on the first
/// <c>samples</c> MNIST training images, after a warm-up pass on a throwaway pair.
/// </summary>
internal static class GanComparison
{
    public static void Run(string dataDir, int threads, int batch, int samples, bool conditional)
    {
        KernelSettings.MaxThreads = threads;
        var (x, y) = Mnist.Load(dataDir, train: true);
        x = x.Slice(..samples);
        var labels = Tensor.FromArray(y[..samples].Select(v => (float)v).ToArray());
        PlanComparison.GanRate(x.Slice(..Math.Min(samples, batch * 8)), batch, plans: true, conditional, labels); // warm-up (JIT tiers)
        var (rate, bytes) = PlanComparison.GanRate(x, batch, plans: true, conditional, labels);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"strata {(conditional ? "cgan" : "gan")}-train {batch} {rate:F0} (threads {threads}, {bytes / 1024:F0} KiB allocated per step)"));
    }
}

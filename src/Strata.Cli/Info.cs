using System.Reflection;
using System.Runtime.InteropServices;
using Strata.Data;
using Strata.Kernels;
using Strata.Models;

namespace Strata.Cli;

/// <summary>
/// `strata info`: what this installation is and what it will do on this machine. The version and commit (from
/// Version.props and git, through the assembly's informational version), the runtime, the kernels' instruction-set
/// paths (read from the same run-time checks the kernels make: <see cref="KernelSettings"/>), the default thread count,
/// and each data set the commands can find by name, with where it was found or where it was looked for.
/// </summary>
internal static class Info
{
    /// <summary>The version `strata --version` prints: semantic version + commit (the assembly's informational version).</summary>
    public static string InformationalVersion =>
        typeof(Info).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static int Run()
    {
        string informational = InformationalVersion;
        int plus = informational.IndexOf('+', StringComparison.Ordinal);
        string version = plus < 0 ? informational : informational[..plus];
        string commit = plus < 0 ? "unknown" : informational[(plus + 1)..];

        var o = Console.Out;
        o.WriteLine($"strata {version}");
        Row(o, "commit", commit);
        Row(o, "program", AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        Row(o, "runtime", $"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier}, {RuntimeInformation.OSDescription}");
        Row(o, "cpu", $"{RuntimeInformation.ProcessArchitecture}: {(KernelSettings.CpuFeatures.Count > 0 ? string.Join(", ", KernelSettings.CpuFeatures) : "no vector instruction set")}");
        Row(o, "kernels", $"GEMM {KernelSettings.GemmPath}; other kernels {KernelSettings.VectorPath}; int8 GEMM {KernelSettings.Int8Path}");
        Row(o, "caches", KernelSettings.CacheBlocking);
        Row(o, "threads", $"{KernelSettings.MaxThreads} (the processor count; each command's --threads changes it)");

        o.WriteLine("data (found by name; looked for in data/ under the working folder and every folder above it, then under the program's folder and every folder above it)");
        string? mnist = DataSources.FindShipped(Path.Combine("data", "mnist", "t10k-images-idx3-ubyte.gz"));
        Row(o, "  mnist", mnist is null ? "not found" : Path.GetDirectoryName(mnist)!);
        string? classifier = DataSources.FindShipped(Path.Combine("data", "mnist", GanScorer.MnistClassifierFileName));
        Row(o, "  gan scorer", classifier ?? "not found (strata gan scores its images with it)");
        string? spam;
        try
        {
            spam = SpamAssassin.FindShipped();
        }
        catch (FileNotFoundException)
        {
            spam = null;
        }
        Row(o, "  spam-assassin", spam ?? "not found");
        Row(o, "  fashion-mnist", Directory.Exists(FashionMnist.DebianFolder) ? FashionMnist.DebianFolder
            : $"{FashionMnist.DebianFolder} (not installed: Debian's dataset-fashion-mnist package)");
        Row(o, "  download cache", $"{DataCache.DefaultFolder} (Mnist.Download; STRATA_DATA_CACHE moves it)");
        return Commands.Ok;
    }

    private static void Row(TextWriter o, string name, string value) => o.WriteLine($"{name,-18}{value}");
}

using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Xml.Linq;

namespace Strata.Tests.Cli;

/// <summary>`strata --version` and `strata info`, run as a separate process like every CLI test.</summary>
public sealed class CliInfoTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("strata-info-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Prefix[-suffix] from the repository's Version.props, the one place the version is set.</summary>
    private static string DeclaredVersion()
    {
        var props = XDocument.Load(Path.Combine(RepoPaths.Root, "Version.props"));
        string Value(string name) => props.Descendants(name).Single().Value.Trim();
        string prefix = Value("StrataVersionPrefix"), suffix = Value("StrataVersionSuffix");
        return suffix.Length == 0 ? prefix : $"{prefix}-{suffix}";
    }

    /// <summary>The value after a line's 18-character name column.</summary>
    private static string Field(CliResult r, string name)
    {
        var line = r.Stdout.Split('\n').SingleOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"no '{name}' line in\n{r}");
        return line![18..].TrimEnd('\r');
    }

    [Fact]
    public void Version_prints_the_version_that_Version_props_declares_and_the_commit()
    {
        var r = CliRunner.Run(_folder, "--version");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        // Semantic version + build metadata: the commit the SDK's Source Link read from git (40 hex digits).
        Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(DeclaredVersion())}\+[0-9a-f]{{40}}\r?\n$", r.Stdout);
        // The library the tests load carries the same version.
        string library = typeof(Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(r.Stdout.Trim(), library);
    }

    [Fact]
    public void Info_reports_the_version_the_kernel_paths_the_threads_and_the_shipped_data()
    {
        var r = CliRunner.Run(_folder, "info");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        Assert.StartsWith($"strata {DeclaredVersion()}\n", r.Stdout.ReplaceLineEndings("\n"));
        Assert.Matches("^[0-9a-f]{40}$", Field(r, "commit"));

        // The same run-time checks the kernels make, answered in this (test) process on the same machine.
        string kernels = Field(r, "kernels");
        bool arm = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
        string narrow = arm ? "NEON (128-bit)" : "SSE (128-bit)";
        string gemm = Vector512.IsHardwareAccelerated ? "GEMM AVX-512 (12×32 tiles)" : Vector256.IsHardwareAccelerated ? "GEMM AVX2 + FMA (6×16 tiles)"
            : Vector128.IsHardwareAccelerated ? $"GEMM {narrow} (6×8 tiles)" : "GEMM scalar (4×4 tiles)";
        Assert.StartsWith(gemm + ";", kernels);
        string vectors = Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : Vector128.IsHardwareAccelerated ? narrow : "scalar";
        Assert.Contains($"other kernels {vectors};", kernels);
        Assert.StartsWith($"{Environment.ProcessorCount} ", Field(r, "threads"));

        // The working folder (a temporary one) has no data/: the shipped data is found above the program, in the repository.
        Assert.Equal(RepoPaths.Mnist, Field(r, "  mnist"));
        Assert.Equal(Path.Combine(RepoPaths.Mnist, "classifier.strata"), Field(r, "  gan scorer"));
        Assert.Equal(Path.Combine(RepoPaths.SpamAssassin, "spam-assassin.jsonl.gz"), Field(r, "  spam-assassin"));
        Assert.StartsWith("/usr/share/datasets/fashion-mnist", Field(r, "  fashion-mnist"));
    }

    [Fact]
    public void Info_follows_the_runtime_switches_and_finds_data_above_the_working_folder_first()
    {
        // A data/mnist in a folder above the working folder wins over the repository's (the search starts there).
        string work = Directory.CreateDirectory(Path.Combine(_folder, "project", "run")).FullName;
        string mnist = Directory.CreateDirectory(Path.Combine(_folder, "data", "mnist")).FullName;
        File.WriteAllBytes(Path.Combine(mnist, "t10k-images-idx3-ubyte.gz"), []);
        var env = new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = "3" };
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
            env["DOTNET_EnableAVX2"] = "0"; // the runtime then reports no 256-bit (or wider) vectors: every kernel takes its narrow path

        var r = CliRunner.Run(work, env, "info");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(mnist, Field(r, "  mnist"));
        Assert.Equal(Path.Combine(RepoPaths.Mnist, "classifier.strata"), Field(r, "  gan scorer"));
        Assert.StartsWith("3 ", Field(r, "threads"));
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            Assert.Equal("GEMM SSE (128-bit) (6×8 tiles); other kernels SSE (128-bit); int8 GEMM scalar", Field(r, "kernels"));
            Assert.DoesNotContain("AVX2", Field(r, "cpu"));
        }
    }

    [Fact]
    public void Info_takes_no_arguments()
    {
        var r = CliRunner.Run(_folder, "info", "extra");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("strata: ", r.Stderr);
    }
}

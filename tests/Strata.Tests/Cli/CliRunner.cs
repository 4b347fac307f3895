using System.Diagnostics;
using System.Text.Json;

namespace Strata.Tests.Cli;

/// <summary>What a run of the `strata` command left: its exit code and its two output streams.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the built `strata` command (src/Strata.Cli's Strata.Cli.dll, same configuration as the tests)
/// as a user would: a separate process, output redirected, in a working folder of the test's choosing.
/// </summary>
public static class CliRunner
{
    public static string Dll { get; } = FindDll();

    private static string FindDll()
    {
        // The test binaries live in tests/Strata.Tests/bin/<Configuration>/<tfm>/; the CLI's in src/Strata.Cli/bin/<Configuration>/<tfm>/.
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = testDir.Name, configuration = testDir.Parent!.Name;
        string dll = Path.Combine(RepoPaths.Root, "src", "Strata.Cli", "bin", configuration, tfm, "Strata.Cli.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"the strata command is not built: {dll}");
    }

    public static CliResult Run(string workingDirectory, params string[] args) => Run(workingDirectory, new Dictionary<string, string>(), args);

    /// <summary>Runs the command with <paramref name="environment"/> added to this process's environment.</summary>
    public static CliResult Run(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"strata {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static JsonElement ReadJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }
}

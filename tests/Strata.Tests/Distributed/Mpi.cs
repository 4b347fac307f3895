using System.Diagnostics;
using System.Runtime.InteropServices;
using Strata.Tests.Cli;

namespace Strata.Tests.Distributed;

/// <summary>
/// Runs the built `strata` command under Open MPI's mpirun, as a user would:
/// <c>mpirun --allow-run-as-root --oversubscribe --bind-to none -np N dotnet Strata.Cli.dll ...</c>
/// (one program for all ranks, or one per rank: mpirun's "A : B" form).
/// </summary>
internal static class Mpi
{
    /// <summary>mpirun on the PATH, or null.</summary>
    public static string? Mpirun { get; } = FindMpirun();

    /// <summary>Whether mpirun and Open MPI's libmpi.so.40 are both here.</summary>
    public static bool Available { get; } = Mpirun is not null && NativeLibrary.TryLoad("libmpi.so.40", out _);

    private static string? FindMpirun() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    /// <summary>mpirun with one argument list per rank (equal lists: the plain -np N form).</summary>
    public static ProcessStartInfo StartInfo(string workingDirectory, params string[][] ranks) => StartInfo(workingDirectory, null, ranks);

    /// <summary>As above, with environment variables for every rank (passed with mpirun's -x).</summary>
    public static ProcessStartInfo StartInfo(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[][] ranks)
    {
        var start = new ProcessStartInfo(Mpirun ?? throw new InvalidOperationException("mpirun is not installed"))
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none" })
            start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
            start.ArgumentList.Add("-x");
            start.ArgumentList.Add(k);
        }
        bool same = ranks.All(r => r.SequenceEqual(ranks[0]));
        var groups = same ? [(ranks.Length, ranks[0])] : ranks.Select(r => (1, r)).ToArray();
        for (int g = 0; g < groups.Length; g++)
        {
            if (g > 0)
                start.ArgumentList.Add(":");
            start.ArgumentList.Add("-np");
            start.ArgumentList.Add(groups[g].Item1.ToString(System.Globalization.CultureInfo.InvariantCulture));
            start.ArgumentList.Add("dotnet");
            start.ArgumentList.Add(CliRunner.Dll);
            foreach (var a in groups[g].Item2)
                start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return start;
    }

    /// <summary>N ranks of `strata args`, to the end (at most 3 minutes).</summary>
    public static CliResult Run(string workingDirectory, int ranks, params string[] args) =>
        RunEach(workingDirectory, [.. Enumerable.Repeat(args, ranks)]);

    /// <summary>One rank per argument list, to the end (at most 3 minutes).</summary>
    public static CliResult RunEach(string workingDirectory, params string[][] ranks)
    {
        using var p = CliProcess.Start(StartInfo(workingDirectory, ranks));
        return p.WaitForExit(TimeSpan.FromMinutes(3));
    }

    /// <summary>N ranks of `strata args`, running: the test watches and signals them.</summary>
    public static CliProcess Start(string workingDirectory, int ranks, params string[] args) =>
        CliProcess.Start(StartInfo(workingDirectory, [.. Enumerable.Repeat(args, ranks)]));

    /// <summary>The process id of each rank mpirun started (its children, by OMPI_COMM_WORLD_RANK); waits until all are there.</summary>
    public static int[] RankPids(int mpirunPid, int ranks, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var found = new Dictionary<int, int>();
            foreach (var dir in Directory.GetDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid))
                    continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) != mpirunPid)
                        continue;
                    var env = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                    var rank = env.FirstOrDefault(e => e.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal));
                    if (rank is not null)
                        found[int.Parse(rank["OMPI_COMM_WORLD_RANK=".Length..], System.Globalization.CultureInfo.InvariantCulture)] = pid;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
                {
                    // The process ended while it was read.
                }
            }
            if (found.Count == ranks)
                return [.. Enumerable.Range(0, ranks).Select(r => found[r])];
            if (watch.Elapsed > timeout)
                throw new TimeoutException($"mpirun (pid {mpirunPid}) did not start {ranks} ranks within {timeout.TotalSeconds} s (found {found.Count})");
            Thread.Sleep(50);
        }
    }
}

/// <summary>A fact that needs Open MPI (mpirun and libmpi.so.40); skipped, and counted as skipped, where it is not installed.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (!Mpi.Available)
            Skip = "needs Open MPI: mpirun and libmpi.so.40 (Debian: apt-get install openmpi-bin libopenmpi-dev)";
    }
}

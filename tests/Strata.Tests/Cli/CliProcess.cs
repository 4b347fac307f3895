using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Strata.Tests.Cli;

/// <summary>
/// The `strata` command running as a child process that a test watches line by line and can signal
/// (SIGINT, SIGTERM through libc's kill) or kill (SIGKILL) while it runs.
/// </summary>
public sealed partial class CliProcess : IDisposable
{
    public const int SIGINT = 2, SIGTERM = 15;

    private readonly Process _process;
    private readonly StringBuilder _stdout = new(), _stderr = new();
    private readonly Lock _gate = new();
    private readonly Task _readOut, _readErr;

    private CliProcess(Process process)
    {
        _process = process;
        _readOut = Task.Run(() => Pump(process.StandardOutput, _stdout));
        _readErr = Task.Run(() => Pump(process.StandardError, _stderr));
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static CliProcess Start(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliRunner.Dll);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return new CliProcess(Process.Start(start)!);
    }

    /// <summary>Any command watched the same way (mpirun running the built strata, for the distributed tests).</summary>
    public static CliProcess Start(ProcessStartInfo start) => new(Process.Start(start)!);

    /// <summary>Sends a signal to any process (a rank that mpirun started).</summary>
    public static void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private void Pump(StreamReader reader, StringBuilder into)
    {
        while (reader.ReadLine() is { } line)
        {
            lock (_gate)
                into.Append(line).Append('\n');
        }
    }

    public string Stdout
    {
        get
        {
            lock (_gate)
                return _stdout.ToString();
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
                return _stderr.ToString();
        }
    }

    /// <summary>Waits until stdout or stderr holds <paramref name="text"/>; throws (with the output so far) when the process ends first or time runs out.</summary>
    public void WaitFor(string text, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!(Stdout.Contains(text, StringComparison.Ordinal) || Stderr.Contains(text, StringComparison.Ordinal)))
        {
            if (_process.HasExited)
            {
                _readOut.Wait(TimeSpan.FromSeconds(5));
                _readErr.Wait(TimeSpan.FromSeconds(5));
                if (Stdout.Contains(text, StringComparison.Ordinal) || Stderr.Contains(text, StringComparison.Ordinal))
                    return;
                throw new InvalidOperationException($"strata exited ({_process.ExitCode}) before printing '{text}'\n{Result()}");
            }
            if (watch.Elapsed > timeout)
                throw new TimeoutException($"strata did not print '{text}' within {timeout.TotalSeconds} s\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
            Thread.Sleep(10);
        }
    }

    /// <summary>Sends a signal (SIGINT, SIGTERM) to the process.</summary>
    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>SIGKILL: the process ends at once, whatever it is doing.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Waits for the process to end; throws (killing it) after <paramref name="timeout"/>.</summary>
    public CliResult WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill();
            throw new TimeoutException($"strata did not exit within {timeout.TotalSeconds} s\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
        }
        return Result();
    }

    private CliResult Result()
    {
        _process.WaitForExit();
        _readOut.Wait(TimeSpan.FromSeconds(10));
        _readErr.Wait(TimeSpan.FromSeconds(10));
        return new CliResult(_process.ExitCode, Stdout, Stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true); // mpirun's ranks too
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}

/// <summary>A fact that needs POSIX signals (Linux, macOS); skipped on Windows.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
            Skip = "needs POSIX signals";
    }
}

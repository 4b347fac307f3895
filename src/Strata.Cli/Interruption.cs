using System.Runtime.InteropServices;

namespace Strata.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM during a run: the first cancels <see cref="Token"/> (and the default
/// termination), so that training stops after the current batch and the run saves where it stopped;
/// a second ends the process at once with exit code <see cref="Commands.Failed"/> (every file is
/// written to a temporary name and renamed, so nothing is left half-written).
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _signals;

    public Interruption()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    public CancellationToken Token => _source.Token;

    /// <summary>The first signal received ("SIGINT", "SIGTERM"); null while none came.</summary>
    public string? Signal { get; private set; }

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) == 1)
        {
            Signal = context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
            Console.Error.WriteLine($"strata: {Signal} received: stopping after the current batch to save a checkpoint (press Ctrl-C again to exit at once)");
            _source.Cancel();
            return;
        }
        Console.Error.WriteLine("strata: second signal: exiting at once (the last saved checkpoint is intact)");
        Console.Error.Flush();
        Environment.Exit(Commands.Failed);
    }

    public void Dispose()
    {
        foreach (var r in _registrations)
            r.Dispose();
        _source.Dispose();
    }
}

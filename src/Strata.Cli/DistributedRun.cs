using System.Globalization;
using Spectre.Console;
using Strata.Data;
using Strata.Distributed;
using Strata.Models;

namespace Strata.Cli;

/// <summary>`strata train --distributed`: how to run the job under mpirun (timeout of a collective, in seconds; the gradient bucket, in MiB; null: the library's defaults).</summary>
internal sealed record DistributedSettings(double? TimeoutSeconds, double? BucketMiB = null);

/// <summary>
/// One rank of `mpirun -np N strata train --distributed`: joins the MPI job, and on ranks other than 0
/// silences the standard output (progress, tables) — errors still go to stderr on every rank, each line
/// naming its rank. Rank 0 alone locks the output folder and writes the checkpoints, model, report and metrics.
/// </summary>
internal sealed class DistributedRun : IDisposable
{
    private readonly DistributedStrategy _strategy;

    private DistributedRun(DistributedStrategy strategy) => _strategy = strategy;

    public bool IsLead => _strategy.IsLead;

    /// <summary>The job's rank count.</summary>
    public int Replicas => _strategy.Replicas;

    /// <summary>Null unless --distributed; else the joined job.</summary>
    /// <exception cref="DistributedException">Not under mpirun, Open MPI missing (the message says which).</exception>
    public static DistributedRun? Start(TrainSettings s)
    {
        if (s.Distributed is not { } d)
            return null;
        TimeSpan? timeout = d.TimeoutSeconds is double t ? TimeSpan.FromSeconds(t) : null;
        var run = new DistributedRun(DistributedStrategy.Initialize(timeout));
        if (d.BucketMiB is double mib)
            run._strategy.BucketBytes = (int)Math.Round(mib * 1048576);
        if (!run.IsLead)
        {
            Console.SetOut(TextWriter.Null);
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        }
        return run;
    }

    /// <summary>Checks that the ranks agree, broadcasts rank 0's weights and shards the loaders (see <see cref="DistributedStrategy.Attach"/>).</summary>
    public DataParallelSession Attach(Model model, DataLoader train, DataLoader? validation, int initialEpoch, int initialBatch, CancellationToken token) =>
        _strategy.Attach(model, train, validation, initialEpoch, initialBatch, token);

    /// <summary>The line of the settings table.</summary>
    public (string, string) Setting(int batchSize) => ("distributed", string.Create(CultureInfo.InvariantCulture,
        $"{_strategy.Replicas} ranks (MPI) × batch {batchSize} = {_strategy.Replicas * batchSize} samples per step; " +
        $"gradient buckets of {_strategy.BucketBytes / 1048576.0:0.###} MiB; collective timeout {_strategy.Timeout.TotalSeconds:0.#} s; the progress bar counts rank 0's batches"));

    public void Dispose() => _strategy.Dispose();
}

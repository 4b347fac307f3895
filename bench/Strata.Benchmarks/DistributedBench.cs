using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Distributed;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Benchmarks;

/// <summary>
/// The data-parallel figures, run under mpirun (rank 0 prints a markdown table):
/// <c>allreduce</c>, the binding's MPI_Allreduce of floats (through its MPI thread and the timeout wait) per
/// message size, as time per call, algorithm bandwidth (bytes / time) and bus bandwidth (2(N−1)/N · bytes /
/// time, the figure a ring all-reduce is bounded by); bench/mpi/allreduce.c prints Open MPI's own figure
/// from C in the same table. <c>ddp</c>, seed-CNN training epochs on MNIST: without mpirun one process
/// with --threads T, under mpirun N ranks with the global batch split N ways, and the share of the step
/// spent in the gradient all-reduce.
/// </summary>
internal static class DistributedBench
{
    private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>allreduce [--sizes 4096,65536,...] (bytes) [--seconds 0.5] (per size).</summary>
    public static void AllReduce(long[] sizes, double seconds)
    {
        using var strategy = DistributedStrategy.Initialize();
        var comm = MpiCommunicator.World(strategy.Timeout);
        int n = comm.Size;
        if (comm.Rank == 0)
        {
            Console.WriteLine($"All-reduce (sum of float32) over {n} ranks, Strata.Distributed's binding; {Environment.ProcessorCount} logical CPUs");
            Console.WriteLine();
            Console.WriteLine("| bytes | iterations | µs per call | algbw GB/s | busbw GB/s |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
        }
        foreach (long bytes in sizes)
        {
            int count = (int)Math.Max(1, bytes / sizeof(float));
            var send = new float[count];
            var recv = new float[count];
            Array.Fill(send, 1f);
            for (int i = 0; i < 5; i++)
                comm.AllreduceSum(send, recv, 0, count, "warm-up");
            // Rank 0 picks the iteration count from a timed probe, so that every rank makes the same number of calls.
            var probe = Stopwatch.StartNew();
            for (int i = 0; i < 10; i++)
                comm.AllreduceSum(send, recv, 0, count, "probe");
            var iters = new double[] { Math.Clamp(seconds / Math.Max(probe.Elapsed.TotalSeconds / 10, 1e-7), 10, 100_000) };
            comm.Broadcast(iters, "iterations");
            int iterations = (int)iters[0];
            comm.Barrier("start");
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
                comm.AllreduceSum(send, recv, 0, count, "timed");
            double perCall = watch.Elapsed.TotalSeconds / iterations;
            var worst = new double[1];
            comm.AllreduceMax([perCall], worst, "slowest rank");
            if (recv[0] != n)
                throw new InvalidOperationException($"allreduce: expected {n} in every element, got {recv[0]}");
            if (comm.Rank == 0)
            {
                double real = (double)count * sizeof(float), alg = real / worst[0] / 1e9;
                Console.WriteLine($"| {real:0} | {iterations} | {F(worst[0] * 1e6, "0.0")} | {F(alg, "0.000")} | {F(alg * 2 * (n - 1) / n, "0.000")} |");
            }
        }
    }

    /// <summary>ddp [--threads 1] [--batch 32 (global)] [--samples 0 (all)] [--epochs 2 (the last is timed)] [--model cnn] [--data data/mnist] [--bucket-mb] [--overlap on|off|both] [--repeats].</summary>
    public static void Ddp(string preset, string dataDir, int threads, int globalBatch, int samples, int epochs, double? bucketMb, string overlap, int repeats)
    {
        KernelSettings.MaxThreads = threads;
        bool distributed = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;
        using var strategy = distributed ? DistributedStrategy.Initialize() : null;
        int ranks = strategy?.Replicas ?? 1;
        if (globalBatch % ranks != 0)
            throw new ArgumentException($"ddp: the global batch {globalBatch} must divide over {ranks} ranks");
        if (strategy is not null && bucketMb is double mb)
            strategy.BucketBytes = (int)Math.Round(mb * 1048576);
        var train = Mnist.LoadDataset(dataDir, train: true);
        if (samples > 0 && samples < train.Count)
            train = train.Subset([.. Enumerable.Range(0, samples)]);
        bool[] modes = strategy is null ? [true] : overlap switch { "off" => [false], "both" => [false, true], _ => [true] };
        var rates = modes.ToDictionary(m => m, _ => new List<double>());
        for (int r = 0; r < repeats; r++)
        {
            foreach (bool on in modes)
            {
                var model = Presets.Create(preset, [28, 28, 1], 10, seed: 1);
                model.Compile(new Adam(), new SparseCategoricalCrossentropy(), "accuracy");
                var timer = new EpochWatch();
                var loader = new DataLoader(train, globalBatch / ranks, seed: 1);
                if (strategy is null)
                    model.Fit(loader, epochs, callbacks: [timer]);
                else
                {
                    strategy.Overlap = on;
                    strategy.Fit(model, loader, epochs, callbacks: [timer]);
                }
                double last = timer.Seconds[^1];
                // Every rank takes the slowest rank's time: the job is as fast as it.
                if (strategy is not null)
                    last = strategy.Max(last);
                rates[on].Add(train.Count / last);
                if (strategy is not null && !strategy.IsLead)
                    continue;
                int steps = loader.Sharded(0, ranks).BatchCount;
                string comm = ""; // the callback took the figures while the hook was attached
                if (timer.CommunicationSeconds is { } c)
                    comm = $", all-reduce hook {F(c[^1], "0.00")} s ({F(100 * c[^1] / last, "0.0")}% of the epoch, {F(c[^1] / steps * 1e3, "0.00")} ms per step, " +
                        $"{timer.FloatsPerStep * 4 / 1e6:0.00} MB per step in {timer.Buckets} bucket(s), {(on ? $"{timer.Overlapped[^1]} started during the backward pass" : "all after the backward pass")})";
                Console.WriteLine($"{preset}: {ranks} rank(s) × {threads} thread(s), global batch {globalBatch} ({globalBatch / ranks} per rank), {train.Count:N0} samples: " +
                    $"epoch {epochs} {F(last, "0.00")} s, {F(train.Count / last, "0")} samples/s, {F(last / steps * 1e3, "0.00")} ms per step{comm}");
            }
        }
        if (modes.Length == 2 && strategy is { IsLead: true })
        {
            static double Median(List<double> v)
            {
                var s = v.Order().ToArray();
                return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
            }
            double on = Median(rates[true]), off = Median(rates[false]);
            Console.WriteLine($"median of {repeats}: overlapped {F(on, "0")} samples/s, after the pass {F(off, "0")} samples/s: {F(on / off, "0.000")}×");
        }
    }

    /// <summary>Times each epoch, and (under a strategy) the all-reduce seconds within it.</summary>
    private sealed class EpochWatch : Callback
    {
        private readonly Stopwatch _watch = new();
        private double _commAtStart;
        public readonly List<double> Seconds = [];
        public List<double>? CommunicationSeconds;
        public readonly List<long> Overlapped = [];
        private long _overlappedAtStart;
        public int FloatsPerStep, Buckets;

        public override void OnEpochBegin(int epoch)
        {
            _commAtStart = (Model!.DataParallel as GradientAllReduce)?.CommunicationSeconds ?? 0;
            _overlappedAtStart = (Model!.DataParallel as GradientAllReduce)?.OverlappedBuckets ?? 0;
            _watch.Restart();
        }

        public override void OnEpochEnd(int epoch, Logs logs)
        {
            Seconds.Add(_watch.Elapsed.TotalSeconds);
            if (Model!.DataParallel is GradientAllReduce g)
            {
                (CommunicationSeconds ??= []).Add(g.CommunicationSeconds - _commAtStart);
                FloatsPerStep = g.FloatsPerStep;
                Buckets = g.Buckets;
                Overlapped.Add(g.OverlappedBuckets - _overlappedAtStart);
            }
        }
    }
}

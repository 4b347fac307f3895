using System.Runtime.ExceptionServices;

namespace Strata.Kernels;

/// <summary>
/// Persistent worker threads for splitting one kernel call into strips: the caller runs strip 0 and
/// the workers the others, and the call returns when all are done. Dispatch is a counter that an
/// idle worker spins on for a while before it blocks (a hand-off of well under a microsecond,
/// against tens for <c>Parallel.For</c>); nothing is allocated per call. One parallel call runs
/// at a time: a call made meanwhile (from another thread, or nested) runs its strips in order on
/// its own thread, which gives the same results.
/// </summary>
internal static class WorkerPool
{
    /// <summary>The work of one call: strips 0..n−1, each independent of the others.</summary>
    internal abstract class Work
    {
        public abstract void Run(int strip);
    }

    private static readonly object s_grow = new();
    private static Worker[] s_workers = [];
    private static int s_busy;

    /// <summary>Runs <paramref name="work"/> for strips 0..<paramref name="strips"/>−1 and returns when all are done.</summary>
    public static void Run(Work work, int strips)
    {
        if (strips <= 1 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int s = 0; s < strips; s++)
                work.Run(s);
            return;
        }
        try
        {
            var workers = Workers(strips - 1);
            for (int w = 0; w < strips - 1; w++)
                workers[w].Start(work, w + 1);
            Exception? error = null;
            try
            {
                work.Run(0);
            }
            catch (Exception e)
            {
                error = e;
            }
            for (int w = 0; w < strips - 1; w++)
                error ??= workers[w].Wait();
            if (error is not null)
                ExceptionDispatchInfo.Capture(error).Throw();
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static Worker[] Workers(int count)
    {
        var workers = s_workers;
        if (workers.Length >= count)
            return workers;
        lock (s_grow)
        {
            if (s_workers.Length < count)
                s_workers = [.. s_workers, .. Enumerable.Range(s_workers.Length, count - s_workers.Length).Select(i => new Worker(i))];
            return s_workers;
        }
    }

    private sealed class Worker
    {
        // A worker spins this long after its last strip before it blocks: the products of one training
        // step come tens of microseconds apart, and a blocked thread takes about as long to wake.
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5000; // 200 µs
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 1);
        private Work? _work;
        private int _strip;
        private Exception? _error;
        private int _started, _finished;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Strata kernel worker {index + 1}" };
            thread.Start();
        }

        public void Start(Work work, int strip)
        {
            _work = work;
            _strip = strip;
            _error = null;
            Interlocked.Increment(ref _started); // publishes the fields above
            _wake.Set();
        }

        public Exception? Wait()
        {
            int target = Volatile.Read(ref _started);
            var spin = new SpinWait();
            while (Volatile.Read(ref _finished) != target)
                spin.SpinOnce(sleep1Threshold: -1);
            _work = null;
            return _error;
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _started) == seen)
                {
                    if (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }
                    // Reset, then check again, then block: a Start in between is never missed.
                    _wake.Reset();
                    if (Volatile.Read(ref _started) == seen)
                        _wake.Wait();
                    start = System.Diagnostics.Stopwatch.GetTimestamp();
                }
                seen = Volatile.Read(ref _started);
                try
                {
                    _work!.Run(_strip);
                }
                catch (Exception e)
                {
                    _error = e;
                }
                Volatile.Write(ref _finished, seen);
            }
        }
    }
}

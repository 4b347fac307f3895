using System.Globalization;

namespace Strata.Distributed;

/// <summary>
/// MPI_COMM_WORLD through one thread of its own: MPI is initialized on that thread and every blocking
/// call runs there, while the caller waits for it with a timeout; the gradients' non-blocking all-reduces
/// (<see cref="StartAllreduceSum"/>, <see cref="Progress"/>, <see cref="WaitAll"/>) are called on the
/// training thread, so that they start and progress during the backward pass without a thread hop
/// (MPI_THREAD_SERIALIZED: one call at a time, under a lock). A collective that has not
/// completed within <see cref="Timeout"/> — a rank died, hangs, or is far behind — throws a
/// <see cref="DistributedException"/> naming the operation and the timeout on the rank that waits, instead
/// of blocking forever; the communicator is then faulted (no further calls, no MPI_Finalize, which would
/// block too), and the process's non-zero exit makes mpirun end the job's other ranks.
/// </summary>
internal sealed unsafe class MpiCommunicator : IDisposable
{
    /// <summary>MPI_THREAD_SERIALIZED in Open MPI's mpi.h (an enum value of the standard's thread levels, not a handle): any thread may call, one at a time.</summary>
    private const int ThreadSerialized = 2;

    private static MpiCommunicator? _world;
    private static readonly Lock WorldLock = new();

    private readonly MpiLibrary _mpi;
    private readonly Thread _thread;
    private readonly SemaphoreSlim _ready = new(0);
    private readonly ManualResetEventSlim _done = new(false);
    private readonly Lock _call = new(); // MPI_THREAD_SERIALIZED: never two MPI calls at once
    private Action? _work;
    private Exception? _error;
    private bool _stop, _faulted, _finalized;

    public int Rank { get; private set; }

    public int Size { get; private set; }

    /// <summary>How long one collective operation may take before the rank gives up on the others.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>A collective timed out: the group is broken.</summary>
    public bool Faulted => _faulted;

    private MpiCommunicator(MpiLibrary mpi, TimeSpan timeout)
    {
        _mpi = mpi;
        Timeout = timeout;
        _thread = new Thread(Loop) { IsBackground = true, Name = "strata-mpi" };
        _thread.Start();
        Run("MPI_Init_thread", () =>
        {
            int provided, rank, size;
            _mpi.Check(_mpi.InitThread(null, 0, ThreadSerialized, &provided), "MPI_Init_thread");
            if (provided < ThreadSerialized)
                throw new DistributedException($"MPI_Init_thread: this MPI provides thread level {provided}, Strata.Distributed needs MPI_THREAD_SERIALIZED ({ThreadSerialized}); use an Open MPI built with thread support (Debian's is)");
            _mpi.Check(_mpi.CommRank(_mpi.CommWorld, &rank), "MPI_Comm_rank");
            _mpi.Check(_mpi.CommSize(_mpi.CommWorld, &size), "MPI_Comm_size");
            (Rank, Size) = (rank, size);
        });
    }

    /// <summary>
    /// The world communicator of this process (MPI is initialized once per process). Checks first that
    /// mpirun started the process, so that a plain run fails with that cause instead of a singleton MPI.
    /// </summary>
    /// <exception cref="DistributedException">Not under mpirun, or Open MPI is missing.</exception>
    public static MpiCommunicator World(TimeSpan timeout)
    {
        lock (WorldLock)
        {
            if (_world is { _finalized: false, _faulted: false } w)
            {
                w.Timeout = timeout;
                return w;
            }
            if (_world is not null)
                throw new DistributedException("MPI: this process has already finalized MPI (or a collective timed out); MPI cannot be initialized twice in one process");
            if (!LaunchedByMpirun(out string why))
                throw new DistributedException(why);
            MpiLibrary library;
            try
            {
                library = MpiLibrary.Load();
            }
            catch (DistributedException e)
            {
                // Before MPI_Init there is no rank yet; mpirun's environment says which this process is.
                throw new DistributedException($"rank {Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? "?"} of " +
                    $"{Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") ?? "?"}: {e.Message}");
            }
            return _world = new MpiCommunicator(library, timeout);
        }
    }

    /// <summary>Whether the environment says mpirun (Open MPI's launcher, through PMIx) started this process.</summary>
    internal static bool LaunchedByMpirun(out string why)
    {
        string? size = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE");
        string? pmix = Environment.GetEnvironmentVariable("PMIX_RANK");
        why = size is null && pmix is null
            ? "distributed training: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE and PMIX_RANK are unset); " +
              "run it as: mpirun -np N strata train --distributed ... (as root add --allow-run-as-root; more ranks than cores: --oversubscribe)"
            : "";
        return why.Length == 0;
    }

    /// <summary>Sums float arrays over the ranks: recv[offset..offset+count) = Σ send[offset..offset+count).</summary>
    public void AllreduceSum(float[] send, float[] recv, int offset, int count, string what)
    {
        CheckRange(send, recv, offset, count);
        Run(what, () =>
        {
            fixed (float* s = &send[offset], r = &recv[offset])
                _mpi.Check(_mpi.Allreduce(s, r, count, _mpi.Float, _mpi.Sum, _mpi.CommWorld), "MPI_Allreduce");
        });
    }

    /// <summary>Element-wise maximum of double arrays over the ranks (min through negated entries).</summary>
    public void AllreduceMax(double[] send, double[] recv, string what) => AllreduceDouble(send, recv, _mpi.Max, what);

    /// <summary>Element-wise sum of double arrays over the ranks.</summary>
    public void AllreduceSum(double[] send, double[] recv, string what) => AllreduceDouble(send, recv, _mpi.Sum, what);

    private void AllreduceDouble(double[] send, double[] recv, nint op, string what)
    {
        if (send.Length != recv.Length || send.Length == 0)
            throw new ArgumentException($"MPI all-reduce ({what}): send and receive must have the same non-zero length, got {send.Length} and {recv.Length}");
        Run(what, () =>
        {
            fixed (double* s = send, r = recv)
                _mpi.Check(_mpi.Allreduce(s, r, send.Length, _mpi.Double, op, _mpi.CommWorld), "MPI_Allreduce");
        });
    }

    /// <summary>Rank 0's data[offset..offset+count) to every rank.</summary>
    public void Broadcast(float[] data, int offset, int count, string what)
    {
        CheckRange(data, data, offset, count);
        Run(what, () =>
        {
            fixed (float* p = &data[offset])
                _mpi.Check(_mpi.Bcast(p, count, _mpi.Float, 0, _mpi.CommWorld), "MPI_Bcast");
        });
    }

    /// <summary>Rank 0's data to every rank.</summary>
    public void Broadcast(double[] data, string what)
    {
        Run(what, () =>
        {
            fixed (double* p = data)
                _mpi.Check(_mpi.Bcast(p, data.Length, _mpi.Double, 0, _mpi.CommWorld), "MPI_Bcast");
        });
    }

    public void Barrier(string what) => Run(what, () => _mpi.Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier"));

    /// <summary>
    /// Starts summing count floats over the ranks (MPI_Iallreduce) on the calling thread and returns its
    /// request; the buffers must stay where they are (pinned) until <see cref="WaitAll"/> says it is done.
    /// Every rank starts the same all-reduces in the same order.
    /// </summary>
    public nint StartAllreduceSum(float* send, float* recv, int count, in Operation what)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), $"MPI ({what}): expected a count ≥ 1, got {count}");
        ThrowIfUnusable(what);
        nint request;
        lock (_call)
            Check(_mpi.Iallreduce(send, recv, count, _mpi.Float, _mpi.Sum, _mpi.CommWorld, &request), "MPI_Iallreduce", what);
        return request;
    }

    /// <summary>What a non-blocking call is for, in its error messages (text made only for a message: a step allocates nothing).</summary>
    public readonly record struct Operation(string What, long Step, int Bucket = -1, int Buckets = 0)
    {
        public override string ToString() => Bucket >= 0
            ? $"{What} (step {Step}, bucket {Bucket + 1} of {Buckets})"
            : $"{What} (step {Step}, {Buckets} bucket{(Buckets == 1 ? "" : "s")})";
    }

    /// <summary>
    /// Lets MPI move the started all-reduces on (Open MPI progresses non-blocking collectives only inside
    /// MPI calls); completed requests become null. True when all are done.
    /// </summary>
    public bool Progress(nint* requests, int count, in Operation what)
    {
        if (count == 0)
            return true;
        ThrowIfUnusable(what);
        int flag;
        lock (_call)
            Check(_mpi.Testall(count, requests, &flag, null), "MPI_Testall", what);
        return flag != 0;
    }

    /// <summary>Waits for the started all-reduces, at most <see cref="Timeout"/>: polls them from this thread (as MPI_Wait would) so that the wait can give up.</summary>
    public void WaitAll(nint* requests, int count, in Operation what)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var spin = new SpinWait();
        while (!Progress(requests, count, what))
        {
            if (Timeout != System.Threading.Timeout.InfiniteTimeSpan && System.Diagnostics.Stopwatch.GetElapsedTime(start) > Timeout)
            {
                _faulted = true; // the requests stay unfinished; their buffers are pinned for the process's life
                throw TimedOut(what.ToString());
            }
            spin.SpinOnce(sleep1Threshold: -1); // yields, never sleeps a whole millisecond
        }
    }

    private void ThrowIfUnusable(in Operation what)
    {
        if (_faulted || _finalized)
            ThrowIfUnusable(what.ToString());
    }

    private void ThrowIfUnusable(string what)
    {
        if (_faulted)
            throw new DistributedException($"{Who}: {what}: an earlier collective operation timed out; the group of ranks is broken");
        if (_finalized)
            throw new DistributedException($"{Who}: {what}: MPI is already finalized");
    }

    private void Check(int code, string call, in Operation what)
    {
        if (code == 0)
            return;
        try
        {
            _mpi.Check(code, call);
        }
        catch (DistributedException e)
        {
            throw new DistributedException($"{Who}: {what}: {e.Message}");
        }
    }

    private DistributedException TimedOut(string what) => new(string.Create(CultureInfo.InvariantCulture,
        $"{Who}: {what} did not complete within {Timeout.TotalSeconds:0.#} s: another rank died, hangs or is that far behind " +
        $"(the timeout of one collective operation: --dist-timeout or STRATA_DIST_TIMEOUT, in seconds)"));

    private static void CheckRange(float[] a, float[] b, int offset, int count)
    {
        if (count < 1 || offset < 0 || offset + count > a.Length || offset + count > b.Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"MPI: expected 1 ≤ count and offset + count ≤ the arrays' lengths ({a.Length}, {b.Length}), got offset {offset}, count {count}");
    }

    /// <summary>Runs an MPI call on the MPI thread and waits for it, at most <see cref="Timeout"/>.</summary>
    private void Run(string what, Action work)
    {
        ThrowIfUnusable(what);
        _error = null;
        _done.Reset();
        _work = work;
        _ready.Release();
        if (!_done.Wait(Timeout))
        {
            _faulted = true;
            throw TimedOut(what);
        }
        if (_error is { } e)
            throw new DistributedException($"{Who}: {what}: {e.Message}");
    }

    private string Who => Size > 0 ? $"rank {Rank} of {Size}" : "MPI";

    private void Loop()
    {
        while (true)
        {
            _ready.Wait();
            if (_stop)
                return;
            try
            {
                lock (_call)
                    _work!();
            }
            catch (Exception e)
            {
                _error = e;
            }
            _done.Set();
        }
    }

    /// <summary>MPI_Finalize (every rank must call it), unless a collective timed out: then the process just exits.</summary>
    public void Dispose()
    {
        lock (WorldLock)
        {
            if (_faulted || _finalized)
                return;
            // MPI_Finalize waits for the other ranks, and rank 0 may still be writing its report: no timeout (a dead rank ends the job through mpirun).
            Timeout = System.Threading.Timeout.InfiniteTimeSpan;
            try
            {
                Run("MPI_Finalize", () => _mpi.Check(_mpi.Finalize(), "MPI_Finalize"));
            }
            finally
            {
                _finalized = true;
                if (!_faulted)
                {
                    _stop = true;
                    _ready.Release();
                }
            }
        }
    }
}

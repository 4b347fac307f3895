using System.Runtime.InteropServices;

namespace Strata.Distributed;

/// <summary>
/// The few entry points of Open MPI's C library that data parallelism needs, bound at run time:
/// libmpi.so.40 is opened with RTLD_GLOBAL (Open MPI's plugins resolve their symbols against it; a
/// local dlopen, .NET's default, breaks them) and every function and predefined handle is looked up
/// by name. Open MPI's handles are the addresses of exported globals (MPI_COMM_WORLD is
/// &amp;ompi_mpi_comm_world, MPI_FLOAT &amp;ompi_mpi_float, MPI_SUM &amp;ompi_mpi_op_sum), so nothing is a
/// hard-coded constant (MPI_Request is a pointer too, MPI_STATUS(ES)_IGNORE a null pointer). MPI.NET 1.4.0 was tried first: it binds MS-MPI's libmsmpi.dll and its
/// integer handles and does not run against Open MPI.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    /// <summary>The library's name as Debian and most Linux distributions install it (Open MPI 3.x and 4.x).</summary>
    public const string LibraryName = "libmpi.so.40";

    /// <summary>The environment variable that names another file to load (an Open MPI outside the loader's path).</summary>
    public const string LibraryVariable = "STRATA_MPI_LIBRARY";

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpen(string file, int mode);

    [DllImport("libc", EntryPoint = "dlerror")]
    private static extern nint DlError();

    private readonly nint _lib;

    public readonly delegate* unmanaged<int*, nint, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> Iallreduce;
    public readonly delegate* unmanaged<int, nint*, int*, void*, int> Testall;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<int, byte*, int*, int> ErrorString;

    /// <summary>MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_SUM, MPI_MIN, MPI_MAX.</summary>
    public readonly nint CommWorld, Float, Double, Sum, Min, Max;

    private MpiLibrary(nint lib)
    {
        _lib = lib;
        InitThread = (delegate* unmanaged<int*, nint, int, int*, int>)Export("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        Iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Export("MPI_Iallreduce");
        Testall = (delegate* unmanaged<int, nint*, int*, void*, int>)Export("MPI_Testall");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        CommWorld = Export("ompi_mpi_comm_world");
        Float = Export("ompi_mpi_float");
        Double = Export("ompi_mpi_double");
        Sum = Export("ompi_mpi_op_sum");
        Min = Export("ompi_mpi_op_min");
        Max = Export("ompi_mpi_op_max");
    }

    private nint Export(string name)
    {
        if (!NativeLibrary.TryGetExport(_lib, name, out var address))
            throw new DistributedException($"MPI: {LibraryName} has no symbol '{name}'; Strata.Distributed needs Open MPI 3.x or 4.x (Debian: apt-get install openmpi-bin libopenmpi-dev)");
        return address;
    }

    /// <summary>Opens the library, or says what is missing and how to install it.</summary>
    /// <exception cref="DistributedException">libmpi.so.40 cannot be loaded, or lacks a symbol.</exception>
    public static MpiLibrary Load()
    {
        if (!OperatingSystem.IsLinux())
            throw new DistributedException($"MPI: Strata.Distributed runs on Linux with Open MPI ({LibraryName}); this is {RuntimeInformation.OSDescription}");
        string file = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } named ? named : LibraryName;
        DlError(); // binds the stub now: binding it after a failed dlopen would clear the message
        nint lib = DlOpen(file, RtldNow | RtldGlobal);
        if (lib == 0)
        {
            string why = Marshal.PtrToStringUTF8(DlError()) ?? "unknown reason";
            throw new DistributedException($"MPI: Open MPI's {LibraryName} could not be loaded ({why}); install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)" +
                (file == LibraryName ? $", or name the library file in {LibraryVariable}" : $" or correct {LibraryVariable} ('{file}')"));
        }
        return new MpiLibrary(lib);
    }

    /// <summary>Throws unless an MPI call returned MPI_SUCCESS (0), with MPI's own text for the code.</summary>
    public void Check(int code, string call)
    {
        if (code == 0)
            return;
        var text = stackalloc byte[512]; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        int len = 0;
        string message = ErrorString(code, text, &len) == 0 ? Marshal.PtrToStringUTF8((nint)text, Math.Clamp(len, 0, 511)) : $"error code {code}";
        throw new DistributedException($"MPI: {call} failed: {message}");
    }
}

namespace Strata.Kernels;

/// <summary>
/// Process-wide settings of the compute kernels.
/// </summary>
public static class KernelSettings
{
    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// The number of threads a kernel may use (default: the processor count). Work is split in
    /// fixed chunks that depend only on this number and the shapes, so a given value always
    /// gives bit-identical results.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxThreads));
            s_maxThreads = value;
        }
    }
}

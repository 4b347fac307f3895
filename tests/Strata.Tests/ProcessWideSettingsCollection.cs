namespace Strata.Tests;

/// <summary>
/// Tests that set a process-wide switch — the GEMM kernel or packing (<c>Gemm.ForcedKernel</c>,
/// <c>ForcePackB</c>), the convolution path (<c>ConvolutionEngine.Force</c>), the model file's write
/// hook (<c>ModelFile.EntryWritten</c>), the kernels' thread count (<c>KernelSettings.MaxThreads</c>) — join
/// this collection, which runs alone: no other test sees the switch while it is set.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideSettingsCollection
{
    public const string Name = "process-wide settings";
}

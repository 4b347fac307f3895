namespace Strata.Distributed;

/// <summary>
/// A failure of data-parallel training: MPI missing or not started by mpirun, ranks that disagree on
/// the model or the data, a collective operation that did not complete within the timeout. The
/// message starts with the rank ("rank 1 of 2: ...") so that every rank's line names itself.
/// </summary>
public sealed class DistributedException(string message) : InvalidOperationException(message);

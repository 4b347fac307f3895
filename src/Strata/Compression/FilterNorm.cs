namespace Strata.Compression;

/// <summary>How <see cref="StructuredPruning"/> ranks a filter (or unit): by the norm of its kernel slice.</summary>
public enum FilterNorm
{
    /// <summary>Σ|w| (Li et al., "Pruning Filters for Efficient ConvNets", 2017).</summary>
    L1,

    /// <summary>√Σw².</summary>
    L2,
}

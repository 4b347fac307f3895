using System.Text.RegularExpressions;

namespace Strata.Cli;

/// <summary>
/// One run per output folder: <c>OUT/.strata.lock</c> held open with <see cref="FileShare.None"/> for
/// the whole run. The operating system drops the hold when the process ends however it ends (kill -9
/// included), so a lock file left behind by a dead run blocks nothing; the file itself is never
/// deleted (deleting it would let two runs each hold a lock on a different file of the same name).
/// </summary>
internal sealed partial class RunLock : IDisposable
{
    public const string FileName = ".strata.lock";

    private readonly FileStream _stream;

    private RunLock(FileStream stream) => _stream = stream;

    /// <summary>Creates <paramref name="folder"/> if needed and takes its lock, then removes what runs killed mid-write left there.</summary>
    /// <exception cref="IOException">Another process holds the lock (the message names the folder and the lock file).</exception>
    public static RunLock Acquire(string folder)
    {
        string full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        string path = Path.Combine(full, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"the output folder '{full}' is in use by another run: its lock file '{path}' is held " +
                "(wait for that run to finish, stop it, or give another --out)", e);
        }
        // Who holds it, for a person looking at the folder (the lock itself is the open handle, not this text).
        stream.SetLength(0);
        using (var w = new StreamWriter(stream, leaveOpen: true))
            w.Write($"pid {Environment.ProcessId}, started {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n");
        stream.Flush();
        RemoveStaleTemporaries(full);
        return new RunLock(stream);
    }

    /// <summary>
    /// Deletes the temporary files of <see cref="Serialization.AtomicFile"/> (".NAME.GUID.tmp") that a run killed
    /// mid-write left in the folder. Safe while the lock is held: no other run writes here.
    /// </summary>
    private static void RemoveStaleTemporaries(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, ".*.tmp"))
        {
            if (Temporary().IsMatch(Path.GetFileName(file)))
                File.Delete(file);
        }
    }

    [GeneratedRegex(@"^\..+\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex Temporary();

    public void Dispose() => _stream.Dispose();
}

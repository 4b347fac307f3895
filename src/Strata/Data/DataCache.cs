using System.Security.Cryptography;

namespace Strata.Data;

/// <summary>
/// Downloads data files into a cache folder, verified by SHA-256 (Keras' get_file): a file already in
/// the cache with the right hash is used as it is; otherwise it is fetched to a temporary name in the
/// same folder, hashed while it streams, and renamed into place only when the hash matches, so the
/// cache never holds a partial or corrupted file under its real name.
/// </summary>
public static class DataCache
{
    /// <summary>
    /// The default cache folder: $STRATA_DATA_CACHE, else $XDG_CACHE_HOME/strata, else ~/.cache/strata.
    /// </summary>
    public static string DefaultFolder =>
        Environment.GetEnvironmentVariable("STRATA_DATA_CACHE") is { Length: > 0 } own ? own
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "strata");

    /// <summary>Downloads <paramref name="url"/> into the cache (unless a verified copy is there) and returns its path.</summary>
    /// <param name="url">Where the file is (http or https).</param>
    /// <param name="sha256">The expected SHA-256, 64 hex digits.</param>
    /// <param name="cacheFolder">The cache folder (null: <see cref="DefaultFolder"/>); created if needed.</param>
    /// <param name="fileName">The cached file's name (null: the URL's last segment).</param>
    /// <param name="client">The HTTP client to use (null: a new one).</param>
    /// <exception cref="InvalidDataException">The downloaded bytes do not have the expected hash (nothing is left in the cache).</exception>
    /// <exception cref="HttpRequestException">The server answered with an error status or could not be reached.</exception>
    public static string Fetch(Uri url, string sha256, string? cacheFolder = null, string? fileName = null, HttpClient? client = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (sha256 is not { Length: 64 } || !sha256.All(Uri.IsHexDigit))
            throw new ArgumentException($"DataCache.Fetch: expected a SHA-256 of 64 hex digits, got '{sha256}'");
        cacheFolder ??= DefaultFolder;
        fileName ??= Path.GetFileName(url.LocalPath);
        if (string.IsNullOrEmpty(fileName) || fileName != Path.GetFileName(fileName) || fileName is "." or "..")
            throw new ArgumentException($"DataCache.Fetch: cannot take a file name from '{url}'; pass fileName");
        Directory.CreateDirectory(cacheFolder);
        string path = Path.Combine(cacheFolder, fileName);
        if (File.Exists(path) && HashOf(path).Equals(sha256, StringComparison.OrdinalIgnoreCase))
            return path;

        string temp = Path.Combine(cacheFolder, $".{fileName}.{Guid.NewGuid():N}.partial");
        var own = client is null ? new HttpClient() : null;
        try
        {
            string actual;
            using (var request = new HttpRequestMessage(HttpMethod.Get, url))
            using (var response = (client ?? own!).Send(request, HttpCompletionOption.ResponseHeadersRead))
            {
                if (!response.IsSuccessStatusCode)
                    throw new HttpRequestException($"DataCache.Fetch: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
                using var body = response.Content.ReadAsStream();
                using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 16];
                int n;
                while ((n = body.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    file.Write(buffer, 0, n);
                }
                file.Flush(flushToDisk: true);
                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            if (!actual.Equals(sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"DataCache.Fetch: {url} has SHA-256 {actual}, expected {sha256.ToLowerInvariant()}; the download was discarded");
            File.Move(temp, path, overwrite: true);
            return path;
        }
        finally
        {
            own?.Dispose();
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }

    /// <summary>The SHA-256 of a file, lower-case hex.</summary>
    public static string HashOf(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }
}

using System.Collections.Concurrent;
using System.Text;

namespace Strata.Data.Mail;

/// <summary>
/// Charset names of mail (MIME <c>charset=</c>, RFC 2047 encoded words) to <see cref="Encoding"/>s, through
/// System.Text.Encoding with the code-page provider registered (windows-125x, ISO-8859-x, KOI8, the CJK
/// encodings). Decoding never throws: bytes a charset cannot map become U+FFFD.
/// </summary>
internal static class Charsets
{
    private static readonly ConcurrentDictionary<string, Encoding?> s_cache = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Names mail software writes that .NET does not know by that spelling.</summary>
    private static readonly Dictionary<string, string> s_aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["utf8"] = "utf-8",
        ["latin1"] = "iso-8859-1",
        ["latin-1"] = "iso-8859-1",
        ["iso8859-1"] = "iso-8859-1",
        ["iso_8859_1"] = "iso-8859-1",
        ["iso-8859-8-i"] = "iso-8859-8",
        ["cp1252"] = "windows-1252",
        ["cp1251"] = "windows-1251",
        ["cp1250"] = "windows-1250",
        ["cp850"] = "ibm850",
        ["cp936"] = "gb2312",
        ["gbk"] = "gb2312",
        ["x-gbk"] = "gb2312",
        ["cp949"] = "ks_c_5601-1987",
        ["x-sjis"] = "shift_jis",
        ["sjis"] = "shift_jis",
        ["ascii"] = "us-ascii",
        ["chinesebig5"] = "big5",
        ["gb2312_charset"] = "gb2312",
    };

    static Charsets()
    {
        // NOTE: before any code page is asked for (a property initializer would run before this body).
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        Windows1252 = Encoding.GetEncoding(1252);
    }

    /// <summary>windows-1252: what undeclared 8-bit mail of the corpus era is almost always written in.</summary>
    public static Encoding Windows1252 { get; }

    /// <summary>The encoding for a charset name, or null when it is missing or unknown (UTF-7, which .NET disables, counts as unknown).</summary>
    public static Encoding? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            return null;
        name = name.Trim().Trim('"', '\'').Trim();
        return s_cache.GetOrAdd(name, static n =>
        {
            string lookup = s_aliases.TryGetValue(n, out var alias) ? alias : n;
            try
            {
                return Encoding.GetEncoding(lookup);
            }
            catch (ArgumentException)
            {
                return null;
            }
            catch (NotSupportedException)
            {
                return null;
            }
        });
    }

    /// <summary>
    /// Bytes as text. A declared charset that .NET knows decodes them (US-ASCII excepted: see below); an
    /// unknown one falls back to Latin-1, which maps every byte. Without a charset, or with US-ASCII
    /// around 8-bit bytes (mislabelled mail), valid UTF-8 is read as UTF-8 and anything else as windows-1252.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? charset)
    {
        var declared = charset is null || IsDefaultName(charset) ? null : Find(charset);
        if (declared is not null && declared.CodePage != 20127)
            return declared.GetString(bytes);
        if (declared is null && !string.IsNullOrWhiteSpace(charset) && !IsDefaultName(charset))
            return Encoding.Latin1.GetString(bytes);
        return DecodeUndeclared(bytes);
    }

    /// <summary>ASCII as ASCII, valid UTF-8 as UTF-8, anything else as windows-1252.</summary>
    public static string DecodeUndeclared(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
            return Encoding.UTF8.GetString(bytes);
        return Windows1252.GetString(bytes);
    }

    /// <summary>Placeholders that mean "no particular charset".</summary>
    private static bool IsDefaultName(string name) => name.Trim().Trim('"').ToLowerInvariant() is "default" or "default_charset" or "unknown" or "unknown-8bit" or "x-unknown" or "none"
        or "unicode"; // .NET reads "unicode" as UTF-16, which 8-bit mail that says so never is
}

using System.Text;

namespace Strata.Data.Mail;

/// <summary>
/// The header block at the start of a message or MIME part (RFC 5322 §2.2): "Name: value" lines, each
/// continued by lines that start with a space or tab (folding), ended by an empty line. Lenient: an
/// mbox "From " separator line is skipped, a line that is neither a field nor a continuation ends the
/// block (a missing blank line), and raw 8-bit bytes (not RFC 2047, but common) are read as UTF-8 when
/// valid, else in the fallback charset (the part's own charset, as mail readers guess), else windows-1252.
/// </summary>
internal static class HeaderBlock
{
    /// <summary>
    /// The fields, where the body starts (after the blank line; the data's length when there is no body),
    /// and whether some field held 8-bit bytes that are not UTF-8 (read in <paramref name="fallback"/>).
    /// </summary>
    public static (List<MailHeader> Headers, int BodyStart, bool Raw8Bit) Parse(ReadOnlySpan<byte> data, System.Text.Encoding? fallback = null)
    {
        bool raw8Bit = false;
        var headers = new List<MailHeader>();
        string? name = null;
        var value = new StringBuilder();
        int pos = 0;
        bool first = true;
        while (pos < data.Length)
        {
            int lineEnd = data[pos..].IndexOf((byte)'\n');
            int next = lineEnd < 0 ? data.Length : pos + lineEnd + 1;
            var line = data[pos..(lineEnd < 0 ? data.Length : pos + lineEnd)];
            if (!line.IsEmpty && line[^1] == '\r')
                line = line[..^1];
            if (line.IsEmpty)
            {
                pos = next;
                break; // the blank line that ends the header block
            }
            if (line[0] is (byte)' ' or (byte)'\t')
            {
                if (name is not null)
                    value.Append(Text(line)); // unfolding removes only the line break
                pos = next;
                first = false;
                continue;
            }
            int colon = FieldNameEnd(line);
            if (colon < 0)
            {
                if (first && line.StartsWith("From "u8))
                {
                    pos = next;
                    first = false;
                    continue;
                }
                break; // not a header: the body starts here
            }
            Add();
            name = Encoding.ASCII.GetString(line[..colon]).TrimEnd();
            value.Append(Text(line[(colon + 1)..]));
            pos = next;
            first = false;
        }
        Add();
        return (headers, Math.Min(pos, data.Length), raw8Bit);

        string Text(ReadOnlySpan<byte> bytes)
        {
            if (System.Text.Unicode.Utf8.IsValid(bytes))
                return System.Text.Encoding.UTF8.GetString(bytes);
            raw8Bit = true;
            return (fallback ?? Charsets.Windows1252).GetString(bytes);
        }

        void Add()
        {
            if (name is null)
                return;
            string raw = value.ToString().Trim();
            headers.Add(new MailHeader(name, EncodedWords.Decode(raw), raw));
            name = null;
            value.Clear();
        }
    }

    /// <summary>The first value of a field, or null.</summary>
    public static MailHeader? Find(IReadOnlyList<MailHeader> headers, string name)
    {
        foreach (var h in headers)
        {
            if (string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase))
                return h;
        }
        return null;
    }

    /// <summary>
    /// The value and the parameters of a structured field such as Content-Type
    /// (<c>text/plain; charset="utf-8"</c>): the value lower-cased, parameter names case-insensitive,
    /// quoted values unquoted, RFC 2231 continuations (<c>name*0</c>, <c>name*1</c>) joined and
    /// extended values (<c>name*=utf-8''%E2%82%AC</c>) decoded.
    /// </summary>
    public static (string Value, Dictionary<string, string> Parameters) ParseParameters(string? field)
    {
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrWhiteSpace(field))
            return ("", parameters);
        var parts = SplitUnquoted(field, ';');
        var sections = new SortedDictionary<string, SortedDictionary<int, (string Text, bool Extended)>>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in parts.Skip(1))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0)
                continue;
            string key = part[..eq].Trim();
            string text = Unquote(part[(eq + 1)..].Trim());
            bool extended = key.EndsWith('*');
            if (extended)
                key = key[..^1];
            int section = 0;
            int star = key.LastIndexOf('*');
            if (star > 0 && int.TryParse(key[(star + 1)..], out int n) && n >= 0)
            {
                section = n;
                key = key[..star];
            }
            if (!sections.TryGetValue(key, out var byNumber))
                sections[key] = byNumber = [];
            byNumber.TryAdd(section, (text, extended));
        }
        foreach (var (key, byNumber) in sections)
        {
            string? charset = null;
            var joined = new StringBuilder();
            foreach (var (number, (text, extended)) in byNumber)
            {
                string t = text;
                if (extended && number == 0)
                {
                    // charset'language'percent-encoded
                    int q1 = t.IndexOf('\''), q2 = q1 >= 0 ? t.IndexOf('\'', q1 + 1) : -1;
                    if (q2 > q1)
                    {
                        charset = t[..q1];
                        t = t[(q2 + 1)..];
                    }
                }
                joined.Append(extended ? PercentDecode(t, charset) : t);
            }
            parameters[key] = joined.ToString();
        }
        return (Unquote(parts[0].Trim()).ToLowerInvariant(), parameters);
    }

    /// <summary>The length of a field name before its colon (printable ASCII, no spaces inside), or −1.</summary>
    private static int FieldNameEnd(ReadOnlySpan<byte> line)
    {
        int colon = line.IndexOf((byte)':');
        if (colon <= 0)
            return -1;
        var fieldName = line[..colon];
        int trimmed = fieldName.Length;
        while (trimmed > 0 && fieldName[trimmed - 1] is (byte)' ' or (byte)'\t')
            trimmed--; // "Subject :" is obsolete syntax but occurs
        if (trimmed == 0)
            return -1;
        foreach (byte b in fieldName[..trimmed])
        {
            if (b <= 32 || b >= 127)
                return -1;
        }
        return colon;
    }

    private static List<string> SplitUnquoted(string s, char separator)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\\' && quoted && i + 1 < s.Length)
            {
                current.Append(c).Append(s[++i]);
                continue;
            }
            if (c == '"')
                quoted = !quoted;
            if (c == separator && !quoted)
            {
                parts.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }
        parts.Add(current.ToString());
        return parts;
    }

    private static string Unquote(string s)
    {
        if (s.Length < 2 || s[0] != '"')
            return s;
        int end = s.LastIndexOf('"');
        var inner = end > 0 ? s[1..end] : s[1..];
        var sb = new StringBuilder(inner.Length);
        for (int i = 0; i < inner.Length; i++)
        {
            if (inner[i] == '\\' && i + 1 < inner.Length)
                i++;
            sb.Append(inner[i]);
        }
        return sb.ToString();
    }

    private static string PercentDecode(string s, string? charset)
    {
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && i + 2 < s.Length && Uri.IsHexDigit(s[i + 1]) && Uri.IsHexDigit(s[i + 2]))
            {
                bytes.Add((byte)Convert.ToInt32(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.Add(s[i] < 256 ? (byte)s[i] : (byte)'?');
            }
        }
        return Charsets.Decode(bytes.ToArray(), charset);
    }
}

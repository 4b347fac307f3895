using System.Text;

namespace Strata.Data.Mail;

/// <summary>Splits a multipart body at its boundary delimiter lines (RFC 2046 §5.1.1).</summary>
internal static class Multipart
{
    /// <summary>
    /// The body parts between "--boundary" lines, up to "--boundary--" or the end; the preamble and the
    /// epilogue are dropped. The line break before a delimiter belongs to the delimiter, not to the part.
    /// A delimiter line is "--boundary" followed by nothing, blanks, or "--" (so a longer boundary that
    /// merely starts with this one does not match). Empty when no delimiter occurs.
    /// </summary>
    public static List<(int Start, int Length)> Split(ReadOnlySpan<byte> body, string boundary)
    {
        var parts = new List<(int, int)>();
        var delimiter = Encoding.Latin1.GetBytes("--" + boundary);
        int partStart = -1;
        int pos = 0;
        while (pos < body.Length)
        {
            int lineEnd = body[pos..].IndexOf((byte)'\n');
            int next = lineEnd < 0 ? body.Length : pos + lineEnd + 1;
            var line = body[pos..(lineEnd < 0 ? body.Length : pos + lineEnd)];
            if (line.StartsWith(delimiter) && IsDelimiterTail(line[delimiter.Length..], out bool closing))
            {
                if (partStart >= 0)
                    parts.Add((partStart, ContentEnd(body, partStart, pos) - partStart));
                if (closing)
                    return parts;
                partStart = next;
            }
            pos = next;
        }
        if (partStart >= 0 && partStart < body.Length)
            parts.Add((partStart, body.Length - partStart)); // no closing delimiter: the last part runs to the end
        return parts;
    }

    private static bool IsDelimiterTail(ReadOnlySpan<byte> tail, out bool closing)
    {
        closing = tail.StartsWith("--"u8);
        if (closing)
            tail = tail[2..];
        foreach (byte b in tail)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r'))
                return false;
        }
        return true;
    }

    /// <summary>The end of a part's content: the delimiter line's start, less the CRLF or LF before it.</summary>
    private static int ContentEnd(ReadOnlySpan<byte> body, int start, int delimiterLine)
    {
        int end = delimiterLine;
        if (end > start && body[end - 1] == '\n')
            end--;
        if (end > start && body[end - 1] == '\r')
            end--;
        return end;
    }
}

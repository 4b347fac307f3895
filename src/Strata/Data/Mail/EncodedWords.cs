using System.Text;

namespace Strata.Data.Mail;

/// <summary>
/// RFC 2047 encoded words in header values: <c>=?charset?B?base64?=</c> and <c>=?charset?Q?quoted?=</c>.
/// Whitespace between two adjacent encoded words is dropped (§6.2), and the bytes of adjacent words in
/// one charset are joined before decoding, so a multi-byte character split across words survives. Words
/// are recognised anywhere (also glued to text, as much real mail has them); a malformed one stays literal.
/// </summary>
internal static class EncodedWords
{
    public static string Decode(string value)
    {
        if (!value.Contains("=?", StringComparison.Ordinal))
            return value;
        var sb = new StringBuilder(value.Length);
        var pending = new List<byte>();
        string? pendingCharset = null;
        int pendingEnd = -1; // where the last encoded word ended, to tell whether only whitespace follows it
        int i = 0;
        while (i < value.Length)
        {
            int start = value.IndexOf("=?", i, StringComparison.Ordinal);
            if (start < 0 || !TryParse(value, start, out var charset, out var bytes, out int end))
            {
                int stop = start < 0 ? value.Length : start + 2;
                Flush();
                sb.Append(value, i, stop - i);
                i = stop;
                continue;
            }
            bool adjacent = pendingEnd >= 0 && string.IsNullOrWhiteSpace(value[pendingEnd..start]);
            if (!adjacent)
            {
                Flush();
                sb.Append(value, i, start - i);
            }
            else if (!string.Equals(charset, pendingCharset, StringComparison.OrdinalIgnoreCase))
            {
                Flush();
            }
            pendingCharset = charset;
            pending.AddRange(bytes);
            pendingEnd = end;
            i = end;
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (pendingCharset is not null)
                sb.Append(Charsets.Decode(pending.ToArray(), pendingCharset));
            pending.Clear();
            pendingCharset = null;
            pendingEnd = -1;
        }
    }

    /// <summary>One encoded word at <paramref name="start"/> ("=?"): its charset (an RFC 2231 "*language" suffix dropped) and bytes.</summary>
    private static bool TryParse(string s, int start, out string charset, out byte[] bytes, out int end)
    {
        charset = "";
        bytes = [];
        end = start;
        int q1 = s.IndexOf('?', start + 2);
        if (q1 < 0 || q1 == start + 2 || q1 + 2 >= s.Length || s[q1 + 2] != '?')
            return false;
        char mode = char.ToUpperInvariant(s[q1 + 1]);
        if (mode is not ('B' or 'Q'))
            return false;
        int textStart = q1 + 3;
        int close = s.IndexOf("?=", textStart, StringComparison.Ordinal);
        if (close < 0)
            return false;
        string text = s[textStart..close];
        if (text.Any(char.IsWhiteSpace))
            return false;
        charset = s[(start + 2)..q1];
        int star = charset.IndexOf('*');
        if (star >= 0)
            charset = charset[..star];
        var raw = new byte[text.Length];
        for (int k = 0; k < text.Length; k++)
            raw[k] = text[k] < 256 ? (byte)text[k] : (byte)'?';
        bytes = mode == 'B' ? TransferEncoding.DecodeBase64(raw) : TransferEncoding.DecodeQuotedPrintable(raw, underscoreIsSpace: true);
        end = close + 2;
        return true;
    }
}

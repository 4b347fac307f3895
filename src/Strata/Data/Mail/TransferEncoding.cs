namespace Strata.Data.Mail;

/// <summary>
/// The MIME content-transfer-encodings (RFC 2045) and the byte decoders that RFC 2047 encoded words
/// share. Decoding is lenient, as a mail reader must be: characters outside the alphabet are skipped,
/// a truncated quantum yields the bytes it holds, a stray '=' stays literal; nothing throws.
/// </summary>
internal static class TransferEncoding
{
    /// <summary>The content bytes of a part: base64 and quoted-printable undone; 7bit, 8bit, binary and unknown encodings as they are.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> body, string encoding) => encoding switch
    {
        "base64" => DecodeBase64(body),
        "quoted-printable" => DecodeQuotedPrintable(body, underscoreIsSpace: false),
        _ => body.ToArray(),
    };

    /// <summary>
    /// Base64 that skips whitespace and any other character outside the alphabet. A '=' ends a quantum
    /// (its bytes are kept), so concatenated encodings decode too; a final partial quantum of 2 or 3
    /// characters gives 1 or 2 bytes, a single leftover character nothing.
    /// </summary>
    public static byte[] DecodeBase64(ReadOnlySpan<byte> text)
    {
        var output = new List<byte>(text.Length * 3 / 4 + 3);
        int bits = 0, count = 0;
        foreach (byte b in text)
        {
            int v = Sextet(b);
            if (v < 0)
            {
                if (b == '=')
                    Flush(output, ref bits, ref count);
                continue;
            }
            bits = (bits << 6) | v;
            if (++count == 4)
            {
                output.Add((byte)(bits >> 16));
                output.Add((byte)(bits >> 8));
                output.Add((byte)bits);
                bits = 0;
                count = 0;
            }
        }
        Flush(output, ref bits, ref count);
        return [.. output];
    }

    /// <summary>
    /// Quoted-printable: "=XX" (either case) is a byte, "=" before a line break (after optional spaces) is
    /// a soft break, any other "=" is kept. <paramref name="underscoreIsSpace"/>: the "Q" encoding of
    /// RFC 2047, where '_' stands for a space.
    /// </summary>
    public static byte[] DecodeQuotedPrintable(ReadOnlySpan<byte> text, bool underscoreIsSpace)
    {
        var output = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            byte b = text[i];
            if (b == '_' && underscoreIsSpace)
            {
                output.Add((byte)' ');
                continue;
            }
            if (b != '=')
            {
                output.Add(b);
                continue;
            }
            if (i + 2 < text.Length && Hex(text[i + 1]) is int hi and >= 0 && Hex(text[i + 2]) is int lo and >= 0)
            {
                output.Add((byte)(hi << 4 | lo));
                i += 2;
                continue;
            }
            // A soft line break: '=', optional trailing blanks, then CRLF or LF (or the end of the text).
            int j = i + 1;
            while (j < text.Length && (text[j] == ' ' || text[j] == '\t'))
                j++;
            if (j == text.Length)
            {
                i = j - 1;
                continue;
            }
            if (text[j] == '\n' || (text[j] == '\r' && j + 1 < text.Length && text[j + 1] == '\n'))
            {
                i = text[j] == '\r' ? j + 1 : j;
                continue;
            }
            output.Add(b); // a stray '=': literal
        }
        return [.. output];
    }

    private static void Flush(List<byte> output, ref int bits, ref int count)
    {
        if (count == 2)
            output.Add((byte)(bits >> 4));
        else if (count == 3)
        {
            output.Add((byte)(bits >> 10));
            output.Add((byte)(bits >> 2));
        }
        bits = 0;
        count = 0;
    }

    private static int Sextet(byte b) => b switch
    {
        >= (byte)'A' and <= (byte)'Z' => b - 'A',
        >= (byte)'a' and <= (byte)'z' => b - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => b - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        _ => -1,
    };

    private static int Hex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        _ => -1,
    };
}

namespace Strata.Data.Mail;

/// <summary>
/// One MIME entity (RFC 2045–2046): its header fields, its media type and parameters, and either child
/// parts (multipart/*), an enclosed message (message/rfc822) or content bytes with the transfer encoding
/// undone. Parsing is lenient and never throws on malformed mail: a missing or unknown Content-Type is
/// text/plain, a multipart without its boundary is read as one text part, an unclosed last part runs
/// to the end, and nesting deeper than <see cref="MaxDepth"/> is kept as opaque content.
/// </summary>
public sealed class MimePart
{
    /// <summary>How deep multiparts and enclosed messages may nest before a part is left unparsed.</summary>
    public const int MaxDepth = 24;

    private static readonly byte[] s_empty = [];
    private readonly List<MailHeader> _headers;
    private readonly Dictionary<string, string> _parameters;
    private readonly List<MimePart> _parts = [];

    internal MimePart(ReadOnlySpan<byte> data, int depth, string defaultType = "text/plain")
    {
        var (headers, bodyStart, raw8Bit) = HeaderBlock.Parse(data);
        _headers = headers;
        var (type, parameters) = HeaderBlock.ParseParameters(Header("Content-Type"));
        if (raw8Bit && Charsets.Find(parameters.GetValueOrDefault("charset")) is { CodePage: not (20127 or 65001) } charset)
            _headers = HeaderBlock.Parse(data, charset).Headers; // unencoded 8-bit header text is most likely in the body's charset
        if (type.IndexOf('/') is <= 0 || type.EndsWith('/'))
            type = defaultType; // missing or malformed: the RFC 2045 default
        MediaType = type;
        _parameters = parameters;
        TransferEncoding = (Header("Content-Transfer-Encoding") ?? "7bit").Trim().Trim('"').ToLowerInvariant();
        var (disposition, dispositionParameters) = HeaderBlock.ParseParameters(Header("Content-Disposition"));
        Disposition = disposition.Length > 0 ? disposition : null;
        FileName = dispositionParameters.GetValueOrDefault("filename") ?? parameters.GetValueOrDefault("name");
        var body = data[bodyStart..];
        Content = s_empty;
        if (depth >= MaxDepth)
        {
            Content = body.ToArray();
            return;
        }
        if (IsMultipart && Boundary is { Length: > 0 } boundary && Multipart.Split(body, boundary) is { Count: > 0 } pieces)
        {
            string childDefault = MediaType == "multipart/digest" ? "message/rfc822" : "text/plain";
            foreach (var (start, length) in pieces)
                _parts.Add(new MimePart(body.Slice(start, length), depth + 1, childDefault));
            return;
        }
        if (IsMultipart)
            MediaType = "text/plain"; // no boundary, or none found in the body: show the body as text
        var content = Mail.TransferEncoding.Decode(body, TransferEncoding);
        if (MediaType == "message/rfc822")
            Message = new MailMessage(content, depth + 1);
        else
            Content = content;
    }

    /// <summary>The part's header fields, in order.</summary>
    public IReadOnlyList<MailHeader> Headers => _headers;

    /// <summary>The media type, lower case ("text/plain", "multipart/alternative").</summary>
    public string MediaType { get; }

    /// <summary>The Content-Type parameters (names ignore case): charset, boundary, name, ...</summary>
    public IReadOnlyDictionary<string, string> Parameters => _parameters;

    /// <summary>The declared charset, or null.</summary>
    public string? Charset => _parameters.GetValueOrDefault("charset");

    /// <summary>The multipart boundary, or null.</summary>
    public string? Boundary => _parameters.GetValueOrDefault("boundary");

    /// <summary>The Content-Transfer-Encoding, lower case ("7bit" when absent).</summary>
    public string TransferEncoding { get; }

    /// <summary>The Content-Disposition ("inline", "attachment"), or null.</summary>
    public string? Disposition { get; }

    /// <summary>The file name of an attachment (Content-Disposition filename, else Content-Type name), or null.</summary>
    public string? FileName { get; }

    /// <summary>Whether the part holds child parts.</summary>
    public bool IsMultipart => MediaType.StartsWith("multipart/", StringComparison.Ordinal);

    /// <summary>Whether the part is an attachment rather than part of the message's text.</summary>
    public bool IsAttachment => string.Equals(Disposition, "attachment", StringComparison.OrdinalIgnoreCase);

    /// <summary>The child parts of a multipart (empty otherwise).</summary>
    public IReadOnlyList<MimePart> Parts => _parts;

    /// <summary>The enclosed message of a message/rfc822 part, or null.</summary>
    public MailMessage? Message { get; }

    /// <summary>The content bytes of a leaf part, base64 or quoted-printable undone (empty for multiparts and enclosed messages).</summary>
    public ReadOnlyMemory<byte> Content { get; }

    /// <summary>
    /// The content as text in its declared charset, line breaks as "\n". An unknown charset reads as Latin-1;
    /// none (or US-ASCII around 8-bit bytes) as UTF-8 when valid, else windows-1252; an HTML part without a
    /// known charset takes the one its &lt;meta&gt; declares, as browsers do.
    /// </summary>
    public string Text => NormalizeLineBreaks(Charsets.Decode(Content.Span,
        MediaType == "text/html" && Charsets.Find(Charset) is null ? MetaCharset(Content.Span) ?? Charset : Charset));

    /// <summary>The first value of a header field, or null.</summary>
    public string? Header(string name) => HeaderBlock.Find(_headers, name)?.Value;

    /// <summary>
    /// The readable text of this part: text/plain as it is (HTML-looking plain text converted), text/html
    /// converted by <see cref="HtmlText.ToPlainText"/>; for multipart/alternative the plain version when it
    /// has text, else the HTML one; for other multiparts the texts of the inline parts joined by blank lines;
    /// for an enclosed message its body text. Attachments and non-text parts give "".
    /// </summary>
    public string BodyText()
    {
        if (Message is not null)
            return IsAttachment ? "" : Message.BodyText();
        if (IsMultipart)
        {
            if (MediaType == "multipart/alternative")
            {
                foreach (var preferred in new[] { "text/plain", "text/html" })
                {
                    foreach (var p in _parts.Where(p => p.MediaType == preferred && !p.IsAttachment))
                    {
                        string t = p.BodyText();
                        if (!string.IsNullOrWhiteSpace(t))
                            return t;
                    }
                }
                return _parts.Select(p => p.BodyText()).FirstOrDefault(t => !string.IsNullOrWhiteSpace(t)) ?? "";
            }
            return string.Join("\n\n", _parts.Select(p => p.BodyText()).Where(t => !string.IsNullOrWhiteSpace(t)));
        }
        if (IsAttachment || !MediaType.StartsWith("text/", StringComparison.Ordinal))
            return "";
        string text = Text;
        return MediaType == "text/html" || LooksLikeHtml(text) ? HtmlText.ToPlainText(text) : text;
    }

    /// <summary>The charset of an HTML &lt;meta&gt; in the first 4 KB ("charset=big5", "charset=\"utf-8\""), or null.</summary>
    private static string? MetaCharset(ReadOnlySpan<byte> html)
    {
        var head = System.Text.Encoding.Latin1.GetString(html[..Math.Min(html.Length, 4096)]);
        int at = head.IndexOf("charset=", StringComparison.OrdinalIgnoreCase);
        if (at < 0)
            return null;
        int start = at + "charset=".Length;
        while (start < head.Length && head[start] is '"' or '\'' or ' ')
            start++;
        int end = start;
        while (end < head.Length && (char.IsAsciiLetterOrDigit(head[end]) || head[end] is '-' or '_' or '.' or ':'))
            end++;
        return end > start && Charsets.Find(head[start..end]) is not null ? head[start..end] : null;
    }

    /// <summary>Plain text that is really an HTML document (common in spam sent without a Content-Type).</summary>
    private static bool LooksLikeHtml(string text)
    {
        var start = text.AsSpan().TrimStart();
        return start.StartsWith("<html", StringComparison.OrdinalIgnoreCase) || start.StartsWith("<!doctype html", StringComparison.OrdinalIgnoreCase);
    }

    internal static string NormalizeLineBreaks(string s) =>
        s.Contains('\r') ? s.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : s;
}

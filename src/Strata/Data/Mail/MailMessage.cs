using System.Text;

namespace Strata.Data.Mail;

/// <summary>
/// An Internet mail message (RFC 5322 with MIME, RFC 2045–2047) parsed from its raw bytes: the header
/// fields (folded lines joined, encoded words decoded), the MIME tree (nested multiparts, enclosed
/// messages; base64 and quoted-printable undone; charsets through System.Text.Encoding, unknown ones as
/// Latin-1), and <see cref="BodyText"/>, the text a reader would see (HTML converted to text).
/// Parsing never throws on malformed mail, which real corpora are full of; see <see cref="MimePart"/>.
/// </summary>
/// <example><code>
/// var message = MailMessage.Parse(File.ReadAllBytes("00001.txt"));
/// Console.WriteLine($"{message.Subject} from {message.From}: {message.BodyText()}");
/// </code></example>
public sealed class MailMessage
{
    internal MailMessage(ReadOnlySpan<byte> raw, int depth)
    {
        Root = new MimePart(raw, depth);
    }

    /// <summary>Parses a message from its raw bytes (an mbox "From " first line is skipped).</summary>
    public static MailMessage Parse(ReadOnlySpan<byte> raw) => new(raw, 0);

    /// <summary>Parses a message given as text (it is read as its UTF-8 bytes).</summary>
    public static MailMessage Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new(Encoding.UTF8.GetBytes(text), 0);
    }

    /// <summary>The top-level entity: the message's header fields and its body.</summary>
    public MimePart Root { get; }

    /// <summary>The message's header fields, in order.</summary>
    public IReadOnlyList<MailHeader> Headers => Root.Headers;

    /// <summary>The decoded Subject, or null.</summary>
    public string? Subject => Root.Header("Subject");

    /// <summary>The first mailbox of the From field, or null.</summary>
    public Mailbox? From => Mailbox.Parse(HeaderBlock.Find(Root.Headers, "From")?.RawValue);

    /// <summary>The first value of a header field (decoded), or null.</summary>
    public string? Header(string name) => Root.Header(name);

    /// <summary>Every leaf part of the MIME tree, depth first (enclosed messages included).</summary>
    public IEnumerable<MimePart> LeafParts()
    {
        var stack = new Stack<MimePart>();
        stack.Push(Root);
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            if (p.Message is not null)
                stack.Push(p.Message.Root);
            else if (p.IsMultipart)
            {
                for (int i = p.Parts.Count - 1; i >= 0; i--)
                    stack.Push(p.Parts[i]);
            }
            else
                yield return p;
        }
    }

    /// <summary>The body as a reader sees it (see <see cref="MimePart.BodyText"/>), line breaks as "\n".</summary>
    public string BodyText() => Root.BodyText();
}

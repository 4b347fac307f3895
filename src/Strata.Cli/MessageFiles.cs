using System.Text;
using Strata.Data;
using Strata.Data.Mail;

namespace Strata.Cli;

/// <summary>
/// What `predict` makes of a file for a text model. A file that starts with a mail header block (an .eml
/// file, or one whose first lines are all "Name: value" header fields or their continuation lines, with at
/// least one of the usual mail headers, up to a blank line) is a mail message: parsed by
/// <see cref="MailMessage"/> (MIME parts, transfer encodings, any charset) and reduced to what the
/// SpamAssassin models were trained on, <see cref="SpamAssassin.ClassifierText"/> (subject, sender, decoded
/// body). Any other file is plain text, which must be UTF-8 (<see cref="TextDataset.ReadText"/>).
/// </summary>
internal static class MessageFiles
{
    /// <summary>The header fields that make a header block a mail message's (lower case).</summary>
    private static readonly HashSet<string> MailHeaders =
    [
        "from", "to", "cc", "subject", "date", "received", "return-path", "message-id", "mime-version", "content-type",
        "delivered-to", "reply-to", "sender", "x-mailer", "in-reply-to", "references",
    ];

    /// <summary>How far into a file the header block is looked for.</summary>
    private const int HeaderScanBytes = 64 * 1024;

    /// <summary>A message's text as the model reads it, and whether it was read as a mail message.</summary>
    /// <exception cref="InvalidDataException">An empty file, or plain text that is not valid UTF-8 (naming the file and the byte offset).</exception>
    public static (string Text, bool Mail) Read(string path, bool plainText)
    {
        if (!plainText)
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length > 0 && (Path.GetExtension(path).Equals(".eml", StringComparison.OrdinalIgnoreCase) || LooksLikeMail(bytes)))
                return (SpamAssassin.ClassifierText(MailMessage.Parse(bytes)), true);
        }
        try
        {
            return (TextDataset.ReadText(path), false);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(DataSources.WithCliUtf8Advice(e.Message) +
                (plainText ? "" : " (a mail message with headers would be decoded by its own charset)"), e);
        }
    }

    /// <summary>Whether the bytes start with a mail header block (an mbox "From " line may come first).</summary>
    public static bool LooksLikeMail(ReadOnlySpan<byte> bytes)
    {
        // Header field names are ASCII, so Latin-1 reads the block exactly whatever the body's charset.
        string head = Encoding.Latin1.GetString(bytes[..Math.Min(bytes.Length, HeaderScanBytes)]);
        var lines = head.Split('\n');
        int at = 0, known = 0;
        if (lines[0].StartsWith("From ", StringComparison.Ordinal))
            at = 1; // an mbox separator line
        bool any = false;
        for (; at < lines.Length; at++)
        {
            string line = lines[at].TrimEnd('\r');
            if (line.Length == 0)
                return any && known > 0; // the blank line that ends the headers
            if (line[0] is ' ' or '\t')
            {
                if (!any)
                    return false; // a continuation line with no field to continue
                continue;
            }
            int colon = line.IndexOf(':');
            if (colon < 1 || !IsFieldName(line.AsSpan(0, colon)))
                return false;
            any = true;
            if (MailHeaders.Contains(line[..colon].ToLowerInvariant()))
                known++;
        }
        return any && known > 0 && bytes.Length <= HeaderScanBytes; // headers only, up to the end of the file
    }

    /// <summary>RFC 5322 field names: printable ASCII except the colon, no spaces.</summary>
    private static bool IsFieldName(ReadOnlySpan<char> name)
    {
        foreach (char c in name)
        {
            if (c is < '!' or > '~')
                return false;
        }
        return true;
    }

    /// <summary>
    /// The files to classify: each file as given, each folder's files below it (ordinal order, hidden ones
    /// skipped), filtered by <paramref name="accept"/> for folders.
    /// </summary>
    /// <exception cref="FileNotFoundException">An input that is neither a file nor a folder, or a folder with no file to take.</exception>
    public static IEnumerable<string> Expand(IEnumerable<string> inputs, Func<string, bool> accept, string what)
    {
        foreach (var input in inputs)
        {
            if (File.Exists(input))
            {
                yield return input;
                continue;
            }
            if (!Directory.Exists(input))
                throw new FileNotFoundException($"input '{input}' does not exist", input);
            var files = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetRelativePath(input, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
                .Where(accept).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
                throw new FileNotFoundException($"input folder '{input}' holds no {what}", input);
            foreach (var f in files)
                yield return f;
        }
    }
}

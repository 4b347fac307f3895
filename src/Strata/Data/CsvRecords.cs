using System.Text;

namespace Strata.Data;

/// <summary>
/// CSV records per RFC 4180 with the usual leniency: fields separated by a delimiter, quoted fields
/// ("a, b", "say ""hi""") that may hold delimiters and line breaks, CRLF or LF line ends, a UTF-8
/// byte-order mark dropped, blank lines skipped. Each record carries the line it starts on.
/// </summary>
internal static class CsvRecords
{
    /// <exception cref="InvalidDataException">A quoted field is not closed (naming the file and the line it opened on).</exception>
    public static List<(int Line, string[] Fields)> Read(string path, char delimiter)
    {
        string text;
        using (var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
            text = reader.ReadToEnd();
        var records = new List<(int, string[])>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1, quoteLine = 0;
        bool quoted = false, fieldStarted = false, anyContent = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                        quoted = false;
                }
                else
                {
                    if (c == '\n')
                        line++;
                    field.Append(c);
                }
                continue;
            }
            if (c == '"' && !fieldStarted)
            {
                quoted = true;
                fieldStarted = true;
                anyContent = true;
                quoteLine = line;
                field.Clear();
            }
            else if (c == delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
                fieldStarted = false;
                anyContent = true;
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                    i++;
                EndRecord();
                line++;
                recordLine = line;
            }
            else
            {
                if (!char.IsWhiteSpace(c))
                {
                    fieldStarted = true;
                    anyContent = true;
                }
                else if (!fieldStarted)
                {
                    continue; // blanks before a field (so that ` "quoted"` still opens a quote)
                }
                field.Append(c);
            }
        }
        if (quoted)
            throw new InvalidDataException($"CSV '{path}' line {quoteLine}: a quoted field is not closed");
        EndRecord();
        return records;

        void EndRecord()
        {
            if (anyContent || field.Length > 0)
            {
                fields.Add(field.ToString());
                records.Add((recordLine, [.. fields]));
            }
            fields.Clear();
            field.Clear();
            fieldStarted = false;
            anyContent = false;
        }
    }
}

using System.Net;
using System.Text;

namespace Strata.Data.Mail;

/// <summary>
/// HTML to readable text, as mail bodies need it: tags removed; script, style and comments dropped with
/// their content; paragraph elements (p, headings, lists, tables) as blank lines, other blocks (div, li,
/// tr, ...) as line breaks, br as one line break, table cells as spaces; character references decoded
/// (named, decimal, hex; 128–159 read as windows-1252, as browsers do); source line breaks and runs of
/// blanks as single spaces, at most one blank line in a row. A '&lt;' that does not open a tag stays
/// text. Tolerant of broken markup; never throws.
/// </summary>
public static class HtmlText
{
    /// <summary>Elements that start and end a paragraph: a blank line before and after.</summary>
    private static readonly HashSet<string> s_paragraphs = new(StringComparer.OrdinalIgnoreCase)
    {
        "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table", "ul",
    };

    /// <summary>Elements that start and end a line.</summary>
    private static readonly HashSet<string> s_lines = new(StringComparer.OrdinalIgnoreCase)
    {
        "address", "article", "aside", "body", "caption", "center", "dd", "div", "dl", "dt", "fieldset", "figure", "footer", "form",
        "head", "header", "html", "li", "main", "nav", "section", "tbody", "tfoot", "thead", "title", "tr",
    };

    private static readonly HashSet<string> s_cells = new(StringComparer.OrdinalIgnoreCase) { "td", "th" };

    /// <summary>Elements whose content is not text.</summary>
    private static readonly string[] s_dropped = ["script", "style", "xml"];

    /// <summary>
    /// The visible text of an HTML document or fragment: tags removed, script and style contents
    /// dropped, block elements and table cells turned into line breaks and spaces, entities decoded.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="html"/> is null.</exception>
    public static string ToPlainText(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var sb = new StringBuilder(html.Length);
        int i = 0;
        while (i < html.Length)
        {
            char c = html[i];
            if (c == '<')
            {
                if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
                {
                    int close = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                    i = close < 0 ? html.Length : close + 3;
                    continue;
                }
                if (i + 1 < html.Length && (char.IsAsciiLetter(html[i + 1]) || html[i + 1] is '/' or '!' or '?'))
                {
                    int end = TagEnd(html, i + 1);
                    string name = TagName(html, i + 1, end, out bool closing);
                    i = end;
                    if (!closing && s_dropped.Contains(name, StringComparer.OrdinalIgnoreCase))
                    {
                        int close = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                        i = close < 0 ? html.Length : TagEnd(html, close + 1);
                    }
                    else if (name.Equals("br", StringComparison.OrdinalIgnoreCase))
                        Break(sb, 0);
                    else if (s_paragraphs.Contains(name))
                        Break(sb, 2);
                    else if (s_lines.Contains(name))
                        Break(sb, 1);
                    else if (s_cells.Contains(name))
                        sb.Append(' ');
                    continue;
                }
            }
            else if (c == '&' && Entity(html, i, out string decoded, out int length))
            {
                sb.Append(decoded);
                i += length;
                continue;
            }
            sb.Append(c is '\r' or '\n' or '\t' or '\f' ? ' ' : c);
            i++;
        }
        return TidyWhitespace(sb.ToString());
    }

    /// <summary>
    /// Ends the current line: with <paramref name="lines"/> 0 always one more line break (br), else as many
    /// as make <paramref name="lines"/> in a row (1: a new line, 2: a blank line), so nested blocks do not stack.
    /// </summary>
    private static void Break(StringBuilder sb, int lines)
    {
        while (sb.Length > 0 && sb[^1] == ' ')
            sb.Length--;
        if (lines == 0)
        {
            sb.Append('\n');
            return;
        }
        if (sb.Length == 0)
            return;
        int have = 0;
        while (have < sb.Length && sb[sb.Length - 1 - have] == '\n')
            have++;
        for (; have < lines; have++)
            sb.Append('\n');
    }

    /// <summary>
    /// Blanks (spaces, tabs, no-break spaces) in runs made single spaces, each line trimmed, runs of blank
    /// lines made one, the whole trimmed.
    /// </summary>
    public static string TidyWhitespace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        int newlines = 0;
        bool space = false;
        foreach (char ch in text)
        {
            if (ch == '\n')
            {
                newlines++;
                space = false;
                continue;
            }
            if (ch is ' ' or '\t' or '\u00a0' or '\f' or '\v' or '\r' || (char.IsWhiteSpace(ch) && ch != '\n'))
            {
                space = true;
                continue;
            }
            if (char.IsControl(ch))
                continue;
            if (sb.Length > 0)
            {
                if (newlines > 0)
                    sb.Append(newlines > 1 ? "\n\n" : "\n");
                else if (space)
                    sb.Append(' ');
            }
            newlines = 0;
            space = false;
            sb.Append(ch);
        }
        return sb.ToString();
    }

    /// <summary>The index after a tag's '>' (quotes in attribute values respected), or after the first '>' when a quote never closes.</summary>
    private static int TagEnd(string html, int from)
    {
        char quote = '\0';
        for (int j = from; j < html.Length; j++)
        {
            char ch = html[j];
            if (quote != '\0')
            {
                if (ch == quote)
                    quote = '\0';
            }
            else if (ch is '"' or '\'')
            {
                // Only a quote that opens an attribute value (after '=') counts: stray apostrophes in broken markup are text.
                int k = j - 1;
                while (k >= from && char.IsWhiteSpace(html[k]))
                    k--;
                if (k >= from && html[k] == '=')
                    quote = ch;
            }
            else if (ch == '>')
            {
                return j + 1;
            }
        }
        int plain = html.IndexOf('>', from);
        return plain < 0 ? html.Length : plain + 1;
    }

    private static string TagName(string html, int from, int end, out bool closing)
    {
        int j = from;
        closing = j < end && html[j] == '/';
        if (closing)
            j++;
        int start = j;
        while (j < end && (char.IsAsciiLetterOrDigit(html[j]) || html[j] is ':' or '-'))
            j++;
        return html[start..j];
    }

    /// <summary>A character reference at <paramref name="at"/> ("&amp;name;", "&amp;#65;", "&amp;#x41;").</summary>
    private static bool Entity(string html, int at, out string decoded, out int length)
    {
        decoded = "";
        length = 0;
        int semi = html.IndexOf(';', at + 1, Math.Min(12, html.Length - at - 1));
        if (semi < 0)
            return false;
        string entity = html[at..(semi + 1)];
        if (entity.Length > 3 && entity[1] == '#')
        {
            bool hex = entity[2] is 'x' or 'X';
            var digits = entity.AsSpan(hex ? 3 : 2, entity.Length - (hex ? 4 : 3));
            if (!int.TryParse(digits, hex ? System.Globalization.NumberStyles.AllowHexSpecifier : System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out int code))
                return false;
            if (code is >= 128 and <= 159)
                decoded = Charsets.Windows1252.GetString([(byte)code]);
            else if (code is > 0 and <= 0x10FFFF && code is not (>= 0xD800 and <= 0xDFFF))
                decoded = char.ConvertFromUtf32(code);
            else
                decoded = "\uFFFD";
            length = entity.Length;
            return true;
        }
        decoded = WebUtility.HtmlDecode(entity);
        if (decoded == entity)
            return false;
        length = entity.Length;
        return true;
    }
}

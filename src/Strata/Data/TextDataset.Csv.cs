using System.Globalization;

namespace Strata.Data;

public sealed partial class TextDataset
{
    /// <summary>
    /// Texts from a CSV file with a header: the <paramref name="textColumn"/> holds the text (quoted fields
    /// may span lines and hold delimiters), the <paramref name="labelColumn"/> the class. Labels are matched
    /// against <paramref name="classNames"/> when given; otherwise whole numbers ≥ 0 are class indices (class
    /// names "0" to the largest), and any other labels are class names in ordinal order. Rows keep the file's order.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// No header or no rows, a column that the header lacks, a row whose field count differs from the
    /// header's, an empty label, or a label outside <paramref name="classNames"/>; the message names the
    /// file, the line and the column.
    /// </exception>
    public static TextDataset FromCsv(string path, string textColumn = "text", string labelColumn = "label", IReadOnlyList<string>? classNames = null,
        char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"TextDataset.FromCsv: file '{path}' does not exist", path);
        var records = CsvRecords.Read(path, delimiter);
        if (records.Count == 0)
            throw new InvalidDataException($"CSV '{path}': the file is empty (expected a header naming the columns '{textColumn}' and '{labelColumn}')");
        var (headerLine, header) = records[0];
        header = header.Select(h => h.Trim()).ToArray();
        int text = Column(textColumn), label = Column(labelColumn);
        if (records.Count == 1)
            throw new InvalidDataException($"CSV '{path}': no data rows after the header");

        var texts = new string[records.Count - 1];
        var labelText = new string[records.Count - 1];
        for (int r = 1; r < records.Count; r++)
        {
            var (line, fields) = records[r];
            if (fields.Length != header.Length)
            {
                var absent = new[] { text, label }.Where(c => c >= fields.Length).Order().ToArray();
                string which = absent.Length > 0 ? $"; no value for column '{header[absent[0]]}'" : "";
                throw new InvalidDataException($"CSV '{path}' line {line}: {fields.Length} field(s), but the header (line {headerLine}) has {header.Length}{which}");
            }
            texts[r - 1] = fields[text];
            labelText[r - 1] = fields[label].Trim();
            if (labelText[r - 1].Length == 0)
                throw new InvalidDataException($"CSV '{path}' line {line}: empty label in column '{labelColumn}'");
        }

        string[] classes;
        int[] labels;
        if (classNames is not null)
        {
            classes = [.. classNames];
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < classes.Length; i++)
                index.TryAdd(classes[i], i);
            labels = new int[labelText.Length];
            for (int r = 0; r < labels.Length; r++)
            {
                if (!index.TryGetValue(labelText[r], out labels[r]))
                    throw new InvalidDataException($"CSV '{path}' line {records[r + 1].Line}: label '{labelText[r]}' in column '{labelColumn}' is not one of the class names [{string.Join(", ", classes)}]");
            }
        }
        else if (labelText.All(t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            labels = labelText.Select(t => int.Parse(t, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
            classes = Enumerable.Range(0, labels.Max() + 1).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        else
        {
            classes = labelText.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            var index = classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
            labels = labelText.Select(t => index[t]).ToArray();
        }
        return new TextDataset(texts, labels, classes);

        int Column(string name)
        {
            int at = Array.IndexOf(header, name);
            if (at < 0)
                throw new InvalidDataException($"CSV '{path}' line {headerLine}: no column named '{name}' in the header (columns: {string.Join(", ", header)})");
            return at;
        }
    }
}

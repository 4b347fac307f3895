using System.Globalization;
using System.Text;

namespace Strata.Data;

/// <summary>A table read from CSV: numeric features, the label column, and the names that go with them.</summary>
/// <param name="Features">[rows, features] floats.</param>
/// <param name="Labels">[rows]: the label values, or class indices when the labels are text.</param>
/// <param name="FeatureNames">The feature columns' names (from the header, or "column_N").</param>
/// <param name="ClassNames">For text labels: the distinct values in ordinal order (class i is ClassNames[i]); else null.</param>
public sealed record CsvData(Tensor Features, Tensor Labels, string[] FeatureNames, string[]? ClassNames)
{
    /// <summary>The table as a data set (features → label).</summary>
    public Dataset ToDataset() => Dataset.FromTensors(Features, Labels, ClassNames);
}

/// <summary>
/// Reads numeric CSV tables: an optional header, a delimiter, one label column (numeric, or text that
/// becomes class indices), every other column a float feature. Fields may be quoted ("a, b", with ""
/// for a quote). Missing values (empty, NA, NaN, null, ?), numbers beyond float32's range (1e39) or
/// infinite, and ragged rows are errors that name the file, the line and the column (up to 20 listed);
/// nothing is converted silently.
/// </summary>
public static class Csv
{
    /// <param name="path">The file.</param>
    /// <param name="labelColumn">The label column's name (with a header) or null for <paramref name="labelIndex"/>.</param>
    /// <param name="labelIndex">The label column's 0-based position (−1: the last column) when no name is given.</param>
    /// <param name="hasHeader">Whether the first line names the columns.</param>
    /// <param name="delimiter">The field separator.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A ragged row, a missing or non-numeric value, an unknown label column, or no data rows.</exception>
    public static CsvData Load(string path, string? labelColumn = null, int labelIndex = -1, bool hasHeader = true, char delimiter = ',')
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CSV: file '{path}' does not exist", path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var rows = new List<(int Line, string[] Fields)>();
        int line = 0;
        string[]? header = null;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            var fields = Split(text, delimiter, path, line);
            if (hasHeader && header is null)
                header = fields.Select(f => f.Trim()).ToArray();
            else
                rows.Add((line, fields));
        }
        int columns = header?.Length ?? (rows.Count > 0 ? rows[0].Fields.Length : 0);
        if (rows.Count == 0)
            throw new InvalidDataException($"CSV '{path}': no data rows");
        if (columns < 2)
            throw new InvalidDataException($"CSV '{path}': expected a label column and at least one feature column, got {columns} column(s) (delimiter '{delimiter}')");
        foreach (var (at, fields) in rows)
        {
            if (fields.Length != columns)
                throw new InvalidDataException($"CSV '{path}' line {at}: expected {columns} fields (as {(header is null ? "the first row" : "the header")}), got {fields.Length}");
        }
        int label;
        if (labelColumn is not null)
        {
            if (header is null)
                throw new ArgumentException($"CSV '{path}': a label column name ('{labelColumn}') needs a header row");
            label = Array.IndexOf(header, labelColumn);
            if (label < 0)
                throw new InvalidDataException($"CSV '{path}': no column named '{labelColumn}' (columns: {string.Join(", ", header)})");
        }
        else
        {
            label = labelIndex < 0 ? columns + labelIndex : labelIndex;
            if (label < 0 || label >= columns)
                throw new ArgumentOutOfRangeException(nameof(labelIndex), $"CSV '{path}': label column {labelIndex} is outside the {columns} columns");
        }

        var featureNames = Enumerable.Range(0, columns).Where(c => c != label).Select(c => header?[c] ?? $"column_{c}").ToArray();
        int nf = columns - 1;
        var features = new float[rows.Count * nf];
        var missing = new List<string>();
        var bad = new List<string>();
        var nonFinite = new List<string>();
        for (int r = 0; r < rows.Count; r++)
        {
            var (at, fields) = rows[r];
            int f = 0;
            for (int c = 0; c < columns; c++)
            {
                if (c == label)
                    continue;
                string v = fields[c].Trim();
                if (IsMissing(v))
                    missing.Add($"line {at} column '{header?[c] ?? (c + 1).ToString(CultureInfo.InvariantCulture)}'");
                else if (!float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out features[r * nf + f]))
                    bad.Add($"line {at} column '{header?[c] ?? (c + 1).ToString(CultureInfo.InvariantCulture)}': '{v}'");
                else if (!float.IsFinite(features[r * nf + f]))
                    nonFinite.Add($"line {at} column '{header?[c] ?? (c + 1).ToString(CultureInfo.InvariantCulture)}': '{v}'");
                f++;
            }
        }
        if (missing.Count > 0)
            throw new InvalidDataException($"CSV '{path}': {missing.Count} missing value(s): {string.Join("; ", missing.Take(20))}{(missing.Count > 20 ? "; ..." : "")}");
        if (bad.Count > 0)
            throw new InvalidDataException($"CSV '{path}': {bad.Count} non-numeric value(s): {string.Join("; ", bad.Take(20))}{(bad.Count > 20 ? "; ..." : "")}");
        CsvTable.ThrowIfNonFinite(path, nonFinite);

        var labelText = rows.Select(r => r.Fields[label].Trim()).ToArray();
        var missingLabels = rows.Where(r => IsMissing(r.Fields[label].Trim())).Select(r => r.Line).ToArray();
        if (missingLabels.Length > 0)
            throw new InvalidDataException($"CSV '{path}': missing label on line(s) {string.Join(", ", missingLabels.Take(20))}");
        var labels = new float[rows.Count];
        string[]? classes = null;
        bool numeric = true;
        for (int r = 0; r < labels.Length && numeric; r++)
            numeric = float.TryParse(labelText[r], NumberStyles.Float, CultureInfo.InvariantCulture, out labels[r]);
        if (numeric && rows.Select((row, r) => (row.Line, Value: labels[r])).FirstOrDefault(p => !float.IsFinite(p.Value)) is { Line: > 0 } inf)
            throw new InvalidDataException($"CSV '{path}' line {inf.Line} column '{header?[label] ?? (label + 1).ToString(CultureInfo.InvariantCulture)}': the label '{labelText[rows.FindIndex(x => x.Line == inf.Line)]}' is outside float32's range (±{float.MaxValue:G9}) or infinite");
        if (!numeric)
        {
            classes = labelText.Distinct().Order(StringComparer.Ordinal).ToArray();
            var index = classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
            for (int r = 0; r < labels.Length; r++)
                labels[r] = index[labelText[r]];
        }
        return new CsvData(Tensor.FromArray(features, rows.Count, nf), Tensor.FromArray(labels, rows.Count), featureNames, classes);
    }

    private static bool IsMissing(string v) => CsvTable.IsMissing(v);

    /// <summary>Splits one line into fields, honouring double quotes.</summary>
    private static string[] Split(string text, char delimiter, string path, int line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(ch);
                }
            }
            else if (ch == '"' && field.ToString().Trim().Length == 0)
            {
                field.Clear();
                quoted = true;
            }
            else if (ch == delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(ch);
            }
        }
        if (quoted)
            throw new InvalidDataException($"CSV '{path}' line {line}: a quoted field is not closed");
        fields.Add(field.ToString());
        return [.. fields];
    }
}

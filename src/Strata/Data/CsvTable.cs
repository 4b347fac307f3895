using System.Globalization;

namespace Strata.Data;

/// <summary>
/// A CSV table as text: the header's column names and each row's fields (trimmed), with the line each
/// row starts on. Fields follow RFC 4180 (quotes, delimiters and line breaks inside quotes). Unlike
/// <see cref="Csv.Load"/> it keeps text columns; <see cref="IsNumberColumn"/> says which hold numbers only.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string path, string[] columnNames, List<(int Line, string[] Fields)> rows)
    {
        Path = path;
        ColumnNames = columnNames;
        Rows = rows;
    }

    /// <summary>The file it was read from.</summary>
    public string Path { get; }

    /// <summary>The header's names, one per column.</summary>
    public IReadOnlyList<string> ColumnNames { get; }

    /// <summary>The data rows: the line each starts on and its fields (one per column).</summary>
    public IReadOnlyList<(int Line, string[] Fields)> Rows { get; }

    /// <summary>Values CSV files use for a missing value (compared ignoring case): empty, NA, NaN, null, ?, n/a.</summary>
    public static IReadOnlyList<string> MissingMarkers { get; } = ["", "na", "nan", "null", "?", "n/a"];

    /// <summary>Reads a table whose first record names the columns.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">No data rows, a row whose field count differs from the header's, a repeated column name, missing values or numbers beyond float32's range (the first 20 listed by line and column).</exception>
    public static CsvTable Read(string path, char delimiter = ',')
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CSV: file '{path}' does not exist", path);
        var records = CsvRecords.Read(path, delimiter);
        if (records.Count < 2)
            throw new InvalidDataException($"CSV '{path}': expected a header row and at least one data row, got {records.Count} row(s)");
        var header = records[0].Fields.Select(f => f.Trim()).ToArray();
        if (header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidDataException($"CSV '{path}': the header names column '{twice.Key}' twice");
        var rows = new List<(int, string[])>(records.Count - 1);
        var missing = new List<string>();
        var nonFinite = new List<string>();
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Length != header.Length)
                throw new InvalidDataException($"CSV '{path}' line {line}: expected {header.Length} fields (as the header), got {fields.Length}");
            for (int c = 0; c < fields.Length; c++)
            {
                fields[c] = fields[c].Trim();
                if (IsMissing(fields[c]))
                    missing.Add($"line {line} column '{header[c]}'");
                else if (float.TryParse(fields[c], NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && !float.IsFinite(v))
                    nonFinite.Add($"line {line} column '{header[c]}': '{fields[c]}'");
            }
            rows.Add((line, fields));
        }
        if (missing.Count > 0)
            throw new InvalidDataException($"CSV '{path}': {missing.Count} missing value(s): {string.Join("; ", missing.Take(20))}{(missing.Count > 20 ? "; ..." : "")}");
        ThrowIfNonFinite(path, nonFinite);
        return new CsvTable(path, header, rows);
    }

    /// <summary>The records of a CSV file as they are (no header taken, fields untrimmed), each with the line it starts on.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A quoted field is not closed.</exception>
    public static IReadOnlyList<(int Line, string[] Fields)> ReadRecords(string path, char delimiter = ',') =>
        File.Exists(path) ? CsvRecords.Read(path, delimiter) : throw new FileNotFoundException($"CSV: file '{path}' does not exist", path);

    /// <summary>The error for numbers beyond float32's range or infinite (<paramref name="where"/>: "line L column 'c': 'v'", the first 20 listed), when there are any.</summary>
    internal static void ThrowIfNonFinite(string path, IReadOnlyList<string> where)
    {
        if (where.Count > 0)
            throw new InvalidDataException($"CSV '{path}': {where.Count} value(s) outside float32's range (±{float.MaxValue:G9}) or infinite: {string.Join("; ", where.Take(20))}{(where.Count > 20 ? "; ..." : "")}");
    }

    /// <summary>Whether <paramref name="value"/> marks a missing value (<see cref="MissingMarkers"/>).</summary>
    public static bool IsMissing(string value) => MissingMarkers.Contains(value.Trim().ToLowerInvariant());

    /// <summary>The column's index by name.</summary>
    /// <exception cref="InvalidDataException">No column has that name (the message lists them).</exception>
    public int IndexOf(string name)
    {
        int i = ColumnNames.ToList().IndexOf(name);
        return i >= 0 ? i : throw new InvalidDataException($"CSV '{Path}': no column named '{name}' (columns: {string.Join(", ", ColumnNames)})");
    }

    /// <summary>Whether every field of column <paramref name="column"/> is a number (invariant culture).</summary>
    public bool IsNumberColumn(int column) => Rows.All(r => IsNumber(r.Fields[column]));

    /// <summary>The rows (line and field) of column <paramref name="column"/> that are not numbers.</summary>
    public IEnumerable<(int Line, string Field)> NonNumbers(int column) =>
        Rows.Where(r => !IsNumber(r.Fields[column])).Select(r => (r.Line, r.Fields[column]));

    private static bool IsNumber(string s) => float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}

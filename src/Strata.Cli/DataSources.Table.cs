using System.Globalization;
using Strata.Data;
using Strata.Layers;

namespace Strata.Cli;

/// <summary>What --task asks for: a class per row, or a number.</summary>
internal enum TaskKind
{
    Classification,
    Regression,
}

/// <summary>
/// A CSV file of features and a label (DataSources.cs resolves --data to it): number columns and text columns
/// (one-hot encoded by a <see cref="OneHotColumns"/> layer whose vocabularies come from the training split),
/// the label column named by --label-column or last, and the task it sets (<see cref="ChooseTask"/>).
/// </summary>
internal static partial class DataSources
{
    /// <summary>Whole-number labels with at most this many distinct values are classes when --task is not given.</summary>
    public const int MaxAutoClasses = 20;

    /// <summary>A column whose values are numbers in at least this share of the rows is a number column with typos, not a text column.</summary>
    private const double NumberColumnShare = 0.9;

    /// <param name="spec">The file and its options; <see cref="DataSpec.Task"/> null: chosen from the labels.</param>
    /// <param name="encoding">The columns a saved model takes (its <see cref="OneHotColumns"/>); null: learned from this file's training split.</param>
    /// <param name="whole">Every row in <see cref="LoadedData.Train"/>, in file order (the test split empty): for permutation importance.</param>
    public static LoadedData LoadTable(DataSpec spec, OneHotColumns? encoding, bool whole = false)
    {
        string source = spec.Source;
        var table = CsvTable.Read(source);
        int label = spec.LabelColumn is { } name ? table.IndexOf(name) : table.ColumnNames.Count - 1;
        string labelName = table.ColumnNames[label];
        int[] featureColumns = [.. Enumerable.Range(0, table.ColumnNames.Count).Where(c => c != label)];
        string[] featureNames = [.. featureColumns.Select(c => table.ColumnNames[c])];
        var (task, reason) = ChooseTask(table, label, spec.Task);

        // The split first: the text columns' vocabularies come from the training rows alone.
        int n = table.Rows.Count;
        var rowIndex = Dataset.FromTensors(Tensor.FromArray([.. Enumerable.Range(0, n).Select(i => (float)i)], n, 1), Tensor.Zeros(n));
        var (trainRows, testRows) = rowIndex.Split(TestFraction, TestSplitSeed);
        int[] trainIndex = [.. trainRows.ToTensors().X.ToArray().Select(v => (int)v)];

        bool[] isText = encoding is null ? TextColumns(table, featureColumns) : CheckColumns(encoding, featureNames, source);
        if (encoding is null && isText.Any(t => t))
        {
            encoding = new OneHotColumns(featureColumns.Select((c, f) => new OneHotColumn(featureNames[f],
                isText[f] ? [.. trainIndex.Select(r => table.Rows[r].Fields[c]).Distinct().Order(StringComparer.Ordinal)] : null)), "one_hot_columns");
        }

        int nf = featureColumns.Length;
        var x = new float[n * nf];
        var isTest = new bool[n];
        foreach (var r in testRows.ToTensors().X.ToArray())
            isTest[(int)r] = true;
        int unknownTest = 0, unknownTrain = 0;
        var fields = new string[nf];
        for (int r = 0; r < n; r++)
        {
            var (line, row) = table.Rows[r];
            for (int f = 0; f < nf; f++)
                fields[f] = row[featureColumns[f]];
            var values = x.AsSpan(r * nf, nf);
            if (encoding is not null)
            {
                int unknown = encoding.Encode(fields, values, unknownAsNone: true, where: $"CSV '{source}' line {line}");
                if (isTest[r])
                    unknownTest += unknown;
                else
                    unknownTrain += unknown;
                continue;
            }
            for (int f = 0; f < nf; f++)
                values[f] = float.Parse(fields[f], NumberStyles.Float, CultureInfo.InvariantCulture); // TextColumns checked every field
        }

        var (y, classNames) = Labels(table, label, task, source);
        if (whole)
            return new LoadedData(Dataset.FromTensors(Tensor.FromArray(x, n, nf), y), Dataset.FromTensors(Tensor.Zeros(0, nf), Tensor.Zeros(0)), classNames, source, Images: false, featureNames);
        var all = Dataset.FromTensors(Tensor.FromArray(x, n, nf), y, task == TaskKind.Classification ? classNames : null);
        var (train, test) = all.Split(TestFraction, TestSplitSeed);
        int textColumns = isText.Count(t => t);
        string description = string.Create(CultureInfo.InvariantCulture,
            $"CSV {Display(source)} ({nf} features{(textColumns > 0 ? $", {textColumns} of them text" : "")}, {n} rows, {TestFraction:P0} held out for testing)");
        return new LoadedData(train, test, classNames, description, Images: false, FeatureNames: featureNames)
        {
            Task = task,
            TaskReason = reason,
            Encoding = encoding,
            UnknownTestValues = unknownTest,
            UnknownTrainValues = unknownTrain,
            LabelName = labelName,
        };
    }

    /// <summary>
    /// The task: --task when given; else classification for text labels or at most <see cref="MaxAutoClasses"/>
    /// distinct whole numbers ≥ 0, regression for other numbers. The reason says which rule decided.
    /// </summary>
    public static (TaskKind Task, string Reason) ChooseTask(CsvTable table, int label, TaskKind? given)
    {
        string name = table.ColumnNames[label];
        if (given is { } t)
            return (t, "--task");
        var values = table.Rows.Select(r => r.Fields[label]).ToArray();
        int distinct = values.Distinct(StringComparer.Ordinal).Count();
        var numbers = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.TryParse(values[i], NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[i]))
                return (TaskKind.Classification, $"the label column '{name}' holds text: {distinct} distinct values");
        }
        int distinctNumbers = numbers.Distinct().Count();
        bool whole = numbers.All(v => v >= 0 && v == Math.Floor(v));
        if (whole && distinctNumbers <= MaxAutoClasses)
            return (TaskKind.Classification, $"the label column '{name}' holds {distinctNumbers} distinct whole numbers; up to {MaxAutoClasses} make classes");
        return (TaskKind.Regression, whole
            ? $"the label column '{name}' holds {distinctNumbers} distinct numbers; more than {MaxAutoClasses} make a regression"
            : $"the label column '{name}' holds numbers that are not all whole numbers ≥ 0, {distinctNumbers} distinct");
    }

    /// <summary>Which feature columns are text: those not all numbers, unless nearly all are (then the others are typos: an error).</summary>
    private static bool[] TextColumns(CsvTable table, int[] featureColumns)
    {
        var text = new bool[featureColumns.Length];
        for (int f = 0; f < featureColumns.Length; f++)
        {
            int c = featureColumns[f];
            var bad = table.NonNumbers(c).ToList();
            if (bad.Count == 0)
                continue;
            if (table.Rows.Count - bad.Count >= NumberColumnShare * table.Rows.Count)
                throw new InvalidDataException($"CSV '{table.Path}': column '{table.ColumnNames[c]}' holds numbers except {bad.Count} non-numeric value(s): " +
                    $"{string.Join("; ", bad.Take(20).Select(b => $"line {b.Line}: '{b.Field}'"))}{(bad.Count > 20 ? "; ..." : "")} " +
                    $"(a text column is one where fewer than {NumberColumnShare:P0} of the values are numbers)");
            text[f] = true;
        }
        return text;
    }

    /// <summary>The file's feature columns must be the saved model's, by name and in order.</summary>
    private static bool[] CheckColumns(OneHotColumns encoding, string[] featureNames, string source)
    {
        var expected = encoding.Columns.Select(c => c.Name).ToArray();
        if (!expected.SequenceEqual(featureNames))
            throw new InvalidDataException($"model/data mismatch: the model takes the columns {string.Join(", ", expected)} (OneHotColumns '{encoding.Name}'); " +
                $"'{source}' has the feature columns {string.Join(", ", featureNames)}");
        return [.. encoding.Columns.Select(c => c.Vocabulary is not null)];
    }

    /// <summary>Class indices [rows] and the class names, or the numbers [rows, 1] of a regression (no class names).</summary>
    private static (Tensor Y, IReadOnlyList<string> ClassNames) Labels(CsvTable table, int label, TaskKind task, string source)
    {
        var text = table.Rows.Select(r => r.Fields[label]).ToArray();
        var y = new float[text.Length];
        bool numeric = true;
        for (int i = 0; i < text.Length && numeric; i++)
            numeric = float.TryParse(text[i], NumberStyles.Float, CultureInfo.InvariantCulture, out y[i]);
        if (task == TaskKind.Regression)
        {
            if (!numeric)
            {
                var (line, row) = table.Rows.First(r => !float.TryParse(r.Fields[label], NumberStyles.Float, CultureInfo.InvariantCulture, out _));
                throw new InvalidDataException($"--task regression: the label column '{table.ColumnNames[label]}' of '{source}' must hold numbers, got '{row[label]}' on line {line}");
            }
            return (Tensor.FromArray(y, y.Length, 1), []);
        }
        if (numeric)
            return (Tensor.FromArray(y, y.Length), ClassNamesOf(Tensor.FromArray(y, y.Length), source));
        string[] classes = [.. text.Distinct().Order(StringComparer.Ordinal)];
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        for (int i = 0; i < text.Length; i++)
            y[i] = index[text[i]];
        return (Tensor.FromArray(y, y.Length), classes);
    }
}

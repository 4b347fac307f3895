using Strata.Data;
using Strata.Layers;

namespace Strata.Cli;

/// <summary>
/// A text source's training and test splits, before vectorization: the vocabulary is learned from the
/// training texts (or comes with the model), so the numbers are made only once the model exists.
/// </summary>
internal sealed record LoadedText(TextDataset Train, TextDataset Test, string Description)
{
    public IReadOnlyList<string> ClassNames => Train.ClassNames;
}

internal static partial class DataSources
{
    /// <summary>The --data name of the SpamAssassin derivative shipped in data/spam-assassin.</summary>
    public const string SpamAssassinName = "spam-assassin";

    /// <summary>The CSV column a text file's texts are in when --text-column is not given.</summary>
    public const string DefaultTextColumn = "text";

    /// <summary>
    /// Whether --data names text: spam-assassin, a CSV file with a text column (--text-column, or a column
    /// named "text"), or a class-folder tree whose class folders hold .txt files and no images (with train/
    /// and test/ subfolders, those are looked at). Everything else is images or numbers; a source that does
    /// not exist is not text (loading it reports it).
    /// </summary>
    public static bool IsText(DataSpec spec)
    {
        string source = spec.Source;
        if (source.Equals(SpamAssassinName, StringComparison.OrdinalIgnoreCase))
            return true;
        if (source.Equals("mnist", StringComparison.OrdinalIgnoreCase) || source.Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase))
            return false;
        if (File.Exists(source))
            return source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && (spec.TextColumn is not null || CsvHeader(source).Contains(DefaultTextColumn));
        if (!Directory.Exists(source) || Directory.EnumerateFiles(source, "train-images-idx3-ubyte*").Any())
            return false;
        string train = Path.Combine(source, "train");
        return IsTextTree(Directory.Exists(train) && Directory.Exists(Path.Combine(source, "test")) ? train : source);
    }

    /// <summary>Class folders with .txt files and no image files (an image anywhere makes it an image tree).</summary>
    private static bool IsTextTree(string root)
    {
        bool text = false;
        foreach (var folder in Directory.EnumerateDirectories(root))
        {
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                string ext = Path.GetExtension(file).ToLowerInvariant();
                if (Strata.Data.Images.Extensions.Contains(ext))
                    return false;
                text |= ext == ".txt";
            }
        }
        return text;
    }

    /// <summary>
    /// Loads a text source (<see cref="IsText"/>): SpamAssassin's fixed stratified 80/20 split; a CSV file's
    /// text and label columns, 20% held out; a class-folder tree of .txt files (Keras' text_dataset_from_directory),
    /// train/ and test/ subfolders or 20% held out. --test-samples keeps the first N test texts.
    /// </summary>
    public static LoadedText LoadText(DataSpec spec)
    {
        var data = LoadAllText(spec);
        if (spec.TestSamples > 0 && spec.TestSamples < data.Test.Count)
            data = data with { Test = data.Test.Subset([.. Enumerable.Range(0, spec.TestSamples)]) };
        return data;
    }

    private static LoadedText LoadAllText(DataSpec spec)
    {
        string source = spec.Source;
        if (source.Equals(SpamAssassinName, StringComparison.OrdinalIgnoreCase))
        {
            RejectTextColumn(spec);
            string file = SpamAssassin.FindShipped();
            var (train, test) = SpamAssassin.Split(SpamAssassin.Load(file));
            return new LoadedText(train, test, $"SpamAssassin ({Display(file)}, the fixed stratified 80/20 split)");
        }
        if (File.Exists(source))
        {
            var header = CsvHeader(source);
            string textColumn = spec.TextColumn ?? DefaultTextColumn;
            RequireColumn(header, textColumn, "--text-column", source);
            string labelColumn = spec.LabelColumn
                ?? (header.Contains("label") ? "label" : header.LastOrDefault(h => h != textColumn))
                ?? throw new InvalidDataException($"--label-column: '{source}' has no column besides the text column '{textColumn}' to take the labels from");
            RequireColumn(header, labelColumn, "--label-column", source);
            var all = TextDataset.FromCsv(source, textColumn, labelColumn);
            var (train, test) = SplitTexts(all, TestFraction, TestSplitSeed);
            return new LoadedText(train, test,
                $"CSV {Display(source)} (text column '{textColumn}', labels '{labelColumn}'; {all.Count} texts, {TestFraction:P0} held out for testing)");
        }
        RejectTextColumn(spec);
        string trainDir = Path.Combine(source, "train"), testDir = Path.Combine(source, "test");
        if (Directory.Exists(trainDir) && Directory.Exists(testDir))
        {
            var train = Utf8Advice(() => TextDataset.FromDirectory(trainDir, seed: TestSplitSeed));
            var test = Utf8Advice(() => TextDataset.FromDirectory(testDir, classNames: train.ClassNames, shuffle: false));
            return new LoadedText(train, test, $"text files in {Display(source)} ({train.Count} training, {test.Count} test)");
        }
        {
            var all = Utf8Advice(() => TextDataset.FromDirectory(source, shuffle: false));
            var (train, test) = SplitTexts(all, TestFraction, TestSplitSeed);
            return new LoadedText(train, test, $"text files in {Display(source)} ({all.Count} files, {TestFraction:P0} held out for testing)");
        }
    }

    /// <summary>
    /// <see cref="Dataset.Split"/>'s split of <paramref name="texts"/> (a seeded shuffle of the indices, the
    /// last <paramref name="fraction"/> held out), so that text and numeric data are split the same way.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction leaves a part empty.</exception>
    public static (TextDataset First, TextDataset Last) SplitTexts(TextDataset texts, float fraction, ulong seed)
    {
        var indices = Dataset.FromFunction(texts.Count, new Shape(1), Shape.Scalar, (i, sample, _) => sample[0] = i);
        var (first, last) = indices.Split(fraction, seed);
        return (texts.Subset(IndicesOf(first)), texts.Subset(IndicesOf(last)));

        static int[] IndicesOf(Dataset part) => [.. part.ToTensors().X.ToArray().Select(v => (int)v)];
    }

    /// <summary>The vocabulary-bearing first layer of a text model, or a clear mismatch for any other model on text data.</summary>
    public static TextVectorization VectorizerOf(Models.Model model, string dataName) => model.TextInput
        ?? throw new InvalidDataException($"model/data mismatch: model '{model.Name}' does not start with a TextVectorization layer, but {dataName} is text " +
            $"(train a text preset: {string.Join(", ", Models.TextPresets.Names)}, or a spec whose first layer is TextVectorization)");

    /// <summary>The first record's fields, trimmed (quotes honoured within the line); empty for an empty file.</summary>
    private static string[] CsvHeader(string path)
    {
        string? line = File.ReadLines(path).FirstOrDefault(l => !string.IsNullOrWhiteSpace(l));
        if (line is null)
            return [];
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        foreach (char c in line)
        {
            if (c == '"')
                quoted = !quoted;
            else if (c == ',' && !quoted)
            {
                fields.Add(field.ToString().Trim());
                field.Clear();
            }
            else
                field.Append(c);
        }
        fields.Add(field.ToString().Trim());
        return [.. fields];
    }

    private static void RequireColumn(string[] header, string column, string option, string path)
    {
        if (!header.Contains(column))
            throw new InvalidDataException($"{option}: '{path}' has no column '{column}' (its header: {(header.Length == 0 ? "none, the file is empty" : string.Join(", ", header))})");
    }

    private static void RejectTextColumn(DataSpec spec)
    {
        if (spec.TextColumn is not null)
            throw new UsageException($"--text-column applies to a CSV file of texts; '{spec.Source}' is not a CSV file");
    }

    /// <summary>The library's advice for invalid UTF-8 names an API argument; on the command line the fix is the file's.</summary>
    private static T Utf8Advice<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e) when (e.Message.Contains(LibraryUtf8Advice, StringComparison.Ordinal))
        {
            throw new InvalidDataException(WithCliUtf8Advice(e.Message), e);
        }
    }

    private const string LibraryUtf8Advice = ", or pass invalidUtf8: Utf8Errors.Replace";

    /// <summary>A <see cref="TextDataset.ReadText"/> message with the command line's advice in place of the API's.</summary>
    public static string WithCliUtf8Advice(string message) => message.Replace(LibraryUtf8Advice, "", StringComparison.Ordinal);
}

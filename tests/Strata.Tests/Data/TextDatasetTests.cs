using System.Text;
using Strata.Data;

namespace Strata.Tests.Data;

/// <summary>Text data sets from class folders (Keras' text_dataset_from_directory) and from CSV files, and their bad inputs.</summary>
public sealed class TextDatasetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-text-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string relative, string text) => Write(relative, Encoding.UTF8.GetBytes(text));

    private string Write(string relative, byte[] bytes)
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Reviews()
    {
        Write("reviews/neg/b.txt", "Dull.");
        Write("reviews/neg/a.txt", "A bad movie");
        Write("reviews/pos/c.txt", [0xEF, 0xBB, 0xBF, .. "Grand café"u8]); // a UTF-8 byte-order mark
        Write("reviews/pos/notes.md", "not a .txt file: ignored");
        return Path.Combine(_dir, "reviews");
    }

    [Fact]
    public void Class_folders_give_sorted_classes_and_files()
    {
        var data = TextDataset.FromDirectory(Reviews(), shuffle: false);
        Assert.Equal(["neg", "pos"], data.ClassNames);
        Assert.Equal([("A bad movie", 0), ("Dull.", 0), ("Grand café", 1)], data);
        Assert.Equal([2, 1], data.ClassCounts());

        // Explicit class names set the label order; a shuffle is seeded and is a permutation.
        var swapped = TextDataset.FromDirectory(Reviews(), classNames: ["pos", "neg"], shuffle: false);
        Assert.Equal([0, 1, 1], swapped.Labels);
        var shuffled = TextDataset.FromDirectory(Reviews(), seed: 7);
        Assert.Equal(shuffled, TextDataset.FromDirectory(Reviews(), seed: 7));
        Assert.Equal(data.OrderBy(p => p.Text, StringComparer.Ordinal), shuffled.OrderBy(p => p.Text, StringComparer.Ordinal));

        // Keras' validation split: the last ⌊0.34 · 3⌋ = 1 text.
        var (train, validation) = data.Split(0.34f);
        Assert.Equal((2, 1), (train.Count, validation.Count));
        Assert.Equal("Grand café", validation[0].Text);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(0.2f)); // ⌊0.6⌋ = 0: an empty part
        Assert.Equal("A bad", TextDataset.FromDirectory(Reviews(), shuffle: false, maxLength: 5)[0].Text);
    }

    [Fact]
    public void Bad_folders_and_files_are_named()
    {
        string root = Reviews();
        Assert.Throws<DirectoryNotFoundException>(() => TextDataset.FromDirectory(Path.Combine(_dir, "absent")));
        Directory.CreateDirectory(Path.Combine(_dir, "flat"));
        Assert.Contains("no class subfolders", Assert.Throws<InvalidDataException>(() => TextDataset.FromDirectory(Path.Combine(_dir, "flat"))).Message);
        var e = Assert.Throws<InvalidDataException>(() => TextDataset.FromDirectory(root, classNames: ["neg", "pos", "meh"]));
        Assert.Contains("no folder for meh", e.Message);

        string empty = Path.Combine(root, "meh");
        Directory.CreateDirectory(empty);
        e = Assert.Throws<InvalidDataException>(() => TextDataset.FromDirectory(root));
        Assert.Contains($"class folder '{empty}' holds no .txt files", e.Message);
        Directory.Delete(empty);

        string zero = Write("reviews/neg/zero.txt", []);
        e = Assert.Throws<InvalidDataException>(() => TextDataset.FromDirectory(root));
        Assert.Contains($"file '{zero}' is empty", e.Message);
        File.Delete(zero);

        // Latin-1 bytes are not UTF-8: named with the offset of the first bad byte, or replaced on request.
        string latin1 = Write("reviews/pos/latin1.txt", Encoding.Latin1.GetBytes("Tr\u00e8s bien"));
        e = Assert.Throws<InvalidDataException>(() => TextDataset.FromDirectory(root));
        Assert.Contains($"file '{latin1}' is not valid UTF-8 (byte 0xE8 at offset 2)", e.Message);
        Assert.Contains("Utf8Errors.Replace", e.Message);
        var replaced = TextDataset.FromDirectory(root, shuffle: false, invalidUtf8: Utf8Errors.Replace);
        Assert.Contains(("Tr\uFFFDs bien", 1), replaced);
    }

    [Fact]
    public void Csv_text_columns_with_quotes_commas_and_line_breaks()
    {
        string path = Write("reviews.csv", "id,text,label\r\n" +
                                           "1,\"Good, really \"\"good\"\"\",pos\r\n" +
                                           "\r\n" +
                                           "2,\"two\nlines\",neg\n" +
                                           "3,plain text, pos \n");
        var data = TextDataset.FromCsv(path);
        Assert.Equal(["neg", "pos"], data.ClassNames); // text labels: distinct values in ordinal order
        Assert.Equal([("Good, really \"good\"", 1), ("two\nlines", 0), ("plain text", 1)], data);

        // Whole-number labels are class indices; given class names are matched.
        string numbers = Write("numbers.csv", "label;body\n2;x\n0;y\n");
        var numeric = TextDataset.FromCsv(numbers, textColumn: "body", delimiter: ';');
        Assert.Equal(["0", "1", "2"], numeric.ClassNames);
        Assert.Equal([2, 0], numeric.Labels);
        Assert.Equal([1, 0, 1], TextDataset.FromCsv(path, classNames: ["neg", "pos"]).Labels);
    }

    [Fact]
    public void Bad_csv_files_name_the_file_the_line_and_the_column()
    {
        string ok = Write("ok.csv", "text,label\na,x\n");
        Assert.Throws<FileNotFoundException>(() => TextDataset.FromCsv(Path.Combine(_dir, "absent.csv")));
        var e = Assert.Throws<InvalidDataException>(() => TextDataset.FromCsv(ok, textColumn: "body"));
        Assert.Contains($"CSV '{ok}' line 1: no column named 'body'", e.Message);
        Assert.Contains("columns: text, label", e.Message);

        string ragged = Write("ragged.csv", "text,label\na,x\n\"b, c\"\n");
        e = Assert.Throws<InvalidDataException>(() => TextDataset.FromCsv(ragged));
        Assert.Contains($"CSV '{ragged}' line 3: 1 field(s), but the header (line 1) has 2; no value for column 'label'", e.Message);

        string noLabel = Write("nolabel.csv", "text,label\n\"multi\nline\",x\nb,  \n");
        Assert.Contains("line 4: empty label in column 'label'", Assert.Throws<InvalidDataException>(() => TextDataset.FromCsv(noLabel)).Message);

        string open = Write("open.csv", "text,label\na,x\n\"never closed,x\n");
        Assert.Contains("line 3: a quoted field is not closed", Assert.Throws<InvalidDataException>(() => TextDataset.FromCsv(open)).Message);

        Assert.Contains("line 2: label 'x' in column 'label' is not one of the class names [a, b]",
            Assert.Throws<InvalidDataException>(() => TextDataset.FromCsv(ok, classNames: ["a", "b"])).Message);
        Assert.Contains("no data rows", Assert.Throws<InvalidDataException>(() => TextDataset.FromCsv(Write("header.csv", "text,label\n"))).Message);
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => TextDataset.FromCsv(Write("empty.csv", ""))).Message);
    }

    [Fact]
    public void A_text_data_set_checks_what_it_is_given()
    {
        Assert.Throws<ArgumentException>(() => new TextDataset(["a"], [0, 1], ["x", "y"]));
        Assert.Contains("label 2 of text 0", Assert.Throws<ArgumentException>(() => new TextDataset(["a"], [2], ["x", "y"])).Message);
        Assert.Contains("text 0 is null", Assert.Throws<ArgumentException>(() => new TextDataset([null!], [0], ["x"])).Message);
        var data = new TextDataset(["a", "b", "c"], [0, 1, 0], ["x", "y"]);
        Assert.Equal([("c", 0), ("a", 0)], data.Subset([2, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset([3]));
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Strata.Data;
using Strata.Data.Mail;
using Strata.Layers;
using Strata.Models;

namespace Strata.Tests.Cli;

/// <summary>
/// Shared by the text CLI tests: a temporary folder, the default text model (lstm) trained once through
/// `strata train --data spam-assassin` (1 epoch on 300 messages, 100 tokens each, evaluated on 100 test
/// messages), a tiny class-folder tree of .txt files and a tiny CSV file of texts.
/// </summary>
public sealed class CliTextFixture : IDisposable
{
    public CliTextFixture()
    {
        Root = Directory.CreateTempSubdirectory("strata-cli-text-").FullName;
        SpamFolder = Path.Combine(Root, "spam");
        SpamTrain = CliRunner.Run(Root, "train", "--data", "spam-assassin", "--samples", "300", "--epochs", "1", "--sequence-length", "100",
            "--max-tokens", "3000", "--test-samples", "100", "--threads", "2", "--out", SpamFolder);
        TextTree = Path.Combine(Root, "topics");
        foreach (var (text, label, i) in Topics(40, seed: 3))
        {
            Directory.CreateDirectory(Path.Combine(TextTree, label));
            File.WriteAllText(Path.Combine(TextTree, label, $"{i:D3}.txt"), text);
        }
        TopicsCsv = Path.Combine(Root, "topics.csv");
        var rows = new List<string> { "id,body,category" };
        // Quoted bodies with commas, quotes and line breaks inside, as CSV files of texts have them.
        rows.AddRange(Topics(60, seed: 4).Select(t => $"{t.Index},\"{t.Text.Replace("\"", "\"\"")}, \"\"quoted\"\"\nand a second line\",{t.Label}"));
        File.WriteAllLines(TopicsCsv, rows);
    }

    public string Root { get; }
    public string SpamFolder { get; }
    public string SpamModel => Path.Combine(SpamFolder, "model.strata");
    public CliResult SpamTrain { get; }
    public string TextTree { get; }
    public string TopicsCsv { get; }

    /// <summary>Short texts on two topics (cooking, sports), each from its own words with shared filler, the classes alternating.</summary>
    public static IEnumerable<(string Text, string Label, int Index)> Topics(int count, int seed)
    {
        string[][] words =
        [
            ["flour", "sugar", "oven", "bake", "simmer", "garlic", "onion", "pepper", "recipe", "butter", "whisk", "dough"],
            ["goal", "match", "team", "score", "referee", "league", "striker", "coach", "season", "pitch", "tackle", "win"],
        ];
        string[] labels = ["cooking", "sports"], filler = ["the", "a", "and", "of", "today", "with"];
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            int c = i % 2;
            var text = Enumerable.Range(0, 12 + rng.Next(8)).Select(_ => rng.Next(3) == 0 ? filler[rng.Next(filler.Length)] : words[c][rng.Next(words[c].Length)]);
            yield return (string.Join(' ', text), labels[c], i);
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>`strata train`, `evaluate`, `predict` and the report on text: SpamAssassin, a text folder tree, a CSV file of texts.</summary>
public sealed class CliTextTests(CliTextFixture fx) : IClassFixture<CliTextFixture>
{
    private string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(fx.Root, name + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    private const string ResultLine = @"(?<class>ham|spam) (?<p>\d+\.\d)% \(then (ham|spam) \d+\.\d%\)";

    // ------------------------------------------------------------------ SpamAssassin, the default text model

    [Fact]
    public void Spam_assassin_trains_the_default_lstm_and_saves_a_model_that_takes_text()
    {
        var r = fx.SpamTrain;
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        Assert.Contains("lstm (preset)", r.Stdout);
        Assert.Contains("SpamAssassin", r.Stdout);
        Assert.Matches(@"test accuracy \d+\.\d\d% \(loss \d\.\d{4}\) on 100 test samples", r.Stdout);

        var m = CliRunner.ReadJson(Path.Combine(fx.SpamFolder, "metrics.json"));
        Assert.Equal(270, m.GetProperty("train_samples").GetInt32()); // 300 less the 10% validation split
        Assert.Equal(30, m.GetProperty("validation_samples").GetInt32());
        Assert.Equal(100, m.GetProperty("test_samples").GetInt32());
        Assert.Equal(1, m.GetProperty("history").GetProperty("val_accuracy").GetArrayLength());

        var model = Model.Load(fx.SpamModel);
        Assert.Equal("lstm", model.Name);
        Assert.Equal(["ham", "spam"], model.ClassNames);
        Assert.Equal(1, model.CompletedEpochs);
        var vectorizer = Assert.IsType<TextVectorization>(model.TextInput);
        Assert.Equal(100, vectorizer.OutputSequenceLength);
        Assert.InRange(vectorizer.VocabularySize, 500, 3000); // learned from the 270 training messages, capped by --max-tokens
        Assert.Contains(model.Layers, l => l is Bidirectional);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"<tr><th>text</th><td>vocabulary of {vectorizer.VocabularySize:N0} tokens; the first 100 tokens of each text</td></tr>"),
            File.ReadAllText(Path.Combine(fx.SpamFolder, "report.html")));

        // Evaluate vectorizes the test split with the model's own vocabulary: the same figures.
        var e = CliRunner.Run(fx.Root, "evaluate", fx.SpamModel, "--data", "spam-assassin", "--test-samples", "100");
        Assert.True(e.ExitCode == 0, e.ToString());
        Assert.Contains(m.GetProperty("test_accuracy").GetDouble().ToString("0.0000", CultureInfo.InvariantCulture), e.Stdout);
        Assert.Contains("spam", e.Stdout);
    }

    [Fact]
    public void The_report_of_a_text_run_lists_misclassified_messages_instead_of_images()
    {
        Assert.True(fx.SpamTrain.ExitCode == 0, fx.SpamTrain.ToString());
        Assert.False(File.Exists(Path.Combine(fx.SpamFolder, "misclassified.png")));
        CliTests.CheckHtml(fx.SpamFolder, 3); // loss, accuracy, confusion matrix
        string html = File.ReadAllText(Path.Combine(fx.SpamFolder, "report.html"));
        Assert.Contains("<h2>Misclassified test messages</h2>", html);
        var accuracy = CliRunner.ReadJson(Path.Combine(fx.SpamFolder, "metrics.json")).GetProperty("test_accuracy").GetDouble();
        int wrong = (int)Math.Round((1 - accuracy) * 100);
        Assert.Contains(wrong == 0 ? "None: all 100 test messages" : $"{wrong} of 100 test messages are misclassified", html);
        Assert.Equal(Math.Min(wrong, 10), Regex.Matches(html, "<td class=\"message\">").Count);
    }

    [Fact]
    public void Misclassified_messages_show_their_first_lines_with_true_and_predicted_class()
    {
        // Every text starts with the same four words and --sequence-length 4 reads only those, so the model
        // gives every test text the same class and each test text of the other class is misclassified.
        string csv = Path.Combine(NewFolder("same-start"), "notes.csv");
        var labels = new Dictionary<string, string>();
        var rows = new List<string> { "text,label" };
        for (int i = 0; i < 50; i++)
        {
            string label = i % 2 == 0 ? "red" : "blue", note = $"note {i:D2}";
            labels[note] = label;
            rows.Add($"\"alpha beta gamma delta {note} {new string('x', 120)}\nsecond line {i}\n\nthird line\nfourth line\",{label}");
        }
        File.WriteAllLines(csv, rows);
        string outDir = NewFolder("same-start-run");
        var r = CliRunner.Run(fx.Root, "train", "--model", "lstm", "--data", csv, "--epochs", "1", "--sequence-length", "4", "--validation-split", "0", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("labels 'label'", r.Stdout);
        double accuracy = CliRunner.ReadJson(Path.Combine(outDir, "metrics.json")).GetProperty("test_accuracy").GetDouble();
        int wrong = (int)Math.Round((1 - accuracy) * 10); // 10 test texts: 20% of 50
        Assert.InRange(wrong, 1, 9); // the fixed test split holds both classes

        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains($"{wrong} of 10 test messages are misclassified; all of them", html);
        var listed = Regex.Matches(html, "<tr><td>(\\w+)</td><td>(\\w+)</td><td>(\\d+\\.\\d)%</td><td class=\"message\">([^<]*)</td></tr>");
        Assert.Equal(wrong, listed.Count);
        string predicted = listed[0].Groups[2].Value;
        foreach (Match row in listed)
        {
            Assert.NotEqual(row.Groups[1].Value, row.Groups[2].Value);
            Assert.Equal(predicted, row.Groups[2].Value); // one class for all
            var lines = row.Groups[4].Value.Split('\n');
            Assert.Equal(3, lines.Length); // the first three non-blank lines
            Assert.Matches(@"^alpha beta gamma delta note \d\d x+…$", lines[0]); // cut at 100 characters
            Assert.Equal(101, lines[0].Length);
            Assert.StartsWith("second line ", lines[1]);
            Assert.Equal("third line …", lines[2]); // more lines follow
            Assert.Equal(labels[lines[0][23..30]], row.Groups[1].Value); // the true class is the text's own label
        }
    }

    [Fact]
    public void Predict_reads_text_files_mail_messages_and_folders()
    {
        string dir = NewFolder("messages");
        string plain = Path.Combine(dir, "offer.txt");
        File.WriteAllText(plain, "Congratulations! You have won a FREE prize.\nClick here now to claim your cash.");
        // A raw mail message: headers, a Latin-1 body in 8-bit (not UTF-8), which the mail parser decodes by its charset.
        string mail = Path.Combine(dir, "meeting");
        byte[] raw = [.. Encoding.ASCII.GetBytes("Return-Path: <bob@example.com>\r\nFrom: Bob <bob@example.com>\r\nSubject: =?iso-8859-1?q?R=E9union?= tomorrow\r\n" +
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSee you at the caf"), 0xE9, .. Encoding.ASCII.GetBytes(" at ten.\r\n")];
        File.WriteAllBytes(mail, raw);

        var r = CliRunner.Run(fx.Root, "predict", fx.SpamModel, plain, mail);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var model = Model.Load(fx.SpamModel);
        string mailText = SpamAssassin.ClassifierText(MailMessage.Parse(raw));
        Assert.Equal("Réunion tomorrow\nBob <bob@example.com>\n\nSee you at the café at ten.", mailText);
        var expected = model.Predict([File.ReadAllText(plain), mailText]).ToArray();
        foreach (var (line, i, file) in new[] { (lines[0], 0, plain), (lines[1], 1, mail) })
        {
            var match = Regex.Match(line, $"^{Regex.Escape(file)}: {ResultLine}$");
            Assert.True(match.Success, line);
            int best = expected[2 * i + 1] > expected[2 * i] ? 1 : 0;
            Assert.Equal(model.ClassNames![best], match.Groups["class"].Value);
            Assert.Equal((expected[2 * i + best] * 100).ToString("F1", CultureInfo.InvariantCulture), match.Groups["p"].Value);
        }

        // A folder: its files in order, the same results.
        var folder = CliRunner.Run(fx.Root, "predict", fx.SpamModel, dir, "--top", "1");
        Assert.True(folder.ExitCode == 0, folder.ToString());
        Assert.Equal([lines[1][..lines[1].IndexOf(" (then", StringComparison.Ordinal)], lines[0][..lines[0].IndexOf(" (then", StringComparison.Ordinal)]],
            folder.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // "meeting" sorts before "offer.txt"

        // --plain-text reads the mail as text, and its 8-bit body is not UTF-8.
        var asText = CliRunner.Run(fx.Root, "predict", fx.SpamModel, mail, "--plain-text");
        Assert.Equal(1, asText.ExitCode);
        Assert.Contains($"'{mail}' is not valid UTF-8 (byte 0xE9 at offset {raw.Length - 11})", Assert.Single(asText.ErrorLines));
    }

    // ------------------------------------------------------------------ a folder tree and a CSV file of texts

    [Theory]
    [InlineData("gru")]
    [InlineData("rcnn")]
    public void A_text_folder_tree_trains_a_text_preset_and_its_files_are_predicted_by_folder_name(string preset)
    {
        string outDir = NewFolder("tree-" + preset);
        var r = CliRunner.Run(fx.Root, "train", "--model", preset, "--data", fx.TextTree, "--epochs", "1", "--batch-size", "8", "--sequence-length", "32",
            "--max-tokens", "200", "--validation-split", "0", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"{preset} (preset)", r.Stdout);
        Assert.Contains("text files in", r.Stdout);
        var m = CliRunner.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(32, m.GetProperty("train_samples").GetInt32());
        Assert.Equal(8, m.GetProperty("test_samples").GetInt32()); // 20% of 40 held out
        var model = Model.Load(Path.Combine(outDir, "model.strata"));
        Assert.Equal(preset, model.Name);
        Assert.Equal(["cooking", "sports"], model.ClassNames);
        Assert.Equal(32, model.TextInput!.OutputSequenceLength);

        string file = Path.Combine(fx.TextTree, "sports", "001.txt");
        var p = CliRunner.Run(fx.Root, "predict", Path.Combine(outDir, "model.strata"), file);
        Assert.True(p.ExitCode == 0, p.ToString());
        Assert.Matches($@"^{Regex.Escape(file)}: (cooking|sports) \d+\.\d% \(then (cooking|sports) \d+\.\d%\)\n$", p.Stdout);
    }

    [Fact]
    public void A_csv_file_of_texts_trains_bow_with_the_named_text_column_and_the_last_column_as_labels()
    {
        string outDir = NewFolder("csv-bow");
        var r = CliRunner.Run(fx.Root, "train", "--model", "bow", "--data", fx.TopicsCsv, "--text-column", "body", "--epochs", "1", "--validation-split", "0", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("text column 'body', labels 'category'", r.Stdout);
        Assert.Contains("tf-idf over a vocabulary", r.Stdout);
        var m = CliRunner.ReadJson(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(48, m.GetProperty("train_samples").GetInt32());
        Assert.Equal(12, m.GetProperty("test_samples").GetInt32()); // 20% of 60 held out
        var model = Model.Load(Path.Combine(outDir, "model.strata"));
        Assert.Equal(["cooking", "sports"], model.ClassNames);
        Assert.NotEqual(TextOutputMode.Int, model.TextInput!.OutputMode);
        var e = CliRunner.Run(fx.Root, "evaluate", Path.Combine(outDir, "model.strata"), "--data", fx.TopicsCsv, "--text-column", "body");
        Assert.True(e.ExitCode == 0, e.ToString());
        Assert.Contains(m.GetProperty("test_accuracy").GetDouble().ToString("0.0000", CultureInfo.InvariantCulture), e.Stdout);
    }

    [Fact]
    public void A_resumed_text_run_ends_exactly_where_an_uninterrupted_one_does()
    {
        string whole = NewFolder("text-whole"), half = NewFolder("text-half"), rest = NewFolder("text-rest");
        string[] common = ["--data", fx.TextTree, "--sequence-length", "16", "--max-tokens", "100", "--batch-size", "8", "--seed", "3"];
        Assert.Equal(0, CliRunner.Run(fx.Root, ["train", "--model", "lstm", .. common, "--epochs", "2", "--out", whole]).ExitCode);
        Assert.Equal(0, CliRunner.Run(fx.Root, ["train", "--model", "lstm", .. common, "--epochs", "1", "--out", half]).ExitCode);
        // The checkpoint holds its vocabulary, so --sequence-length and --max-tokens cannot change it.
        var sized = CliRunner.Run(fx.Root, ["train", "--resume", Path.Combine(half, "model.strata"), .. common, "--epochs", "2", "--out", rest]);
        Assert.Equal(2, sized.ExitCode);
        Assert.Contains("a resumed model keeps its own", Assert.Single(sized.ErrorLines));
        var resumed = CliRunner.Run(fx.Root, "train", "--resume", Path.Combine(half, "model.strata"), "--data", fx.TextTree, "--batch-size", "8", "--seed", "3",
            "--epochs", "2", "--out", rest);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("Epoch 2/2", resumed.Stdout);
        Assert.DoesNotContain("Epoch 1/2", resumed.Stdout);
        var a = CliRunner.ReadJson(Path.Combine(whole, "metrics.json"));
        var b = CliRunner.ReadJson(Path.Combine(rest, "metrics.json"));
        Assert.Equal(a.GetProperty("test_loss").GetDouble(), b.GetProperty("test_loss").GetDouble());
        Assert.Equal(a.GetProperty("history").GetProperty("val_loss")[1].GetDouble(), b.GetProperty("history").GetProperty("val_loss")[0].GetDouble());
        Assert.Equal(Model.Load(Path.Combine(whole, "model.strata")).GetWeights(), Model.Load(Path.Combine(rest, "model.strata")).GetWeights());
    }

    // ------------------------------------------------------------------ bad input

    [Fact]
    public void Preset_mistakes_are_usage_errors_that_list_the_right_presets()
    {
        void Check(string[] expected, params string[] args)
        {
            var r = CliRunner.Run(fx.Root, args);
            Assert.True(r.ExitCode == 2, r.ToString());
            var line = Assert.Single(r.ErrorLines);
            Assert.StartsWith("strata: --", line);
            foreach (var part in expected)
                Assert.Contains(part, line);
        }
        Check(["unknown preset 'nonesuch'", "lstm, gru, rcnn, bow"], "train", "--data", fx.TextTree, "--model", "nonesuch");
        Check(["'cnn' is a preset for images and numbers", fx.TextTree, "lstm, gru, rcnn, bow"], "train", "--data", fx.TextTree, "--model", "cnn");
        Check(["'lstm' is a text preset", "mnist is not text", "mlp, cnn, cnn3"], "train", "--model", "lstm");
        Check(["--sequence-length", "--model mlp"], "train", "--model", "mlp", "--sequence-length", "50");
        Check(["--max-tokens must be at least 1, got 0"], "train", "--data", fx.TextTree, "--max-tokens", "0");
        Check(["--text-column applies to a CSV file", "spam-assassin"], "train", "--data", "spam-assassin", "--text-column", "body");
    }

    [Fact]
    public void Bad_text_data_fails_with_one_line_naming_the_file_or_option()
    {
        void Check(string[] expected, params string[] args)
        {
            var r = CliRunner.Run(fx.Root, args);
            Assert.True(r.ExitCode == 1, r.ToString());
            var line = Assert.Single(r.ErrorLines);
            Assert.StartsWith("strata: ", line);
            foreach (var part in expected)
                Assert.Contains(part, line);
        }
        string dir = NewFolder("bad");
        // A class folder without .txt files.
        string tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "empty"));
        Directory.CreateDirectory(Path.Combine(tree, "full"));
        File.WriteAllText(Path.Combine(tree, "full", "a.txt"), "some words");
        Check([$"class folder '{Path.Combine(tree, "empty")}' holds no .txt files"], "train", "--data", tree);
        // A training file that is not UTF-8.
        File.WriteAllText(Path.Combine(tree, "empty", "b.txt"), "more words");
        File.WriteAllBytes(Path.Combine(tree, "full", "c.txt"), [(byte)'c', (byte)'a', (byte)'f', 0xE9]);
        Check([$"'{Path.Combine(tree, "full", "c.txt")}' is not valid UTF-8 (byte 0xE9 at offset 3)"], "train", "--data", tree);
        // Columns that the CSV file lacks.
        Check(["--text-column", fx.TopicsCsv, "no column 'nope'", "id, body, category"], "train", "--data", fx.TopicsCsv, "--text-column", "nope");
        Check(["--label-column", "no column 'kind'"], "train", "--data", fx.TopicsCsv, "--text-column", "body", "--label-column", "kind");
        // A message file that is not UTF-8 (and has no mail headers to name a charset).
        string latin1 = Path.Combine(dir, "latin1.txt");
        File.WriteAllBytes(latin1, [.. Encoding.Latin1.GetBytes("Caf\u00e9 cr\u00e8me")]);
        Check([$"'{latin1}' is not valid UTF-8 (byte 0xE9 at offset 3)"], "predict", fx.SpamModel, latin1);
        // An empty message file, an image for a text model, a text model on image data.
        string empty = Path.Combine(dir, "empty.txt");
        File.WriteAllText(empty, "");
        Check([$"'{empty}' is empty"], "predict", fx.SpamModel, empty);
        string image = Path.Combine(dir, "digit.png");
        Images.SavePng(image, Tensor.Zeros([28, 28, 1]));
        Check(["model/data mismatch", "takes text", $"'{image}' is an image"], "predict", fx.SpamModel, image);
        Check(["model/data mismatch", "takes text", "mnist is not text"], "evaluate", fx.SpamModel, "--test-samples", "10");
    }
}

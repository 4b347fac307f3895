using System.Buffers.Binary;
using System.IO.Compression;

namespace Strata.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), raw or gzipped: a big-endian header
/// (two zero bytes, a type code, the rank, one 32-bit size per axis) followed by the data.
/// Only unsigned bytes (type 0x08) are supported, which is what those data sets use.
/// </summary>
public static class Idx
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads a file: its dimensions and its bytes (row-major).</summary>
    /// <exception cref="InvalidDataException">Bad magic, an unsupported type, or fewer bytes than the header declares.</exception>
    public static (int[] Dims, byte[] Data) Read(string path)
    {
        using var file = File.OpenRead(path);
        var head = new byte[2];
        file.ReadExactly(head);
        file.Position = 0;
        using Stream stream = head[0] == 0x1f && head[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
        return Read(stream, path);
    }

    /// <summary>Reads IDX content from a stream (already decompressed).</summary>
    public static (int[] Dims, byte[] Data) Read(Stream stream, string name = "stream")
    {
        Span<byte> magic = stackalloc byte[4];
        ReadFully(stream, magic, name, "header");
        if (magic[0] != 0 || magic[1] != 0)
            throw new InvalidDataException($"IDX '{name}': expected magic 00 00, got {magic[0]:x2} {magic[1]:x2}");
        if (magic[2] != UnsignedByte)
            throw new InvalidDataException($"IDX '{name}': only unsigned byte data (type 0x08) is supported, got type 0x{magic[2]:x2}");
        int rank = magic[3];
        if (rank is < 1 or > 4)
            throw new InvalidDataException($"IDX '{name}': expected rank 1 to 4, got {rank}");
        var dims = new int[rank];
        Span<byte> word = stackalloc byte[4];
        long size = 1;
        for (int i = 0; i < rank; i++)
        {
            ReadFully(stream, word, name, "header");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] < 0)
                throw new InvalidDataException($"IDX '{name}': negative size {dims[i]} on axis {i}");
            size *= dims[i];
            if (size > Array.MaxLength)
                throw new InvalidDataException($"IDX '{name}': declared size {Shape.Format(dims.AsSpan(0, i + 1))} is too large");
        }
        // Grow the buffer as data arrives, so a header that lies about the size cannot force a huge allocation.
        var data = new byte[Math.Min(size, 1 << 20)];
        long filled = 0;
        while (filled < size)
        {
            if (filled == data.Length)
                Array.Resize(ref data, (int)Math.Min(size, (long)data.Length * 2));
            int n = stream.Read(data, (int)filled, data.Length - (int)filled);
            if (n == 0)
                throw new InvalidDataException($"IDX '{name}': header declares {Shape.Format(dims)} = {size} bytes, but the data ends after {filled}");
            filled += n;
        }
        return (dims, data);
    }

    private static void ReadFully(Stream stream, Span<byte> buffer, string name, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"IDX '{name}': file ends inside the {what}");
        }
    }
}

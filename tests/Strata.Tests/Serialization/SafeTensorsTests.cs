using System.Buffers.Binary;
using System.Collections;
using System.Text;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

public sealed class SafeTensorsTests
{
    private static byte[] File(string header, params byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }

    [Fact]
    public void Writes_the_published_layout_byte_for_byte()
    {
        // Derived by hand from the format: "a" = [1, -2] as F32, "b" = [[0.5]] after it (names sorted),
        // metadata first; the 112-byte header padded with spaces to 112 (already a multiple of 8) + 0.
        string header = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]}}";
        int pad = (8 - header.Length % 8) % 8;
        var expected = File(header + new string(' ', pad),
            0x00, 0x00, 0x80, 0x3F,  // 1.0f
            0x00, 0x00, 0x00, 0xC0,  // -2.0f
            0x00, 0x00, 0x00, 0x3F); // 0.5f
        var stream = new MemoryStream();
        SafeTensors.Write(stream, new Dictionary<string, Tensor>
        {
            ["b"] = Tensor.FromArray([0.5f], 1, 1),
            ["a"] = Tensor.FromArray([1f, -2f], 2),
        }, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(expected, stream.ToArray());
        Assert.Equal(0, (stream.Length - 8 - 12) % 8); // the data starts 8-aligned
    }

    [Fact]
    public void Round_trips_tensors_and_metadata_through_a_file()
    {
        var dir = Directory.CreateTempSubdirectory("strata-st-");
        try
        {
            var path = Path.Combine(dir.FullName, "w.safetensors");
            var tensors = new Dictionary<string, Tensor>
            {
                ["dense/kernel"] = Tensor.RandomNormal([5, 3], seed: 1),
                ["dense/bias"] = Tensor.FromArray([float.NaN, float.PositiveInfinity, -0f], 3),
                ["empty"] = Tensor.Zeros(0, 4),
                ["scalar"] = Tensor.FromArray([7f]).Reshape(),
            };
            SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["by"] = "strata" });
            var back = SafeTensors.Load(path);
            Assert.Equal("strata", back.Metadata["by"]);
            Assert.Equal(tensors.Keys.Order(), back.Tensors.Keys.Order());
            foreach (var (k, t) in tensors)
            {
                Assert.Equal(t.Shape, back.Tensors[k].Shape);
                Assert.Equal(t.ToArray().Select(BitConverter.SingleToInt32Bits), back.Tensors[k].ToArray().Select(BitConverter.SingleToInt32Bits));
            }
            Assert.Single(Directory.GetFiles(dir.FullName)); // no temporary left behind
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Reads_other_dtypes_as_float32()
    {
        // F16 1.5 = 0x3E00, BF16 -2 = 0xC000, F64 0.25, I8 -3, BOOL true.
        var header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},\"g\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[2,4]},"
            + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[4,12]},\"i\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[12,13]},"
            + "\"b\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[13,14]}}";
        var data = new byte[14];
        BinaryPrimitives.WriteUInt16LittleEndian(data, 0x3E00);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2), 0xC000);
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(4), 0.25);
        data[12] = 0xFD;
        data[13] = 1;
        var bytes = File(header, data);
        var path = Path.Combine(Path.GetTempPath(), $"strata-dtypes-{Guid.NewGuid():N}.safetensors");
        System.IO.File.WriteAllBytes(path, bytes);
        try
        {
            var fromFile = SafeTensors.Load(path).Tensors; // the streaming reader
            foreach (var (k, v) in SafeTensors.Read(bytes).Tensors)
                Assert.Equal(v.ToArray(), fromFile[k].ToArray());
            // A file cut inside its data fails through the file reader too, naming the file.
            System.IO.File.WriteAllBytes(path, bytes[..^3]);
            var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("cover 14 bytes", e.Message);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
        var t = SafeTensors.Read(bytes).Tensors;
        Assert.Equal(1.5f, t["h"].ToArray()[0]);
        Assert.Equal(-2f, t["g"].ToArray()[0]);
        Assert.Equal(0.25f, t["d"].ToArray()[0]);
        Assert.Equal(-3f, t["i"].ToArray()[0]);
        Assert.Equal(1f, t["b"].ToArray()[0]);
    }

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "shorter than the length field", [1, 2, 3], "fewer than the 8" },
        { "header length past the end", BigLength(), "exceeds" },
        { "header not JSON", File("{\"a\":"), "not valid JSON" },
        { "header an array", File("[1,2]"), "must be a JSON object" },
        { "too deep", File("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}"), "not valid JSON" },
        { "unknown dtype", File("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,1]}}", 0), "'Q7'" },
        { "missing shape", File("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 0, 0, 0, 0), "no shape" },
        { "negative size", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 0, 0, 0, 0), "not a size" },
        { "shape overflow", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536],\"data_offsets\":[0,4]}}", 0, 0, 0, 0), "more than" },
        { "size vs offsets", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 0, 0, 0, 0), "needs 8 bytes" },
        { "offsets reversed", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}"), "0 ≤ begin ≤ end" },
        { "offset a string", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 0, 0, 0, 0), "data_offsets" },
        { "past the end", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 0, 0, 0), "cover 8 bytes" },
        { "overlap", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, 0, 0, 0), "overlaps" },
        { "hole", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0, 0, 0, 0, 0, 0, 0, 0), "belong to no tensor" },
        { "duplicate name", File("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 0, 0), "twice" },
        { "metadata not strings", File("{\"__metadata__\":{\"n\":3}}"), "must be a string" },
    };

    private static byte[] BigLength()
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(b, ulong.MaxValue - 7);
        return b;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_files_fail_with_a_clear_message(string what, byte[] bytes, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(bytes));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Fact]
    public void Thousands_of_mutated_files_load_correctly_or_fail_cleanly()
    {
        var stream = new MemoryStream();
        SafeTensors.Write(stream, new Dictionary<string, Tensor>
        {
            ["w"] = Tensor.RandomNormal([4, 3], seed: 2),
            ["b"] = Tensor.FromArray([1f, 2f, 3f], 3),
        }, new Dictionary<string, string> { ["k"] = "v" });
        var good = stream.ToArray();
        var rng = new Random(12345);
        int loaded = 0, failed = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            var bytes = (byte[])good.Clone();
            switch (trial % 3)
            {
                case 0: // flip a few bits anywhere
                    for (int f = 0, flips = rng.Next(1, 4); f < flips; f++)
                        bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1: // truncate
                    bytes = bytes[..rng.Next(bytes.Length)];
                    break;
                default: // overwrite a byte of the header with a JSON-significant character
                    const string significant = "{}[],:\"0123456789-eE ";
                    bytes[8 + rng.Next(Math.Min(bytes.Length - 8, 150))] = (byte)significant[rng.Next(significant.Length)];
                    break;
            }
            try
            {
                var content = SafeTensors.Read(bytes);
                foreach (var t in content.Tensors.Values)
                    Assert.Equal(t.Shape.Size, t.ToArray().Length);
                loaded++;
            }
            catch (InvalidDataException)
            {
                failed++;
            }
        }
        Assert.True(failed > 1000, $"only {failed} of 3000 mutations were rejected");
        Assert.True(loaded > 100, $"only {loaded} of 3000 mutations still loaded (bit flips in the data should)");
    }

    [Fact]
    public void A_save_that_fails_midway_leaves_the_previous_file_intact()
    {
        var dir = Directory.CreateTempSubdirectory("strata-st-");
        try
        {
            var path = Path.Combine(dir.FullName, "model.safetensors");
            SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray([1f, 2f], 2) });
            var before = System.IO.File.ReadAllBytes(path);
            // The third tensor lookup (while the data is being written) throws.
            var failing = new FailingDictionary(new Dictionary<string, Tensor>
            {
                ["a"] = Tensor.Ones(1000),
                ["b"] = Tensor.Ones(1000),
            }, failAfter: 3);
            Assert.Throws<IOException>(() => SafeTensors.Save(path, failing));
            Assert.Equal(before, System.IO.File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir.FullName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Load_names_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"strata-bad-{Guid.NewGuid():N}.safetensors");
        System.IO.File.WriteAllBytes(path, [1, 2, 3]);
        try
        {
            Assert.Contains(path, Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    private sealed class FailingDictionary(Dictionary<string, Tensor> inner, int failAfter) : IReadOnlyDictionary<string, Tensor>
    {
        private int _lookups;

        public Tensor this[string key] => ++_lookups > failAfter ? throw new IOException("disk full (simulated)") : inner[key];

        public IEnumerable<string> Keys => inner.Keys;
        public IEnumerable<Tensor> Values => inner.Values;
        public int Count => inner.Count;
        public bool ContainsKey(string key) => inner.ContainsKey(key);
        public bool TryGetValue(string key, out Tensor value) => inner.TryGetValue(key, out value!);
        public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => inner.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

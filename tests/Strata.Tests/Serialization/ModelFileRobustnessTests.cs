using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

/// <summary>The model file is untrusted input: every malformed file must end in a clear InvalidDataException.</summary>
public sealed class ModelFileRobustnessTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-r-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string FilePath(string name) => Path.Combine(_dir.FullName, name);

    /// <summary>A small compiled model's file (all five entries), its entries and its predictions.</summary>
    private (byte[] File, Dictionary<string, byte[]> Entries, Model Model, Tensor X) Valid()
    {
        var (x, y) = TestData.Blobs(30, 1);
        var model = new Sequential([new Input([2]), new Dense(4, "relu"), new Dropout(0.1f), new Dense(3)], seed: 1, name: "small");
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true), "accuracy");
        model.Fit(x, y, epochs: 1, batchSize: 10);
        var path = FilePath("valid.strata");
        model.Save(path);
        var entries = new Dictionary<string, byte[]>();
        using (var zip = ZipFile.OpenRead(path))
        {
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                entries[e.FullName] = m.ToArray();
            }
        }
        return (File.ReadAllBytes(path), entries, model, x);
    }

    private static byte[] Zip(IEnumerable<(string Name, byte[] Data)> entries, CompressionLevel tensors = CompressionLevel.NoCompression)
    {
        using var m = new MemoryStream();
        using (var zip = new ZipArchive(m, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in entries)
            {
                var level = name.EndsWith(".safetensors", StringComparison.Ordinal) ? tensors : CompressionLevel.Fastest;
                using var s = zip.CreateEntry(name, level).Open();
                s.Write(data);
            }
        }
        return m.ToArray();
    }

    private static IEnumerable<(string, byte[])> With(Dictionary<string, byte[]> entries, string name, byte[] data) =>
        entries.Where(e => e.Key != name).Select(e => (e.Key, e.Value)).Append((name, data));

    private InvalidDataException LoadFails(byte[] file)
    {
        var path = FilePath("bad.strata");
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.StartsWith(path, e.Message); // every message names the file
        return e;
    }

    private static string Config(Dictionary<string, byte[]> entries) => Encoding.UTF8.GetString(entries[ModelFile.ConfigEntry]);

    [Fact]
    public void Truncated_files_and_non_zips_fail_cleanly()
    {
        var (file, _, _, _) = Valid();
        foreach (int length in new[] { 0, 1, 4, 30, 100, file.Length / 3, file.Length / 2, file.Length - 22, file.Length - 1 })
            LoadFails(file[..length]);
        Assert.Contains("not a readable zip", LoadFails(Encoding.UTF8.GetBytes("{\"format\": \"strata.model\"}")).Message);
    }

    [Fact]
    public void Entries_with_foreign_names_are_refused_and_nothing_is_written()
    {
        var (_, entries, _, _) = Valid();
        foreach (var name in new[] { "../escape.txt", "/etc/passwd", "sub/config.json", "..\\..\\evil.dll", "config.json/../../x" })
        {
            var e = LoadFails(Zip(entries.Select(kv => (kv.Key, kv.Value)).Append((name, new byte[] { 1, 2, 3 }))));
            Assert.True(e.Message.Contains("unexpected zip entry", StringComparison.Ordinal), e.Message);
            Assert.False(File.Exists(Path.Combine(_dir.Parent!.FullName, "escape.txt")));
            Assert.False(File.Exists(Path.Combine(_dir.Parent!.FullName, "evil.dll")));
            Assert.Equal(["bad.strata", "valid.strata"], Directory.GetFileSystemEntries(_dir.FullName).Select(Path.GetFileName).Order());
        }
        Assert.Contains("appears twice", LoadFails(Zip(entries.Select(kv => (kv.Key, kv.Value))
            .Append((ModelFile.ConfigEntry, entries[ModelFile.ConfigEntry])))).Message);
        Assert.Contains("config.json is missing", LoadFails(Zip(entries.Where(kv => kv.Key != ModelFile.ConfigEntry).Select(kv => (kv.Key, kv.Value)))).Message);
    }

    [Fact]
    public void A_zip_bomb_is_refused_before_it_inflates()
    {
        var (_, entries, _, _) = Valid();
        // 128 MB of zeros deflate to about 128 KB: a tensor entry must be stored, so this is refused at once.
        var bomb = Zip(With(entries, ModelFile.WeightsEntry, new byte[128 << 20]), CompressionLevel.Fastest);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = LoadFails(bomb);
        Assert.Contains("is compressed", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 8L << 20, "loading a bomb allocated more than 8 MB");

        // A JSON entry larger than the limit (here 20 MB of spaces, about 20 KB deflated) is refused by its declared size.
        var huge = Zip(With(entries, ModelFile.ConfigEntry, Encoding.ASCII.GetBytes(new string(' ', 20 << 20))));
        allocated = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("more than the 16777216-byte limit", LoadFails(huge).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 8L << 20, "a huge JSON entry was read");
    }

    [Fact]
    public void Malformed_json_and_configs_fail_with_the_reason()
    {
        var (_, entries, _, _) = Valid();
        string config = Config(entries);
        var cases = new (string Config, string Expected)[]
        {
            (new string('[', 5000) + new string(']', 5000), "not valid JSON"),
            ("{\"class\": \"Sequential\"", "not valid JSON"),
            ("[]", "must be an object"),
            (config.Replace("\"Dense\"", "\"System.IO.File\""), "unknown layer 'System.IO.File'"),
            (config.Replace("\"Sequential\"", "\"Evil\""), "unknown model class 'Evil'"),
            (config.Replace("\"units\": 4", "\"units\": -4"), "config is not valid"),
            (config.Replace("\"units\": 4", "\"unitz\": 4"), "does not fit DenseConfig"),
            (config.Replace("\"units\": 4", "\"units\": \"four\""), "does not fit DenseConfig"),
            (config.Replace("\"use_bias\": true,", "\"use_bias\": true, \"extra\": 1,"), "does not fit DenseConfig"),
            (config.Replace("\"activation\": \"relu\"", "\"activation\": \"rm -rf\""), "unknown name 'rm -rf'"),
            (config.Replace("\"input_shape\": [\n    2\n  ]", "\"input_shape\": [\n    3\n  ]"), "cannot rebuild for [3]"),
            (config.Replace("\"class\": \"adam\"", "\"class\": \"lbfgs\""), "unknown optimizer 'lbfgs'"),
            (config.Replace("\"from_logits\": true", "\"from_logits\": 1"), "the sparse_categorical_crossentropy config does not fit CrossentropyConfig"),
        };
        foreach (var (bad, expected) in cases)
        {
            Assert.NotEqual(config, bad); // the replacement found its target
            var e = LoadFails(Zip(With(entries, ModelFile.ConfigEntry, Encoding.UTF8.GetBytes(bad))));
            Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in: {e.Message}");
        }
        var meta = Encoding.UTF8.GetString(entries[ModelFile.MetadataEntry]);
        Assert.Contains("newer than this Strata reads", LoadFails(Zip(With(entries, ModelFile.MetadataEntry,
            Encoding.UTF8.GetBytes(meta.Replace("\"format_version\": 1", "\"format_version\": 99"))))).Message);
        Assert.Contains("does not say format", LoadFails(Zip(With(entries, ModelFile.MetadataEntry, "{}"u8.ToArray()))).Message);
    }

    [Fact]
    public void Functional_graphs_that_read_later_nodes_are_refused()
    {
        var graph = ModelZoo.Graph(1);
        var path = FilePath("graph.strata");
        graph.Save(path);
        Dictionary<string, byte[]> entries;
        using (var zip = ZipFile.OpenRead(path))
            entries = zip.Entries.ToDictionary(e => e.FullName, e => { using var s = e.Open(); using var m = new MemoryStream(); s.CopyTo(m); return m.ToArray(); });
        var config = System.Text.Json.Nodes.JsonNode.Parse(entries[ModelFile.ConfigEntry])!;
        config["nodes"]![2]!["inputs"] = new System.Text.Json.Nodes.JsonArray(5); // a cycle / forward reference
        var e = LoadFails(Zip(With(entries, ModelFile.ConfigEntry, Encoding.UTF8.GetBytes(config.ToJsonString()))));
        Assert.Contains("node 2 reads node(s) 5, which do not come before it", e.Message);
    }

    private static byte[] SafeTensorsBytes(string header, int dataBytes, ulong? claimedLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    [Fact]
    public void Malformed_weight_entries_fail_with_the_reason()
    {
        var (_, entries, _, _) = Valid();
        const string w = "\"0/dense/kernel\"";
        var cases = new (byte[] Bytes, string Expected)[]
        {
            (SafeTensorsBytes("{}", 0, claimedLength: ulong.MaxValue), "header length"),
            (SafeTensorsBytes("{" + w + ":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlaps"),
            (SafeTensorsBytes("{" + w + ":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8), "cover 16 bytes"),
            (SafeTensorsBytes("{" + w + ":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,16]}}", 16), "more than 2147483647 elements"),
            (SafeTensorsBytes("{" + w + ":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "dtype 'Q4'"),
            (SafeTensorsBytes("{" + w + ":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "no weight for"),
        };
        foreach (var (bytes, expected) in cases)
        {
            var e = LoadFails(Zip(With(entries, ModelFile.WeightsEntry, bytes)));
            Assert.Contains(expected, e.Message);
            Assert.Contains(ModelFile.WeightsEntry, e.Message);
        }
        // Optimizer state for a weight the model lacks.
        var opt = SafeTensorsBytes("{\"__metadata__\":{\"iterations\":\"3\",\"learning_rate\":\"0.01\"}," +
            "\"9/ghost/kernel/slot0\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        Assert.Contains("state for weights the model does not have", LoadFails(Zip(With(entries, ModelFile.OptimizerEntry, opt))).Message);
    }

    [Fact]
    public void Thousands_of_mutated_files_load_correctly_or_fail_cleanly()
    {
        var (file, _, model, x) = Valid();
        var expected = model.GetWeights();
        var prediction = model.Predict(x).ToArray();
        var rng = new Rng(2026);
        var path = FilePath("mutant.strata");
        int loaded = 0, failed = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            var bytes = (byte[])file.Clone();
            switch (trial % 4)
            {
                case 0: // one flipped bit
                    bytes[rng.NextInt(bytes.Length)] ^= (byte)(1 << rng.NextInt(8));
                    break;
                case 1: // a few random bytes
                    for (int k = 0; k < 1 + rng.NextInt(4); k++)
                        bytes[rng.NextInt(bytes.Length)] = (byte)rng.NextUInt();
                    break;
                case 2: // cut short
                    bytes = bytes[..rng.NextInt(bytes.Length)];
                    break;
                default: // a run of 0xFF (large lengths, offsets and counts)
                    int at = rng.NextInt(bytes.Length - 8);
                    bytes.AsSpan(at, 1 + rng.NextInt(8)).Fill(0xFF);
                    break;
            }
            File.WriteAllBytes(path, bytes);
            try
            {
                var m = Model.Load(path);
                Assert.Equal(expected, m.GetWeights());
                Assert.Equal(prediction, m.Predict(x).ToArray());
                loaded++;
            }
            catch (InvalidDataException)
            {
                failed++;
            }
        }
        Assert.Equal(3000, loaded + failed);
        Assert.True(failed > 1500, $"only {failed} of 3000 mutations were rejected");
    }
}

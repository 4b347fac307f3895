using System.IO.Compression;
using Strata.Compression;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Compression;

public sealed class StripAndFileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-prune-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string FilePath(string name) => Path.Combine(_dir.FullName, name);

    private static Sequential Wide(ulong seed = 2) =>
        new([new Input([64]), new Dense(256, "relu"), new Dense(128, "relu"), new Dense(10, "softmax")], seed, "wide");

    [Fact]
    public void Strip_gives_a_plain_uncompiled_copy_with_the_same_weights_and_outputs()
    {
        var (x, y) = TestData.Blobs(64, 3);
        var model = MagnitudePruningTests.Compiled();
        model.ClassNames = ["a", "b", "c"];
        model.Fit(x, y, epochs: 2, batchSize: 16, callbacks: [new MagnitudePruning(new ConstantSparsity(0.5f, frequency: 1))]);
        var plain = Pruning.Strip(model);
        Assert.Null(plain.Optimizer);
        Assert.Null(plain.Loss);
        Assert.Equal(["a", "b", "c"], plain.ClassNames!);
        Assert.Equal(model.GetWeights(), plain.GetWeights());
        Assert.Equal(model.Predict(x).ToArray(), plain.Predict(x).ToArray());
        Assert.DoesNotContain(plain.Layers, l => model.Layers.Contains(l));
        Assert.Equal(0.5f, Pruning.Sparsity(plain).Values.Min());
        // The copy is independent.
        plain.Layers.OfType<Dense>().First().Kernel.Value.AsWritableSpan()[0] = 42;
        Assert.NotEqual(42, model.Layers.OfType<Dense>().First().Kernel.Value.Span[0]);
    }

    [Fact]
    public void The_compressed_file_shrinks_with_sparsity_and_loads_back_exactly()
    {
        long stored = 0;
        var sizes = new List<long>();
        foreach (float sparsity in new[] { 0f, 0.5f, 0.8f, 0.9f, 0.95f })
        {
            var model = Wide();
            if (sparsity > 0)
                Pruning.Prune(model, sparsity);
            string path = FilePath($"wide-{sparsity}.strata");
            model.Save(path, compressWeights: true);
            sizes.Add(new FileInfo(path).Length);
            var loaded = Model.Load(path);
            Assert.Equal(model.GetWeights(), loaded.GetWeights());
            if (sparsity == 0.9f)
            {
                model.Save(FilePath("stored.strata"));
                stored = new FileInfo(FilePath("stored.strata")).Length;
            }
        }
        for (int i = 1; i < sizes.Count; i++)
            Assert.True(sizes[i] < sizes[i - 1], $"sizes {string.Join(", ", sizes)}");
        // 50,000 float32 weights: stored ≈ 200 KB whatever the sparsity; at 90% the deflated file is well under a third.
        Assert.True(sizes[3] < stored * 0.3, $"90%: {sizes[3]} bytes deflated, {stored} stored");
    }

    /// <summary>The entries of a saved model file, by name.</summary>
    private static Dictionary<string, byte[]> Entries(string path)
    {
        var entries = new Dictionary<string, byte[]>();
        using var zip = ZipFile.OpenRead(path);
        foreach (var e in zip.Entries)
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            entries[e.FullName] = m.ToArray();
        }
        return entries;
    }

    private string Rezip(Dictionary<string, byte[]> entries, Func<string, CompressionLevel> level)
    {
        string path = FilePath($"re-{Guid.NewGuid():N}.strata");
        using var f = File.Create(path);
        using var zip = new ZipArchive(f, ZipArchiveMode.Create);
        foreach (var (name, data) in entries)
        {
            using var s = zip.CreateEntry(name, level(name)).Open();
            s.Write(data);
        }
        return path;
    }

    [Fact]
    public void Loading_a_deflated_weights_entry_stays_bounded_and_strict()
    {
        var (x, y) = TestData.Blobs(32, 4);
        var model = MagnitudePruningTests.Compiled();
        model.Fit(x, y, epochs: 1, batchSize: 16);
        string path = FilePath("ok.strata");
        model.Save(path, compressWeights: true);
        var entries = Entries(path);

        // A weights entry that inflates past what the architecture's weights need is refused before it is read.
        var padded = entries.ToDictionary();
        padded[ModelFile.WeightsEntry] = [.. entries[ModelFile.WeightsEntry], .. new byte[1 << 20]];
        string paddedPath = Rezip(padded, _ => CompressionLevel.Optimal);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(paddedPath));
        Assert.Contains("model.weights.safetensors is compressed", e.Message);
        Assert.Contains("more than the", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "the padded entry was read");

        // The optimizer state must still be stored.
        e = Assert.Throws<InvalidDataException>(() => Model.Load(Rezip(entries, _ => CompressionLevel.Optimal)));
        Assert.Contains("optimizer.safetensors is compressed", e.Message);

        // Deflated weights with the stored optimizer state load and resume.
        var loaded = Model.Load(Rezip(entries, n => n == ModelFile.OptimizerEntry ? CompressionLevel.NoCompression : CompressionLevel.Optimal));
        Assert.Equal(model.GetWeights(), loaded.GetWeights());
        Assert.Equal(model.Optimizer!.Iterations, loaded.Optimizer!.Iterations);
    }
}

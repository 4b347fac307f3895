using System.IO.Compression;
using System.Text.Json;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

/// <summary>
/// The zoo's models (every built-in layer), each compiled with another optimizer, schedule, loss and metrics
/// and trained two epochs, as committed files (Fixtures/format-v1/, written by <see cref="Write"/> at the commit
/// before JSON moved to source-generated contexts; Fixtures/README.md says how). Files saved before a change to
/// the JSON code must still load, predict the same and save back the same config.
/// </summary>
internal static class FormatFixtures
{
    public static string Dir => Path.Combine(RepoPaths.Root, "tests", "Strata.Tests", "Serialization", "Fixtures", "format-v1");

    public static string ExpectedPath => Path.Combine(Dir, "expected.json");

    /// <summary>One model, its training data and its probe inputs.</summary>
    public sealed record Case(Model Model, Tensor[] X, Tensor Y, Tensor[] Probe);

    public static IEnumerable<Case> Cases()
    {
        var images = ModelZoo.Images(1);
        images.Compile(new Adam(schedule: new CosineDecay(0.01f, 20, 0.1f), clipNorm: 5f), new SparseCategoricalCrossentropy(),
            "accuracy", new TopKCategoricalAccuracy(2, sparse: true));
        yield return new(images, [Tensor.RandomUniform([6, 8, 8, 2], -1f, 1f, 2)], Tensor.FromArray([0, 1, 2, 0, 1, 2], 6),
            [Tensor.RandomUniform([2, 8, 8, 2], -1f, 1f, 3)]);

        var sequences = ModelZoo.Sequences(3);
        sequences.Compile(new RmsProp(schedule: new ExponentialDecay(0.01f, 5, 0.5f, Staircase: true), momentum: 0.5f, clipValue: 1f),
            new Huber(0.5f), "mae", "rmse");
        yield return new(sequences, [Tensor.RandomUniform([6, 12, 3], -1f, 1f, 4)], Tensor.RandomUniform([6, 2], -1f, 1f, 5),
            [Tensor.RandomUniform([2, 12, 3], -1f, 1f, 6)]);

        var text = ModelZoo.Text(8);
        text.Compile(new Sgd(0.05f, momentum: 0.9f, nesterov: true, schedule: new InverseTimeDecay(0.05f, 4, 0.5f), globalClipNorm: 2f),
            new CategoricalCrossentropy(fromLogits: true, LossReduction.Sum), new Auc(thresholds: 20));
        var ids = Tensor.FromArray([.. Enumerable.Range(0, 40).Select(i => (float)(i < 30 ? (i * 7) % 19 + 1 : 0))], 4, 10);
        yield return new(text, [ids], Tensor.FromArray([1, 0, 0, 1, 1, 0, 0, 1], 4, 2), [ids]);

        var vectorized = ModelZoo.Vectorized(8);
        vectorized.Compile(new AdamW(0.01f, weightDecay: 0.01f), new BinaryCrossentropy(), new Precision(0.4f), new Recall());
        var docs = ((TextVectorization)vectorized.Layers[0]).Vectorize(["win free money", "meeting at noon", "free free", "win win"]);
        yield return new(vectorized, [docs], Tensor.FromArray([1, 0, 0, 1, 1, 0, 0, 1], 4, 2), [docs]);

        var graph = ModelZoo.Graph(5);
        graph.Compile(new Adagrad(0.05f), new MeanAbsoluteError(), "mse");
        yield return new(graph, [Tensor.RandomUniform([4, 6], -1f, 1f, 6), Tensor.RandomUniform([4, 6], -1f, 1f, 7)],
            Tensor.RandomUniform([4, 3], -1f, 1f, 8), [Tensor.RandomUniform([2, 6], -1f, 1f, 9), Tensor.RandomUniform([2, 6], -1f, 1f, 10)]);

        var table = ModelZoo.Table(9);
        table.Compile(new Adam(schedule: new PiecewiseConstantDecay([2, 4], [0.01f, 0.005f, 0.001f])), new MeanSquaredError(), new BinaryAccuracy(0.3f));
        var rows = Tensor.FromArray([2.5f, 2, -1, 0, -1, 7, 1, 0, 1, 3, 1, 2], 4, 3); // the text column's indices: red, none, blue, green
        yield return new(table, [rows], Tensor.FromArray([1, 0, 0, 1, 1, 0, 0, 1], 4, 2), [rows]);
    }

    /// <summary>Trains each case two epochs and writes its file and, into expected.json, its predictions on its probe.</summary>
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        var expected = new Dictionary<string, float[]>();
        foreach (var c in Cases())
        {
            c.Model.Fit(c.X, c.Y, epochs: 2, batchSize: 2, seed: 11);
            c.Model.Save(Path.Combine(dir, c.Model.Name + ".strata"));
            expected[c.Model.Name] = c.Model.Predict(c.Probe).ToArray();
        }
        File.WriteAllText(Path.Combine(dir, "expected.json"), JsonSerializer.Serialize(expected));
    }
}

public sealed class FormatFixtureTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-format-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static string Entry(string path, string name)
    {
        using var zip = ZipFile.OpenRead(path);
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }

    private static readonly string[] s_names = ["images", "sequences", "text", "vectorized", "graph", "table"];

    public static TheoryData<string> Names => [.. s_names];

    [Theory]
    [MemberData(nameof(Names))]
    public void A_file_saved_before_the_json_change_loads_predicts_the_same_and_saves_the_same_config(string name)
    {
        string path = Path.Combine(FormatFixtures.Dir, name + ".strata");
        var c = FormatFixtures.Cases().Single(c => c.Model.Name == name);
        using var doc = JsonDocument.Parse(File.ReadAllText(FormatFixtures.ExpectedPath));
        float[] expected = [.. doc.RootElement.GetProperty(name).EnumerateArray().Select(v => v.GetSingle())];

        var loaded = Model.Load(path);
        Assert.Equal(2, loaded.CompletedEpochs);
        Assert.NotNull(loaded.Optimizer);
        float[] predicted = loaded.Predict(c.Probe).ToArray();
        Assert.Equal(expected.Length, predicted.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - predicted[i]) <= 1e-5f * Math.Max(1, Math.Abs(expected[i])), $"{name} output {i}: expected {expected[i]}, got {predicted[i]}");

        // Saved again, every layer, optimizer, schedule, loss and metric is written exactly as before.
        string again = Path.Combine(_dir.FullName, name + ".strata");
        loaded.Save(again);
        Assert.Equal(Entry(path, ModelFile.ConfigEntry), Entry(again, ModelFile.ConfigEntry));
        Assert.Equal(Entry(path, ModelFile.TrainingEntry), Entry(again, ModelFile.TrainingEntry));

        // And it trains on from there.
        loaded.Fit(c.X, c.Y, epochs: 3, batchSize: 2, seed: 11, initialEpoch: 2);
        Assert.Equal(3, loaded.CompletedEpochs);
    }

    [Fact]
    public void The_fixtures_cover_every_case()
    {
        Assert.Equal(FormatFixtures.Cases().Select(c => c.Model.Name).Order(), s_names.Order());
        Assert.Equal(s_names.Select(n => n + ".strata").Order(),
            Directory.EnumerateFiles(FormatFixtures.Dir, "*.strata").Select(Path.GetFileName).Order());
    }
}

using System.IO.Compression;
using System.Text;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Models;

/// <summary>The seed models by name, a model from its config JSON, and class names kept with a model.</summary>
public sealed class PresetsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-presets-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static long Parameters(Model m) => m.Weights.Sum(w => (long)w.Value.Size);

    [Fact]
    public void The_presets_are_the_seed_models_with_their_published_parameter_counts()
    {
        Assert.Equal(109_386, Parameters(Presets.Create("mlp")));
        Assert.Equal(121_930, Parameters(Presets.Create("cnn")));
        Assert.Equal(93_322, Parameters(Presets.Create("cnn3")));   // Conv(64) on 5×5 → 3×3×64 = 576 features into Dense(64)
        var cnn = Presets.Cnn();
        Assert.IsType<Reshape>(cnn.Layers[1]); // [28, 28] images get a channel axis
        Assert.Equal([10], cnn.Layers[^1].OutputShape.ToArray());
    }

    [Fact]
    public void Presets_size_themselves_to_the_data_and_are_seeded()
    {
        var rgb = Presets.Cnn([32, 32, 3], classes: 4, seed: 3);
        Assert.DoesNotContain(rgb.Layers, l => l is Reshape);
        Assert.Equal([4], rgb.Layers[^1].OutputShape.ToArray());
        var features = Presets.Mlp([7], classes: 3);
        Assert.Equal(7 * 128 + 128 + 128 * 64 + 64 + 64 * 3 + 3, Parameters(features));
        Assert.Equal(Presets.Cnn(seed: 5).GetWeights(), Presets.Cnn(seed: 5).GetWeights());
        Assert.NotEqual(Presets.Cnn(seed: 5).GetWeights()[0], Presets.Cnn(seed: 6).GetWeights()[0]);
    }

    [Theory]
    [InlineData("resnet", null, 10, "unknown preset 'resnet'")]
    [InlineData("cnn", new[] { 4 }, 10, "cannot take input shape [4]")]
    [InlineData("cnn", new[] { 8, 8, 1 }, 10, "too small")]
    [InlineData("cnn3", new[] { 16, 16 }, 10, "too small")]
    [InlineData("mlp", null, 1, "at least 2 classes")]
    public void Presets_refuse_what_they_cannot_build(string name, int[]? shape, int classes, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Presets.Create(name, shape, classes));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_model_from_its_config_has_the_architecture_and_fresh_seeded_weights()
    {
        var trained = Presets.Cnn(seed: 1);
        trained.Compile(new Adam(), new SparseCategoricalCrossentropy(), "accuracy");
        trained.Fit(Tensor.RandomUniform([64, 28, 28], 0f, 1f, 2), Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (float)(i % 10)).ToArray()), epochs: 1);
        string path = Path.Combine(_dir.FullName, "cnn.strata");
        trained.Save(path);
        string json;
        using (var zip = ZipFile.OpenRead(path))
        using (var reader = new StreamReader(zip.GetEntry("config.json")!.Open(), Encoding.UTF8))
            json = reader.ReadToEnd();

        var fresh = Model.FromConfig(json, seed: 1);
        Assert.Null(fresh.Optimizer); // the compile section is not applied
        Assert.Equal(trained.Layers.Select(l => (l.GetType(), l.OutputShape)), fresh.Layers.Select(l => (l.GetType(), l.OutputShape)));
        Assert.Equal(Presets.Cnn(seed: 1).GetWeights(), fresh.GetWeights()); // the same initialization as a new preset
        Assert.NotEqual(trained.GetWeights()[0], fresh.GetWeights()[0]);
        Assert.NotEqual(fresh.GetWeights()[0], Model.FromConfig(json, seed: 2).GetWeights()[0]);

        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => Model.FromConfig("{ \"class\": ")).Message);
        Assert.Contains("unknown model class", Assert.Throws<InvalidDataException>(() => Model.FromConfig(json.Replace("\"Sequential\"", "\"Pipeline\""))).Message);
    }

    [Fact]
    public void Class_names_are_saved_with_the_model_and_checked_when_read()
    {
        var model = Presets.Mlp([3], classes: 3, seed: 1);
        model.ClassNames = ["setosa", "versicolor", "virginica"];
        string path = Path.Combine(_dir.FullName, "iris.strata");
        model.Save(path);
        Assert.Equal(model.ClassNames, Model.Load(path).ClassNames);

        var unnamed = Presets.Mlp([3], classes: 3, seed: 1);
        string plain = Path.Combine(_dir.FullName, "plain.strata");
        unnamed.Save(plain);
        Assert.Null(Model.Load(plain).ClassNames);

        // class_names that are not strings: refused, naming the entry.
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("metadata.json")!;
            string text;
            using (var r = new StreamReader(entry.Open()))
                text = r.ReadToEnd();
            entry.Delete();
            using var w = new StreamWriter(zip.CreateEntry("metadata.json").Open());
            w.Write(text.Replace("\"setosa\"", "7"));
        }
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.Contains("class_names must be an array of strings", e.Message);
    }
}

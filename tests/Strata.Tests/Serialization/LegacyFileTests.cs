using System.IO.Compression;
using System.Text.Json;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

/// <summary>Model files written before the registries (Fixtures/README.md says how) still load, predict and resume.</summary>
public sealed class LegacyFileTests : IDisposable
{
    private static readonly string s_fixtures = Path.Combine(RepoPaths.Root, "tests", "Strata.Tests", "Serialization", "Fixtures");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-legacy-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static JsonElement Expected(string key)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_fixtures, "legacy-expected.json")));
        return doc.RootElement.GetProperty(key).Clone();
    }

    private static float[] Floats(JsonElement a) => [.. a.EnumerateArray().Select(v => v.GetSingle())];

    private static readonly Tensor s_probe = Tensor.FromArray([0.5f, -1f, 2f, 0.25f, -1.5f, 1f], 3, 2);

    /// <summary>The state arrays the old file holds for each weight, under its old names slot0, slot1, ...</summary>
    private static Dictionary<string, Tensor> OldSlots(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var entry = zip.GetEntry(ModelFile.OptimizerEntry)!;
        using var s = entry.Open();
        return new Dictionary<string, Tensor>(SafeTensors.Read(s, entry.Length).Tensors);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"value {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>Loads, checks the state came from the old slot names, predicts, resumes 1 epoch and saves again under the new names.</summary>
    private Model LoadAndResume(string file, string prefix, int slots, Func<Model, (Tensor X, Tensor Y)> data)
    {
        string path = Path.Combine(s_fixtures, file);
        var old = OldSlots(path);
        Assert.All(old.Keys, k => Assert.Matches("/slot[0-9]$", k));
        var model = Model.Load(path);
        var opt = model.Optimizer!;
        Assert.Equal(slots, opt.SlotNames.Count);
        foreach (var (key, w) in model.WeightKeys("test"))
        {
            var restored = opt.GetSlots(w.Value)!;
            Assert.Equal(slots, restored.Count);
            for (int s = 0; s < slots; s++)
                Assert.Equal(old[$"{key}/slot{s}"].ToArray(), restored[s]);
        }
        Assert.Equal(2, model.CompletedEpochs);
        AssertClose(Floats(Expected(prefix + "_predict")), model.Predict(s_probe).ToArray(), 1e-6f);

        var (x, y) = data(model);
        model.Fit(x, y, epochs: 3, batchSize: 8, seed: prefix == "adam" ? 4UL : 6UL, initialEpoch: 2);
        // The old code, continuing the same run in memory, ended at these weights (summation order may
        // differ by an ulp since, hence the tolerance).
        var after = Expected(prefix + "_weights_after").EnumerateArray().Select(Floats).ToArray();
        var weights = model.GetWeights();
        Assert.Equal(after.Length, weights.Length);
        for (int i = 0; i < after.Length; i++)
            AssertClose(after[i], weights[i], 1e-5f);

        // Saved again, the slots take the optimizer's names and load back the same.
        string again = Path.Combine(_dir.FullName, file);
        model.Save(again);
        Assert.All(OldSlots(again).Keys, k => Assert.DoesNotMatch("/slot[0-9]$", k));
        var reloaded = Model.Load(again);
        foreach (var (w, lw) in model.TrainableWeights.Zip(reloaded.TrainableWeights))
            Assert.Equal(opt.GetSlots(w.Value)!, reloaded.Optimizer!.GetSlots(lw.Value)!);
        return model;
    }

    [Fact]
    public void An_adam_checkpoint_with_a_schedule_and_activation_alphas_loads_and_resumes()
    {
        var model = LoadAndResume("legacy-adam.strata", "adam", 2, _ => TestData.Blobs(30, 1));
        var adam = Assert.IsType<Adam>(model.Optimizer);
        Assert.Equal(new ExponentialDecay(0.05f, 10, 0.5f, Staircase: true), adam.Schedule);
        Assert.Equal(5f, adam.ClipNorm);
        Assert.Equal(["m", "v"], adam.SlotNames);
        Assert.False(Assert.IsType<SparseCategoricalCrossentropy>(model.Loss).FromLogits);
        Assert.Equal(["accuracy"], model.Metrics.Select(m => m.Name));
        Assert.Equal(ActivationFunction.LeakyRelu(0.1f), Assert.IsType<Dense>(model.Layers[1]).Activation);
        // The Activation layer's alpha stood beside its name in the old config.
        Assert.Equal(ActivationFunction.Elu(0.5f), Assert.IsType<Activation>(model.Layers[2]).Function);
        Assert.Equal(ActivationFunction.Softmax, Assert.IsType<Dense>(model.Layers[3]).Activation);
    }

    [Fact]
    public void An_rmsprop_checkpoint_with_momentum_and_a_huber_loss_loads_and_resumes()
    {
        var model = LoadAndResume("legacy-rmsprop.strata", "rmsprop", 2,
            _ => (TestData.Blobs(30, 2).X, Tensor.RandomUniform([30, 2], -1f, 1f, 9)));
        var rms = Assert.IsType<RmsProp>(model.Optimizer);
        Assert.Equal(0.5f, rms.Momentum);
        Assert.Equal(0.01f, rms.LearningRate);
        Assert.Equal(0.5f, Assert.IsType<Huber>(model.Loss).Delta);
        Assert.Equal(["mae"], model.Metrics.Select(m => m.Name));
    }
}

using Strata.Data;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// The text presets trained on the shipped SpamAssassin derivative and scored on its fixed stratified
/// 20% test split (1,209 messages). CI-sized: two epochs each (the full figures, ≥ 98.5% for the
/// sequence models, are in docs/PERFORMANCE.md: <c>Strata.Benchmarks text</c>). Each model also
/// round-trips through its file and classifies raw strings the same way after loading.
/// </summary>
public class SpamAssassinModelTests
{
    private static readonly Lazy<(TextDataset Train, TextDataset Test)> s_split = new(() => SpamAssassin.LoadSplit());

    [Theory]
    [InlineData("bow", 2, 0.975)]
    [InlineData("lstm", 2, 0.98)]
    [InlineData("rcnn", 2, 0.98)]
    public void Text_preset_classifies_held_out_mail(string preset, int epochs, double target)
    {
        var (train, test) = s_split.Value;
        var vec = TextPresets.Vectorizer(preset, train.Texts);
        var model = TextPresets.Create(preset, vec, classes: 2, seed: 1);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(train.ToDataset(vec), epochs: epochs, batchSize: 32, seed: 1);
        var (x, y) = test.ToDataset(vec).ToTensors();
        float accuracy = model.Evaluate(x, y, 256)["accuracy"];
        Assert.True(accuracy >= target, $"{preset}: test accuracy {accuracy:P2} after {epochs} epochs (target {target:P1})");

        // Saved and loaded, the model takes raw text and agrees with the original.
        var dir = Directory.CreateTempSubdirectory("strata-spam-");
        try
        {
            var path = Path.Combine(dir.FullName, "spam.strata");
            model.Save(path);
            var loaded = Model.Load(path);
            var texts = test.Texts.Take(40).ToList();
            Assert.Equal(model.Predict(texts).ToArray(), loaded.Predict(texts).ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

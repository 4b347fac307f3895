using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests;

/// <summary>The README's data snippet runs as written (on a slice of MNIST, to keep CI short).</summary>
public sealed class ReadmeDataTests
{
    [Fact]
    public void The_data_snippet_runs_and_matches_the_readme()
    {
        string[] lines =
        [
            "var train = Mnist.LoadDataset(\"data/mnist\", train: true);",
            "var (fit, val) = train.Split(0.1f, seed: 1);",
            "var augment = new ImageDataGenerator { RotationRange = 10, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ZoomRange = 0.1f };",
            "var loader = new DataLoader(fit, batchSize: 32, seed: 1, transform: augment, workers: 1);",
            "cnn.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), \"accuracy\");",
            "cnn.Fit(loader, epochs: 2, validationData: new DataLoader(val, batchSize: 500, shuffle: false));",
        ];
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (string line in lines)
            Assert.Contains(line, readme);

        var cnn = new Sequential(
        [
            new Input([28, 28, 1]),
            new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2),
            new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2),
            new Flatten(), new Dense(64, "relu"), new Dense(10, "softmax"),
        ], seed: 1);
        var train = Mnist.LoadDataset(Path.Combine(RepoPaths.Root, "data/mnist"), train: true);
        train = train.Subset([.. Enumerable.Range(0, 4000)]); // CI-sized; the README trains on all of it
        var (fit, val) = train.Split(0.1f, seed: 1);
        var augment = new ImageDataGenerator { RotationRange = 10, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ZoomRange = 0.1f };
        var loader = new DataLoader(fit, batchSize: 32, seed: 1, transform: augment, workers: 1);
        cnn.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var history = cnn.Fit(loader, epochs: 2, validationData: new DataLoader(val, batchSize: 500, shuffle: false));
        Assert.Equal(2, history.Epochs);
        Assert.True(history["val_accuracy"][^1] > 0.85f, $"val_accuracy {history["val_accuracy"][^1]}");
    }
}

using Strata.Data;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests;

/// <summary>The snippet of the library package's readme (src/Strata/PACKAGE.md, the page nuget.org shows) runs as written.</summary>
public sealed class PackageReadmeTests
{
    [Fact]
    public void The_package_readme_snippet_runs()
    {
        string[] lines =
        [
            "var (images, labels) = Mnist.Load(\"data/mnist\", train: true);",
            "var y = Tensor.FromArray([.. labels.Select(l => (float)l)]);",
            "var model = Presets.Mlp(seed: 1);",
            "model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), \"accuracy\");",
            "model.Fit(images, y, epochs: 2, batchSize: 32);",
            "Console.Write(model.Summary());",
            "model.Save(\"mnist.strata\");",
            "var loaded = Model.Load(\"mnist.strata\");",
            "loaded.ExportOnnx(\"mnist.onnx\");",
        ];
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Strata", "PACKAGE.md"));
        foreach (string line in lines)
            Assert.Contains(line, readme);

        var dir = Directory.CreateTempSubdirectory("strata-package-readme-");
        try
        {
            // The same calls on the first 2,000 images for one epoch (the snippet trains on all 60,000 for 2).
            var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: true);
            images = images.Slice(..2_000);
            labels = labels[..2_000];
            var y = Tensor.FromArray([.. labels.Select(l => (float)l)]);
            var model = Presets.Mlp(seed: 1);
            model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
            var history = model.Fit(images, y, epochs: 1, batchSize: 32);
            Assert.Contains("Total params: 109,386", model.Summary());
            string file = Path.Combine(dir.FullName, "mnist.strata"), onnx = Path.Combine(dir.FullName, "mnist.onnx");
            model.Save(file);
            var loaded = Model.Load(file);
            loaded.ExportOnnx(onnx);

            Assert.True(history["accuracy"][0] > 0.6f, $"accuracy {history["accuracy"][0]} after one epoch on 2,000 images");
            Assert.Equal(model.Predict(images.Slice(..64)).ToArray(), loaded.Predict(images.Slice(..64)).ToArray());
            Assert.True(new FileInfo(onnx).Length > 400_000); // 109,386 float weights
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

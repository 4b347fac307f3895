using Strata.Compression;
using Strata.Data;
using Strata.Models;
using Xunit;

namespace Strata.Tests;

public class ReadmeQuantizationTests
{
    [Fact]
    public void TheReadmeQuantizationExampleRuns()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        Assert.Contains("var int8 = Quantizer.QuantizeStatic(cnn, trainImages.Slice(0, 0, 1000));", readme);
        Assert.Contains("var dynamic = Quantizer.QuantizeDynamic(mlp);", readme);
        var (trainImages, _) = Mnist.Load(RepoPaths.Mnist, train: true);
        var (testImages, _) = Mnist.Load(RepoPaths.Mnist, train: false);
        testImages = testImages.Slice(0, 0, 200);
        var mlp = (Sequential)Presets.Create("mlp", [28, 28], 10);
        var dir = Directory.CreateTempSubdirectory("strata-readme-q");
        try
        {
            var cnn = (Sequential)Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"));
            var int8 = Quantizer.QuantizeStatic(cnn, trainImages.Slice(0, 0, 1000));
            int8.Save(Path.Combine(dir.FullName, "cnn-int8.strata"));
            var probabilities = int8.Predict(testImages);
            var dynamic = Quantizer.QuantizeDynamic(mlp);
            Assert.Equal([200, 10], probabilities.Shape.ToArray());
            Assert.Equal([200, 10], dynamic.Predict(testImages).Shape.ToArray());
        }
        finally
        {
            dir.Delete(true);
        }
    }
}

using Strata.Compression;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Compression;

/// <summary>The distillation snippet proposed for the README runs as written (on 1,024 MNIST images).</summary>
public sealed class DistillerSnippetTests
{
    [Fact]
    public void The_distillation_snippet_runs()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        Assert.Contains("var distiller = new Distiller(teacher, student, temperature: 4, alpha: 0.1f);", readme);
        Assert.Contains("float accuracy = distiller.Evaluate(testImages, testLabels)[\"accuracy\"];", readme);
        var (mnistImages, mnistLabels) = Mnist.Load(RepoPaths.Mnist, train: false);
        var images = mnistImages.Slice(..1024);
        var labels = Tensor.FromArray([.. mnistLabels[..1024].Select(l => (float)l)]);
        var testImages = mnistImages.Slice(9000..);
        var testLabels = Tensor.FromArray([.. mnistLabels[9000..].Select(l => (float)l)]);
        var dir = Directory.CreateTempSubdirectory("strata-distill-snippet");
        string previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = dir.FullName;
            var teacher = Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"));
            // --- the snippet ---
            var student = new Sequential([new Input([28, 28]), new Flatten(), new Dense(32, "relu"), new Dense(10, "softmax")], seed: 1);
            var distiller = new Distiller(teacher, student, temperature: 4, alpha: 0.1f);
            distiller.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), metrics: "accuracy");
            var history = distiller.Fit(images, labels, epochs: 5, batchSize: 32);
            float accuracy = distiller.Evaluate(testImages, testLabels)["accuracy"];
            student.Save("student.strata");
            // --- end ---
            Assert.Equal(["accuracy", "distillation_loss", "loss", "student_loss"], history.Keys.Order(StringComparer.Ordinal));
            Assert.InRange(accuracy, 0.7f, 1f); // 5 epochs on 1,024 images: far above chance (0.1)
            Assert.Equal(accuracy, Accuracy(Model.Load("student.strata"), testImages, testLabels), 6); // the saved student is what was evaluated
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            dir.Delete(recursive: true);
        }
    }

    private static float Accuracy(Model m, Tensor x, Tensor y)
    {
        var metric = new Strata.Metrics.SparseCategoricalAccuracy();
        metric.Update(y, m.Predict(x));
        return metric.Result();
    }
}

using Strata.Data;
using Strata.Explain;
using Strata.Metrics;
using Strata.Models;

namespace Strata.Tests;

/// <summary>The README's explainability snippet runs as written, on the shipped classifier.</summary>
public sealed class ReadmeExplainTests
{
    [Fact]
    public void The_explain_snippet_runs_and_matches_the_readme()
    {
        string[] lines =
        [
            "var explainer = new Explainer(classifier);",
            "var digits = testImages.Slice(..100);",
            "var ig = explainer.IntegratedGradients(digits, steps: 64);",
            "var cam = explainer.GradCam(digits);",
            "Images.SavePng(\"cam-0.png\", Views.Overlay(digits.Slice(0..1).Reshape(28, 28), cam.Heatmap(0, 28, 28)));",
            "var importance = PermutationImportance.Compute(classifier, digits, digitLabels, new SparseCategoricalAccuracy(), repeats: 3);",
        ];
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (string line in lines)
            Assert.Contains(line, readme);

        var classifier = Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"));
        var (testImages, labels) = Mnist.Load(RepoPaths.Mnist, train: false);
        var digitLabels = Tensor.FromArray([.. labels[..100].Select(l => (float)l)]);
        var dir = Directory.CreateTempSubdirectory("strata-readme-explain");
        string previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = dir.FullName;
            var explainer = new Explainer(classifier);
            var digits = testImages.Slice(..100);
            var ig = explainer.IntegratedGradients(digits, steps: 64);
            var cam = explainer.GradCam(digits);
            Images.SavePng("cam-0.png", Views.Overlay(digits.Slice(0..1).Reshape(28, 28), cam.Heatmap(0, 28, 28)));
            var importance = PermutationImportance.Compute(classifier, digits, digitLabels, new SparseCategoricalAccuracy(), repeats: 3);

            Assert.Equal(digits.Shape, ig.Map.Shape);
            Assert.True(ig.CompletenessError!.Average() < 0.02f, $"mean completeness error {ig.CompletenessError!.Average()}");
            Assert.Equal([28, 28 * 3 + 4, 3], Images.Load(Path.Combine(dir.FullName, "cam-0.png")).Shape.ToArray());
            Assert.Equal(28, importance.Features.Count); // the last axis: the 28 pixel columns
            Assert.True(importance.BaselineScore > 0.95f);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            dir.Delete(true);
        }
    }
}

#:project ../src/Strata/Strata.csproj
#:property PublishAot=false
// Makes data/mnist/classifier.strata, the classifier behind GanScorer.LoadMnist: the seed CNN (Presets.Cnn, seed 0)
// trained on the 60,000 shipped MNIST training images (pixels in [0, 1]) with Adam 1e-3, sparse categorical
// cross-entropy, batch 32, shuffled with seed 0, on 2 kernel threads (the same seed and thread count give the
// same weights, bit for bit). Saved without optimizer state (an uncompiled copy of the trained weights).
//
//   dotnet run tools/make-mnist-classifier.cs -- [epochs] [output.strata]    train, save, print the figures
//   dotnet run tools/make-mnist-classifier.cs -- --figures [file.strata]     only print the figures of a saved file
//
// Defaults: 10 epochs and data/mnist/classifier.strata, relative to the repository root (run it from there).
// The figures are the ones data/mnist/README.md records.
using System.Globalization;
using Strata;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;

bool figuresOnly = args.Length > 0 && args[0] == "--figures";
string[] rest = figuresOnly ? args[1..] : args;
int epochs = !figuresOnly && rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 10;
string defaultOutput = Path.Combine("data", "mnist", GanScorer.MnistClassifierFileName);
string output = figuresOnly ? (rest.Length > 0 ? rest[0] : defaultOutput) : (rest.Length > 1 ? rest[1] : defaultOutput);
string data = Path.Combine("data", "mnist");
KernelSettings.MaxThreads = 2;

var (trainImages, trainLabels) = Mnist.Load(data, train: true);
var (testImages, testLabels) = Mnist.Load(data, train: false);
static Tensor AsTensor(int[] labels) => Tensor.FromArray(labels.Select(v => (float)v).ToArray());

if (!figuresOnly)
{
    var model = Presets.Cnn(seed: 0);
    model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
    // The test set is only watched (val_ columns), never trained on.
    var history = model.Fit(trainImages, AsTensor(trainLabels), epochs: epochs, batchSize: 32, shuffle: true, seed: 0,
        validationData: (testImages, AsTensor(testLabels)));
    for (int e = 0; e < epochs; e++)
        Console.WriteLine($"epoch {e + 1}: loss {history["loss"][e]:F4}, accuracy {history["accuracy"][e]:P2}, test accuracy {history["val_accuracy"][e]:P2}");
    var test = model.Evaluate(testImages, AsTensor(testLabels), batchSize: 256);
    Console.WriteLine($"test: loss {test["loss"]:F4}, accuracy {test["accuracy"]:P2}");

    // An uncompiled copy: the file then holds the architecture and weights only (no Adam moments, a third the size).
    var shipped = Presets.Cnn(seed: 0);
    shipped.SetWeights(model.GetWeights());
    shipped.ClassNames = Mnist.ClassNames;
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
    shipped.Save(output);
}
Console.WriteLine($"{output}: {new FileInfo(output).Length:N0} bytes, sha256 {DataCache.HashOf(output)}");

// The figures, from the saved file.
var scorer = GanScorer.LoadMnist(output);
var (probabilities, features) = scorer.Classify(testImages);
var (_, trainFeatures) = scorer.Classify(trainImages.Slice(0..10_000));
var reference = FeatureStatistics.Of(features);
double trace = Enumerable.Range(0, reference.Dimension).Sum(i => reference.Covariance[i * reference.Dimension + i]);
Console.WriteLine($"test accuracy (saved file): {GenerativeScores.ClassAgreement(probabilities, testLabels):P2}");
Console.WriteLine($"classifier score, 10,000 test images: {GenerativeScores.ClassifierScore(probabilities):F4}");
var (mean, std) = GenerativeScores.ClassifierScore(probabilities, splits: 10);
Console.WriteLine($"classifier score, 10 splits of 1,000: {mean:F4} ± {std:F4}");
Console.WriteLine($"trace of the test features' covariance: {trace:F1}");
Console.WriteLine($"Fréchet distance, test[:5000] vs test[5000:]: {GenerativeScores.FrechetDistance(features.Slice(0..5000), features.Slice(5000..)):F4}");
Console.WriteLine($"Fréchet distance, even vs odd test indices: {GenerativeScores.FrechetDistance(EveryOther(features, 0), EveryOther(features, 1)):F4}");
Console.WriteLine($"Fréchet distance, train[:10000] vs test: {GenerativeScores.FrechetDistance(trainFeatures, features):F4}");
scorer.Reference = reference;
var repeated = new float[1000 * 784];
for (int i = 0; i < 1000; i++)
    testImages.Span[..784].CopyTo(repeated.AsSpan(i * 784));
foreach (var (name, images) in new[]
{
    ("test image 0 repeated 1,000 times", Tensor.FromArray(repeated, 1000, 28, 28)),
    ("1,000 blank images", Tensor.Zeros(1000, 28, 28)),
    ("1,000 images of uniform noise (seed 1)", Tensor.RandomUniform([1000, 28, 28], 0, 1, 1)),
})
{
    var s = scorer.Score(images);
    Console.WriteLine($"{name}: classifier score {s.ClassifierScore:F4}, Fréchet distance to the test set {s.FrechetDistance:F1}");
}

// Rows first, first + 2, ... of a [n, d] tensor.
static Tensor EveryOther(Tensor t, int first)
{
    int d = t.Shape[1], n = (t.Shape[0] - first + 1) / 2;
    var x = new float[n * d];
    for (int k = 0; k < n; k++)
        t.Span.Slice((first + 2 * k) * d, d).CopyTo(x.AsSpan(k * d));
    return Tensor.FromArray(x, n, d);
}

// Explaining models (Strata.Explain), with figures that check the explanations:
//  1. images: integrated gradients and Grad-CAM of the MNIST classifier shipped in the repository, on 100 test
//     digits. Integrated gradients' completeness error (how far a map's sum is from the change of the class score)
//     and a deletion check: blanking each digit's 40 most-attributed pixels should hurt the classifier far more than
//     blanking 40 random ink pixels. Writes cam.png (digit, Grad-CAM map, blend) and ig.png.
//  2. a table: permutation importance of the breast cancer features for a small network trained on the table.
//
//   dotnet run -- [DATA]      DATA: the folder holding mnist/ and tabular/ (default ../../data, the repository's)
using Strata;
using Strata.Data;
using Strata.Explain;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;

string data = args.Length > 0 ? args[0] : Path.Combine("..", "..", "data");
string classifierFile = Path.Combine(data, "mnist", GanScorer.MnistClassifierFileName);
string table = Path.Combine(data, "tabular", "breast_cancer.csv");
if (!File.Exists(classifierFile) || !File.Exists(table))
{
    Console.Error.WriteLine($"explanations: {Path.GetFullPath(classifierFile)} or {Path.GetFullPath(table)} is missing; pass the folder that holds mnist/ and tabular/");
    return 1;
}

// ---- 1. Images.
var classifier = Model.Load(classifierFile);                                   // the seed CNN, trained (99% on MNIST's test images)
var (testImages, testLabels) = Mnist.Load(Path.Combine(data, "mnist"), train: false);
const int n = 100, blanked = 40;
var digits = testImages.Slice(..n);                                            // [100, 28, 28] in [0, 1]
var explainer = new Explainer(classifier);
var ig = explainer.IntegratedGradients(digits, steps: 64);                     // from a black image, for the predicted class
var cam = explainer.GradCam(digits);                                           // the last convolution
Console.WriteLine($"integrated gradients: mean completeness error {ig.CompletenessError!.Average():F4} (of class scores in [0, 1])");

float[] pixels = digits.ToArray(), map = ig.Map.ToArray();
float[] byAttribution = (float[])pixels.Clone(), byChance = (float[])pixels.Clone();
var random = new Random(1);
for (int i = 0; i < n; i++)
{
    var offsets = Enumerable.Range(i * 784, 784).ToArray();
    foreach (int p in offsets.OrderByDescending(p => map[p]).Take(blanked))
        byAttribution[p] = 0;
    foreach (int p in offsets.Where(p => pixels[p] > 0.5f).OrderBy(_ => random.Next()).Take(blanked))
        byChance[p] = 0;
}
Console.WriteLine($"accuracy on {n} test digits: {Accuracy(classifier.Predict(digits), testLabels):0.0%} as they are, " +
    $"{Accuracy(classifier.Predict(Tensor.FromArray(byChance, n, 28, 28)), testLabels):0.0%} with {blanked} random ink pixels blanked, " +
    $"{Accuracy(classifier.Predict(Tensor.FromArray(byAttribution, n, 28, 28)), testLabels):0.0%} with the {blanked} most-attributed pixels blanked");

Images.SavePng("cam.png", Views.Overlay(digits.Slice(0..1).Reshape(28, 28), cam.Heatmap(0, 28, 28)));
Images.SavePng("ig.png", Views.Overlay(digits.Slice(0..1).Reshape(28, 28), ig.Heatmap(0), signed: true));
Console.WriteLine($"cam.png, ig.png: the first test digit (a {testLabels[0]}) explained ({Path.GetFullPath(".")})");

// ---- 2. A table: which measurements does a diagnosis model rely on?
var csv = Csv.Load(table);                                                     // 569 rows, 30 features, label 'diagnosis'
var (train, held) = csv.ToDataset().Split(0.2f, seed: 1);
var (x, y) = train.ToTensors();
var (testX, testY) = held.ToTensors();
var normalize = new Normalization();
normalize.Adapt(x);                                                            // features span four orders of magnitude
var model = new Sequential([new Input([x.Shape[1]]), normalize, new Dense(16, "relu"), new Dense(2, "softmax")], seed: 1);
model.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(), "accuracy");
model.Fit(x, y, epochs: 20, batchSize: 32, seed: 1);
Console.WriteLine($"breast cancer: test accuracy {model.Evaluate(testX, testY)["accuracy"]:0.0%} on {testY.Shape[0]} held-out rows");
var importance = PermutationImportance.Compute(model, testX, testY, new SparseCategoricalAccuracy(), repeats: 5, seed: 1, featureNames: csv.FeatureNames);
Console.WriteLine("the five features whose shuffling costs the most accuracy:");
foreach (var f in importance.Ranked.Take(5))
    Console.WriteLine($"  {f.Feature,-24} −{f.Mean:0.0%} ± {f.StandardDeviation:0.0%}");
return 0;

static float Accuracy(Tensor probabilities, int[] labels)
{
    var predicted = probabilities.ArgMax(-1).ToArray();
    return (float)predicted.Where((p, i) => (int)p == labels[i]).Count() / predicted.Length;
}

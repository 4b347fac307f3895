// The seed MLP on MNIST: Flatten → Dense(128, relu) → Dense(64, relu) → Dense(10, softmax), Adam, sparse
// categorical cross-entropy. A small budget: 2 epochs on the first 12,000 training images, then the
// accuracy on all 10,000 test images.
//
//   dotnet run -- [DATA]      DATA: the folder holding mnist/ (default ../../data, the repository's)
using Strata;
using Strata.Data;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

string mnist = Path.Combine(args.Length > 0 ? args[0] : Path.Combine("..", "..", "data"), "mnist");
if (!Directory.Exists(mnist))
{
    Console.Error.WriteLine($"mnist-mlp: no MNIST folder at {Path.GetFullPath(mnist)}; pass the folder that holds mnist/");
    return 1;
}

var (images, labels) = Mnist.Load(mnist, train: true);          // [60000, 28, 28] in [0, 1], labels 0–9
var (testImages, testLabels) = Mnist.Load(mnist, train: false); // [10000, 28, 28]
const int trainCount = 12_000;
var x = images.Slice(..trainCount);
var y = Tensor.FromArray([.. labels[..trainCount].Select(l => (float)l)]);

var model = Presets.Mlp(seed: 1);
model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
Console.Write(model.Summary());

var history = model.Fit(x, y, epochs: 2, batchSize: 32, seed: 1, validationSplit: 0.1f);
for (int e = 0; e < history.Epochs; e++)
    Console.WriteLine($"epoch {e + 1}: loss {history["loss"][e]:F4}, accuracy {history["accuracy"][e]:0.00%}, validation accuracy {history["val_accuracy"][e]:0.00%}");

var test = model.Evaluate(testImages, Tensor.FromArray([.. testLabels.Select(l => (float)l)]), batchSize: 256);
Console.WriteLine($"test accuracy {test["accuracy"]:0.00%} (loss {test["loss"]:F4}) on {testLabels.Length:N0} test images");

// One prediction: the class probabilities of the first test image.
var probabilities = model.Predict(testImages.Slice(..1)).ToArray();
int predicted = Array.IndexOf(probabilities, probabilities.Max());
Console.WriteLine($"the first test image is a {testLabels[0]}; the model says {predicted} ({probabilities[predicted]:0.0%})");
return 0;

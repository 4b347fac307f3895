// The seed CNN (Conv(32) → MaxPool → Conv(64) → MaxPool → Flatten → Dense(64) → Dense(10)) trained on augmented
// MNIST digits: Keras' ImageDataGenerator (rotation, shifts, zoom) applied per sample on a background DataLoader.
// A small budget: one epoch over 4,000 training images, then the accuracy on the first 2,000 test images.
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
    Console.Error.WriteLine($"cnn-augmentation: no MNIST folder at {Path.GetFullPath(mnist)}; pass the folder that holds mnist/");
    return 1;
}

var all = Mnist.LoadDataset(mnist, train: true);                            // [28, 28, 1] images in [0, 1], labels 0–9
var train = all.Subset([.. Enumerable.Range(0, 4_000)]);
var (fit, validation) = train.Split(0.1f, seed: 1);
var test = Mnist.LoadDataset(mnist, train: false).Subset([.. Enumerable.Range(0, 2_000)]);

var augment = new ImageDataGenerator { RotationRange = 10, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ZoomRange = 0.1f };
var loader = new DataLoader(fit, batchSize: 32, seed: 1, transform: augment, workers: 1);  // prefetched in the background

// What the network sees: eight training digits (top row) and one random augmentation of each (bottom row).
var (x, _) = fit.Subset([.. Enumerable.Range(0, 8)]).ToTensors();
float[] pixels = x.ToArray(), shown = new float[2 * pixels.Length];
pixels.CopyTo(shown, 0);
for (int i = 0; i < 8; i++)
{
    var sample = shown.AsSpan(pixels.Length + i * 784, 784);
    pixels.AsSpan(i * 784, 784).CopyTo(sample);
    augment.Apply(sample, new Shape(28, 28, 1), new Rng((ulong)i));
}
Images.SavePng("augmented.png", Images.Grid(Tensor.FromArray(shown, 16, 28, 28, 1), columns: 8));
Console.WriteLine($"augmented.png: 8 training digits and an augmentation of each ({Path.GetFullPath("augmented.png")})");

var cnn = Presets.Cnn(inputShape: [28, 28, 1], seed: 1);
cnn.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
var history = cnn.Fit(loader, epochs: 1, validationData: new DataLoader(validation, batchSize: 500, shuffle: false));
Console.WriteLine($"epoch 1: loss {history["loss"][0]:F4}, accuracy {history["accuracy"][0]:0.00%}, validation accuracy {history["val_accuracy"][0]:0.00%}");

var result = cnn.Evaluate(test, batchSize: 256);
Console.WriteLine($"test accuracy {result["accuracy"]:0.00%} (loss {result["loss"]:F4}) on {test.Count:N0} test images");
return 0;

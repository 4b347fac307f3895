// A layer of your own (ResidualDense.cs): defined from Strata's ops, registered, trained with Fit inside a Sequential,
// saved, loaded back and checked to give the same outputs. Trains on the first 10,000 MNIST training images for
// 2 epochs and reports the accuracy on the 10,000 test images.
//
//   dotnet run -- [DATA]      DATA: the folder holding mnist/ (default ../../data, the repository's)
using Strata;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

string mnist = Path.Combine(args.Length > 0 ? args[0] : Path.Combine("..", "..", "data"), "mnist");
if (!Directory.Exists(mnist))
{
    Console.Error.WriteLine($"custom-layer: no MNIST folder at {Path.GetFullPath(mnist)}; pass the folder that holds mnist/");
    return 1;
}

ResidualDense.Register();
var (images, labels) = Mnist.Load(mnist, train: true);
var (testImages, testLabels) = Mnist.Load(mnist, train: false);
var x = images.Slice(..10_000);
var y = Tensor.FromArray([.. labels[..10_000].Select(l => (float)l)]);
var testY = Tensor.FromArray([.. testLabels.Select(l => (float)l)]);

var model = new Sequential(
[
    new Input([28, 28]), new Flatten(), new Dense(64, "relu"),
    new ResidualDense(hidden: 128), new ResidualDense(hidden: 128),
    new Dense(10, "softmax"),
], seed: 1);
model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
var history = model.Fit(x, y, epochs: 2, batchSize: 32, seed: 1);
Console.Write(model.Summary());
Console.WriteLine($"training: loss {history["loss"][0]:F4} → {history["loss"][^1]:F4}");
var test = model.Evaluate(testImages, testY, batchSize: 256);
Console.WriteLine($"test accuracy {test["accuracy"]:0.00%} (loss {test["loss"]:F4}) on {testLabels.Length:N0} test images");

// The file stores the layer's config (class name "ResidualDense", hidden 128) and its weights; loading rebuilds it through the registry.
string path = Path.Combine(Path.GetTempPath(), $"custom-layer-{Environment.ProcessId}.strata");
model.Save(path);
var loaded = Model.Load(path);
File.Delete(path);
var probe = testImages.Slice(..256);
bool same = model.Predict(probe).ToArray().SequenceEqual(loaded.Predict(probe).ToArray());
Console.WriteLine($"saved and loaded: {loaded.Layers.OfType<ResidualDense>().Count()} ResidualDense layers, outputs {(same ? "identical" : "DIFFERENT")}");
return same ? 0 : 1;

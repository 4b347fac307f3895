// Saving, loading, resuming and exporting a model: the seed CNN trained for one epoch on 3,000 MNIST images,
// saved with its optimizer state, loaded back (the same predictions, bit for bit), trained one more epoch from
// where it stopped, its weights written alone as safetensors, and exported as ONNX (opset 17) for ONNX Runtime
// and every other ONNX consumer.
//
//   dotnet run -- [DATA] [OUT]   DATA: the folder holding mnist/ (default ../../data); OUT: where the files go (default ./out)
using Strata;
using Strata.Data;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

string mnist = Path.Combine(args.Length > 0 ? args[0] : Path.Combine("..", "..", "data"), "mnist");
string output = Directory.CreateDirectory(args.Length > 1 ? args[1] : "out").FullName;
if (!Directory.Exists(mnist))
{
    Console.Error.WriteLine($"save-load-onnx: no MNIST folder at {Path.GetFullPath(mnist)}; pass the folder that holds mnist/");
    return 1;
}

var (images, labels) = Mnist.Load(mnist, train: true);
var (testImages, testLabels) = Mnist.Load(mnist, train: false);
var x = images.Slice(..3_000);
var y = Tensor.FromArray([.. labels[..3_000].Select(l => (float)l)]);
var testX = testImages.Slice(..2_000);
var testY = Tensor.FromArray([.. testLabels[..2_000].Select(l => (float)l)]);

var model = Presets.Cnn(seed: 1);
model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
model.ClassNames = Mnist.ClassNames;                              // saved with the model
model.Fit(x, y, epochs: 1, batchSize: 32, seed: 1);
Console.WriteLine($"trained 1 epoch: test accuracy {model.Evaluate(testX, testY, 256)["accuracy"]:0.00%} on {testY.Shape[0]:N0} test images");

// One zip: config.json (the layers' configs), metadata.json, model.weights.safetensors, the optimizer's state and the training position.
string file = Path.Combine(output, "cnn.strata");
model.Save(file);
var loaded = Model.Load(file);                                   // compiled again: ready to predict or to train on
bool same = model.Predict(testX).ToArray().SequenceEqual(loaded.Predict(testX).ToArray());
Console.WriteLine($"{Path.GetFileName(file)}: {new FileInfo(file).Length:N0} bytes; loaded back after {loaded.CompletedEpochs} epoch(s), predictions {(same ? "identical" : "DIFFERENT")}");

// Resume: epoch 2 continues the saved run (same seed: the shuffle of the epoch it would have trained next).
loaded.Fit(x, y, epochs: 2, batchSize: 32, seed: 1, initialEpoch: loaded.CompletedEpochs);
Console.WriteLine($"resumed to epoch {loaded.CompletedEpochs}: test accuracy {loaded.Evaluate(testX, testY, 256)["accuracy"]:0.00%}");

string weights = Path.Combine(output, "cnn.safetensors");
loaded.SaveWeights(weights);                                     // the weights alone, readable by any safetensors library
var fresh = Presets.Cnn(seed: 2);
fresh.LoadWeights(weights);
bool sameWeights = fresh.Predict(testX).ToArray().SequenceEqual(loaded.Predict(testX).ToArray());
Console.WriteLine($"{Path.GetFileName(weights)}: {new FileInfo(weights).Length:N0} bytes; a fresh CNN with these weights predicts {(sameWeights ? "the same" : "DIFFERENTLY")}");

string onnx = Path.Combine(output, "cnn.onnx");
loaded.ExportOnnx(onnx);
Console.WriteLine($"{Path.GetFileName(onnx)}: {new FileInfo(onnx).Length:N0} bytes (ONNX opset 17; input [N, 28, 28], output [N, 10] probabilities)");
Console.WriteLine($"files in {output}");
return same && sameWeights ? 0 : 1;

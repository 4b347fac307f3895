// Trains the seed MLP on MNIST, checks that a saved model loads back the same, and predicts: a native AOT
// executable (no JIT, trimmed), which is what this sample exists to prove. Arguments, all optional:
//   aot-mlp [mnist-folder] [training-samples] [epochs]
// The folder defaults to data/mnist found upwards from the working folder or the executable (the repository's copy).
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Strata;
using Strata.Data;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

var clock = Stopwatch.StartNew();
Console.WriteLine($"aot-mlp: Strata sample, {(RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "native AOT")}, " +
    $"SIMD {(Vector512.IsHardwareAccelerated ? "512" : Vector256.IsHardwareAccelerated ? "256" : Vector128.IsHardwareAccelerated ? "128" : "none")}-bit");

string folder = args.Length > 0 ? args[0] : FindMnist();
int trainCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
int epochs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;

var (trainImages, trainLabels) = Mnist.Load(folder, train: true);
var (testImages, testLabels) = Mnist.Load(folder, train: false);
trainCount = Math.Min(trainCount, trainImages.Shape[0]);
int[] first = [.. Enumerable.Range(0, trainCount)];
var x = trainImages.IndexSelect(0, first);
var y = Tensor.FromArray([.. trainLabels.Take(trainCount).Select(l => (float)l)], trainCount);
var yTest = Tensor.FromArray([.. testLabels.Select(l => (float)l)], testLabels.Length);
Console.WriteLine($"loaded MNIST from {folder}: training on {trainCount} of {trainImages.Shape[0]} images, testing on {testLabels.Length} ({clock.Elapsed.TotalSeconds:F2} s)");

var model = Presets.Mlp(seed: 1);
model.Compile(new Adam(0.002f), new SparseCategoricalCrossentropy(), "accuracy");
var history = model.Fit(x, y, epochs: epochs, batchSize: 64, seed: 2);
Console.WriteLine($"trained {epochs} epoch(s): loss {history["loss"][^1]:F4} ({clock.Elapsed.TotalSeconds:F2} s)");

var test = model.Evaluate(testImages, yTest, batchSize: 256);
float accuracy = test["accuracy"];
Console.WriteLine($"test accuracy {accuracy:P2}, loss {test["loss"]:F4} ({clock.Elapsed.TotalSeconds:F2} s)");

// Saved and loaded back (config JSON, weights, optimizer state): the same predictions. Exported to ONNX (protobuf).
string path = Path.Combine(Path.GetTempPath(), $"aot-mlp-{Environment.ProcessId}.strata");
model.Save(path);
var loaded = Model.Load(path);
File.Delete(path);
string onnx = Path.ChangeExtension(path, ".onnx");
model.ExportOnnx(onnx);
long onnxBytes = new FileInfo(onnx).Length;
File.Delete(onnx);
var probe = testImages.Slice(0, 0, 8);
float[] before = model.Predict(probe).ToArray(), after = loaded.Predict(probe).ToArray();
bool same = before.AsSpan().SequenceEqual(after);
int[] predicted = [.. loaded.Predict(probe).ArgMax(-1).ToArray().Select(v => (int)v)];
Console.WriteLine($"saved and loaded back: {(same ? "same predictions" : "DIFFERENT predictions")}; " +
    $"first 8 test digits {string.Join(" ", testLabels.Take(8))}, predicted {string.Join(" ", predicted)}");
Console.WriteLine($"exported to ONNX: {onnxBytes:N0} bytes");
Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F2} s");

// The default budget reaches about 93%; far below means something is broken, not unlucky.
if (!same || accuracy < 0.85f)
{
    Console.Error.WriteLine($"aot-mlp: FAILED ({(same ? $"accuracy {accuracy:P2} below 85%" : "the loaded model predicts differently")})");
    return 1;
}
return 0;

static string FindMnist()
{
    foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "data", "mnist");
            if (File.Exists(Path.Combine(candidate, "t10k-images-idx3-ubyte.gz")))
                return candidate;
        }
    }
    throw new DirectoryNotFoundException("aot-mlp: data/mnist not found above the working folder or the executable; pass the MNIST folder as the first argument");
}

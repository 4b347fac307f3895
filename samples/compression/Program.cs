// Compressing models (Strata.Compression), each set beside the original: accuracy and file size.
//  1. int8 post-training quantization of the MNIST classifier shipped in the repository, calibrated on 1,000
//     training images: integer kernels, a file about 4× smaller.
//  2. magnitude pruning of a freshly trained MLP to 90% zeros during two epochs of fine-tuning (TF-MOT's polynomial
//     schedule: the sparsity rises over the first, then holds while the network recovers), saved with deflated
//     weights: the file shrinks with the sparsity.
//
//   dotnet run -- [DATA]      DATA: the folder holding mnist/ (default ../../data, the repository's)
using Strata;
using Strata.Compression;
using Strata.Data;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

string mnist = Path.Combine(args.Length > 0 ? args[0] : Path.Combine("..", "..", "data"), "mnist");
string classifierFile = Path.Combine(mnist, GanScorer.MnistClassifierFileName);
if (!File.Exists(classifierFile))
{
    Console.Error.WriteLine($"compression: no {Path.GetFullPath(classifierFile)}; pass the folder that holds mnist/");
    return 1;
}
string work = Directory.CreateTempSubdirectory("strata-compression-").FullName;

var (images, labels) = Mnist.Load(mnist, train: true);
var (testImages, testLabels) = Mnist.Load(mnist, train: false);

// ---- 1. int8 quantization.
var cnn = (Sequential)Model.Load(classifierFile, compile: false);
var int8 = Quantizer.QuantizeStatic(cnn, images.Slice(..1_000));              // weights per output channel, activations calibrated
string int8File = Path.Combine(work, "cnn-int8.strata");
int8.Save(int8File);
Console.WriteLine($"float32 CNN: {Accuracy(cnn.Predict(testImages, 256), testLabels):0.00%} test accuracy, {new FileInfo(classifierFile).Length:N0} bytes");
Console.WriteLine($"int8 CNN:    {Accuracy(int8.Predict(testImages, 256), testLabels):0.00%} test accuracy, {new FileInfo(int8File).Length:N0} bytes " +
    $"({string.Join(", ", int8.Layers.Select(l => l.GetType().Name).Where(t => t.StartsWith("Quantized", StringComparison.Ordinal)).Distinct())})");

// ---- 2. Magnitude pruning with fine-tuning.
const int count = 12_000, batch = 32;
var x = images.Slice(..count);
var y = Tensor.FromArray([.. labels[..count].Select(l => (float)l)]);
var mlp = Presets.Mlp(seed: 1);
mlp.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
mlp.Fit(x, y, epochs: 2, batchSize: batch, seed: 1);
string denseFile = Path.Combine(work, "mlp.strata");
Pruning.Strip(mlp).Save(denseFile, compressWeights: true);
Console.WriteLine($"MLP:          {Accuracy(mlp.Predict(testImages, 256), testLabels):0.00%} test accuracy, {new FileInfo(denseFile).Length:N0} bytes (weights deflated)");

// 0 → 90% zeros in every kernel over the next epoch, masks updated 4 times, then held for one more epoch;
// the schedule counts the optimizer's steps, so it starts from where they are.
long start = mlp.Optimizer!.Iterations, steps = count / batch;
var pruning = new MagnitudePruning(new PolynomialDecay(0f, 0.9f, beginStep: start, endStep: start + steps, frequency: (int)steps / 4));
mlp.Fit(x, y, epochs: 4, batchSize: batch, seed: 1, initialEpoch: 2, callbacks: [pruning]);
var pruned = Pruning.Strip(mlp);                                               // a plain model: no masks, no optimizer state
string prunedFile = Path.Combine(work, "mlp-90.strata");
pruned.Save(prunedFile, compressWeights: true);                               // the zeros deflate away
float sparsity = Pruning.Sparsity(pruned).Values.Average();
Console.WriteLine($"pruned MLP:   {Accuracy(pruned.Predict(testImages, 256), testLabels):0.00%} test accuracy, {new FileInfo(prunedFile).Length:N0} bytes, {sparsity:0.0%} of its kernels zero");

Directory.Delete(work, recursive: true);
return 0;

static float Accuracy(Tensor probabilities, int[] labels)
{
    var predicted = probabilities.ArgMax(-1).ToArray();
    return (float)predicted.Where((p, i) => (int)p == labels[i]).Count() / predicted.Length;
}

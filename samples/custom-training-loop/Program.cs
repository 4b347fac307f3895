// A training loop of your own, in two ways, both on the first 10,000 MNIST training images:
//  1. by hand: batches, forward pass, loss, Model.ComputeGradients, Optimizer.ApplyGradients, your own metric;
//  2. inside Fit: a Model subclass that overrides TrainStep (here: label smoothing on top of the compiled loss),
//     keeping Fit's batching, callbacks and history.
//
//   dotnet run -- [DATA]      DATA: the folder holding mnist/ (default ../../data, the repository's)
using Strata;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

string mnist = Path.Combine(args.Length > 0 ? args[0] : Path.Combine("..", "..", "data"), "mnist");
if (!Directory.Exists(mnist))
{
    Console.Error.WriteLine($"custom-training-loop: no MNIST folder at {Path.GetFullPath(mnist)}; pass the folder that holds mnist/");
    return 1;
}

var (images, labels) = Mnist.Load(mnist, train: true);
var (testImages, testLabels) = Mnist.Load(mnist, train: false);
const int count = 10_000, batch = 64;
var x = images.Slice(..count).Reshape(count, 784);
var testX = testImages.Reshape(testImages.Shape[0], 784);

// ---- 1. By hand.
var model = new Sequential([new Input([784]), new Dense(128, "relu"), new Dense(10)], seed: 1);  // logits out
var loss = new SparseCategoricalCrossentropy(fromLogits: true);
var optimizer = new Adam(1e-3f);
var parameters = model.TrainableWeights.Select(w => w.Value).ToArray();
var order = Enumerable.Range(0, count).ToArray();
for (int epoch = 0; epoch < 2; epoch++)
{
    new Random(epoch).Shuffle(order);
    double lossSum = 0;
    int batches = 0;
    for (int start = 0; start + batch <= count; start += batch)
    {
        int[] rows = order[start..(start + batch)];
        var bx = x.IndexSelect(0, rows);
        var by = Tensor.FromArray([.. rows.Select(r => (float)labels[r])]);
        var batchLoss = loss.Compute(by, model.Forward(bx, training: true));
        optimizer.ApplyGradients(Model.ComputeGradients(batchLoss, parameters).Zip(parameters));
        lossSum += batchLoss.ToArray()[0];
        batches++;
    }
    Console.WriteLine($"by hand, epoch {epoch + 1}: mean loss {lossSum / batches:F4} over {batches} batches");
}
Console.WriteLine($"by hand: test accuracy {Accuracy(model.Predict(testX, batchSize: 256), testLabels):0.00%}");

// ---- 2. TrainStep overridden, Fit kept.
var smooth = new LabelSmoothingModel(0.1f);
smooth.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
var history = smooth.Fit(x, Tensor.FromArray([.. labels[..count].Select(l => (float)l)]), epochs: 2, batchSize: batch, seed: 1);
Console.WriteLine($"TrainStep override: loss {history["loss"][0]:F4} → {history["loss"][^1]:F4}");
Console.WriteLine($"TrainStep override: test accuracy {Accuracy(smooth.Predict(testX, batchSize: 256), testLabels):0.00%}");
return 0;

static float Accuracy(Tensor logits, int[] labels)
{
    var predicted = logits.ArgMax(-1).ToArray();
    return (float)labels.Where((l, i) => predicted[i] == l).Count() / labels.Length;
}

/// <summary>
/// A functional model (784 → 128 relu → 10 logits) whose training step adds label smoothing: the compiled loss
/// against the labels, plus ε times the cross-entropy against the uniform distribution (−mean log-softmax).
/// </summary>
sealed class LabelSmoothingModel : Model
{
    private readonly float _epsilon;
    private Tensor[]? _parameters;

    public LabelSmoothingModel(float epsilon) : this(Input.Create([784], "pixels"), epsilon) { }

    private LabelSmoothingModel(SymbolicTensor pixels, float epsilon)
        : base(pixels, new Dense(10).Apply(new Dense(128, "relu").Apply(pixels)), seed: 1) => _epsilon = epsilon;

    // TracedStep compiles the step: its first calls run eagerly under a trace, later ones replay the recorded ops,
    // gradient computation and optimizer update on buffers allocated once; the logs are running means per epoch.
    public override Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null) => TracedStep("smoothed", [x[0], y], batch =>
    {
        _parameters ??= [.. TrainableWeights.Select(w => w.Value)];
        var logits = Forward(batch[0], training: true);
        var total = Loss!.Compute(batch[1], logits) * (1 - _epsilon) - logits.LogSoftmax().Mean() * _epsilon;
        Optimizer!.ApplyGradients(ComputeGradients(total, _parameters).Zip(_parameters));
        return new Dictionary<string, Tensor> { ["loss"] = total };
    });
}

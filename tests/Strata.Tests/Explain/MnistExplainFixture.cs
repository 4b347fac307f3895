using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Explain;

/// <summary>The shipped, trained MNIST CNN (99.3% test accuracy) and the first test images, loaded once.</summary>
public sealed class MnistExplainFixture
{
    public MnistExplainFixture()
    {
        Model = Model.Load(Path.Combine(RepoPaths.Mnist, "classifier.strata"), compile: false);
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: false);
        Images = Tensor.FromArray(images.Span[..(200 * 784)].ToArray(), 200, 28, 28);
        Labels = labels[..200];

        // A kink-free CNN (tanh, average pooling) trained briefly on 3,000 training digits.
        var (train, trainLabels) = Mnist.Load(RepoPaths.Mnist, train: true);
        var x = Tensor.FromArray(train.Span[..(3000 * 784)].ToArray(), 3000, 28, 28);
        var y = Tensor.FromArray([.. trainLabels[..3000].Select(v => (float)v)]);
        SmoothCnn = new Sequential([new Input([28, 28]), new Reshape([28, 28, 1]), new Conv2D(8, 3, activation: "tanh"),
            new AveragePooling2D(2), new Flatten(), new Dense(10, "softmax")], seed: 5, name: "smooth_cnn");
        SmoothCnn.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
        SmoothCnn.Fit(x, y, epochs: 2, batchSize: 64, verbose: false);
    }

    /// <summary>A small CNN with smooth activations (tanh, average pooling), trained for 2 epochs on 3,000 digits.</summary>
    public Sequential SmoothCnn { get; }

    public Model Model { get; }

    /// <summary>The first 200 test images [200, 28, 28] in [0, 1].</summary>
    public Tensor Images { get; }

    public int[] Labels { get; }

    public Tensor Rows(int start, int count) =>
        Tensor.FromArray(Images.Span.Slice(start * 784, count * 784).ToArray(), count, 28, 28);
}

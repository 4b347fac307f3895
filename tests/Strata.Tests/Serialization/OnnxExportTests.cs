using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Serialization;

/// <summary>Exported models run in ONNX Runtime and give Strata's outputs.</summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-onnx-");

    public void Dispose() => _dir.Delete(recursive: true);

    private float[] ExportAndCompare(Model model, params Tensor[] x) => OnnxRuntimeCheck.ExportAndCompare(_dir.FullName, model, x);

    [Fact]
    public void Every_exportable_layer_matches_in_onnx_runtime()
    {
        var images = ModelZoo.Images(1);
        var xi = Tensor.RandomUniform([5, 8, 8, 2], -1f, 1f, 2);
        images.Compile(new Sgd(0.05f), new SparseCategoricalCrossentropy());
        images.Fit(xi, Tensor.FromArray([0, 1, 2, 0, 1], 5), epochs: 2, batchSize: 2); // trained batch statistics
        ExportAndCompare(images, xi);

        var sequences = ModelZoo.Sequences(3);
        ExportAndCompare(sequences, Tensor.RandomUniform([4, 12, 3], -1f, 1f, 4));

        ExportAndCompare(ModelZoo.Graph(5), Tensor.RandomUniform([4, 6], -1f, 1f, 6), Tensor.RandomUniform([4, 6], -1f, 1f, 7));
    }

    [Fact]
    public void Strides_paddings_and_activations_in_every_layout_match()
    {
        var model = new Sequential(
        [
            new Input([9, 7, 3]),
            new Conv2D(5, (3, 2), strides: (2, 1), padding: Padding.Same, dilationRate: null, activation: "softmax"), // softmax over channels, channels-first
            new BatchNormalization(),
            new MaxPooling2D((3, 3), strides: (2, 2), padding: Padding.Same),
            new Conv2DTranspose(4, (2, 3), strides: (3, 2), padding: Padding.Same, activation: "swish"), // kernel smaller than stride
            new Conv2DTranspose(2, 3, strides: 2, padding: Padding.Valid, activation: "sigmoid"),
            new Conv2DTranspose(3, (4, 3), strides: (1, 2), padding: Padding.Same), // odd padding totals: more at the end
            new AveragePooling2D((2, 2), padding: Padding.Same),
            new Conv2D(3, (2, 2), dilationRate: (2, 2), activation: "exponential"),
            new GlobalMaxPooling2D(),
            new BatchNormalization(), // on [batch, features]
            new Dense(4, "selu"),
            new Dense(3, "softplus"),
        ], seed: 4, name: "layouts");
        var x = Tensor.RandomUniform([3, 9, 7, 3], -1f, 1f, 5);
        model.Predict(x);
        ExportAndCompare(model, x);

        var seq = new Sequential(
        [
            new Input([10, 2]),
            new Conv1D(3, 4, strides: 2, padding: Padding.Same, activation: "tanh"),
            new MaxPooling1D(2, padding: Padding.Same),
            new Conv1D(2, 1),
            new GlobalAveragePooling1D(),
        ], seed: 5, name: "sequence_same");
        var xs = Tensor.RandomUniform([2, 10, 2], -1f, 1f, 6);
        seq.Predict(xs);
        ExportAndCompare(seq, xs);
    }

    [Fact]
    public void A_cnn_trained_on_real_mnist_gives_the_same_predictions_in_onnx_runtime()
    {
        var (x, y) = Mnist.Load(RepoPaths.Mnist, train: true);
        var (tx, ty) = Mnist.Load(RepoPaths.Mnist, train: false);
        var model = new Sequential(
        [
            new Input([28, 28]),
            new Reshape([28, 28, 1]),
            new Conv2D(16, 3, activation: "relu"),
            new MaxPooling2D(2),
            new Conv2D(32, 3, activation: "relu"),
            new MaxPooling2D(2),
            new Flatten(),
            new Dropout(0.25f),
            new Dense(10, "softmax"),
        ], seed: 1, name: "mnist_cnn");
        model.Compile(new Adam(2e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(x.Slice(..3000), Tensor.FromArray(y.Take(3000).Select(v => (float)v).ToArray()), epochs: 1, batchSize: 32, seed: 1);
        var test = tx.Slice(..500);
        var probabilities = ExportAndCompare(model, test);
        int correct = 0;
        for (int i = 0; i < 500; i++)
        {
            var row = probabilities.AsSpan(i * 10, 10);
            correct += row.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(row)) == ty[i] ? 1 : 0;
        }
        Assert.True(correct >= 400, $"ONNX Runtime classifies {correct} of 500 test digits correctly");
    }

    [Fact]
    public void What_cannot_be_exported_is_named()
    {
        var gelu = new Sequential([new Input([3]), new Dense(2, "gelu", name: "head")]);
        gelu.Predict(Tensor.Zeros(1, 3));
        var e = Assert.Throws<NotSupportedException>(() => gelu.ExportOnnx(Path.Combine(_dir.FullName, "g.onnx")));
        Assert.Contains("layer 'head' uses activation 'gelu'", e.Message);

        TestScale.EnsureRegistered();
        var custom = new Sequential([new Input([3]), new TestScale(2f, name: "scale")]);
        custom.Predict(Tensor.Zeros(1, 3));
        Assert.Contains("layer 'scale' (TestScale) has no ONNX export",
            Assert.Throws<NotSupportedException>(() => custom.ExportOnnx(Path.Combine(_dir.FullName, "c.onnx"))).Message);
        Assert.Empty(Directory.GetFiles(_dir.FullName)); // nothing half-written

        var unbuilt = new Sequential([new Dense(2)]);
        Assert.Contains("not built", Assert.Throws<InvalidOperationException>(() => unbuilt.ExportOnnx(Path.Combine(_dir.FullName, "u.onnx"))).Message);
    }

    [Fact]
    public void A_custom_activation_exports_through_its_registered_onnx_form()
    {
        CustomExtensions.EnsureRegistered();
        var model = new Sequential(
        [
            new Input([6, 6, 2]),
            new Conv2D(3, 3, activation: new TestSwishBeta(1.7f)), // on a channels-first value
            new MaxPooling2D(2),
            new Flatten(),
            new Dense(4, new TestSwishBeta(0.6f)),
            new Activation(new TestSwishBeta(2f)),
            new Dense(2),
        ], seed: 2, name: "custom_activation");
        var x = Tensor.RandomUniform([3, 6, 6, 2], -2f, 2f, 3);
        model.Predict(x);
        ExportAndCompare(model, x);
    }

    [Fact]
    public void A_custom_activation_without_an_onnx_form_is_named()
    {
        CustomExtensions.EnsureRegistered();
        var model = new Sequential([new Input([3]), new Dense(2, new TestCube(), name: "cube_head")]);
        model.Predict(Tensor.Zeros(1, 3));
        var e = Assert.Throws<NotSupportedException>(() => model.ExportOnnx(Path.Combine(_dir.FullName, "cube.onnx")));
        Assert.Contains("layer 'cube_head' uses activation 'test_cube'", e.Message);
        Assert.Contains(typeof(TestCube).FullName!, e.Message);
        Assert.Contains("OnnxActivations.Register(\"test_cube\"", e.Message);
        Assert.Empty(Directory.GetFiles(_dir.FullName));
    }
}

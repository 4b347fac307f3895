using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Serialization;

public sealed class WeightFileTests
{
    private static Sequential Cnn(ulong seed, int units = 5) => new(
    [
        new Input([6, 6, 1]), new Conv2D(4, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(),
        new Dense(units, "softmax", name: "head"),
    ], seed);

    [Fact]
    public void Saved_weights_load_into_a_fresh_model_with_identical_predictions()
    {
        var dir = Directory.CreateTempSubdirectory("strata-w-");
        try
        {
            var x = Tensor.RandomUniform([7, 6, 6, 1], 0f, 1f, 1);
            var y = Tensor.FromArray([0, 1, 2, 3, 4, 0, 1], 7);
            var trained = Cnn(seed: 1);
            trained.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy());
            trained.Fit(x, y, epochs: 3, batchSize: 4);
            var path = Path.Combine(dir.FullName, "cnn.safetensors");
            trained.SaveWeights(path);

            var fresh = Cnn(seed: 2);
            fresh.Predict(x); // builds it
            Assert.NotEqual(trained.Predict(x).ToArray(), fresh.Predict(x).ToArray());
            fresh.LoadWeights(path);
            Assert.Equal(trained.Predict(x).ToArray(), fresh.Predict(x).ToArray());
            var names = Strata.Serialization.SafeTensors.Load(path).Tensors.Keys.Order().ToArray();
            var conv = trained.Layers[1].Name; // automatic names count up across models: conv2d, conv2d_1, ...
            Assert.Equal([$"1/{conv}/bias", $"1/{conv}/kernel", "4/head/bias", "4/head/kernel"], names);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Files_that_do_not_fit_are_refused_and_change_nothing()
    {
        var dir = Directory.CreateTempSubdirectory("strata-w-");
        try
        {
            var x = Tensor.RandomUniform([2, 6, 6, 1], 0f, 1f, 1);
            var source = Cnn(seed: 1, units: 3);
            source.Predict(x);
            var path = Path.Combine(dir.FullName, "three.safetensors");
            source.SaveWeights(path);

            var target = Cnn(seed: 2, units: 5);
            var before = target.Predict(x).ToArray();
            var shape = Assert.Throws<InvalidDataException>(() => target.LoadWeights(path));
            Assert.Contains("4/head/kernel", shape.Message);
            Assert.Contains("[16, 3]", shape.Message);
            Assert.Contains("[16, 5]", shape.Message);
            Assert.Equal(before, target.Predict(x).ToArray()); // nothing copied

            var other = new Sequential([new Input([6, 6, 1]), new Flatten(), new Dense(3, name: "other")], seed: 1);
            other.Predict(x);
            Assert.Contains("no weight for '2/other/kernel'", Assert.Throws<InvalidDataException>(() => other.LoadWeights(path)).Message);

            var unbuilt = new Sequential([new Dense(3)], seed: 3); // no input shape: no weights until it sees data
            Assert.Contains("not built", Assert.Throws<InvalidOperationException>(() => unbuilt.SaveWeights(path)).Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

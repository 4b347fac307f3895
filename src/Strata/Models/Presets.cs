using Strata.Layers;

namespace Strata.Models;

/// <summary>
/// The seed models by name, uncompiled: <c>mlp</c> (Flatten → Dense(128, relu) → Dense(64, relu) →
/// Dense(classes, softmax)), <c>cnn</c> (Conv(32, 3×3) → MaxPool(2) → Conv(64, 3×3) → MaxPool(2) →
/// Flatten → Dense(64, relu) → Dense(classes, softmax)) and <c>cnn3</c> (the same with a third
/// Conv(64, 3×3) before Flatten). The same definitions serve the <c>strata</c> command, the
/// benchmarks and the tests. The input shape defaults to MNIST's [28, 28]; a CNN given an image
/// without a channel axis ([h, w]) reshapes it to [h, w, 1] first.
/// </summary>
public static class Presets
{
    /// <summary>The preset names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mlp", "cnn", "cnn3"];

    /// <summary>The preset called <paramref name="name"/>.</summary>
    /// <param name="name">mlp, cnn or cnn3.</param>
    /// <param name="inputShape">One sample's shape (default [28, 28]).</param>
    /// <param name="classes">The number of classes the softmax output scores.</param>
    /// <param name="seed">Seeds every layer's initializer.</param>
    /// <exception cref="ArgumentException">An unknown name, or an input shape the preset cannot take.</exception>
    public static Sequential Create(string name, int[]? inputShape = null, int classes = 10, ulong seed = 0) => name switch
    {
        "mlp" => Mlp(inputShape, classes, seed),
        "cnn" => Cnn(inputShape, classes, seed),
        "cnn3" => DeeperCnn(inputShape, classes, seed),
        _ => throw new ArgumentException($"Presets: unknown preset '{name}' (expected {string.Join(", ", Names)})", nameof(name)),
    };

    /// <summary>The seed MLP: Flatten → Dense(128, relu) → Dense(64, relu) → Dense(classes, softmax).</summary>
    public static Sequential Mlp(int[]? inputShape = null, int classes = 10, ulong seed = 0)
    {
        var shape = Check("mlp", inputShape, classes, minRank: 1);
        return new Sequential([new Input(shape), new Flatten(), new Dense(128, "relu"), new Dense(64, "relu"), new Dense(classes, "softmax")], seed, "mlp");
    }

    /// <summary>The seed CNN: Conv(32) → MaxPool → Conv(64) → MaxPool → Flatten → Dense(64) → Dense(classes).</summary>
    public static Sequential Cnn(int[]? inputShape = null, int classes = 10, ulong seed = 0) => Convolutional("cnn", inputShape, classes, seed, thirdConv: false);

    /// <summary>The deeper seed CNN: Conv(32) → MaxPool → Conv(64) → MaxPool → Conv(64) → Flatten → Dense(64) → Dense(classes).</summary>
    public static Sequential DeeperCnn(int[]? inputShape = null, int classes = 10, ulong seed = 0) => Convolutional("cnn3", inputShape, classes, seed, thirdConv: true);

    private static Sequential Convolutional(string name, int[]? inputShape, int classes, ulong seed, bool thirdConv)
    {
        var shape = Check(name, inputShape, classes, minRank: 2);
        if (shape.Length > 3)
            throw new ArgumentException($"Presets: '{name}' takes images [height, width] or [height, width, channels], got {Shape.Format(shape)}", nameof(inputShape));
        // Valid 3×3 convolutions and 2×2 pools: the spatial size left before Flatten must be at least 1.
        int Left(int s) { s = (s - 2) / 2; s = (s - 2) / 2; return thirdConv ? s - 2 : s; }
        if (Left(shape[0]) < 1 || Left(shape[1]) < 1)
            throw new ArgumentException($"Presets: images of {shape[0]}×{shape[1]} are too small for '{name}' (its convolutions and pooling need at least {(thirdConv ? 18 : 10)}×{(thirdConv ? 18 : 10)})", nameof(inputShape));
        List<Layer> layers = [new Input(shape)];
        if (shape.Length == 2)
            layers.Add(new Reshape([shape[0], shape[1], 1]));
        layers.AddRange([new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2), new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2)]);
        if (thirdConv)
            layers.Add(new Conv2D(64, 3, activation: "relu"));
        layers.AddRange([new Flatten(), new Dense(64, "relu"), new Dense(classes, "softmax")]);
        return new Sequential(layers, seed, name);
    }

    private static int[] Check(string name, int[]? inputShape, int classes, int minRank)
    {
        if (classes < 2)
            throw new ArgumentException($"Presets: '{name}' needs at least 2 classes, got {classes}", nameof(classes));
        var shape = inputShape ?? [28, 28];
        if (shape.Length < minRank || shape.Any(d => d < 1))
            throw new ArgumentException($"Presets: '{name}' cannot take input shape {Shape.Format(shape)}", nameof(inputShape));
        return shape;
    }
}

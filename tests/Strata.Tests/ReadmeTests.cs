namespace Strata.Tests;

/// <summary>The README's code runs as written.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public void The_taste_snippet_runs_and_matches_the_readme()
    {
        // The same statements as the README's C# block; the first assertion keeps the two in step.
        string[] lines =
        [
            "var x = Tensor.FromArray([0, 0, 0, 1, 1, 0, 1, 1], 4, 2);",
            "var w = Tensor.RandomNormal([2, 8], std: 0.5f, seed: 1);",
            "w.RequiresGrad = true;",
            "var h = x.MatMul(w).Tanh();",
            "var loss = h.Square().Mean();",
            "loss.Backward();",
            "Console.WriteLine(w.Grad);",
        ];
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (string line in lines)
            Assert.Contains(line, readme);

        var x = Tensor.FromArray([0, 0, 0, 1, 1, 0, 1, 1], 4, 2);
        var w = Tensor.RandomNormal([2, 8], std: 0.5f, seed: 1);
        w.RequiresGrad = true;
        var h = x.MatMul(w).Tanh();
        var loss = h.Square().Mean();
        loss.Backward();
        Assert.Equal([2, 8], w.Grad!.Shape.ToArray());
        Assert.StartsWith("Tensor [2, 8]", w.Grad.ToString());
        // Row 0 of x is all zeros and x[1] = (0, 1), x[2] = (1, 0), x[3] = (1, 1): every weight gets a gradient.
        Assert.All(w.Grad.ToArray(), g => Assert.NotEqual(0f, g));
    }

    [Fact]
    public void The_functional_snippet_runs_and_matches_the_readme()
    {
        string[] lines =
        [
            "var pixels = Input.Create([784], \"pixels\");",
            "var h = new Dense(64, \"relu\").Apply(pixels);",
            "var r = new Add().Apply(h, new Dense(64, \"relu\").Apply(h));",
            "var model = new Model(pixels, new Dense(10, \"softmax\").Apply(r), seed: 1);",
        ];
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (string line in lines)
            Assert.Contains(line, readme);

        var pixels = Strata.Layers.Input.Create([784], "pixels");
        var h = new Strata.Layers.Dense(64, "relu").Apply(pixels);
        var r = new Strata.Layers.Add().Apply(h, new Strata.Layers.Dense(64, "relu").Apply(h));
        var model = new Strata.Models.Model(pixels, new Strata.Layers.Dense(10, "softmax").Apply(r), seed: 1);
        var y = model.Predict(Tensor.RandomUniform([3, 784], 0f, 1f, 2));
        Assert.Equal([3, 10], y.Shape.ToArray());
        Assert.All(y.Sum(1).ToArray(), s => Assert.Equal(1f, s, 5));
    }

    [Fact]
    public void The_cnn_snippet_builds_the_seed_cnn()
    {
        string[] lines =
        [
            "new Input([28, 28, 1]),",
            "new Conv2D(32, 3, activation: \"relu\"), new MaxPooling2D(2),",
            "new Conv2D(64, 3, activation: \"relu\"), new MaxPooling2D(2),",
            "new Flatten(), new Dense(64, \"relu\"), new Dense(10, \"softmax\"),",
            "], seed: 1);   // 121,930 parameters",
        ];
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (string line in lines)
            Assert.Contains(line, readme);

        var cnn = new Strata.Models.Sequential(
        [
            new Strata.Layers.Input([28, 28, 1]),
            new Strata.Layers.Conv2D(32, 3, activation: "relu"), new Strata.Layers.MaxPooling2D(2),
            new Strata.Layers.Conv2D(64, 3, activation: "relu"), new Strata.Layers.MaxPooling2D(2),
            new Strata.Layers.Flatten(), new Strata.Layers.Dense(64, "relu"), new Strata.Layers.Dense(10, "softmax"),
        ], seed: 1);
        var y = cnn.Predict(Tensor.RandomUniform([2, 28, 28, 1], 0f, 1f, 3));
        Assert.Equal([2, 10], y.Shape.ToArray());
        Assert.Equal(121_930, cnn.Layers.Sum(l => l.ParameterCount)); // Keras reports the same for this model
    }
}

public sealed class ReadmeSaveTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-readme-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void The_save_snippet_runs_and_matches_the_readme()
    {
        string[] lines =
        [
            "model.Save(\"mnist.strata\");",
            "var loaded = Model.Load(\"mnist.strata\");",
            "var probabilities = loaded.Predict(testImages);",
            "loaded.ExportOnnx(\"mnist.onnx\");",
        ];
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (string line in lines)
            Assert.Contains(line, readme);

        var (images, labels) = TestData.Blobs(60, 1);
        var testImages = TestData.Blobs(30, 2).X;
        var model = new Strata.Models.Sequential([new Strata.Layers.Input([2]), new Strata.Layers.Dense(8, "relu"), new Strata.Layers.Dense(3, "softmax")], seed: 1);
        model.Compile(new Strata.Optimizers.Adam(1e-2f), new Strata.Losses.SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(images, labels, epochs: 2);
        string mnist = Path.Combine(_dir.FullName, "mnist.strata"), onnx = Path.Combine(_dir.FullName, "mnist.onnx");
        model.Save(mnist);
        var loaded = Strata.Models.Model.Load(mnist);
        var probabilities = loaded.Predict(testImages);
        loaded.ExportOnnx(onnx);
        Assert.Equal(model.Predict(testImages).ToArray(), probabilities.ToArray());
        Assert.True(new FileInfo(onnx).Length > 0);
    }
}

using System.Globalization;
using Strata.Compression;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// Distillation on MNIST (issue 19's target): for each seed, a small MLP student (Flatten →
/// Dense(hidden, relu) → Dense(10, softmax)) trained alone and the same student (same initial weights,
/// same batches) distilled from a seed CNN, both on the same seeded subset of the training images for
/// the same epochs (Adam 1e-3, batch 32), then scored on the 10,000 test images. The teacher is the shipped
/// classifier (data/mnist/classifier.strata: the seed CNN trained on all 60,000 training images) or, with
/// <c>--teacher subset</c>, the seed CNN trained on the subset alone. Prints a markdown table.
/// </summary>
internal static class DistillAccuracy
{
    public static void Run(string dataDir, int[] seeds, int samples, int epochs, int hidden, float temperature, float alpha,
        int batch, int threads, string teacherSource)
    {
        if (teacherSource is not ("shipped" or "subset"))
            throw new ArgumentException($"distill: --teacher is 'shipped' or 'subset', got '{teacherSource}'");
        if (samples < 1 || samples > 60000)
            throw new ArgumentException($"distill: --samples must be in [1, 60000], got {samples}");
        KernelSettings.MaxThreads = threads;
        var (trainImages, trainLabels) = Mnist.Load(dataDir, train: true);
        var (testImages, testLabels) = Mnist.Load(dataDir, train: false);
        var testY = Labels(testLabels);
        Model? shipped = teacherSource == "shipped" ? GanScorer.LoadMnist(dataDir).Classifier : null;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"student Flatten → Dense({hidden}, relu) → Dense(10, softmax); {samples} training images, {epochs} epochs, batch {batch}, Adam 1e-3; T = {temperature}, α = {alpha}; teacher: {(shipped is null ? "seed CNN trained on the subset" : "shipped seed CNN (all 60,000 images)")}; {threads} thread(s)"));
        Console.WriteLine();
        Console.WriteLine("| seed | teacher | student alone | student distilled | gain (points) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
        foreach (int seed in seeds)
        {
            // A seeded subset of the training images, the same for all three models of this seed.
            var rng = new Rng((ulong)seed * 7919 + 17);
            var order = Enumerable.Range(0, trainLabels.Length).ToArray();
            rng.Shuffle(order.AsSpan());
            var pick = order[..samples];
            var x = trainImages.IndexSelect(0, pick);
            var y = Labels([.. pick.Select(i => trainLabels[i])]);

            var teacher = shipped ?? TrainTeacher(x, y, epochs, batch, seed);
            var alone = Student(hidden, seed);
            alone.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
            alone.Fit(x, y, epochs: epochs, batchSize: batch, seed: (ulong)seed);

            var distiller = new Distiller(teacher, Student(hidden, seed), temperature, alpha);
            distiller.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), metrics: "accuracy");
            distiller.Fit(x, y, epochs: epochs, batchSize: batch, seed: (ulong)seed);
            if (!distiller.ExecutionPath.Contains("compiled plan", StringComparison.Ordinal))
                Console.WriteLine($"(note: the distillation step did not compile: {distiller.ExecutionPath})");

            float teacherAcc = Accuracy(teacher, testImages, testY);
            float aloneAcc = Accuracy(alone, testImages, testY);
            float distilledAcc = Accuracy(distiller.Student, testImages, testY);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {seed} | {teacherAcc:P2} | {aloneAcc:P2} | {distilledAcc:P2} | {100 * (distilledAcc - aloneAcc):+0.00;-0.00} |"));
        }
    }

    private static Sequential Student(int hidden, int seed) =>
        new([new Input([28, 28]), new Flatten(), new Dense(hidden, "relu"), new Dense(10, "softmax")], (ulong)seed, "student");

    private static Model TrainTeacher(Tensor x, Tensor y, int epochs, int batch, int seed)
    {
        var cnn = Presets.Cnn(seed: (ulong)seed);
        cnn.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        cnn.Fit(x, y, epochs: epochs, batchSize: batch, seed: (ulong)seed);
        return cnn;
    }

    /// <summary>Test accuracy of a softmax classifier (argmax against the labels).</summary>
    private static float Accuracy(Model model, Tensor images, Tensor labels)
    {
        var metric = new Strata.Metrics.SparseCategoricalAccuracy("accuracy");
        metric.Update(labels, model.Predict(images, batchSize: 1000));
        return metric.Result();
    }

    private static Tensor Labels(int[] labels) => Tensor.FromArray(labels.Select(v => (float)v).ToArray());
}

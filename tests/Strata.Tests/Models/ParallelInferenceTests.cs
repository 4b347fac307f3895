using Strata.Kernels;
using Strata.Layers;
using Strata.Models;

namespace Strata.Tests.Models;

/// <summary>
/// Predict and Evaluate split a large batch into one part per kernel thread, each on a plan of its own:
/// the rows get exactly the results one thread gives, for dense and convolutional models, and batches that
/// do not divide evenly.
/// </summary>
[Collection(ProcessWideSettingsCollection.Name)]
public sealed class ParallelInferenceTests : IDisposable
{
    private readonly int _threads = KernelSettings.MaxThreads;

    public void Dispose() => KernelSettings.MaxThreads = _threads;

    private static Tensor[] PredictOn(Model model, Tensor x, int threads, int batchSize)
    {
        KernelSettings.MaxThreads = threads;
        // The first call traces the whole batch; a new part size then runs its parts in order twice (tracing and
        // confirming their plan) before the parts run on the threads at once: five calls reach that.
        return [.. Enumerable.Range(0, 5).Select(_ => model.Predict(x, batchSize))];
    }

    [Theory]
    [InlineData("mlp", 200, 200)]
    [InlineData("mlp", 301, 301)] // parts of 100, 100 and 101 rows on 3 threads
    [InlineData("cnn", 130, 64)]  // batches of 64, 64 and 2 (the last stays on one thread)
    public void Rows_split_over_threads_equal_one_thread_bit_for_bit(string kind, int rows, int batchSize)
    {
        var model = kind == "mlp"
            ? (Model)new Sequential([new Input([20]), new Dense(32, "relu"), new Dense(5, "softmax")], seed: 3)
            : new Sequential([new Input([12, 12, 2]), new Conv2D(4, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(), new Dense(5, "softmax")], seed: 3);
        var x = kind == "mlp" ? Tensor.RandomUniform([rows, 20], -1f, 1f, 7) : Tensor.RandomUniform([rows, 12, 12, 2], -1f, 1f, 7);
        var one = PredictOn(model, x, 1, batchSize);
        var three = PredictOn(model, x, 3, batchSize);
        for (int i = 0; i < three.Length; i++)
        {
            Assert.Equal(one[0].Shape, three[i].Shape);
            Assert.Equal(one[0].ToArray(), three[i].ToArray());
        }
        Assert.Equal(one[0].ToArray(), one[^1].ToArray());
        Assert.True(model.HasCompiledPlan("predict"), model.ExecutionPath);
    }
}

using System.Diagnostics;
using System.Globalization;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Benchmarks;

/// <summary>
/// Recurrent training speed against PyTorch's nn.LSTM / nn.GRU (bench/compare/rnn_torch.py, the
/// identical model): Input [steps, inputs] → Lstm|Gru(units) → Dense(10) on logits, sparse
/// categorical cross-entropy, Adam(1e-3), on fixed random data; a warm-up epoch, then three timed
/// epochs on fresh models (median). Prints "strata train-&lt;cell&gt; &lt;batch&gt; &lt;samples/s&gt;" and
/// the managed bytes allocated per steady-state step.
/// </summary>
internal static class RnnComparison
{
    public static void Run(string cell, int threads, int batch, int steps, int inputs, int units, int batches)
    {
        KernelSettings.MaxThreads = threads;
        int n = batch * batches;
        var x = Tensor.RandomUniform([n, steps, inputs], -1f, 1f, 1);
        var rng = new Rng(2);
        var y = Tensor.FromArray(Enumerable.Range(0, n).Select(_ => (float)rng.NextInt(10)).ToArray(), n);
        Sequential Build(ulong seed) => new(
        [
            new Input([steps, inputs]),
            cell == "gru" ? new Gru(units) : new Lstm(units),
            new Dense(10),
        ], seed);
        var warm = Build(9);
        warm.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        warm.Fit(x, y, epochs: 1, batchSize: batch, shuffle: false);
        var rates = new List<double>();
        long bytesPerStep = 0;
        for (int r = 0; r < 3; r++)
        {
            var model = Build((ulong)r + 1);
            model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
            var sw = Stopwatch.StartNew();
            model.Fit(x, y, epochs: 1, batchSize: batch, shuffle: false);
            rates.Add(n / sw.Elapsed.TotalSeconds);
            if (r == 2)
            {
                var xb = x.Slice(..batch).Clone();
                var yb = y.Slice(..batch).Clone();
                model.TrainStep(xb, yb);
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 10; i++)
                    model.TrainStep(xb, yb);
                bytesPerStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
                Console.WriteLine($"# {model.ExecutionPath.Replace(Environment.NewLine, "; ")}");
            }
        }
        rates.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"strata train-{cell} {batch} {rates[1]:F1} (threads {threads}, {steps} steps, {inputs} inputs, {units} units; {bytesPerStep} B/step)"));
    }
}

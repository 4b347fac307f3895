using System.Diagnostics;
using Strata;
using Strata.Compression;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

/// <summary>
/// Issue 19's quantization figures in one run: the seed MLP (trained here for 2 epochs) and the seed
/// CNN (data/mnist/classifier.strata), float against static int8 (calibrated on 1,000 training
/// images) and, for the MLP, dynamic int8: MNIST test accuracy, file size, and Predict samples/s at
/// batch 1,000 (median of rounds).
/// </summary>
internal static class QuantComparison
{
    public static void Run(string dataDir, int threads, int rounds, bool peer)
    {
        KernelSettings.MaxThreads = threads;
        var (train, trainLabels) = Mnist.Load(dataDir, train: true);
        var (test, testLabels) = Mnist.Load(dataDir, train: false);
        var calibration = train.Slice(0, 0, 1000);
        Console.WriteLine($"int8 path: {Int8Gemm.BestPath}; threads {threads}; batch 1,000; {DateTime.UtcNow:yyyy-MM-dd}");

        var mlp = (Sequential)Presets.Create("mlp", [28, 28], 10, seed: 1);
        mlp.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), ["accuracy"]);
        mlp.Fit(train, Tensor.FromArray(trainLabels.Select(v => (float)v).ToArray(), trainLabels.Length), epochs: 2, batchSize: 128, seed: 1);
        Report("mlp", mlp, calibration, test, testLabels, rounds, dynamic: true, peer);
        var cnn = (Sequential)Model.Load(Path.Combine(dataDir, "classifier.strata"));
        Report("cnn", cnn, calibration, test, testLabels, rounds, dynamic: false, peer);
    }

    private static void Report(string name, Sequential model, Tensor calibration, Tensor test, int[] labels, int rounds, bool dynamic, bool peer)
    {
        var variants = new List<(string, Model)> { ("float32", model), ("static int8", Quantizer.QuantizeStatic(model, calibration)) };
        if (dynamic)
            variants.Add(("dynamic int8", Quantizer.QuantizeDynamic(model)));
        double floatRate = 0;
        long floatSize = 0;
        foreach (var (kind, m) in variants)
        {
            float acc = Accuracy(m, test, labels);
            // The weights file (safetensors): a compiled float model's .strata also holds its optimizer state.
            string file = Path.Combine(Path.GetTempPath(), $"strata-quant-{Environment.ProcessId}.safetensors");
            m.SaveWeights(file);
            long size = new FileInfo(file).Length;
            File.Delete(file);
            double rate = Rate(m, test.Slice(0, 0, 1000), rounds);
            if (kind == "float32")
            {
                floatRate = rate;
                floatSize = size;
            }
            Console.WriteLine($"{name,-4} {kind,-13} accuracy {acc,6:F2}%  weights {size / 1024.0,7:F1} KiB ({(double)floatSize / size:F2}× smaller)  {rate,10:N0} samples/s ({rate / floatRate:F2}× float)");
        }
        if (peer)
        {
            // The same models exported to ONNX (the int8 one in QDQ form, which ONNX Runtime fuses into its integer kernels), alternating rounds.
            foreach (var (kind, m) in variants.Where(v => v.Item1 != "dynamic int8"))
                Strata.Benchmarks.OnnxPeer.Compare($"{name} {kind}", m, test, 1000, KernelSettings.MaxThreads, rounds);
        }
    }

    private static float Accuracy(Model m, Tensor x, int[] labels)
    {
        var p = m.Predict(x, 1000).Span;
        int right = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int best = 0;
            for (int j = 1; j < 10; j++)
                if (p[i * 10 + j] > p[i * 10 + best])
                    best = j;
            right += best == labels[i] ? 1 : 0;
        }
        return 100f * right / labels.Length;
    }

    private static double Rate(Model m, Tensor batch, int rounds)
    {
        for (int i = 0; i < 5; i++)
            m.Predict(batch, 1000);
        var rates = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            int reps = 0;
            while (sw.Elapsed.TotalMilliseconds < 300)
            {
                m.Predict(batch, 1000);
                reps++;
            }
            rates[r] = reps * 1000.0 / sw.Elapsed.TotalSeconds;
        }
        Array.Sort(rates);
        return rates[rounds / 2];
    }
}

using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;

namespace Strata.Cli;

/// <summary>
/// Trains a 784 → 128 (ReLU) → 10 network on MNIST with nothing but tensors, autograd and a
/// hand-written Adam step, then evaluates it on the 10,000 test images.
/// </summary>
internal static class Demo
{
    public const string Usage = "usage: strata demo [--epochs N] [--batch-size N] [--threads N] [--seed N] [--data DIR]";

    public static int Run(string[] args)
    {
        int epochs = 3, batch = 64, threads = Environment.ProcessorCount;
        ulong seed = 1;
        string? dataDir = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = PositiveInt(Next(), "--epochs"); break;
                case "--batch-size": batch = PositiveInt(Next(), "--batch-size"); break;
                case "--threads": threads = PositiveInt(Next(), "--threads"); break;
                case "--seed": seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": dataDir = Next(); break;
                case "--help" or "-h": Console.WriteLine(Usage); return 0;
                default: throw new ArgumentException($"unknown option '{args[i]}'. {Usage}");
            }
        }
        KernelSettings.MaxThreads = threads;
        dataDir ??= FindData();

        Console.WriteLine($"Strata demo: MNIST MLP 784-128-10, {epochs} epochs, batch {batch}, {threads} thread(s), seed {seed}");
        var (trainX, trainY) = Mnist.Load(dataDir, train: true);
        var (testX, testY) = Mnist.Load(dataDir, train: false);
        trainX = trainX.Reshape(trainX.Shape[0], -1);
        testX = testX.Reshape(testX.Shape[0], -1);
        Console.WriteLine($"data: {trainY.Length} training and {testY.Length} test images from {dataDir}");

        var rng = new Rng(seed);
        var net = new Mlp([784, 128, 10], rng);
        var adam = new Adam(net.Parameters, learningRate: 1e-3f);
        int n = trainY.Length;
        var order = Enumerable.Range(0, n).ToArray();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            var sw = Stopwatch.StartNew();
            double lossSum = 0;
            int correct = 0, batches = 0;
            for (int start = 0; start < n; start += batch)
            {
                var idx = order[start..Math.Min(n, start + batch)];
                var x = trainX.IndexSelect(0, idx);
                var labels = idx.Select(i => trainY[i]).ToArray();
                var logits = net.Forward(x);
                var loss = -(logits.LogSoftmax() * Tensor.OneHot(labels, 10)).Sum(1).Mean();
                adam.ZeroGrad();
                loss.Backward();
                adam.Step();
                lossSum += loss.ToScalar();
                correct += CountCorrect(logits, labels);
                batches++;
            }
            double secs = sw.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch}/{epochs}: loss {lossSum / batches:F4}, accuracy {correct / (double)n:P2}, {secs:F1} s, {n / secs:F0} samples/s"));
        }

        using (GradMode.Disable())
        {
            var logits = net.Forward(testX);
            var testLoss = -(logits.LogSoftmax() * Tensor.OneHot(testY, 10)).Sum(1).Mean().ToScalar();
            double accuracy = CountCorrect(logits, testY) / (double)testY.Length;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test: loss {testLoss:F4}, accuracy {accuracy:P2} on {testY.Length} images"));
        }
        return 0;
    }

    private static int CountCorrect(Tensor logits, int[] labels)
    {
        var pred = logits.ArgMax(1).Span;
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
            correct += (int)pred[i] == labels[i] ? 1 : 0;
        return correct;
    }

    private static int PositiveInt(string s, string option) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v : throw new ArgumentException($"{option}: expected a positive whole number, got '{s}'");

    /// <summary>data/mnist of the repository: looked for upwards from the working folder and from the program.</summary>
    private static string FindData()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "mnist");
                if (Directory.Exists(candidate))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException("data/mnist not found above the working folder; pass --data DIR");
    }

    /// <summary>Dense layers with ReLU between them, Glorot-uniform weights, zero biases.</summary>
    private sealed class Mlp
    {
        private readonly List<(Tensor W, Tensor B)> _layers = [];

        public Mlp(int[] sizes, Rng rng)
        {
            for (int i = 0; i + 1 < sizes.Length; i++)
            {
                float limit = MathF.Sqrt(6f / (sizes[i] + sizes[i + 1]));
                var w = Tensor.RandomUniform([sizes[i], sizes[i + 1]], rng, -limit, limit);
                var b = Tensor.Zeros(sizes[i + 1]);
                w.RequiresGrad = b.RequiresGrad = true;
                _layers.Add((w, b));
            }
        }

        public IEnumerable<Tensor> Parameters => _layers.SelectMany(l => new[] { l.W, l.B });

        public Tensor Forward(Tensor x)
        {
            for (int i = 0; i < _layers.Count; i++)
            {
                x = x.MatMul(_layers[i].W) + _layers[i].B;
                if (i + 1 < _layers.Count)
                    x = x.Relu();
            }
            return x;
        }
    }

    /// <summary>Adam (Kingma and Ba, 2015) with bias correction, updating parameters outside the graph.</summary>
    private sealed class Adam(IEnumerable<Tensor> parameters, float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
    {
        private readonly Tensor[] _params = parameters.ToArray();
        private readonly Dictionary<Tensor, (float[] M, float[] V)> _state = [];
        private int _t;

        public void ZeroGrad()
        {
            foreach (var p in _params)
                p.ZeroGrad();
        }

        public void Step()
        {
            _t++;
            float c1 = 1 - MathF.Pow(beta1, _t), c2 = 1 - MathF.Pow(beta2, _t);
            foreach (var p in _params)
            {
                if (p.Grad is null)
                    continue;
                if (!_state.TryGetValue(p, out var s))
                    _state[p] = s = (new float[p.Size], new float[p.Size]);
                var w = p.AsWritableSpan();
                var g = p.Grad.Span;
                for (int j = 0; j < w.Length; j++)
                {
                    s.M[j] = beta1 * s.M[j] + (1 - beta1) * g[j];
                    s.V[j] = beta2 * s.V[j] + (1 - beta2) * g[j] * g[j];
                    w[j] -= learningRate * (s.M[j] / c1) / (MathF.Sqrt(s.V[j] / c2) + epsilon);
                }
            }
        }
    }
}

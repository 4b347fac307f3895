namespace Strata.Tests.EndToEnd;

/// <summary>
/// Two-layer networks written directly with tensors and autograd (no layer API): they must learn
/// XOR and a noisy two-class 2-D problem, and a fixed seed must give bit-identical weights.
/// </summary>
public sealed class TinyNetworkTests
{
    /// <summary>x → tanh(x·W1 + b1) → ·W2 + b2 → logits; trained with Adam on softmax cross-entropy.</summary>
    private sealed class TwoLayerNet
    {
        public readonly Tensor W1, B1, W2, B2;
        private readonly Tensor[] _params;
        private readonly float[][] _m, _v;
        private int _step;

        public TwoLayerNet(int inputs, int hidden, int classes, ulong seed)
        {
            var rng = new Rng(seed);
            // Glorot-uniform limits.
            float l1 = MathF.Sqrt(6f / (inputs + hidden)), l2 = MathF.Sqrt(6f / (hidden + classes));
            W1 = Tensor.RandomUniform([inputs, hidden], rng, -l1, l1);
            B1 = Tensor.Zeros(hidden);
            W2 = Tensor.RandomUniform([hidden, classes], rng, -l2, l2);
            B2 = Tensor.Zeros(classes);
            _params = [W1, B1, W2, B2];
            foreach (var p in _params)
                p.RequiresGrad = true;
            _m = _params.Select(p => new float[p.Size]).ToArray();
            _v = _params.Select(p => new float[p.Size]).ToArray();
        }

        public Tensor Logits(Tensor x) => (x.MatMul(W1) + B1).Tanh().MatMul(W2) + B2;

        public float TrainStep(Tensor x, Tensor oneHot, float lr)
        {
            foreach (var p in _params)
                p.ZeroGrad();
            var loss = -(Logits(x).LogSoftmax() * oneHot).Sum(1).Mean();
            loss.Backward();
            _step++;
            const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
            float c1 = 1 - MathF.Pow(b1, _step), c2 = 1 - MathF.Pow(b2, _step);
            for (int i = 0; i < _params.Length; i++)
            {
                var w = _params[i].Data;
                var g = _params[i].Grad!.Span;
                for (int j = 0; j < w.Length; j++)
                {
                    _m[i][j] = b1 * _m[i][j] + (1 - b1) * g[j];
                    _v[i][j] = b2 * _v[i][j] + (1 - b2) * g[j] * g[j];
                    w[j] -= lr * (_m[i][j] / c1) / (MathF.Sqrt(_v[i][j] / c2) + eps);
                }
            }
            return loss.ToScalar();
        }

        public float Accuracy(Tensor x, int[] labels)
        {
            using var _ = GradMode.Disable();
            var pred = Logits(x).ArgMax(1).ToArray();
            return pred.Where((p, i) => (int)p == labels[i]).Count() / (float)labels.Length;
        }

        public float[] Weights() => _params.SelectMany(p => p.ToArray()).ToArray();
    }

    [Fact]
    public void Learns_xor()
    {
        var x = Tensor.FromArray([0, 0, 0, 1, 1, 0, 1, 1], 4, 2);
        int[] labels = [0, 1, 1, 0];
        var y = Tensor.OneHot(labels, 2);
        var net = new TwoLayerNet(2, 8, 2, seed: 3);
        float first = net.TrainStep(x, y, 0.05f), last = first;
        for (int i = 0; i < 300; i++)
            last = net.TrainStep(x, y, 0.05f);
        Assert.Equal(1f, net.Accuracy(x, labels));
        Assert.True(last < 0.05f * first, $"loss {first} → {last}");
    }

    /// <summary>Two interleaved half-moons with Gaussian noise (σ = 0.1), as in scikit-learn's make_moons.</summary>
    private static (Tensor X, int[] Labels) Moons(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var data = new float[n * 2];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 2;
            float t = MathF.PI * rng.NextFloat();
            float px = c == 0 ? MathF.Cos(t) : 1 - MathF.Cos(t);
            float py = c == 0 ? MathF.Sin(t) : 0.5f - MathF.Sin(t);
            data[2 * i] = px + 0.1f * rng.NextNormal();
            data[2 * i + 1] = py + 0.1f * rng.NextNormal();
            labels[i] = c;
        }
        return (Tensor.FromArray(data, n, 2), labels);
    }

    private static (float Accuracy, float[] Weights) TrainMoons(ulong seed)
    {
        var (x, labels) = Moons(1000, seed: 11);
        var (testX, testLabels) = Moons(1000, seed: 12);
        var net = new TwoLayerNet(2, 16, 2, seed);
        var rng = new Rng(seed + 1);
        var order = Enumerable.Range(0, 1000).ToArray();
        for (int epoch = 0; epoch < 40; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            for (int b = 0; b < 1000; b += 50)
            {
                var idx = order[b..(b + 50)];
                var bx = x.IndexSelect(0, idx);
                var by = Tensor.OneHot(idx.Select(i => labels[i]).ToArray(), 2);
                net.TrainStep(bx, by, 0.01f);
            }
        }
        return (net.Accuracy(testX, testLabels), net.Weights());
    }

    [Fact]
    public void Learns_noisy_moons_to_97_percent_and_is_bit_reproducible()
    {
        var (accuracy, weights) = TrainMoons(seed: 5);
        Assert.True(accuracy >= 0.97f, $"test accuracy {accuracy:P1}");
        var (accuracy2, weights2) = TrainMoons(seed: 5);
        Assert.Equal(accuracy, accuracy2);
        Assert.Equal(weights, weights2); // bit-identical
        var (_, weights3) = TrainMoons(seed: 6);
        Assert.NotEqual(weights, weights3);
    }
}

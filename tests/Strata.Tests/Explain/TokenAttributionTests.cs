using Strata.Explain;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Explain;

public sealed class TokenAttributionTests
{
    private const int Vocabulary = 20, Steps = 10, Key = 7;

    /// <summary>Sequences of tokens 2..19 (id 0 pads the tail); the class is whether token 7 occurs.</summary>
    private static (Tensor X, Tensor Y) Sequences(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[n * Steps];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            int length = 5 + (int)(rng.NextUInt() % 6);
            bool key = i % 2 == 0;
            int at = (int)(rng.NextUInt() % (uint)length);
            for (int t = 0; t < length; t++)
            {
                int id;
                do
                    id = 2 + (int)(rng.NextUInt() % (Vocabulary - 2));
                while (id == Key);
                x[i * Steps + t] = key && t == at ? Key : id;
            }
            y[i] = key ? 1 : 0;
        }
        return (Tensor.FromArray(x, n, Steps), Tensor.FromArray(y));
    }

    private static Sequential Train(Layer middle, int epochs)
    {
        var (x, y) = Sequences(1200, 1);
        var model = new Sequential([new Input([Steps]), new Embedding(Vocabulary, 8, maskZero: true), middle, new Dense(2, "softmax")], seed: 3);
        model.Compile(new Adam(0.02f), new SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(x, y, epochs: epochs, batchSize: 32, seed: 1);
        return model;
    }

    [Theory]
    [InlineData("pooling")]
    [InlineData("lstm")]
    public void The_key_token_gets_the_largest_attribution_and_attributions_are_complete(string kind)
    {
        var model = kind == "lstm" ? Train(new Lstm(8), epochs: 6) : Train(new GlobalAveragePooling1D(), epochs: 10);
        var (x, y) = Sequences(100, 2);
        var accuracy = model.Evaluate(x, y)["accuracy"];
        Assert.True(accuracy > 0.95f, $"{kind}: accuracy {accuracy}");
        var ig = new Explainer(model).TokenIntegratedGradients(x, [.. Enumerable.Repeat(1, 100)], steps: 256, baselineToken: 2);
        Assert.Equal(new Shape([100, Steps]), ig.Map.Shape);
        int hits = 0, positives = 0;
        for (int i = 0; i < 100; i += 2)
        {
            positives++;
            var row = ig.Map.Span.Slice(i * Steps, Steps);
            int best = 0;
            for (int t = 1; t < Steps; t++)
            {
                if (row[t] > row[best])
                    best = t;
            }
            if (x.Span[i * Steps + best] == Key)
                hits++;
        }
        Assert.True(hits >= 0.9 * positives, $"{kind}: the key token is the most attributed in {hits} of {positives}");
        // Completeness where the target output changes along the path (the sequences with the key; for the
        // others both ends are ≈ 0 and a relative error means nothing).
        for (int i = 0; i < 100; i += 2)
        {
            float diff = ig.Scores[i] - ig.BaselineScores![i];
            Assert.True(MathF.Abs(diff) > 0.2f, $"{kind}: sequence {i}: f(x) − f(baseline) = {diff}");
            Assert.True(ig.CompletenessError![i] < 0.01f, $"{kind}: sequence {i}: completeness error {ig.CompletenessError[i]} (difference {diff})");
        }
        Assert.Matches("step:explain:tokens@embedding.*: compiled plan", model.ExecutionPath);
    }
}

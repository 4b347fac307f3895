using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Ops;

namespace Strata.Tests.Layers;

/// <summary>
/// The sequence layers as a user meets them: masks (a padded sequence gives the unpadded output),
/// return_sequences / return_state / go_backwards, Bidirectional's merge modes, initial states,
/// errors, and long-range memory on the adding problem.
/// </summary>
public class RecurrentLayerTests
{
    private static Tensor Ids(float[][] rows, int length)
    {
        var data = new float[rows.Length * length];
        for (int r = 0; r < rows.Length; r++)
            rows[r].CopyTo(data, r * length);
        return Tensor.FromArray(data, rows.Length, length);
    }

    private static readonly float[][] s_sentences = [[3, 7, 1, 9, 4, 2, 8], [5, 5, 2], [9, 1, 6, 6, 3]];

    /// <summary>Each sentence alone at its own length, and all of them post-padded with 0 to 10 steps in one batch.</summary>
    private static void AssertPaddedEqualsUnpadded(Func<Layer[]> stack, float tolerance = 1e-5f)
    {
        var padded = new Sequential(stack(), seed: 3);
        var output = padded.Predict(Ids(s_sentences, 10)).ToArray();
        for (int r = 0; r < s_sentences.Length; r++)
        {
            var alone = new Sequential(stack(), seed: 3); // same seed: same weights
            var y = alone.Predict(Ids([s_sentences[r]], s_sentences[r].Length)).ToArray();
            int width = y.Length;
            for (int i = 0; i < width; i++)
                Assert.True(Math.Abs(output[r * width + i] - y[i]) <= tolerance, $"sentence {r}, output {i}: padded {output[r * width + i]}, alone {y[i]}");
        }
    }

    [Fact]
    public void Padded_sequences_give_the_unpadded_outputs_through_every_recurrent_layer()
    {
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Lstm(5)]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Gru(5)]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new SimpleRnn(5)]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Bidirectional(new Lstm(3))]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Bidirectional(new Gru(3), "sum")]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Lstm(3, goBackwards: true)]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Lstm(4, returnSequences: true), new Gru(3)]);
    }

    [Fact]
    public void Padded_sequences_give_the_unpadded_outputs_through_pooling_and_convolution()
    {
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new GlobalAveragePooling1D()]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new GlobalMaxPooling1D()]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Dense(3, "relu"), new GlobalAveragePooling1D()]);
        // The recurrent-convolutional network: Conv1D and 1-D pooling pass the mask on to the LSTM.
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Conv1D(3, 2, activation: "relu"), new MaxPooling1D(2), new Lstm(3)]);
        AssertPaddedEqualsUnpadded(() => [new Embedding(12, 4, maskZero: true), new Conv1D(3, 3, padding: Padding.Same), new AveragePooling1D(2, padding: Padding.Same), new Gru(3)]);
    }

    [Fact]
    public void Masking_skips_steps_that_equal_the_mask_value()
    {
        // Steps of all −1 are padding: the output equals the LSTM on the real steps alone.
        var x = Tensor.FromArray([0.5f, 0.1f, -0.3f, 0.7f, -1, -1, -1, -1], 1, 4, 2);
        var model = new Sequential([new Masking(-1), new Lstm(3)], seed: 2);
        var y = model.Predict(x).ToArray();
        var alone = new Sequential([new Masking(-1), new Lstm(3)], seed: 2);
        var expected = alone.Predict(x.Slice(1, 0, 2)).ToArray();
        Assert.Equal(expected.Length, y.Length);
        for (int i = 0; i < y.Length; i++)
            Assert.Equal(expected[i], y[i], 5);
        // The output zeroes the masked steps (Keras' Masking.call).
        var masked = new Masking(-1).Forward(x).ToArray();
        Assert.Equal([0.5f, 0.1f, -0.3f, 0.7f, 0, 0, 0, 0], masked);
    }

    [Fact]
    public void Return_sequences_state_and_go_backwards_have_keras_shapes_and_values()
    {
        var x = TestData.Tensor(4, 2, 6, 3);
        var seq = new Lstm(4, returnSequences: true);
        var all = seq.Forward(x);
        Assert.Equal(new Shape(2, 6, 4), all.Shape);
        var result = seq.Run(x);
        Assert.Equal(2, result.States.Count);
        // h is the last output step; c differs from h.
        Assert.Equal(all.Slice(1, 5, 1).Reshape(2, 4).ToArray(), result.States[0].ToArray());
        Assert.NotEqual(result.States[0].ToArray(), result.States[1].ToArray());

        var last = new Gru(4);
        Assert.Equal(new Shape(2, 4), last.Forward(x).Shape);
        Assert.Single(last.Run(x).States);

        // go_backwards = the forward layer on the reversed sequence, outputs in processing order.
        var fwd = new SimpleRnn(3, returnSequences: true);
        var back = new SimpleRnn(3, returnSequences: true, goBackwards: true);
        fwd.Build(new Shape(6, 3));
        back.Build(new Shape(6, 3));
        for (int i = 0; i < fwd.Weights.Count; i++)
            fwd.Weights[i].Value.Span.CopyTo(back.Weights[i].Value.AsWritableSpan());
        var reversed = x.IndexSelect(1, [5, 4, 3, 2, 1, 0]);
        Assert.Equal(fwd.Forward(reversed).ToArray(), back.Forward(x).ToArray());
    }

    [Fact]
    public void Initial_state_continues_a_sequence()
    {
        // Running the first half, then the second from the first half's states, equals running all of it.
        var x = TestData.Tensor(5, 2, 8, 3);
        foreach (RecurrentLayer layer in new RecurrentLayer[] { new Lstm(4), new Gru(4), new SimpleRnn(4) })
        {
            var whole = layer.Run(x).Output.ToArray();
            var first = layer.Run(x.Slice(1, 0, 3));
            var second = layer.Run(x.Slice(1, 3, 5), initialState: first.States).Output.ToArray();
            for (int i = 0; i < whole.Length; i++)
                Assert.Equal(whole[i], second[i], 5);
        }
        var e = Assert.Throws<ArgumentException>(() => new Lstm(4).Run(x, initialState: [Tensor.Zeros(2, 4)]));
        Assert.Contains("expected 2 initial state", e.Message);
    }

    [Theory]
    [InlineData("concat")]
    [InlineData("sum")]
    [InlineData("mul")]
    [InlineData("ave")]
    public void Bidirectional_merges_a_forward_and_a_backward_copy(string mode)
    {
        var x = TestData.Tensor(6, 2, 5, 3);
        var bi = new Bidirectional(new Gru(3, returnSequences: true), mode);
        var y = bi.Forward(x);
        var f = bi.ForwardLayer.Forward(x).ToArray();
        var b = bi.BackwardCopy.Forward(x).IndexSelect(1, [4, 3, 2, 1, 0]).ToArray(); // back in time order
        Assert.Equal(new Shape(2, 5, mode == "concat" ? 6 : 3), y.Shape);
        var got = y.ToArray();
        for (int s = 0; s < 10; s++)
            for (int j = 0; j < 3; j++)
            {
                float fv = f[s * 3 + j], bv = b[s * 3 + j];
                if (mode == "concat")
                {
                    Assert.Equal(fv, got[s * 6 + j]);
                    Assert.Equal(bv, got[s * 6 + 3 + j]);
                }
                else
                {
                    float expected = mode switch { "sum" => fv + bv, "mul" => fv * bv, _ => (fv + bv) * 0.5f };
                    Assert.Equal(expected, got[s * 3 + j], 6);
                }
            }
        Assert.Equal(["forward_" + bi.Layer.Name, "backward_" + bi.Layer.Name], new[] { bi.ForwardLayer.Name, bi.BackwardCopy.Name });
        Assert.Equal(6, bi.Weights.Count);
        Assert.StartsWith(bi.Name + "/forward_", bi.Weights[0].Name);
    }

    [Fact]
    public void Bad_input_names_the_layer_and_the_value()
    {
        var emb = new Embedding(5, 2);
        var e = Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.FromArray([1, 2, 7], 1, 3)));
        Assert.Contains(emb.Name, e.Message);
        Assert.Contains("7", e.Message);
        e = Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.FromArray([1, -1, 0], 1, 3)));
        Assert.Contains("-1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Embedding(5, 2).Forward(Tensor.FromArray([1.5f, 2, 0], 1, 3)));
        Assert.Contains("1.5", e.Message);
        var lstm = new Lstm(3);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(2, 4)));
        Assert.Contains(lstm.Name, e.Message);
        Assert.Contains("[batch, steps, features]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gru(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(3, dropout: 1f));
        e = Assert.Throws<ArgumentException>(() => new Bidirectional(new Dense(3)));
        Assert.Contains("recurrent", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Bidirectional(new Lstm(3), "max"));
        Assert.Contains("max", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Lstm(3, activation: "gelu"));
        Assert.Contains("gelu", e.Message);
    }

    [Fact]
    public void Orthogonal_initializer_gives_orthonormal_rows_or_columns()
    {
        foreach (int[] shape in new[] { new[] { 4, 16 }, new[] { 12, 5 }, new[] { 6, 6 } })
        {
            var q = Initializers.Orthogonal.Create(shape, new Rng(3));
            var gram = shape[0] <= shape[1] ? q.MatMul(q.T) : q.T.MatMul(q);
            int n = gram.Shape[0];
            var g = gram.ToArray();
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    Assert.Equal(i == j ? 1f : 0f, g[i * n + j], 4);
        }
    }

    /// <summary>
    /// The adding problem (Hochreiter and Schmidhuber): 100 steps of (value, marker); the target is
    /// the sum of the two marked values. Predicting the mean gives an MSE of about 0.17; memory over
    /// the whole sequence brings it below 0.01.
    /// </summary>
    internal static (Tensor X, Tensor Y) AddingProblem(int samples, int steps, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[samples * steps * 2];
        var y = new float[samples];
        for (int s = 0; s < samples; s++)
        {
            int a = rng.NextInt(steps / 2), b = steps / 2 + rng.NextInt(steps / 2);
            for (int t = 0; t < steps; t++)
            {
                float v = rng.NextFloat();
                x[(s * steps + t) * 2] = v;
                if (t == a || t == b)
                {
                    x[(s * steps + t) * 2 + 1] = 1;
                    y[s] += v;
                }
            }
        }
        return (Tensor.FromArray(x, samples, steps, 2), Tensor.FromArray(y, samples, 1));
    }

    [Theory]
    [InlineData("gru")]
    [InlineData("lstm")]
    public void Lstm_and_gru_remember_across_100_steps(string kind)
    {
        var (x, y) = AddingProblem(6000, 100, 1);
        var (xt, yt) = AddingProblem(1000, 100, 2);
        var model = new Sequential([new Input([100, 2]), kind == "gru" ? new Gru(32) : new Lstm(32), new Dense(1)], seed: 4);
        model.Compile(new Adam(0.005f), new MeanSquaredError());
        float mse = float.NaN;
        for (int round = 0; round < 12; round++)
        {
            model.Fit(x, y, epochs: 1, batchSize: 64, verbose: false);
            mse = model.Evaluate(xt, yt)["loss"];
            if (mse < 0.01f)
                break;
        }
        Assert.True(mse < 0.01f, $"{kind}: held-out MSE {mse} (the mean predictor gives about 0.17)");
    }
}

public class VariableLengthTests
{
    [Fact]
    public void A_built_sequence_model_takes_other_lengths_through_per_step_layers()
    {
        var model = new Sequential([new Embedding(12, 4, maskZero: true), new Dropout(0.2f), new Bidirectional(new Lstm(3, returnSequences: true)),
            new Dense(3, "tanh"), new GlobalMaxPooling1D(), new Dense(2)], seed: 1);
        Assert.Equal(new Shape(2, 2), model.Predict(Tensor.FromArray([1, 2, 3, 4, 5, 6, 7, 8, 9, 1], 2, 5)).Shape);
        Assert.Equal(new Shape(1, 2), model.Predict(Tensor.FromArray([3, 4, 5, 0, 0, 0, 0], 1, 7)).Shape);
        // A plain Dense on vectors still checks its width.
        var dense = new Dense(2);
        dense.Forward(Tensor.Zeros(1, 3));
        Assert.Throws<ArgumentException>(() => dense.Forward(Tensor.Zeros(1, 4)));
        Assert.Throws<ArgumentException>(() => new Lstm(3, recurrentActivation: "softmax"));
    }
}

public class WrapperWeightFileTests
{
    [Fact]
    public void Weights_of_wrapped_layers_load_into_a_model_rebuilt_with_other_generated_names()
    {
        static Sequential Build(ulong seed) => new([new Input([5, 3]), new Bidirectional(new Lstm(2, returnSequences: true)), new TimeDistributed(new Dense(2)), new SimpleRnn(2)], seed);
        var x = TestData.Tensor(3, 2, 5, 3);
        var first = Build(1);
        var expected = first.Predict(x).ToArray();
        new Lstm(1); // moves the generated-name counters on: the rebuilt model's inner layers get other names
        var second = Build(2);
        Assert.NotEqual(first.Weights.First().Name, second.Weights.First().Name);
        var dir = Directory.CreateTempSubdirectory("strata-wrap-");
        try
        {
            var path = Path.Combine(dir.FullName, "w.safetensors");
            first.SaveWeights(path);
            second.Predict(x); // built
            second.LoadWeights(path);
            Assert.Equal(expected, second.Predict(x).ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

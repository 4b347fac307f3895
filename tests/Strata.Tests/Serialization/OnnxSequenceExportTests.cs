using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Serialization;

/// <summary>The sequence layers exported to ONNX give Strata's outputs in ONNX Runtime, masks included.</summary>
public sealed class OnnxSequenceExportTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-onnx-seq-");

    public void Dispose() => _dir.Delete(recursive: true);

    private float[] ExportAndCompare(Model model, params Tensor[] x) => OnnxRuntimeCheck.ExportAndCompare(_dir.FullName, model, x);

    private const int Vocabulary = 12, Steps = 7;

    /// <summary>
    /// Id rows [6, 7] with every kind of padding: post-padded, full, pre-padded, holes in the middle,
    /// nothing but padding, a single token.
    /// </summary>
    private static Tensor PaddedIds() => Tensor.FromArray(
    [
        3, 5, 1, 7, 0, 0, 0,
        2, 9, 4, 4, 11, 6, 8,
        0, 0, 0, 5, 2, 7, 1,
        4, 0, 6, 0, 0, 9, 3,
        0, 0, 0, 0, 0, 0, 0,
        10, 0, 0, 0, 0, 0, 0,
    ], 6, Steps);

    /// <summary>Vectors large enough to drive the cells away from zero.</summary>
    private static Embedding Embed(bool maskZero) => new(Vocabulary, 3, Initializers.RandomUniform(-1.5f, 1.5f), maskZero: maskZero);

    private static IInitializer Bias => Initializers.RandomUniform(-0.5f, 0.5f);

    private static RecurrentLayer Cell(string kind, int units, bool sequences, bool backwards, ActivationFunction? activation = null,
        ActivationFunction? recurrentActivation = null, bool useBias = true) => kind switch
    {
        "rnn" => new SimpleRnn(units, activation, useBias, returnSequences: sequences, goBackwards: backwards, biasInitializer: Bias),
        "lstm" => new Lstm(units, activation, recurrentActivation, useBias, returnSequences: sequences, goBackwards: backwards, biasInitializer: Bias),
        _ => new Gru(units, activation, recurrentActivation, useBias, returnSequences: sequences, goBackwards: backwards, biasInitializer: Bias),
    };

    /// <summary>The exported graph's recurrent nodes as "op direction".</summary>
    private static string[] RecurrentNodes(Model model) =>
    [
        .. Onnx.OnnxExporter.Build(model).Graph.Node.Where(n => n.OpType is "RNN" or "LSTM" or "GRU")
            .Select(n => $"{n.OpType} {n.Attribute.Single(a => a.Name == "direction").S.ToStringUtf8()}"),
    ];

    private static Sequential Built(Sequential model, Tensor x)
    {
        model.Predict(x);
        return model;
    }

    [Theory]
    [InlineData("rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void Each_cell_matches_with_every_option_with_and_without_a_mask(string kind)
    {
        var x = Tensor.RandomUniform([4, Steps, 3], -1.5f, 1.5f, 3);
        var ids = PaddedIds();
        ulong seed = 10;
        foreach (bool sequences in new[] { false, true })
        {
            foreach (bool backwards in new[] { false, true })
            {
                string options = $"{(sequences ? "seq" : "last")}_{(backwards ? "back" : "fwd")}";
                ExportAndCompare(Built(new Sequential([new Input([Steps, 3]), Cell(kind, 4, sequences, backwards)], seed++, $"{kind}_{options}"), x), x);
                // ids through Embedding(mask_zero): masked steps carry the state on (and repeat the output) as in Strata, whatever the padding.
                ExportAndCompare(Built(new Sequential([new Input([Steps]), Embed(true), Cell(kind, 4, sequences, backwards)], seed++, $"{kind}_{options}_masked"), ids), ids);
                ExportAndCompare(Built(new Sequential([new Input([Steps]), Embed(false), Cell(kind, 4, sequences, backwards)], seed++, $"{kind}_{options}_unmasked_ids"), ids), ids);
            }
        }
    }

    [Fact]
    public void Masked_and_unmasked_sequences_differ_so_the_mask_is_really_exported()
    {
        // The same weights with and without mask_zero give different outputs on padded rows: the export must follow the mask.
        var ids = PaddedIds();
        var masked = Built(new Sequential([new Input([Steps]), Embed(true), new Lstm(3, returnSequences: true)], 4, "mask_on"), ids);
        var unmasked = Built(new Sequential([new Input([Steps]), Embed(false), new Lstm(3, returnSequences: true)], 4, "mask_off"), ids);
        var a = ExportAndCompare(masked, ids);
        var b = ExportAndCompare(unmasked, ids);
        Assert.NotEqual(a, b);
        // Row 0 is post-padded after 4 tokens: its steps 4..6 repeat step 3 (ONNX's sequence_lens alone would write zeros there).
        for (int t = 4; t < Steps; t++)
            Assert.Equal(a.AsSpan(3 * 3, 3).ToArray(), a.AsSpan(t * 3, 3).ToArray());
        Assert.NotEqual(0f, a[3 * 3]);
    }

    [Fact]
    public void Activations_and_bias_options_map_to_the_onnx_attributes()
    {
        var x = Tensor.RandomUniform([3, 5, 2], -1f, 1f, 5);
        var ids = PaddedIds();
        var leaky = ActivationFunction.LeakyRelu(0.3f);
        (string, RecurrentLayer)[] cases =
        [
            ("rnn_relu", new SimpleRnn(3, "relu", returnSequences: true, biasInitializer: Bias)),
            ("rnn_leaky", new SimpleRnn(3, leaky, biasInitializer: Bias)),
            ("rnn_linear", new SimpleRnn(3, "linear", returnSequences: true, goBackwards: true, biasInitializer: Bias)),
            ("rnn_sigmoid_nobias", new SimpleRnn(3, "sigmoid", useBias: false)),
            ("lstm_linear_leaky", new Lstm(3, "linear", leaky, returnSequences: true, biasInitializer: Bias)),
            ("lstm_relu_sigmoid", new Lstm(3, "relu", "sigmoid", goBackwards: true, biasInitializer: Bias)),
            ("lstm_nobias", new Lstm(3, useBias: false, returnSequences: true, unitForgetBias: false)),
            ("gru_leaky_linear", new Gru(3, leaky, "linear", returnSequences: true, biasInitializer: Bias)),
            ("gru_tanh_relu", new Gru(3, "tanh", "relu", goBackwards: true, biasInitializer: Bias)),
            ("gru_nobias", new Gru(3, useBias: false, returnSequences: true)),
        ];
        ulong seed = 30;
        foreach (var (name, layer) in cases)
            ExportAndCompare(Built(new Sequential([new Input([5, 2]), layer], seed++, name), x), x);
        // With a mask (sequence_lens given, so an absent bias is an empty input).
        var masked = Built(new Sequential([new Input([Steps]), Embed(true), new Gru(3, "linear", leaky, useBias: false, returnSequences: true)], seed, "gru_masked_nobias"), ids);
        ExportAndCompare(masked, ids);
    }

    [Theory]
    [InlineData("concat")]
    [InlineData("sum")]
    [InlineData("mul")]
    [InlineData("ave")]
    public void Bidirectional_merges_match_with_and_without_a_mask(string mode)
    {
        var x = Tensor.RandomUniform([4, Steps, 3], -1.5f, 1.5f, 7);
        var ids = PaddedIds();
        ulong seed = 50;
        foreach (string kind in new[] { "rnn", "lstm", "gru" })
        {
            foreach (bool sequences in new[] { false, true })
            {
                string name = $"bi_{mode}_{kind}_{(sequences ? "seq" : "last")}";
                ExportAndCompare(Built(new Sequential([new Input([Steps, 3]), new Bidirectional(Cell(kind, 3, sequences, false), mode)], seed++, name), x), x);
                ExportAndCompare(Built(new Sequential([new Input([Steps]), Embed(true), new Bidirectional(Cell(kind, 3, sequences, false), mode)], seed++, name + "_masked"), ids), ids);
                // A template that goes backwards: its forward copy is the reverse one, and the output is in processing order.
                ExportAndCompare(Built(new Sequential([new Input([Steps]), Embed(true), new Bidirectional(Cell(kind, 3, sequences, true), mode)], seed++, name + "_masked_back"), ids), ids);
                ExportAndCompare(Built(new Sequential([new Input([Steps, 3]), new Bidirectional(Cell(kind, 3, sequences, true), mode)], seed++, name + "_back"), x), x);
            }
        }
    }

    [Fact]
    public void Bidirectional_with_a_different_backward_layer_runs_as_two_nodes()
    {
        var x = Tensor.RandomUniform([3, Steps, 3], -1.5f, 1.5f, 9);
        var ids = PaddedIds();
        var wider = Built(new Sequential([new Input([Steps, 3]),
            new Bidirectional(new Lstm(3, returnSequences: true), backwardLayer: new Lstm(5, returnSequences: true, goBackwards: true, biasInitializer: Bias))], 1, "bi_two_widths"), x);
        ExportAndCompare(wider, x);
        Assert.Equal(["LSTM forward", "LSTM reverse"], RecurrentNodes(wider));
        var mixed = Built(new Sequential([new Input([Steps]), Embed(true),
            new Bidirectional(new Lstm(3, biasInitializer: Bias), "sum", new Gru(3, goBackwards: true, biasInitializer: Bias))], 2, "bi_lstm_gru"), ids);
        ExportAndCompare(mixed, ids);
        Assert.Equal(["LSTM forward", "GRU reverse"], RecurrentNodes(mixed));
        var activations = Built(new Sequential([new Input([Steps]), Embed(true),
            new Bidirectional(new SimpleRnn(3, "relu", returnSequences: true), "ave", new SimpleRnn(3, ActivationFunction.LeakyRelu(0.2f), returnSequences: true, goBackwards: true))], 3, "bi_rnn_two_activations"), ids);
        ExportAndCompare(activations, ids);
        Assert.Equal(["RNN forward", "RNN reverse"], RecurrentNodes(activations));
        // Copies that agree share one node, masked or not.
        var same = Built(new Sequential([new Input([Steps]), Embed(true), new Bidirectional(new Gru(3, returnSequences: true), "mul")], 4, "bi_one_node"), ids);
        ExportAndCompare(same, ids);
        Assert.Equal(["GRU bidirectional"], RecurrentNodes(same));
    }

    [Fact]
    public void Stacked_masked_layers_time_distributed_and_masking_match()
    {
        var ids = PaddedIds();
        // The mask flows through every layer that passes it on, into each recurrent layer after it.
        var stacked = Built(new Sequential(
        [
            new Input([Steps]),
            Embed(true),
            new Gru(4, returnSequences: true, goBackwards: true, biasInitializer: Bias),
            new TimeDistributed(new Dense(3, "tanh")),
            new Dropout(0.5f),
            new Dense(3),
            new Bidirectional(new Lstm(3, returnSequences: true, biasInitializer: Bias)),
            new SimpleRnn(2, biasInitializer: Bias),
        ], 5, "stacked"), ids);
        ExportAndCompare(stacked, ids);

        // Masking on floats: whole steps equal to the mask value are padding, anywhere in the row.
        var data = Tensor.RandomUniform([4, Steps, 2], -1f, 1f, 11).ToArray();
        foreach (var (row, step) in new[] { (0, 5), (0, 6), (1, 0), (1, 3), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4), (3, 5), (3, 6) })
            data[(row * Steps + step) * 2] = data[(row * Steps + step) * 2 + 1] = 0.5f;
        var x = Tensor.FromArray(data, 4, Steps, 2);
        var masking = Built(new Sequential([new Input([Steps, 2]), new Masking(0.5f), new Lstm(3, returnSequences: true, biasInitializer: Bias)], 6, "masking_lstm"), x);
        ExportAndCompare(masking, x);

        // TimeDistributed over a nested sequence: an Lstm per outer step, then a Flatten.
        var nested = Tensor.RandomUniform([3, 4, 5, 2], -1f, 1f, 12);
        ExportAndCompare(Built(new Sequential([new Input([4, 5, 2]), new TimeDistributed(new Lstm(3, biasInitializer: Bias)), new Flatten()], 7, "td_lstm"), nested), nested);
        ExportAndCompare(Built(new Sequential([new Input([4, 5, 2]), new TimeDistributed(new Conv1D(2, 3, activation: "relu")), new Flatten()], 8, "td_conv"), nested), nested);
    }

    [Fact]
    public void The_other_mask_consumers_match()
    {
        var ids = PaddedIds();
        Layer[][] heads =
        [
            [new GlobalAveragePooling1D()],
            [new GlobalMaxPooling1D()],
            [new Conv1D(3, 2), new GlobalAveragePooling1D()],
            [new Conv1D(3, 3, strides: 2, padding: Padding.Same), new GlobalMaxPooling1D()],
            [new Conv1D(3, 2, padding: Padding.Causal), new Lstm(2)],
            [new MaxPooling1D(2), new GlobalAveragePooling1D()],
            [new AveragePooling1D(3, strides: 2, padding: Padding.Same), new Gru(2)],
            [new AveragePooling1D(2), new Lstm(2, goBackwards: true)],
        ];
        ulong seed = 70;
        foreach (var head in heads)
        {
            string name = "masked_" + string.Join("_", head.Select(l => l.GetType().Name.ToLowerInvariant()));
            ExportAndCompare(Built(new Sequential([new Input([Steps]), Embed(true), .. head], seed++, name + seed), ids), ids);
        }

        // Merges multiply their inputs' masks (functional model).
        var input = Input.Create([Steps]);
        var embedded = Embed(true).Apply(input);
        var a = new Dense(3).Apply(embedded);
        var b = new Lstm(3, returnSequences: true).Apply(embedded);
        var merged = new Concatenate().Apply(new Add().Apply(a, b), b);
        var output = new Dense(2).Apply(new Gru(3).Apply(merged));
        var graph = new Model(input, output, 9, "masked_graph");
        graph.Predict(ids);
        ExportAndCompare(graph, ids);
    }

    [Fact]
    public void The_text_zoo_model_matches()
    {
        var text = ModelZoo.Text(8);
        var ids = Tensor.FromArray(Enumerable.Range(0, 40).Select(i => (float)(i < 25 ? (i * 7) % 19 + 1 : i % 3 == 0 ? (i % 19) + 1 : 0)).ToArray(), 4, 10);
        text.Predict(ids);
        ExportAndCompare(text, ids);
    }

    [Fact]
    public void A_trained_bidirectional_lstm_text_classifier_gives_the_same_predictions_in_onnx_runtime()
    {
        // Post-padded id sequences; class 1 when token 1 or 2 occurs (a keyword detector the model must learn).
        const int vocabulary = 30, steps = 12, train = 640, test = 200;
        var rng = new Random(5);
        Tensor ids, labels;
        (ids, labels) = Make(train + test);
        var model = new Sequential(
        [
            new Input([steps]),
            new Embedding(vocabulary, 8, maskZero: true),
            new Bidirectional(new Lstm(8)),
            new Dense(2, "softmax"),
        ], seed: 3, name: "bilstm_classifier");
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
        model.Fit(ids.Slice(..train), labels.Slice(..train), epochs: 8, batchSize: 32, seed: 1);
        var testIds = ids.Slice(train..);
        var probabilities = ExportAndCompare(model, testIds);
        var truth = labels.Slice(train..).ToArray();
        int correct = 0;
        for (int i = 0; i < test; i++)
            correct += (probabilities[2 * i + 1] > probabilities[2 * i] ? 1 : 0) == (int)truth[i] ? 1 : 0;
        Assert.True(correct >= 180, $"ONNX Runtime classifies {correct} of {test} test sequences correctly");

        (Tensor, Tensor) Make(int count)
        {
            var x = new float[count * steps];
            var y = new float[count];
            for (int i = 0; i < count; i++)
            {
                int length = rng.Next(2, steps + 1);
                bool positive = rng.Next(2) == 1;
                for (int t = 0; t < length; t++)
                    x[i * steps + t] = rng.Next(3, vocabulary);
                if (positive)
                    x[i * steps + rng.Next(length)] = rng.Next(1, 3);
                y[i] = positive ? 1 : 0;
            }
            return (Tensor.FromArray(x, count, steps), Tensor.FromArray(y, count));
        }
    }

    [Fact]
    public void What_the_recurrent_ops_cannot_express_is_named()
    {
        // Softmax is the one fused activation the ONNX ops cannot take; the layers now refuse it as a gate
        // activation up front (the cell applies activations element by element), so it never reaches the exporter.
        var e = Assert.Throws<ArgumentException>(() => new Lstm(3, recurrentActivation: "softmax", name: "soft_lstm"));
        Assert.Contains("softmax", e.Message);
        Assert.Throws<ArgumentException>(() => new SimpleRnn(3, "softmax"));
        Assert.Empty(Directory.GetFiles(_dir.FullName));
    }
}

using Strata.Layers;
using Strata.Serialization;

namespace Strata.Tests.Layers;

/// <summary>
/// Every layer Strata ships, through <see cref="LayerHarness"/>: one or more cases per registered class,
/// and a test that fails when a registered class has none (a new layer must join the list).
/// </summary>
public sealed class LayerHarnessTests
{
    private static readonly LayerCase[] s_cases =
    [
        // Core
        new("Dense", () => new Dense(4, "tanh"), [[5]], 2, 5 * 4 + 4),
        new("Dense gelu, no bias, 3-D input", () => new Dense(3, "gelu", useBias: false), [[2, 5]], 1, 15),
        new("Dense swish with penalties and initializers", () => new Dense(3, "swish", kernelInitializer: Initializers.HeNormal,
            biasInitializer: Initializers.Ones, kernelRegularizer: Regularizer.OfL2(0.01f), biasRegularizer: Regularizer.OfL1L2(0.01f, 0.02f)), [[4]], 2, 15),
        new("Dense with random initializers", () => new Dense(3, kernelInitializer: Initializers.RandomNormal(0.5f, 2f),
            biasInitializer: Initializers.RandomUniform(-3f, -1f)), [[2]], 2, 9),
        new("Activation gelu", () => new Activation("gelu"), [[4]], 0, 0),
        new("Activation leaky_relu 0.1", () => new Activation(ActivationFunction.LeakyRelu(0.1f)), [[2, 3]], 0, 0) { Distinct = true },
        new("Flatten", () => new Flatten(), [[2, 3]], 0, 0),
        new("Reshape", () => new Reshape([3, -1]), [[6]], 0, 0),
        new("Dropout", () => new Dropout(0.5f), [[8]], 0, 0) { IdentityInInference = true },
        new("InputLayer", () => new Input([4]), [[4]], 0, 0),
        // Merge
        new("Add", () => new Add(), [[2, 3], [2, 3]], 0, 0),
        new("Add of three", () => new Add(), [[4], [4], [4]], 0, 0),
        new("Subtract", () => new Subtract(), [[2, 3], [2, 3]], 0, 0),
        new("Multiply", () => new Multiply(), [[2, 3], [2, 3]], 0, 0),
        new("Average", () => new Average(), [[2, 3], [2, 3]], 0, 0),
        new("Maximum", () => new Maximum(), [[2, 3], [2, 3]], 0, 0) { Distinct = true },
        new("Minimum", () => new Minimum(), [[2, 3], [2, 3]], 0, 0) { Distinct = true },
        new("Concatenate", () => new Concatenate(), [[2, 3], [2, 4]], 0, 0),
        new("Concatenate axis 1", () => new Concatenate(1), [[2, 3], [1, 3]], 0, 0),
        // Convolutions
        new("Conv2D", () => new Conv2D(4, 3, activation: "tanh"), [[6, 6, 2]], 2, 3 * 3 * 2 * 4 + 4),
        new("Conv2D strided, same, no bias", () => new Conv2D(3, (2, 3), (2, 2), Padding.Same, useBias: false), [[5, 6, 2]], 1, 2 * 3 * 2 * 3),
        new("Conv2D dilated gelu with penalty", () => new Conv2D(2, (2, 2), padding: Padding.Same, dilationRate: (2, 1), activation: "gelu",
            kernelRegularizer: Regularizer.OfL2(0.01f)), [[5, 5, 1]], 2, 2 * 2 * 1 * 2 + 2),
        new("Conv1D causal", () => new Conv1D(4, 3, padding: Padding.Causal, activation: "tanh"), [[7, 2]], 2, 3 * 2 * 4 + 4),
        new("Conv1D strided, dilated, same", () => new Conv1D(3, 2, strides: 2, padding: Padding.Same, dilationRate: 2, activation: "sigmoid"),
            [[8, 2]], 2, 2 * 2 * 3 + 3),
        new("Conv2DTranspose", () => new Conv2DTranspose(3, (3, 3), (2, 2), Padding.Same, activation: "tanh"), [[3, 4, 2]], 2, 3 * 3 * 3 * 2 + 3),
        new("Conv2DTranspose valid, gelu, no bias", () => new Conv2DTranspose(2, (2, 3), activation: "gelu", useBias: false), [[3, 3, 2]], 1, 2 * 3 * 2 * 2),
        new("DepthwiseConv2D", () => new DepthwiseConv2D((3, 3), padding: Padding.Same, depthMultiplier: 2, activation: "tanh"), [[5, 4, 3]], 2,
            3 * 3 * 3 * 2 + 6),
        new("DepthwiseConv2D strided, dilated, gelu", () => new DepthwiseConv2D((2, 2), (2, 1), dilationRate: (1, 2), activation: "gelu"),
            [[5, 5, 2]], 2, 2 * 2 * 2 + 2),
        // Pooling and resizing
        new("MaxPooling2D", () => new MaxPooling2D(2), [[6, 5, 3]], 0, 0) { Distinct = true },
        new("MaxPooling2D same, strided", () => new MaxPooling2D((3, 3), (2, 2), Padding.Same), [[5, 5, 2]], 0, 0) { Distinct = true },
        new("AveragePooling2D", () => new AveragePooling2D((3, 3), (2, 2), Padding.Same), [[6, 5, 3]], 0, 0),
        new("GlobalAveragePooling2D", () => new GlobalAveragePooling2D(), [[4, 3, 5]], 0, 0),
        new("GlobalMaxPooling2D", () => new GlobalMaxPooling2D(), [[4, 3, 5]], 0, 0) { Distinct = true },
        new("MaxPooling1D", () => new MaxPooling1D(2), [[7, 3]], 0, 0) { Distinct = true },
        new("AveragePooling1D", () => new AveragePooling1D(3, 2, Padding.Same), [[7, 3]], 0, 0),
        new("GlobalAveragePooling1D", () => new GlobalAveragePooling1D(), [[5, 4]], 0, 0),
        new("GlobalMaxPooling1D", () => new GlobalMaxPooling1D(), [[5, 4]], 0, 0) { Distinct = true },
        new("ZeroPadding2D", () => new ZeroPadding2D((1, 2), (0, 1)), [[3, 2, 2]], 0, 0),
        new("UpSampling2D", () => new UpSampling2D((2, 3)), [[2, 2, 3]], 0, 0),
        new("SpatialDropout1D", () => new SpatialDropout1D(0.5f), [[6, 4]], 0, 0) { IdentityInInference = true },
        new("SpatialDropout2D", () => new SpatialDropout2D(0.5f), [[4, 4, 3]], 0, 0) { IdentityInInference = true },
        // Sequences
        new("Embedding", () => new Embedding(7, 3), [[5]], 1, 21) { TokenIds = 7 },
        new("Embedding with mask_zero and a penalty", () => new Embedding(6, 2, Initializers.GlorotUniform, Regularizer.OfL2(0.01f), maskZero: true),
            [[4]], 1, 12) { TokenIds = 6 },
        new("Masking", () => new Masking(0.5f), [[4, 3]], 0, 0),
        new("SimpleRNN", () => new SimpleRnn(3), [[5, 2]], 3, 2 * 3 + 3 * 3 + 3),
        new("SimpleRNN sigmoid, sequences, backwards, dropout", () => new SimpleRnn(2, "sigmoid", returnSequences: true, goBackwards: true,
            dropout: 0.3f, recurrentDropout: 0.3f), [[4, 3]], 3, 3 * 2 + 2 * 2 + 2),
        new("LSTM", () => new Lstm(3), [[4, 2]], 3, 2 * 12 + 3 * 12 + 12),
        new("LSTM sequences, dropout, no forget bias, penalty", () => new Lstm(2, returnSequences: true, dropout: 0.25f, recurrentDropout: 0.25f,
            unitForgetBias: false, kernelRegularizer: Regularizer.OfL2(0.01f)), [[3, 3]], 3, 3 * 8 + 2 * 8 + 8),
        new("GRU", () => new Gru(3), [[4, 2]], 3, 2 * 9 + 3 * 9 + 18),
        new("GRU backwards, sequences, no bias", () => new Gru(2, useBias: false, returnSequences: true, goBackwards: true, recurrentDropout: 0.2f),
            [[5, 3]], 2, 3 * 6 + 2 * 6),
        new("Bidirectional LSTM", () => new Bidirectional(new Lstm(2)), [[4, 3]], 6, 2 * (3 * 8 + 2 * 8 + 8)),
        new("Bidirectional GRU sequences, sum", () => new Bidirectional(new Gru(2, returnSequences: true), "sum"), [[3, 2]], 6, 2 * (2 * 6 + 2 * 6 + 12)),
        new("Bidirectional with its own backward layer, ave", () => new Bidirectional(new SimpleRnn(2, returnSequences: true), "ave",
            new SimpleRnn(2, "sigmoid", returnSequences: true, goBackwards: true)), [[3, 2]], 6, 2 * (2 * 2 + 2 * 2 + 2)),
        new("TimeDistributed Dense", () => new TimeDistributed(new Dense(3, "tanh")), [[4, 2]], 2, 2 * 3 + 3),
        // Normalization
        new("BatchNormalization", () => new BatchNormalization(), [[5]], 4, 20),
        new("BatchNormalization on images, no centre", () => new BatchNormalization(momentum: 0.9f, center: false), [[3, 3, 2]], 3, 6),
        new("LayerNormalization", () => new LayerNormalization(), [[2, 6]], 2, 12),
        new("LayerNormalization without scale", () => new LayerNormalization(epsilon: 1e-2f, scale: false), [[5]], 1, 5),
        // Preprocessing
        new("Rescaling", () => new Rescaling(0.5f, 0.1f), [[4]], 0, 0),
        new("Normalization", () => new Normalization([0.1f, -0.2f], [2f, 0.5f]), [[3, 2]], 2, 4),
        new("OneHotColumns of number columns", () => new OneHotColumns([new("a"), new("b"), new("c")]), [[3]], 0, 0),
        // Text columns take indices, which have no gradient and no weights for the harness to check: PreprocessingLayerTests.
        new("RandomFlip", () => new RandomFlip("horizontal"), [[5, 4, 2]], 0, 0) { IdentityInInference = true },
        new("RandomFlip on one channel", () => new RandomFlip(), [[4, 5]], 0, 0) { IdentityInInference = true },
        new("RandomRotation", () => new RandomRotation(0.1f, FillMode.Constant, Interpolation.Nearest, 0.5f), [[5, 4, 2]], 0, 0) { IdentityInInference = true },
        new("RandomTranslation", () => new RandomTranslation(0.1f, 0.2f), [[5, 4, 2]], 0, 0) { IdentityInInference = true },
        new("RandomZoom", () => new RandomZoom(0.2f, 0.1f, FillMode.Wrap), [[5, 4, 2]], 0, 0) { IdentityInInference = true },
        new("RandomContrast", () => new RandomContrast(0.3f), [[5, 4, 2]], 0, 0) { IdentityInInference = true },
        // Text: the harness feeds float tensors, which is all a TextVectorization sees inside a model (texts are
        // vectorized before they enter it, see TextVectorizationTests): it checks the numeric side — the identity
        // on [batch, width], gradients through it, plans, and the vocabulary and idf weights in the config and
        // the model file. The string side (standardize, split, vocabulary, the output modes) is tested there.
        new("TextVectorization tf_idf", () => new TextVectorization(outputMode: TextOutputMode.TfIdf, vocabulary: ["spam", "ham", "eggs"],
            idfWeights: [0.5f, 1.25f, 2f]), [[4]], 0, 0),
        new("TextVectorization int", () => new TextVectorization(maxTokens: 10, ngrams: 2, outputSequenceLength: 5, vocabulary: ["a", "b", "a b"]), [[5]], 0, 0),
    ];

    public static TheoryData<string> Cases() => [.. s_cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Layer_passes_the_harness(string name) => LayerHarness.Run(s_cases.Single(c => c.Name == name));

    [Fact]
    public void Every_registered_layer_has_a_harness_case()
    {
        var covered = s_cases.Select(c => LayerRegistry.Describe(c.Create())["class"]!.GetValue<string>()).ToHashSet();
        // Classes other tests register for themselves start with "Test". Quantized layers are built by the
        // Quantizer and have no gradient to check: QuantizerTests bound them against the float layers and round-trip them.
        var missing = LayerRegistry.ClassNames.Where(n => !n.StartsWith("Test", StringComparison.Ordinal)
            && !n.StartsWith("Quantized", StringComparison.Ordinal) && !covered.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"registered layers without a harness case: {string.Join(", ", missing)}");
        Assert.Equal(s_cases.Length, s_cases.Select(c => c.Name).Distinct().Count());
    }
}

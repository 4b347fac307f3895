using System.Text.Json;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Layers;

/// <summary>
/// TextVectorization against values worked out by hand on small vocabularies. The corpus below gives, after
/// lower-casing and stripping punctuation, the documents [the cat sat], [the dog], [a cat a dog a cat]:
/// counts cat 3, a 3, the 2, dog 2, sat 1. By descending count with ties in descending code-point order
/// (Keras' rule): cat, a (tie: "cat" &gt; "a"), the, dog (tie: "the" &gt; "dog"), sat.
/// </summary>
public sealed class TextVectorizationTests
{
    private static readonly string[] s_corpus = ["The cat sat.", "The dog!", "A cat, a dog, a CAT"];

    private static float[] Row(Tensor t, int row) => t.ToArray()[(row * t.Shape[1])..((row + 1) * t.Shape[1])];

    [Fact]
    public void Int_mode_gives_padding_oov_then_the_vocabulary_by_frequency()
    {
        var layer = new TextVectorization(outputSequenceLength: 4);
        layer.Adapt(s_corpus);
        Assert.Equal(["", "[UNK]", "cat", "a", "the", "dog", "sat"], layer.GetVocabulary());
        Assert.Equal(["cat", "a", "the", "dog", "sat"], layer.GetVocabulary(includeSpecialTokens: false));
        // "the cat ate" → the 4, cat 2, ate (unknown) 1, padded with 0; "A" → 3, padded.
        var x = layer.Vectorize(["the cat ate", "A"]);
        Assert.Equal([2, 4], x.Shape.ToArray());
        Assert.Equal([4f, 2, 1, 0, 3, 0, 0, 0], x.ToArray());
        // Truncated at the end to 4 ids.
        Assert.Equal([4f, 2, 6, 5], layer.Vectorize(["the cat sat dog cat"]).ToArray());

        // Without an output length: as wide as the longest text of the call.
        var free = new TextVectorization();
        free.Adapt(s_corpus);
        Assert.Equal([4f, 2, 1, 3, 0, 0], free.Vectorize(["the cat ate", "a"]).ToArray());
        Assert.Equal([2, 0], free.Vectorize(["", "..."]).Shape.ToArray());

        // max_tokens counts the two special tokens: 5 keeps cat, a, the.
        var capped = new TextVectorization(maxTokens: 5);
        capped.Adapt(s_corpus);
        Assert.Equal(["", "[UNK]", "cat", "a", "the"], capped.Vocabulary);
        Assert.Equal([4f, 1, 1], capped.Vectorize(["the dog sat"]).ToArray());
    }

    [Fact]
    public void Multi_hot_and_count_rows_start_with_the_oov_entry()
    {
        var count = new TextVectorization(outputMode: TextOutputMode.Count);
        count.Adapt(s_corpus);
        Assert.Equal(["[UNK]", "cat", "a", "the", "dog", "sat"], count.Vocabulary); // no padding token outside int mode
        var c = count.Vectorize(["cat cat dog zebra", "A a", ""]);
        Assert.Equal([3, 6], c.Shape.ToArray());
        Assert.Equal([1f, 2, 0, 0, 1, 0], Row(c, 0)); // zebra counts at [UNK]
        Assert.Equal([0f, 0, 2, 0, 0, 0], Row(c, 1));
        Assert.Equal(new float[6], Row(c, 2));

        var multiHot = new TextVectorization(outputMode: TextOutputMode.MultiHot, maxTokens: 10, padToMaxTokens: true);
        multiHot.Adapt(s_corpus);
        var m = multiHot.Vectorize(["cat cat dog zebra"]);
        Assert.Equal([1, 10], m.Shape.ToArray()); // padded to max_tokens
        Assert.Equal([1f, 1, 0, 0, 1, 0, 0, 0, 0, 0], m.ToArray());
        Assert.Equal(10, multiHot.OutputWidth);
    }

    [Fact]
    public void Tf_idf_uses_keras_idf_and_the_mean_for_oov()
    {
        var layer = new TextVectorization(outputMode: TextOutputMode.TfIdf);
        layer.Adapt(s_corpus);
        // 3 documents; document frequencies cat 2, a 1, the 2, dog 2, sat 1; idf = ln(1 + 3 / (1 + df)).
        double ln2 = Math.Log(2), ln25 = Math.Log(2.5), oov = (3 * ln2 + 2 * ln25) / 5;
        float[] idf = [(float)oov, (float)ln2, (float)ln25, (float)ln2, (float)ln2, (float)ln25];
        Assert.Equal(idf, layer.IdfWeights!, new Close(1e-6f));
        // tf-idf = count · idf: "cat cat dog zebra" → [UNK] 1·oov, cat 2·ln 2, dog 1·ln 2.
        Assert.Equal([(float)oov, (float)(2 * ln2), 0, 0, (float)ln2, 0], layer.Vectorize(["cat cat dog zebra"]).ToArray(), new Close(1e-6f));

        // A given vocabulary without the OOV entry: its idf is the mean of the given ones.
        var given = new TextVectorization(outputMode: TextOutputMode.TfIdf, vocabulary: ["x", "y"], idfWeights: [1f, 3f]);
        Assert.Equal(["[UNK]", "x", "y"], given.Vocabulary);
        Assert.Equal([2f, 1, 3], given.IdfWeights!);
        Assert.Equal([0f, 2, 3], given.Vectorize(["x x y"]).ToArray());
    }

    [Fact]
    public void Ngrams_follow_the_tokens_and_count_like_tokens()
    {
        var layer = new TextVectorization(ngrams: 2);
        Assert.Equal(["a", "b", "a", "a b", "b a"], layer.Tokenize("A b, a"));
        Assert.Equal(["x", "y", "z", "x y", "y z", "x y z"], new TextVectorization(ngrams: 3).Tokenize("x y z"));
        // counts a 2, then b, "a b", "b a" once each: ties in descending code-point order → "b a", "b", "a b".
        layer.Adapt(["a b a"]);
        Assert.Equal(["", "[UNK]", "a", "b a", "b", "a b"], layer.Vocabulary);
        Assert.Equal([2f, 4, 5], layer.Vectorize(["a b"]).ToArray());
    }

    [Fact]
    public void Standardization_and_split_modes()
    {
        Assert.Equal(["email", "dont", "stop", "ünïcode"], new TextVectorization().Tokenize("E-mail: DON'T stop! ÜNÏCODE"));
        Assert.Equal(["hello,", "world!"], new TextVectorization(standardize: TextStandardization.Lower).Tokenize("Hello, World!"));
        Assert.Equal(["Hello", "World"], new TextVectorization(standardize: TextStandardization.StripPunctuation).Tokenize("Hello, World!"));
        Assert.Equal(["Hi,", "there"], new TextVectorization(standardize: TextStandardization.None).Tokenize(" Hi,\t\nthere "));
        Assert.Equal(["a", "b", " ", "😀"], new TextVectorization(split: TextSplit.Character).Tokenize("ab 😀"));
        Assert.Equal(["one token"], new TextVectorization(split: TextSplit.None).Tokenize("One token."));
    }

    [Fact]
    public void A_vocabulary_can_be_set_with_or_without_its_special_tokens()
    {
        var with = new TextVectorization(vocabulary: ["", "[UNK]", "b", "a"], outputSequenceLength: 3);
        var without = new TextVectorization(outputSequenceLength: 3);
        without.SetVocabulary(["b", "a"]);
        Assert.Equal(with.Vocabulary, without.Vocabulary);
        Assert.Equal([3f, 2, 1], with.Vectorize(["a b c"]).ToArray());
        Assert.Equal(with.Vectorize(["a b c"]).ToArray(), without.Vectorize(["a b c"]).ToArray());
        // Setting replaces an adapted vocabulary.
        without.SetVocabulary(["c"]);
        Assert.Equal([1f, 1, 2], without.Vectorize(["a b c"]).ToArray());
    }

    [Fact]
    public void Bad_settings_and_vocabularies_are_rejected_naming_the_layer_and_the_value()
    {
        static string Message(Action a) => Assert.ThrowsAny<ArgumentException>(a).Message;
        Assert.Contains("max_tokens 2", Message(() => new TextVectorization(maxTokens: 2, name: "tv")));
        Assert.Contains("TextVectorization 'tv'", Message(() => new TextVectorization(maxTokens: 2, name: "tv")));
        Assert.Contains("max_tokens 1", Message(() => new TextVectorization(maxTokens: 1, outputMode: TextOutputMode.MultiHot)));
        _ = new TextVectorization(maxTokens: 2, outputMode: TextOutputMode.MultiHot); // [UNK] and one token
        Assert.Contains("ngrams", Message(() => new TextVectorization(ngrams: 0)));
        Assert.Contains("output_sequence_length", Message(() => new TextVectorization(outputMode: TextOutputMode.Count, outputSequenceLength: 4)));
        Assert.Contains("pad_to_max_tokens", Message(() => new TextVectorization(outputMode: TextOutputMode.Count, padToMaxTokens: true)));
        Assert.Contains("idf", Message(() => new TextVectorization(vocabulary: ["a"], idfWeights: [1f])));
        Assert.Contains("needs idf weights", Message(() => new TextVectorization(outputMode: TextOutputMode.TfIdf, vocabulary: ["a"])));
        Assert.Contains("2 idf weights for a vocabulary of 1", Message(() => new TextVectorization(outputMode: TextOutputMode.TfIdf, vocabulary: ["a"], idfWeights: [1f, 2f])));

        var layer = new TextVectorization(maxTokens: 4, name: "words");
        Assert.Contains("empty vocabulary", Message(() => layer.SetVocabulary([])));
        Assert.Contains("only the special tokens", Message(() => layer.SetVocabulary(["", "[UNK]"])));
        Assert.Contains("repeats \"a\"", Message(() => layer.SetVocabulary(["a", "b", "a"])));
        Assert.Contains("\"[UNK]\" is at vocabulary index 1", Message(() => layer.SetVocabulary(["a", "[UNK]"])));
        Assert.Contains("exceeds max_tokens 4", Message(() => layer.SetVocabulary(["a", "b", "c"])));
        // Adapt on texts with no tokens (empty, or punctuation only): the vocabulary would be empty.
        Assert.Contains("vocabulary would be empty", Message(() => layer.Adapt(["", " ?! ", "..."])));
        Assert.Contains("vocabulary would be empty", Message(() => layer.Adapt([])));
        Assert.Contains("text 1 is null", Message(() => layer.Adapt(["a", null!])));
        Assert.False(layer.HasVocabulary);

        // Before Adapt: Vectorize, the vocabulary and building say what to do.
        var e = Assert.Throws<InvalidOperationException>(() => layer.Vectorize(["a"]));
        Assert.Contains("TextVectorization 'words' has no vocabulary yet", e.Message);
        Assert.Contains("Adapt", e.Message);
        Assert.Throws<InvalidOperationException>(() => layer.Vocabulary);
        var counts = new TextVectorization(outputMode: TextOutputMode.Count);
        Assert.Contains("no vocabulary", Assert.Throws<InvalidOperationException>(() => new Sequential([counts, new Dense(1)]).Forward(Tensor.Zeros(1, 3))).Message);
    }

    [Fact]
    public void In_a_model_it_needs_a_fixed_width_and_keeps_it()
    {
        // int mode without output_sequence_length has no fixed width.
        var free = new TextVectorization(vocabulary: ["a"], name: "free");
        Assert.Contains("output_sequence_length", Assert.Throws<ArgumentException>(() => free.Build(new Shape(3))).Message);
        // The input must be the vectorized width.
        var counts = new TextVectorization(outputMode: TextOutputMode.Count, vocabulary: ["a", "b"], name: "bag");
        Assert.Contains("[batch, 3]", Assert.Throws<ArgumentException>(() => counts.Build(new Shape(4))).Message);
        counts.Build(new Shape(3));
        // Built, a new vocabulary may not change the width.
        counts.SetVocabulary(["c", "d"]);
        Assert.Contains("built for width 3", Assert.Throws<InvalidOperationException>(() => counts.Adapt(["x y z"])).Message);
        Assert.Equal(["[UNK]", "c", "d"], counts.Vocabulary);
    }

    [Fact]
    public void The_config_round_trips_settings_vocabulary_and_idf()
    {
        var layer = new TextVectorization(maxTokens: 20, standardize: TextStandardization.Lower, ngrams: 2, outputMode: TextOutputMode.TfIdf,
            padToMaxTokens: true, name: "tfidf");
        layer.Adapt(s_corpus);
        var json = LayerRegistry.Describe(layer);
        Assert.Equal("TextVectorization", json["class"]!.GetValue<string>());
        var config = json["config"]!;
        Assert.Equal("tf_idf", config["output_mode"]!.GetValue<string>());
        Assert.Equal("lower", config["standardize"]!.GetValue<string>());
        Assert.Equal("[UNK]", config["vocabulary"]![0]!.GetValue<string>());
        var copy = Assert.IsType<TextVectorization>(LayerRegistry.Create("TextVectorization", JsonDocument.Parse(config.ToJsonString()).RootElement, "test"));
        Assert.Equal(json.ToJsonString(), LayerRegistry.Describe(copy).ToJsonString());
        Assert.Equal(layer.Vocabulary, copy.Vocabulary);
        Assert.Equal(layer.IdfWeights!, copy.IdfWeights!);
        string[] texts = ["the cat, the dog", "a zebra"];
        Assert.Equal(layer.Vectorize(texts).ToArray(), copy.Vectorize(texts).ToArray());

        // A hostile or broken config is refused with the reason, not a crash.
        var broken = JsonDocument.Parse("{\"name\": \"t\", \"max_tokens\": null, \"standardize\": \"lower\", \"split\": \"whitespace\", \"ngrams\": null," +
            " \"output_mode\": \"int\", \"output_sequence_length\": 4, \"pad_to_max_tokens\": false, \"vocabulary\": [\"\", \"[UNK]\", \"a\", \"a\"]}").RootElement;
        Assert.Contains("repeats", Assert.Throws<InvalidDataException>(() => LayerRegistry.Create("TextVectorization", broken, "test")).Message);
    }

    [Fact]
    public void A_text_model_predicts_the_same_on_strings_after_save_and_load()
    {
        string[] spam = ["win a free prize now", "free money, click now", "cheap pills, free offer", "win cash now"];
        string[] ham = ["meeting moved to monday", "see the patch attached", "lunch on monday?", "the build is green again"];
        var data = new TextDataset([.. spam, .. ham], [1, 1, 1, 1, 0, 0, 0, 0], ["ham", "spam"]);
        foreach (var mode in new[] { TextOutputMode.TfIdf, TextOutputMode.MultiHot, TextOutputMode.Int })
        {
            var vectorize = new TextVectorization(maxTokens: 40, outputMode: mode, outputSequenceLength: mode == TextOutputMode.Int ? 6 : null);
            vectorize.Adapt(data.Texts);
            var model = new Sequential([vectorize, new Dense(8, "relu"), new Dense(2, "softmax")], seed: 3);
            model.Compile(new Adam(0.05f), new SparseCategoricalCrossentropy(), "accuracy");
            var train = data.ToDataset(vectorize);
            Assert.Equal(new Shape(vectorize.OutputWidth), train.SampleShape);
            model.Fit(train, epochs: 20, batchSize: 4, seed: 1);
            Assert.Same(vectorize, model.TextInput);

            string[] fresh = ["free prize, win now", "monday meeting notes", "unseen words only"];
            var before = model.Predict(fresh);
            Assert.Equal([3, 2], before.Shape.ToArray());
            Assert.Equal(model.Predict(vectorize.Vectorize(fresh)).ToArray(), before.ToArray());
            if (mode != TextOutputMode.Int) // ids as raw features are no model of language: only the bag models must learn this
                Assert.True(before.ToArray()[1] > 0.5f && before.ToArray()[3] < 0.5f, $"{mode}: P(spam) should be high for the first text, low for the second: {before}");

            var dir = Directory.CreateTempSubdirectory("strata-text-");
            try
            {
                string path = Path.Combine(dir.FullName, "text.strata");
                model.Save(path);
                var loaded = Model.Load(path);
                var text = Assert.IsType<TextVectorization>(loaded.TextInput);
                Assert.Equal(vectorize.Vocabulary, text.Vocabulary);
                Assert.Equal(before.ToArray(), loaded.Predict(fresh).ToArray());
            }
            finally
            {
                dir.Delete(recursive: true);
            }
        }
    }

    [Fact]
    public void Predict_on_strings_needs_a_text_vectorization_first()
    {
        var model = new Sequential([new Input([3]), new Dense(1)]);
        var e = Assert.Throws<InvalidOperationException>(() => model.Predict(["hello"]));
        Assert.Contains("needs a TextVectorization as the first layer", e.Message);
        Assert.Contains("Dense", e.Message);

        // Through an Input layer and in a functional model it is found, and large batches go in chunks.
        var vectorize = new TextVectorization(outputMode: TextOutputMode.MultiHot, vocabulary: ["a", "b"]);
        var input = Input.Create([3]);
        var functional = new Model(input, new Dense(2).Apply(vectorize.Apply(input)), seed: 1);
        var texts = Enumerable.Range(0, 2500).Select(i => i % 3 == 0 ? "a" : i % 3 == 1 ? "b a" : "c").ToArray();
        var all = functional.Predict(texts);
        Assert.Equal([2500, 2], all.Shape.ToArray());
        Assert.Equal(functional.Predict(vectorize.Vectorize(texts)).ToArray(), all.ToArray());
    }

    [Fact]
    public void A_text_data_set_becomes_a_numeric_one_through_the_layer()
    {
        var data = new TextDataset(["a b", "b", "c c c"], [0, 1, 1], ["x", "y"]);
        var counts = new TextVectorization(outputMode: TextOutputMode.Count);
        counts.Adapt(data.Texts);
        Assert.Equal(["[UNK]", "c", "b", "a"], counts.Vocabulary);
        var (x, y) = data.ToDataset(counts).ToTensors();
        Assert.Equal([0f, 0, 1, 1, 0, 0, 1, 0, 0, 3, 0, 0], x.ToArray());
        Assert.Equal([0f, 1, 1], y.ToArray());
        var (_, oneHot) = data.ToDataset(counts, LabelMode.Categorical).ToTensors();
        Assert.Equal([1f, 0, 0, 1, 0, 1], oneHot.ToArray());
        Assert.Equal(["x", "y"], data.ToDataset(counts).ClassNames!);

        // Int mode without a length: padded to the longest text of the set.
        var ids = new TextVectorization();
        ids.Adapt(data.Texts);
        var set = data.ToDataset(ids);
        Assert.Equal(new Shape(3), set.SampleShape);
        Assert.Throws<InvalidOperationException>(() => data.ToDataset(new TextVectorization()));
    }

    [Fact]
    public void Pad_sequences_as_keras_does()
    {
        int[][] s = [[1, 2, 3], [4, 5], [6]];
        Assert.Equal([1f, 2, 3, 0, 4, 5, 0, 0, 6], Sequences.PadSequences(s).ToArray()); // pre-padding by default
        Assert.Equal([1f, 2, 3, 4, 5, 0, 6, 0, 0], Sequences.PadSequences(s, padding: SequenceEnd.Post).ToArray());
        Assert.Equal([2f, 3, 4, 5, 0, 6], Sequences.PadSequences(s, maxlen: 2).ToArray()); // pre-truncation keeps the end
        Assert.Equal([1f, 2, 4, 5, 6, -1], Sequences.PadSequences(s, 2, SequenceEnd.Post, SequenceEnd.Post, value: -1).ToArray());
        Assert.Equal([3, 2], Sequences.PadSequences(s, 2).Shape.ToArray());
        Assert.Equal([0, 0], Sequences.PadSequences([]).Shape.ToArray());
        Assert.Equal([2, 0], Sequences.PadSequences([[], []]).Shape.ToArray());
        Assert.Equal([7f, 7, 7], Sequences.PadSequences([[]], 3, value: 7).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Sequences.PadSequences(s, -1));
        Assert.Contains("sequence 1 is null", Assert.Throws<ArgumentException>(() => Sequences.PadSequences([[1], null!])).Message);
    }

    private sealed class Close(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float v) => 0;
    }
}

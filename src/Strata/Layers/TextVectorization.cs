using System.Runtime.InteropServices;

namespace Strata.Layers;

/// <summary>
/// Keras' TextVectorization: texts to numbers. Each text is standardized (lower-case and strip ASCII
/// punctuation by default), split (at whitespace by default), optionally extended by its 2..n-grams, and
/// looked up in a vocabulary learned by <see cref="Adapt"/> (or given): tokens by descending frequency,
/// ties in descending code-point order (as Keras sorts them), at most <see cref="MaxTokens"/> entries
/// including the special tokens. Output per text:
/// <list type="bullet">
/// <item>int: token indices, 0 = padding "", 1 = out-of-vocabulary "[UNK]", then the vocabulary; padded with 0 or
/// truncated at the end to <see cref="OutputSequenceLength"/> (without one, to the batch's longest text).</item>
/// <item>multi_hot / count / tf_idf: a row of the vocabulary's width (index 0 = "[UNK]"; no padding token), or of
/// <see cref="MaxTokens"/> with <see cref="PadToMaxTokens"/>: presence, count, or count · idf with
/// idf(t) = ln(1 + documents / (1 + documents containing t)) and the OOV entry's idf the mean of the others'.</item>
/// </list>
/// Strata tensors hold floats, so the strings never enter a model: <see cref="Vectorize"/> turns them into a
/// [texts, width] tensor (ids as floats), and inside a model the layer is the first one and passes that tensor
/// on unchanged (input shape = output shape = [width]). <c>model.Predict(texts)</c> does both steps. The
/// vocabulary and idf weights are part of the layer's config, so they travel with the model file.
/// </summary>
/// <example><code>
/// var vectorize = new TextVectorization(maxTokens: 10_000, outputMode: TextOutputMode.TfIdf, ngrams: 2);
/// vectorize.Adapt(train.Texts);
/// var model = new Sequential([vectorize, new Dense(1, "sigmoid")]);
/// model.Fit(train.ToDataset(vectorize), ...);
/// var p = model.Predict(["win a free prize now"]);
/// </code></example>
public sealed class TextVectorization : Layer
{
    /// <summary>The out-of-vocabulary token.</summary>
    public const string OovToken = "[UNK]";

    /// <summary>The padding (mask) token of int mode, index 0.</summary>
    public const string PaddingToken = "";

    /// <summary>A vocabulary with its index and idf weights, replaced as a whole so that a concurrent Vectorize sees one state.</summary>
    private sealed record State(string[] Tokens, Dictionary<string, int> Index, float[]? Idf);

    private volatile State? _state;

    /// <param name="maxTokens">The vocabulary's largest size, special tokens included; null: no limit.</param>
    /// <param name="standardize">The standardization.</param>
    /// <param name="split">How texts are split into tokens.</param>
    /// <param name="ngrams">n: add every 2..n-gram (tokens joined by a space) after the tokens; null: tokens only.</param>
    /// <param name="outputMode">int, multi_hot, count or tf_idf.</param>
    /// <param name="outputSequenceLength">int mode: pad or truncate every text to this many ids (needed inside a model).</param>
    /// <param name="padToMaxTokens">multi_hot / count / tf_idf: output <paramref name="maxTokens"/> columns even when the vocabulary is smaller.</param>
    /// <param name="vocabulary">A vocabulary to use instead of adapting (see <see cref="SetVocabulary"/>).</param>
    /// <param name="idfWeights">tf_idf with a vocabulary: one weight per vocabulary entry.</param>
    /// <param name="name">The layer's name.</param>
    /// <exception cref="ArgumentException">An inconsistent setting (the message names the layer and the value).</exception>
    public TextVectorization(int? maxTokens = null, TextStandardization standardize = TextStandardization.LowerAndStripPunctuation,
        TextSplit split = TextSplit.Whitespace, int? ngrams = null, TextOutputMode outputMode = TextOutputMode.Int, int? outputSequenceLength = null,
        bool padToMaxTokens = false, IReadOnlyList<string>? vocabulary = null, IReadOnlyList<float>? idfWeights = null, string? name = null)
        : base(name)
    {
        MaxTokens = maxTokens;
        Standardize = standardize;
        Split = split;
        Ngrams = ngrams;
        OutputMode = outputMode;
        OutputSequenceLength = outputSequenceLength;
        PadToMaxTokens = padToMaxTokens;
        if (!Enum.IsDefined(standardize) || !Enum.IsDefined(split) || !Enum.IsDefined(outputMode))
            throw new ArgumentException($"{this}: unknown setting (standardize {standardize}, split {split}, output mode {outputMode})");
        if (maxTokens is int m && m <= SpecialTokenCount)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), $"{this}: max_tokens {m} leaves no room for a learned token: {ModeName} mode reserves {SpecialTokens}, so max_tokens must be ≥ {SpecialTokenCount + 1}");
        if (ngrams is < 1)
            throw new ArgumentOutOfRangeException(nameof(ngrams), $"{this}: ngrams must be ≥ 1 or null, got {ngrams}");
        if (outputSequenceLength is not null && outputMode != TextOutputMode.Int)
            throw new ArgumentException($"{this}: output_sequence_length applies to int mode only, got {outputSequenceLength} with {ModeName} mode");
        if (outputSequenceLength is < 1)
            throw new ArgumentOutOfRangeException(nameof(outputSequenceLength), $"{this}: output_sequence_length must be ≥ 1, got {outputSequenceLength}");
        if (padToMaxTokens && (maxTokens is null || outputMode == TextOutputMode.Int))
            throw new ArgumentException($"{this}: pad_to_max_tokens needs max_tokens and a multi_hot, count or tf_idf mode (got max_tokens {maxTokens?.ToString() ?? "null"}, {ModeName} mode)");
        if (vocabulary is not null)
            SetVocabulary(vocabulary, idfWeights);
        else if (idfWeights is not null)
            throw new ArgumentException($"{this}: idf weights were given without a vocabulary");
    }

    /// <summary>The vocabulary's largest size, special tokens included; null: no limit.</summary>
    public int? MaxTokens { get; }
    /// <summary>How texts are standardized before splitting (lower case, punctuation stripped, ...).</summary>
    public TextStandardization Standardize { get; }
    /// <summary>How texts are split into tokens.</summary>
    public TextSplit Split { get; }
    /// <summary>n: every 2..n-gram (tokens joined by a space) is added after the tokens; null: tokens only.</summary>
    public int? Ngrams { get; }
    /// <summary>int (token ids), multi_hot, count or tf_idf.</summary>
    public TextOutputMode OutputMode { get; }
    /// <summary>
    /// In int mode, the length every text is padded or truncated to (needed inside a model); null: the longest text of the batch.
    /// </summary>
    public int? OutputSequenceLength { get; }
    /// <summary>multi_hot / count / tf_idf: output <see cref="MaxTokens"/> columns even when the vocabulary is smaller.</summary>
    public bool PadToMaxTokens { get; }

    /// <summary>Whether the layer has a vocabulary (adapted or given).</summary>
    public bool HasVocabulary => _state is not null;

    /// <summary>The vocabulary, special tokens first ("" and "[UNK]" in int mode, "[UNK]" otherwise): index i is entry i.</summary>
    /// <exception cref="InvalidOperationException">No vocabulary yet.</exception>
    public IReadOnlyList<string> Vocabulary => GetVocabulary();

    /// <summary>The number of vocabulary entries, special tokens included (0 before Adapt).</summary>
    public int VocabularySize => _state?.Tokens.Length ?? 0;

    /// <summary>tf_idf mode: the idf weight of each vocabulary entry; null in other modes or before Adapt.</summary>
    public IReadOnlyList<float>? IdfWeights => _state?.Idf is { } idf ? Array.AsReadOnly(idf) : null;

    /// <summary>The width of one vectorized text: the output sequence length (int mode), else the vocabulary size or max_tokens.</summary>
    /// <exception cref="InvalidOperationException">It is not known yet (no vocabulary, or int mode without an output sequence length).</exception>
    public int OutputWidth => FixedOutputWidth ?? throw new InvalidOperationException(OutputMode == TextOutputMode.Int
        ? $"{this}: int mode without output_sequence_length pads each batch to its longest text, so it has no fixed width"
        : NoVocabularyMessage());

    internal int? FixedOutputWidth => OutputMode == TextOutputMode.Int ? OutputSequenceLength : PadToMaxTokens ? MaxTokens : _state?.Tokens.Length;

    private int SpecialTokenCount => OutputMode == TextOutputMode.Int ? 2 : 1;

    private string SpecialTokens => OutputMode == TextOutputMode.Int ? "the padding token \"\" and the OOV token \"[UNK]\"" : "the OOV token \"[UNK]\"";

    private string ModeName => OutputMode switch
    {
        TextOutputMode.Int => "int",
        TextOutputMode.MultiHot => "multi_hot",
        TextOutputMode.Count => "count",
        _ => "tf_idf",
    };

    /// <summary>Keras' get_vocabulary: the entries in index order, with or without the special tokens.</summary>
    /// <exception cref="InvalidOperationException">No vocabulary yet.</exception>
    public IReadOnlyList<string> GetVocabulary(bool includeSpecialTokens = true)
    {
        var tokens = (_state ?? throw new InvalidOperationException(NoVocabularyMessage())).Tokens;
        return includeSpecialTokens ? Array.AsReadOnly(tokens) : tokens[SpecialTokenCount..];
    }

    /// <summary>The tokens of one text after standardization, splitting and n-grams (what the vocabulary is looked up with).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TextTokens.Split(TextTokens.Standardize(text, Standardize), Split, Ngrams);
    }

    /// <summary>
    /// Learns the vocabulary (and, in tf_idf mode, the idf weights) from texts, replacing any earlier one:
    /// every token counted, the special tokens left out, the most frequent <see cref="MaxTokens"/> − specials kept.
    /// </summary>
    /// <exception cref="ArgumentException">A null text, or no token at all (the vocabulary would be empty).</exception>
    /// <exception cref="InvalidOperationException">The layer is built for another width than the new vocabulary gives.</exception>
    public void Adapt(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var documentCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long documents = 0;
        foreach (var text in texts)
        {
            if (text is null)
                throw new ArgumentException($"{this}.Adapt: text {documents} is null");
            documents++;
            var tokens = Tokenize(text);
            foreach (var t in tokens)
                CollectionsMarshal.GetValueRefOrAddDefault(counts, t, out _)++;
            if (OutputMode == TextOutputMode.TfIdf)
            {
                seen.Clear();
                foreach (var t in tokens)
                {
                    if (seen.Add(t))
                        CollectionsMarshal.GetValueRefOrAddDefault(documentCounts, t, out _)++;
                }
            }
        }
        counts.Remove(PaddingToken);
        counts.Remove(OovToken);
        if (counts.Count == 0)
            throw new ArgumentException($"{this}.Adapt: no tokens in {documents} text(s) after standardization ({Standardize}) and splitting ({Split}): the vocabulary would be empty");
        var learned = counts.ToList();
        // NOTE: descending count, ties in descending code-point order: Keras' lexsort((tokens, counts))[::-1].
        learned.Sort((a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : TextTokens.CompareCodePoints(b.Key, a.Key));
        if (MaxTokens is int max && learned.Count > max - SpecialTokenCount)
            learned.RemoveRange(max - SpecialTokenCount, learned.Count - (max - SpecialTokenCount));
        string[] vocabulary = [.. SpecialTokenList(), .. learned.Select(p => p.Key)];
        float[]? idf = null;
        if (OutputMode == TextOutputMode.TfIdf)
        {
            idf = new float[vocabulary.Length];
            double sum = 0;
            for (int i = 1; i < vocabulary.Length; i++)
            {
                idf[i] = (float)Math.Log(1 + documents / (1.0 + documentCounts[vocabulary[i]]));
                sum += idf[i];
            }
            idf[0] = (float)(sum / (vocabulary.Length - 1)); // the OOV entry: the mean (its real frequency is not counted)
        }
        Install(vocabulary, idf);
    }

    /// <summary>
    /// Keras' set_vocabulary: uses the given tokens (most useful first) instead of adapting. The special
    /// tokens may lead the list in index order ("", "[UNK]" in int mode; "[UNK]" otherwise) or be left out
    /// (they are then put in front). tf_idf mode needs one idf weight per given entry (a missing OOV entry
    /// then gets their mean); other modes take none.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// An empty vocabulary, a null, repeated or misplaced special token, more entries than max_tokens, or
    /// idf weights missing, extra or of the wrong length; the message names the layer and the value.
    /// </exception>
    public void SetVocabulary(IReadOnlyList<string> vocabulary, IReadOnlyList<float>? idfWeights = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Count == 0)
            throw new ArgumentException($"{this}: cannot set an empty vocabulary");
        var special = SpecialTokenList();
        bool included = vocabulary.Count >= special.Length && special.Select((t, i) => vocabulary[i] == t).All(b => b);
        var tokens = included ? vocabulary.Skip(special.Length).ToArray() : vocabulary.ToArray();
        if (tokens.Length == 0)
            throw new ArgumentException($"{this}: the vocabulary holds only the special tokens ({SpecialTokens}): it would be empty");
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            int at = i + (included ? special.Length : 0);
            if (tokens[i] is null)
                throw new ArgumentException($"{this}: vocabulary entry {at} is null");
            if (tokens[i] is PaddingToken or OovToken)
                throw new ArgumentException($"{this}: the special token \"{tokens[i]}\" is at vocabulary index {at}; give the special tokens only at the start ({string.Join(", ", special.Select(s => $"\"{s}\""))}) or leave them out");
            if (!index.TryAdd(tokens[i], at))
                throw new ArgumentException($"{this}: the vocabulary repeats \"{tokens[i]}\" (indices {index[tokens[i]]} and {at})");
        }
        int size = special.Length + tokens.Length;
        if (MaxTokens is int max && size > max)
            throw new ArgumentException($"{this}: a vocabulary of {size} entries (special tokens included) exceeds max_tokens {max}");
        float[]? idf = null;
        if (OutputMode == TextOutputMode.TfIdf)
        {
            if (idfWeights is null)
                throw new ArgumentException($"{this}: tf_idf mode needs idf weights with a vocabulary");
            if (idfWeights.Count != vocabulary.Count)
                throw new ArgumentException($"{this}: {idfWeights.Count} idf weights for a vocabulary of {vocabulary.Count} entries");
            if (idfWeights.Any(w => !float.IsFinite(w)))
                throw new ArgumentException($"{this}: the idf weights must be finite");
            idf = included ? [.. idfWeights] : [.. Enumerable.Repeat((float)idfWeights.Average(w => (double)w), special.Length), .. idfWeights];
        }
        else if (idfWeights is not null)
        {
            throw new ArgumentException($"{this}: idf weights apply to tf_idf mode only, not {ModeName} mode");
        }
        Install([.. special, .. tokens], idf);
    }

    /// <summary>
    /// Texts to a tensor [texts, width] (see the class summary): token ids as floats in int mode, else
    /// multi-hot, count or tf-idf rows. Safe to call from several threads.
    /// </summary>
    /// <exception cref="InvalidOperationException">No vocabulary yet.</exception>
    /// <exception cref="ArgumentException">A null text.</exception>
    public Tensor Vectorize(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var state = _state ?? throw new InvalidOperationException(NoVocabularyMessage());
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
                throw new ArgumentException($"{this}.Vectorize: text {i} is null");
        }
        if (OutputMode == TextOutputMode.Int)
        {
            var ids = new int[texts.Count][];
            Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = texts.Count < 64 ? 1 : -1 }, i => ids[i] = Ids(state, texts[i]));
            int width = OutputSequenceLength ?? (ids.Length == 0 ? 0 : ids.Max(s => s.Length));
            var data = new float[texts.Count * width];
            for (int i = 0; i < ids.Length; i++)
            {
                int n = Math.Min(width, ids[i].Length);
                for (int k = 0; k < n; k++)
                    data[i * width + k] = ids[i][k];
            }
            return Tensor.FromArray(data, texts.Count, width);
        }
        int w = FixedOutputWidth!.Value;
        var rows = Tensor.Zeros(texts.Count, w);
        var buffer = rows.Buffer;
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = texts.Count < 64 ? 1 : -1 },
            i => Encode(state, texts[i], buffer.AsSpan(i * w, w)));
        return rows;
    }

    /// <summary>One text into a row of the fixed output width (int mode: padded or truncated to the output sequence length).</summary>
    internal void VectorizeInto(string text, Span<float> row)
    {
        var state = _state ?? throw new InvalidOperationException(NoVocabularyMessage());
        int width = FixedOutputWidth ?? throw new InvalidOperationException($"{this}: int mode without output_sequence_length has no fixed width");
        row = row[..width];
        row.Clear();
        if (OutputMode == TextOutputMode.Int)
        {
            var ids = Ids(state, text);
            for (int k = 0; k < Math.Min(width, ids.Length); k++)
                row[k] = ids[k];
        }
        else
        {
            Encode(state, text, row);
        }
    }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (OutputMode == TextOutputMode.Int && OutputSequenceLength is null)
            throw new ArgumentException($"{this}: in a model, int mode needs output_sequence_length (without it each batch is as wide as its longest text)");
        int width = FixedOutputWidth ?? throw new InvalidOperationException($"{NoVocabularyMessage()}; its output width is not known before that");
        if (inputShape.Rank != 1 || inputShape[0] != width)
            throw new ArgumentException($"{this}: expected its vectorized texts [batch, {width}] (what Vectorize gives), got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <summary>The identity: the texts were vectorized before they entered the model (Strata tensors hold floats, not strings).</summary>
    protected override Tensor Call(Tensor x, bool training) => x;

    /// <inheritdoc/>
    public override LayerConfig GetConfig()
    {
        var state = _state;
        return new TextVectorizationConfig(Name, MaxTokens, Standardize, Split, Ngrams, OutputMode, OutputSequenceLength, PadToMaxTokens,
            state is null ? null : [.. state.Tokens], state?.Idf is { } idf ? [.. idf] : null);
    }

    private string[] SpecialTokenList() => OutputMode == TextOutputMode.Int ? [PaddingToken, OovToken] : [OovToken];

    private string NoVocabularyMessage() => $"{this} has no vocabulary yet: call Adapt(texts) or SetVocabulary(tokens) first";

    private void Install(string[] vocabulary, float[]? idf)
    {
        int? width = OutputMode == TextOutputMode.Int ? OutputSequenceLength : PadToMaxTokens ? MaxTokens : vocabulary.Length;
        if (Built && width != InputShape[0])
            throw new InvalidOperationException($"{this} is built for width {InputShape[0]}; the new vocabulary gives {width} (a built layer keeps its width: adapt before building the model, or use pad_to_max_tokens)");
        var index = new Dictionary<string, int>(vocabulary.Length, StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Length; i++)
            index[vocabulary[i]] = i;
        _state = new State(vocabulary, index, idf);
    }

    /// <summary>The ids of a text's tokens (int mode; unknown tokens → 1).</summary>
    private int[] Ids(State state, string text)
    {
        var tokens = Tokenize(text);
        var ids = new int[tokens.Count];
        for (int k = 0; k < ids.Length; k++)
            ids[k] = state.Index.TryGetValue(tokens[k], out int id) ? id : 1;
        return ids;
    }

    /// <summary>A multi-hot, count or tf-idf row (cleared by the caller); the padding token "" is dropped, unknown tokens count at 0.</summary>
    private void Encode(State state, string text, Span<float> row)
    {
        foreach (var token in Tokenize(text))
        {
            if (token.Length == 0)
                continue;
            int id = state.Index.TryGetValue(token, out int found) ? found : 0;
            if (OutputMode == TextOutputMode.MultiHot)
                row[id] = 1;
            else
                row[id] += 1;
        }
        if (OutputMode == TextOutputMode.TfIdf)
        {
            var idf = state.Idf!;
            for (int k = 0; k < idf.Length; k++)
                row[k] *= idf[k];
        }
    }
}

namespace Strata.Layers;

/// <summary>How <see cref="TextVectorization"/> standardizes a text before splitting it (Keras' <c>standardize</c>).</summary>
public enum TextStandardization
{
    /// <summary>Lower-case, then remove ASCII punctuation <c>!"#$%&amp;'()*+,-./:;&lt;=&gt;?@[\]^_`{|}~</c> (the default).</summary>
    LowerAndStripPunctuation,

    /// <summary>Lower-case only.</summary>
    Lower,

    /// <summary>Remove ASCII punctuation only.</summary>
    StripPunctuation,

    /// <summary>Leave the text as it is.</summary>
    None,
}

/// <summary>How <see cref="TextVectorization"/> splits a standardized text into tokens (Keras' <c>split</c>).</summary>
public enum TextSplit
{
    /// <summary>At runs of whitespace, dropping empty tokens (the default).</summary>
    Whitespace,

    /// <summary>Into Unicode characters (code points), whitespace included.</summary>
    Character,

    /// <summary>The whole text is one token.</summary>
    None,
}

/// <summary>What <see cref="TextVectorization"/> outputs per text (Keras' <c>output_mode</c>).</summary>
public enum TextOutputMode
{
    /// <summary>Token indices in text order: 0 padding, 1 out-of-vocabulary, then the vocabulary.</summary>
    Int,

    /// <summary>1 for each vocabulary index present in the text (index 0: out-of-vocabulary), else 0.</summary>
    MultiHot,

    /// <summary>How often each vocabulary index occurs in the text.</summary>
    Count,

    /// <summary>Each count times the index's inverse document frequency.</summary>
    TfIdf,
}

/// <summary>
/// Config of a <see cref="TextVectorization"/> layer: its settings, and its state once adapted or given one —
/// the whole vocabulary (special tokens first, as <see cref="TextVectorization.GetVocabulary"/> lists it) and,
/// in tf-idf mode, one inverse document frequency per vocabulary entry.
/// </summary>
public sealed record TextVectorizationConfig(string Name, int? MaxTokens, TextStandardization Standardize, TextSplit Split, int? Ngrams,
    TextOutputMode OutputMode, int? OutputSequenceLength, bool PadToMaxTokens, string[]? Vocabulary = null, float[]? IdfWeights = null) : LayerConfig(Name);

using System.Text;

namespace Strata.Layers;

/// <summary>The text side of <see cref="TextVectorization"/>: standardization, splitting, n-grams, and the vocabulary's tie order.</summary>
internal static class TextTokens
{
    /// <summary>Keras' default strip set: every ASCII punctuation character.</summary>
    public const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    public static string Standardize(string text, TextStandardization mode)
    {
        bool lower = mode is TextStandardization.Lower or TextStandardization.LowerAndStripPunctuation;
        bool strip = mode is TextStandardization.StripPunctuation or TextStandardization.LowerAndStripPunctuation;
        if (!strip)
            return lower ? text.ToLowerInvariant() : text;
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c < 128 && Punctuation.Contains(c))
                continue; // removed, not replaced by a space: "e-mail" → "email", as Keras does
            sb.Append(lower ? char.ToLowerInvariant(c) : c);
        }
        return sb.ToString();
    }

    /// <summary>The tokens of a standardized text, then (for <paramref name="ngrams"/> n) every 2..n-gram after the 1-grams, joined by a space.</summary>
    public static List<string> Split(string text, TextSplit split, int? ngrams)
    {
        var tokens = new List<string>();
        switch (split)
        {
            case TextSplit.Whitespace:
                int start = -1;
                for (int i = 0; i <= text.Length; i++)
                {
                    bool blank = i == text.Length || char.IsWhiteSpace(text[i]);
                    if (blank && start >= 0)
                    {
                        tokens.Add(text[start..i]);
                        start = -1;
                    }
                    else if (!blank && start < 0)
                        start = i;
                }
                break;
            case TextSplit.Character:
                foreach (var rune in text.EnumerateRunes())
                    tokens.Add(rune.ToString());
                break;
            default:
                tokens.Add(text);
                break;
        }
        if (ngrams is not int n || n < 2)
            return tokens;
        int unigrams = tokens.Count;
        var sb = new StringBuilder();
        for (int width = 2; width <= n; width++)
        {
            for (int i = 0; i + width <= unigrams; i++)
            {
                sb.Clear();
                for (int k = 0; k < width; k++)
                {
                    if (k > 0)
                        sb.Append(' ');
                    sb.Append(tokens[i + k]);
                }
                tokens.Add(sb.ToString());
            }
        }
        return tokens;
    }

    /// <summary>
    /// Orders strings by Unicode code point (the order of their UTF-8 bytes, which Keras sorts tied counts
    /// by), not by UTF-16 unit: surrogates (U+10000 and up) sort after U+E000–U+FFFF.
    /// </summary>
    public static int CompareCodePoints(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int ca = a[i], cb = b[i];
            if (ca == cb)
                continue;
            if (ca >= 0xD800 && cb >= 0xD800)
            {
                ca = Fix(ca);
                cb = Fix(cb);
            }
            return ca - cb;
        }
        return a.Length - b.Length;

        static int Fix(int c) => c >= 0xE000 ? c - 0x800 : c + 0x2000;
    }
}

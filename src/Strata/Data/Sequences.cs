namespace Strata.Data;

/// <summary>Which end of a sequence padding goes to, or truncation cuts from.</summary>
public enum SequenceEnd
{
    /// <summary>The start (Keras' "pre", the default of pad_sequences).</summary>
    Pre,

    /// <summary>The end (Keras' "post").</summary>
    Post,
}

/// <summary>Sequence helpers.</summary>
public static class Sequences
{
    /// <summary>
    /// Keras' pad_sequences: sequences of ids into one tensor [sequences, maxlen] of floats. A longer
    /// sequence loses its first (<see cref="SequenceEnd.Pre"/>) or last (<see cref="SequenceEnd.Post"/>)
    /// ids; a shorter one is filled with <paramref name="value"/> before (Pre) or after (Post) its ids.
    /// <paramref name="maxlen"/> null: the longest sequence's length.
    /// </summary>
    /// <exception cref="ArgumentException">A null sequence, or a maxlen below 0.</exception>
    public static Tensor PadSequences(IReadOnlyList<int[]> sequences, int? maxlen = null, SequenceEnd padding = SequenceEnd.Pre,
        SequenceEnd truncating = SequenceEnd.Pre, float value = 0)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (maxlen is < 0)
            throw new ArgumentOutOfRangeException(nameof(maxlen), $"PadSequences: maxlen must be ≥ 0, got {maxlen}");
        for (int i = 0; i < sequences.Count; i++)
        {
            if (sequences[i] is null)
                throw new ArgumentException($"PadSequences: sequence {i} is null");
        }
        int width = maxlen ?? (sequences.Count == 0 ? 0 : sequences.Max(s => s.Length));
        var data = new float[sequences.Count * width];
        data.AsSpan().Fill(value);
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i].AsSpan();
            if (s.Length > width)
                s = truncating == SequenceEnd.Pre ? s[(s.Length - width)..] : s[..width];
            var row = data.AsSpan(i * width, width);
            var target = padding == SequenceEnd.Pre ? row[(width - s.Length)..] : row[..s.Length];
            for (int k = 0; k < s.Length; k++)
                target[k] = s[k];
        }
        return Tensor.FromArray(data, sequences.Count, width);
    }
}

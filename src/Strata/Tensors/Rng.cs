namespace Strata;

/// <summary>
/// A seeded pseudo-random generator (xoshiro128**, seeded through SplitMix64). The same seed
/// gives the same stream on every platform and .NET version, and the state can be saved and
/// restored (checkpoints).
/// </summary>
public sealed class Rng
{
    private uint _s0, _s1, _s2, _s3;
    private float? _spareNormal;

    /// <summary>Creates a generator from a seed.</summary>
    public Rng(ulong seed)
    {
        ulong z = seed;
        ulong a = SplitMix(ref z), b = SplitMix(ref z);
        (_s0, _s1, _s2, _s3) = ((uint)a, (uint)(a >> 32), (uint)b, (uint)(b >> 32));
        if ((_s0 | _s1 | _s2 | _s3) == 0)
            _s0 = 1;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt() => Step(ref _s0, ref _s1, ref _s2, ref _s3);

    /// <summary>One xoshiro128** step: the output, and the state advanced.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static uint Step(ref uint s0, ref uint s1, ref uint s2, ref uint s3)
    {
        uint result = BitRotate(s1 * 5, 7) * 9;
        uint t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = BitRotate(s3, 11);
        return result;
    }

    private static uint BitRotate(uint x, int k) => (x << k) | (x >> (32 - k));

    /// <summary>Uniform in [0, 1), 24 random bits.</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1f / (1 << 24));

    /// <summary>Fills <paramref name="d"/> with what as many <see cref="NextFloat"/> calls would return, faster (the state in registers).</summary>
    public void FillUniform(Span<float> d)
    {
        uint s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        for (int i = 0; i < d.Length; i++)
            d[i] = (Step(ref s0, ref s1, ref s2, ref s3) >> 8) * (1f / (1 << 24));
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
    }

    /// <summary>Uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        return (int)((ulong)NextUInt() * (ulong)maxExclusive >> 32);
    }

    /// <summary>Standard normal (Box–Muller; the second value of each pair is kept for the next call).</summary>
    public float NextNormal()
    {
        if (_spareNormal is float spare)
        {
            _spareNormal = null;
            return spare;
        }
        double u1 = (NextUInt() + 1.0) / 4294967297.0; // in (0, 1): log is finite
        double u2 = NextUInt() / 4294967296.0;
        double r = Math.Sqrt(-2 * Math.Log(u1));
        _spareNormal = (float)(r * Math.Sin(2 * Math.PI * u2));
        return (float)(r * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>The full state, for saving (restore with <see cref="SetState"/>).</summary>
    public uint[] GetState() => [_s0, _s1, _s2, _s3, _spareNormal.HasValue ? 1u : 0u, BitConverter.SingleToUInt32Bits(_spareNormal ?? 0)];

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<uint> state)
    {
        if (state.Length != 6 || (state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException($"Rng.SetState: expected 6 words with a non-zero generator state, got {state.Length}");
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        _spareNormal = state[4] != 0 ? BitConverter.UInt32BitsToSingle(state[5]) : null;
    }
}

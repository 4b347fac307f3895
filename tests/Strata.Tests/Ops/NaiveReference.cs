namespace Strata.Tests.Ops;

/// <summary>Index-by-index reference implementations (slow and obvious) for the op tests.</summary>
internal static class NaiveReference
{
    public static int[] Unravel(int flat, int[] dims)
    {
        var idx = new int[dims.Length];
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            idx[i] = flat % dims[i];
            flat /= dims[i];
        }
        return idx;
    }

    /// <summary>The element of t that broadcasts to output index idx.</summary>
    public static float At(Tensor t, int[] idx)
    {
        var dims = t.Shape.ToArray();
        int lead = idx.Length - dims.Length, off = 0;
        for (int i = 0; i < dims.Length; i++)
            off = off * dims[i] + (dims[i] == 1 ? 0 : idx[i + lead]);
        return t.Span[off];
    }

    public static float[] Binary(Tensor a, Tensor b, int[] outDims, Func<float, float, float> f)
    {
        int size = outDims.Aggregate(1, (x, y) => x * y);
        var r = new float[size];
        for (int i = 0; i < size; i++)
        {
            var idx = Unravel(i, outDims);
            r[i] = f(At(a, idx), At(b, idx));
        }
        return r;
    }

    public static float[] Reduce(Tensor x, int[] axes, Func<IEnumerable<float>, float> f, out int[] keptDims)
    {
        var dims = x.Shape.ToArray();
        keptDims = dims.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
        int outSize = keptDims.Aggregate(1, (p, q) => p * q);
        var groups = new List<float>[outSize];
        for (int i = 0; i < outSize; i++)
            groups[i] = [];
        for (int i = 0; i < x.Size; i++)
        {
            var idx = Unravel(i, dims);
            int o = 0;
            for (int d = 0; d < dims.Length; d++)
                o = o * keptDims[d] + (axes.Contains(d) ? 0 : idx[d]);
            groups[o].Add(x.Span[i]);
        }
        return groups.Select(f).ToArray();
    }
}

namespace Strata.Tests;

/// <summary>Seeded random data for tests.</summary>
internal static class TestData
{
    public static float[] Random(int length, ulong seed, float low = -1, float high = 1)
    {
        var rng = new Rng(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++)
            x[i] = low + (high - low) * rng.NextFloat();
        return x;
    }

    public static Tensor Tensor(ulong seed, params int[] shape) =>
        Strata.Tensor.RandomUniform(shape, -1f, 1f, seed);

    public static Tensor Param(ulong seed, params int[] shape)
    {
        var t = Tensor(seed, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Three Gaussian blobs in 2-D (centres (0, 2), (−2, −1), (2, −1), σ 0.6), labels 0..2 in turn.</summary>
    public static (Tensor X, Tensor Y) Blobs(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[n * 2];
        var y = new float[n];
        float[][] centers = [[0, 2], [-2, -1], [2, -1]];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            x[2 * i] = centers[c][0] + 0.6f * rng.NextNormal();
            x[2 * i + 1] = centers[c][1] + 0.6f * rng.NextNormal();
            y[i] = c;
        }
        return (Strata.Tensor.FromArray(x, n, 2), Strata.Tensor.FromArray(y));
    }
}

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
}

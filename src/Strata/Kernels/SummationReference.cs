namespace Strata.Kernels;

/// <summary>The plain float64 loops that define <see cref="Summation"/> (test oracles; double error is far below float's).</summary>
internal static class SummationReference
{
    public static double Sum(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x)
            s += v;
        return s;
    }

    public static double SumOfSquares(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x)
            s += (double)v * v;
        return s;
    }

    public static double SumOfSquaredDeviations(ReadOnlySpan<float> x, float mean)
    {
        double s = 0;
        foreach (float v in x)
        {
            double d = (double)v - mean;
            s += d * d;
        }
        return s;
    }

    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++)
            s += (double)x[i] * y[i];
        return s;
    }

    /// <summary>Σᵣ x[r, j] of a row-major [rows, cols] matrix; with y, Σᵣ x[r, j]·y[r, j]; with means, Σᵣ (x[r, j] − meanⱼ)².</summary>
    public static double[] ColumnSums(ReadOnlySpan<float> x, int rows, int cols, ReadOnlySpan<float> y = default, ReadOnlySpan<float> means = default)
    {
        var s = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < cols; j++)
            {
                int i = r * cols + j;
                double v = x[i];
                if (!y.IsEmpty)
                    v *= y[i];
                if (!means.IsEmpty)
                    v = (v - means[j]) * (v - means[j]);
                s[j] += v;
            }
        }
        return s;
    }
}

using System.Globalization;
using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Benchmarks;

/// <summary>
/// Relative error against float64 of a float32 Sum and Mean over 10^5 and 10^6 values (uniform [0, 1)
/// and normal with mean 1, std 1), and of column sums over a long batch axis: the summation before
/// issue 15 (TensorPrimitives.Sum; rows added one by one) against the pairwise kernels now. Writes the
/// data as raw little-endian float32 files, so that bench/compare/sum_accuracy_torch.py measures
/// PyTorch's float32 sum on the same numbers.
/// </summary>
internal static class SummationAccuracy
{
    /// <summary>The data sets: name, values, and for the column case its [rows, cols].</summary>
    internal static IEnumerable<(string Name, float[] Values, int Rows, int Cols)> DataSets()
    {
        foreach (int n in new[] { 100_000, 1_000_000 })
        {
            var rng = new Rng(15);
            yield return ($"uniform_{n}", Enumerable.Range(0, n).Select(_ => rng.NextFloat()).ToArray(), 1, n);
            rng = new Rng(16);
            yield return ($"normal1_{n}", Enumerable.Range(0, n).Select(_ => 1 + rng.NextNormal()).ToArray(), 1, n);
        }
        // A bias gradient or batch statistics over a long batch axis: [250,000, 4], summed over the rows.
        var r = new Rng(17);
        yield return ("columns_250000x4", Enumerable.Range(0, 1_000_000).Select(_ => r.NextFloat()).ToArray(), 250_000, 4);
    }

    public static void Run(string folder)
    {
        Directory.CreateDirectory(folder);
        Console.WriteLine("| data | n | Strata before: sum | Strata now: sum | Strata before: mean | Strata now: mean |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, x, rows, cols) in DataSets())
        {
            using (var f = File.Create(Path.Combine(folder, name + ".f32")))
                f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
            if (rows == 1)
            {
                double exact = SummationReference.Sum(x);
                float before = TensorPrimitives.Sum(x), now = Summation.Sum(x);
                // Mean was and is the sum times 1/n (Tensor.Mean).
                float beforeMean = before * (1f / x.Length), nowMean = Strata.Tensor.FromArray(x).Mean().ToScalar();
                double exactMean = exact / x.Length;
                Console.WriteLine($"| {name} | {x.Length:N0} | {Rel(before, exact)} | {Rel(now, exact)} | {Rel(beforeMean, exactMean)} | {Rel(nowMean, exactMean)} |");
            }
            else
            {
                var exact = SummationReference.ColumnSums(x, rows, cols);
                var before = new float[cols];
                x.AsSpan(0, cols).CopyTo(before);
                for (int i = 1; i < rows; i++)
                    TensorPrimitives.Add(before, x.AsSpan(i * cols, cols), before);
                var now = new float[cols];
                Summation.ColumnSums(x, rows, cols, now);
                Console.WriteLine($"| {name} (worst column) | {rows:N0} rows | {Worst(before, exact)} | {Worst(now, exact)} | | |");
            }
        }
        Console.WriteLine($"data written to {folder}");
    }

    private static string Rel(double value, double exact) => (Math.Abs(value - exact) / Math.Abs(exact)).ToString("0.0e+0", CultureInfo.InvariantCulture);

    private static string Worst(float[] values, double[] exact) =>
        values.Select((v, j) => Math.Abs(v - exact[j]) / Math.Abs(exact[j])).Max().ToString("0.0e+0", CultureInfo.InvariantCulture);
}

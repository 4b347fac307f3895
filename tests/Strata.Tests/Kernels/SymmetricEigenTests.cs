using Strata.Kernels;

namespace Strata.Tests.Kernels;

/// <summary>
/// The Jacobi eigensolver: A = V·Λ·Vᵀ and VᵀV = I on random symmetric matrices, eigenvalues of
/// matrices whose spectrum is known in closed form, and bad input.
/// </summary>
public sealed class SymmetricEigenTests
{
    /// <summary>A random symmetric n×n matrix with entries in [−1, 1].</summary>
    private static double[] RandomSymmetric(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = i; j < n; j++)
                a[i * n + j] = a[j * n + i] = 2.0 * rng.NextFloat() - 1;
        }
        return a;
    }

    private static (double[] Values, double[] Vectors) Decompose(double[] a)
    {
        int n = SymmetricEigen.Order(a.Length);
        var values = new double[n];
        var vectors = new double[n * n];
        SymmetricEigen.Decompose(a, values, vectors);
        return (values, vectors);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(130)]
    public void Reconstructs_random_symmetric_matrices_with_orthonormal_vectors(int n)
    {
        var a = RandomSymmetric(n, (ulong)n);
        var (values, v) = Decompose(a);
        double norm = Math.Sqrt(a.Sum(x => x * x));
        double worstReconstruction = 0, worstOrthogonality = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double r = 0, g = 0;
                for (int k = 0; k < n; k++)
                {
                    r += v[i * n + k] * values[k] * v[j * n + k]; // (V Λ Vᵀ)[i, j]
                    g += v[k * n + i] * v[k * n + j]; // (Vᵀ V)[i, j]
                }
                worstReconstruction = Math.Max(worstReconstruction, Math.Abs(r - a[i * n + j]));
                worstOrthogonality = Math.Max(worstOrthogonality, Math.Abs(g - (i == j ? 1 : 0)));
            }
        }
        Assert.True(worstReconstruction <= 1e-11 * Math.Max(norm, 1), $"n = {n}: |V Λ Vᵀ − A| up to {worstReconstruction:G3} (‖A‖ = {norm:G3})");
        Assert.True(worstOrthogonality <= 1e-12 * Math.Max(n, 1), $"n = {n}: |Vᵀ V − I| up to {worstOrthogonality:G3}");
        for (int k = 1; k < n; k++)
            Assert.True(values[k - 1] <= values[k], $"n = {n}: eigenvalues not ascending at {k}: {values[k - 1]} then {values[k]}");
        // The trace is the sum of the eigenvalues.
        double trace = 0;
        for (int i = 0; i < n; i++)
            trace += a[i * n + i];
        Assert.Equal(trace, values.Sum(), 1e-10);
    }

    [Fact]
    public void Two_by_two_in_closed_form()
    {
        // [[a, b], [b, d]]: λ = (a + d)/2 ∓ √(((a − d)/2)² + b²); here a = 2, d = −1, b = 1.5:
        // (0.5 ∓ √(2.25 + 2.25)) = 0.5 ∓ 2.1213203435596424.
        var (values, v) = Decompose([2, 1.5, 1.5, -1]);
        double r = Math.Sqrt(4.5);
        Assert.Equal(0.5 - r, values[0], 1e-14);
        Assert.Equal(0.5 + r, values[1], 1e-14);
        // The eigenvector of λ solves (a − λ)x + b·y = 0: direction (b, λ − a).
        for (int k = 0; k < 2; k++)
        {
            double x = 1.5, y = values[k] - 2, len = Math.Sqrt(x * x + y * y);
            double dot = v[0 * 2 + k] * x / len + v[1 * 2 + k] * y / len;
            Assert.Equal(1, Math.Abs(dot), 1e-13);
        }
    }

    [Fact]
    public void Known_three_by_three_spectra()
    {
        // The 1-D discrete Laplacian tridiag(−1, 2, −1) of order 3 has λ_k = 2 − 2cos(kπ/4), k = 1..3: 2 − √2, 2, 2 + √2.
        var (values, _) = Decompose([2, -1, 0, -1, 2, -1, 0, -1, 2]);
        Assert.Equal(2 - Math.Sqrt(2), values[0], 1e-14);
        Assert.Equal(2, values[1], 1e-14);
        Assert.Equal(2 + Math.Sqrt(2), values[2], 1e-14);
        // The all-ones matrix J₃ has eigenvalues 0, 0, 3, with (1, 1, 1)/√3 for 3.
        var (ones, vectors) = Decompose([1, 1, 1, 1, 1, 1, 1, 1, 1]);
        Assert.Equal(0, ones[0], 1e-14);
        Assert.Equal(0, ones[1], 1e-14);
        Assert.Equal(3, ones[2], 1e-14);
        for (int i = 0; i < 3; i++)
            Assert.Equal(1 / Math.Sqrt(3), Math.Abs(vectors[i * 3 + 2]), 1e-14);
        // A diagonal matrix needs no rotation: its entries, sorted, and the unit vectors.
        var diagonal = new double[] { 5, 0, 0, 0, -2, 0, 0, 0, 1 };
        var values3 = new double[3];
        var vectors3 = new double[9];
        Assert.Equal(0, SymmetricEigen.Decompose(diagonal, values3, vectors3));
        Assert.Equal([-2, 1, 5], values3);
        Assert.Equal([0, 0, 1, 1, 0, 0, 0, 1, 0], vectors3);
    }

    [Fact]
    public void Positive_semidefinite_rank_deficient_matrix_keeps_its_zero_eigenvalues()
    {
        // G = XᵀX for X 3×6 has rank 3: three eigenvalues at 0 (to rounding), three positive.
        int n = 6;
        var x = RandomSymmetric(n, 11).Take(3 * n).ToArray();
        var g = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int r = 0; r < 3; r++)
                    g[i * n + j] += x[r * n + i] * x[r * n + j];
            }
        }
        var (values, _) = Decompose(g);
        for (int k = 0; k < 3; k++)
            Assert.True(Math.Abs(values[k]) < 1e-14, $"eigenvalue {k} = {values[k]:G3}, expected 0");
        for (int k = 3; k < 6; k++)
            Assert.True(values[k] > 1e-3, $"eigenvalue {k} = {values[k]:G3}, expected positive");
    }

    [Fact]
    public void Order_256_converges_in_a_few_sweeps()
    {
        // The size bound of the brief (n up to ~256): quadratic convergence means a handful of sweeps.
        int n = 256;
        var a = RandomSymmetric(n, 256);
        var values = new double[n];
        var vectors = new double[n * n];
        int sweeps = SymmetricEigen.Decompose(a, values, vectors);
        Assert.InRange(sweeps, 1, 15);
    }

    [Fact]
    public void Bad_input_is_refused_with_the_reason()
    {
        var values = new double[2];
        var vectors = new double[4];
        var notSquare = Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose(new double[5], values, vectors));
        Assert.Contains("5 elements", notSquare.Message);
        Assert.Contains("square", notSquare.Message);
        var outputs = Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose(new double[4], new double[3], vectors));
        Assert.Contains("2 eigenvalues", outputs.Message);
        Assert.Contains("3", outputs.Message);
        var asymmetric = Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose([1, 2, 3, 4], values, vectors));
        Assert.Contains("not symmetric", asymmetric.Message);
        Assert.Contains("[0, 1] = 2", asymmetric.Message);
        var nan = Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose([1, double.NaN, double.NaN, 4], values, vectors));
        Assert.Contains("NaN", nan.Message);
        // The empty matrix is 0×0: nothing to do.
        Assert.Equal(0, SymmetricEigen.Decompose([], [], []));
    }
}

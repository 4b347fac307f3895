using System.Numerics;
using System.Runtime.InteropServices;

namespace Strata.Kernels;

/// <summary>
/// Eigenvalues and eigenvectors of a real symmetric matrix, in double precision: A = V·Λ·Vᵀ with V
/// orthogonal. Cyclic Jacobi rotations: each rotation in the plane (p, q) zeroes A[p, q]; sweeps over
/// every pair repeat until the off-diagonal norm is at most <see cref="Tolerance"/> times the
/// Frobenius norm of A (Jacobi converges quadratically, so this takes a handful of sweeps, and it
/// finds small eigenvalues to high relative accuracy). Used for the matrix square roots of covariance
/// matrices in the Fréchet distance (<c>GenerativeScores.FrechetDistance</c>).
/// </summary>
/// <remarks>
/// A rotation G (G[p,p] = G[q,q] = c, G[p,q] = −s, G[q,p] = s) replaces A by G·A·Gᵀ. Because the
/// result is symmetric, only rows p and q are computed (contiguous, in vector lanes) and copied into
/// columns p and q; the eigenvector matrix is kept transposed (W = Vᵀ, one eigenvector per row), so
/// W ← G·W also touches two contiguous rows. A rotation costs about 8n flops plus 2n strided
/// stores, a sweep n²/2 rotations.
/// </remarks>
internal static class SymmetricEigen
{
    /// <summary>The relative off-diagonal norm at which the iteration stops: ‖offdiag(A)‖_F ≤ 1e-12·‖A₀‖_F.</summary>
    public const double Tolerance = 1e-12;

    /// <summary>Sweeps before giving up (a symmetric matrix converges in well under 20).</summary>
    public const int MaxSweeps = 60;

    /// <summary>
    /// Decomposes the n×n symmetric matrix <paramref name="matrix"/> (row-major, n² elements).
    /// <paramref name="eigenvalues"/> (n) receives the eigenvalues in ascending order and
    /// <paramref name="eigenvectors"/> (n², row-major) the matching unit eigenvectors as columns:
    /// column j, elements [i·n + j] for i = 0..n−1, belongs to eigenvalue j (numpy.linalg.eigh's layout).
    /// Returns the number of sweeps it took.
    /// </summary>
    /// <exception cref="ArgumentException">The matrix length is not a square, an output has the wrong length,
    /// the matrix holds NaN or infinity, or it is not symmetric (|A[i,j] − A[j,i]| over 1e-10·max|A|).</exception>
    public static int Decompose(ReadOnlySpan<double> matrix, Span<double> eigenvalues, Span<double> eigenvectors)
    {
        int n = Order(matrix.Length);
        if (eigenvalues.Length != n || eigenvectors.Length != matrix.Length)
            throw new ArgumentException($"SymmetricEigen: a {n}×{n} matrix needs {n} eigenvalues and {matrix.Length} eigenvector elements, got spans of {eigenvalues.Length} and {eigenvectors.Length}");
        CheckSymmetric(matrix, n);

        // The mean of the two triangles: within the tolerance above they may differ by rounding, and the
        // rotations assume exact symmetry (they compute rows and copy them into columns).
        var a = new double[matrix.Length];
        for (int i = 0; i < n; i++)
        {
            a[i * n + i] = matrix[i * n + i];
            for (int j = i + 1; j < n; j++)
                a[i * n + j] = a[j * n + i] = 0.5 * (matrix[i * n + j] + matrix[j * n + i]);
        }
        var w = new double[matrix.Length]; // Vᵀ: row j is eigenvector j
        for (int i = 0; i < n; i++)
            w[i * n + i] = 1;
        double scale = FrobeniusNorm(a);
        double stop = Tolerance * scale;
        int sweeps = 0;
        while (OffDiagonalNorm(a, n) > stop)
        {
            if (sweeps == MaxSweeps)
                throw new InvalidOperationException($"SymmetricEigen: no convergence after {MaxSweeps} sweeps on a {n}×{n} matrix (off-diagonal norm {OffDiagonalNorm(a, n):G3}, target {stop:G3})");
            sweeps++;
            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                    Rotate(a, w, n, p, q);
            }
        }

        // Ascending eigenvalues; eigenvector j becomes column j of the output.
        var order = new int[n];
        var diag = new double[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            diag[i] = a[i * n + i];
        }
        Array.Sort((double[])diag.Clone(), order);
        for (int j = 0; j < n; j++)
        {
            int src = order[j];
            eigenvalues[j] = diag[src];
            for (int i = 0; i < n; i++)
                eigenvectors[i * n + j] = w[src * n + i];
        }
        return sweeps;
    }

    /// <summary>n for a matrix of n² elements.</summary>
    /// <exception cref="ArgumentException">The length is not a perfect square.</exception>
    public static int Order(int length)
    {
        int n = (int)Math.Round(Math.Sqrt(length));
        if (length < 0 || (long)n * n != length)
            throw new ArgumentException($"SymmetricEigen: expected a square matrix (n² elements, row-major), got {length} elements, which is not a square");
        return n;
    }

    /// <summary>One Jacobi rotation that zeroes A[p, q] (p &lt; q), applied to A and to the rows of W = Vᵀ.</summary>
    private static void Rotate(double[] a, double[] w, int n, int p, int q)
    {
        double apq = a[p * n + q];
        if (apq == 0)
            return;
        double app = a[p * n + p], aqq = a[q * n + q];
        // The off-diagonal entry of G·A·Gᵀ is cs(a_pp − a_qq) + a_pq(c² − s²); with t = s/c it vanishes when
        // t² + 2θt − 1 = 0, θ = (a_qq − a_pp) / (2a_pq). The root of smaller magnitude keeps the rotation
        // under 45° (what makes the cyclic method converge): t = sign(θ) / (|θ| + √(θ² + 1)).
        double theta = (aqq - app) / (2 * apq);
        double t = double.IsInfinity(theta * theta)
            ? 0.5 / theta // |θ| huge: t ≈ 1/(2θ) without overflowing θ²
            : (theta >= 0 ? 1 : -1) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
        double c = 1 / Math.Sqrt(t * t + 1), s = t * c;

        var rowP = a.AsSpan(p * n, n);
        var rowQ = a.AsSpan(q * n, n);
        RotateRows(rowP, rowQ, c, s);
        // The result is symmetric: columns p and q are the new rows p and q.
        for (int k = 0; k < n; k++)
        {
            a[k * n + p] = rowP[k];
            a[k * n + q] = rowQ[k];
        }
        // The 2×2 block in closed form: a'_pp = a_pp − t·a_pq, a'_qq = a_qq + t·a_pq, a'_pq = 0 exactly.
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        RotateRows(w.AsSpan(p * n, n), w.AsSpan(q * n, n), c, s);
    }

    /// <summary>(x, y) ← (c·x − s·y, s·x + c·y), element by element.</summary>
    private static void RotateRows(Span<double> x, Span<double> y, double c, double s)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            var vx = MemoryMarshal.Cast<double, Vector<double>>(x);
            var vy = MemoryMarshal.Cast<double, Vector<double>>(y);
            var vc = new Vector<double>(c);
            var vs = new Vector<double>(s);
            for (int v = 0; v < vx.Length; v++)
            {
                var xv = vx[v];
                var yv = vy[v];
                vx[v] = vc * xv - vs * yv;
                vy[v] = vs * xv + vc * yv;
            }
            i = vx.Length * Vector<double>.Count;
        }
        for (; i < x.Length; i++)
        {
            double xv = x[i], yv = y[i];
            x[i] = c * xv - s * yv;
            y[i] = s * xv + c * yv;
        }
    }

    private static double FrobeniusNorm(ReadOnlySpan<double> a)
    {
        double sum = 0;
        foreach (double v in a)
            sum += v * v;
        return Math.Sqrt(sum);
    }

    private static double OffDiagonalNorm(double[] a, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
                sum += a[i * n + j] * a[i * n + j];
        }
        return Math.Sqrt(2 * sum);
    }

    private static void CheckSymmetric(ReadOnlySpan<double> a, int n)
    {
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (!double.IsFinite(a[i]))
                throw new ArgumentException($"SymmetricEigen: element [{i / n}, {i % n}] of the {n}×{n} matrix is {a[i]}; expected finite values");
            max = Math.Max(max, Math.Abs(a[i]));
        }
        double tolerance = 1e-10 * max;
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                if (Math.Abs(a[i * n + j] - a[j * n + i]) > tolerance)
                    throw new ArgumentException($"SymmetricEigen: the {n}×{n} matrix is not symmetric: [{i}, {j}] = {a[i * n + j]:G17} but [{j}, {i}] = {a[j * n + i]:G17}");
            }
        }
    }
}

using Strata.Kernels;

namespace Strata.Tests.Kernels;

/// <summary>The SGEMM driver and every micro-kernel against the plain triple loop.</summary>
[Collection(ProcessWideSettingsCollection.Name)]
public sealed class GemmTests : IDisposable
{
    private const float Sentinel = 12345.678f;

    public void Dispose()
    {
        Gemm.ForcedKernel = GemmKernelKind.Auto;
        Gemm.ForcePackB = null;
        Gemm.Blocks = null;
    }

    public static TheoryData<string> Kinds()
    {
        var data = new TheoryData<string> { nameof(GemmKernelKind.Scalar) };
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
            data.Add(nameof(GemmKernelKind.Vector128));
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
            data.Add(nameof(GemmKernelKind.Avx2));
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
            data.Add(nameof(GemmKernelKind.Avx512));
        return data;
    }

    // (m, n, k): vectors, primes, edges of every register tile, several K blocks, tall and wide.
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 37, 1), (37, 1, 1), (1, 1, 300), (1, 257, 13), (257, 1, 13), (13, 1, 257),
        (2, 3, 5), (7, 11, 13), (12, 32, 8), (13, 33, 7), (11, 31, 9), (24, 64, 16), (25, 65, 17),
        (6, 16, 3), (5, 15, 4), (97, 89, 83), (4, 4, 600), (31, 47, 517), (301, 5, 3), (3, 301, 5),
        (128, 96, 260), (293, 67, 41), (10, 32, 20), (28, 40, 9), (32, 128, 50), (0, 5, 3), (5, 0, 3), (5, 3, 0),
        (130, 256, 40), (70, 1024, 6), // rows of B 1 KiB and 4 KiB apart: packed from ten row panels on, read in place below
    ];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Matches_reference_for_every_transpose_and_shape(string kind)
    {
        Gemm.ForcedKernel = Enum.Parse<GemmKernelKind>(kind);
        ulong seed = 1;
        foreach (var (m, n, k) in Shapes)
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                    Check(ta, tb, m, n, k, alpha: 1, beta: 0, pad: 0, seed++);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Honours_alpha_beta_and_leading_dimensions(string kind)
    {
        Gemm.ForcedKernel = Enum.Parse<GemmKernelKind>(kind);
        ulong seed = 100;
        foreach (var (alpha, beta) in new[] { (1f, 1f), (0.5f, -2f), (-1.5f, 0.25f), (2f, 0f), (0f, 0.5f) })
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    Check(ta, tb, 29, 45, 37, alpha, beta, pad: 3, seed++);
                    Check(ta, tb, 12, 32, 300, alpha, beta, pad: 1, seed++);
                }
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Packed_and_in_place_B_agree_with_reference(bool packB)
    {
        Gemm.ForcePackB = packB;
        Check(false, false, 50, 70, 300, 1, 0, 0, 7);
        Check(false, false, 12, 33, 5, 1, 1, 2, 8);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Any_blocking_the_caches_can_give_matches_reference(string kind)
    {
        // Other machines' caches give other blocks: small ones make every loop of the driver run several times.
        Gemm.ForcedKernel = Enum.Parse<GemmKernelKind>(kind);
        ulong seed = 300;
        foreach (var blocks in new Gemm.Blocking[] { new(64, 2, 128), new(80, 3, 48), new(1024, 256, 16384) })
        {
            Gemm.Blocks = blocks;
            foreach (bool packB in new[] { false, true })
            {
                Gemm.ForcePackB = packB;
                Check(false, false, 97, 301, 203, 1, 0, 0, seed++);
                Check(true, true, 61, 150, 170, 0.5f, 1, 2, seed++);
            }
        }
    }

    [Fact]
    public void The_blocking_follows_the_cache_budgets()
    {
        // Zen 3: 32 KiB L1d, 512 KiB L2, 32 MiB L3 over 2 threads; AVX2 6×16 tiles.
        var zen3 = new CacheSizes(32 << 10, 512 << 10, 32L << 20, 2, "test");
        Assert.Equal(new Gemm.Blocking(320, 25, 6544), Gemm.FromCaches(zen3, 6, 16));
        // Intel client (48 KiB L1d, 1.25 MiB L2, 24 MiB L3 over 16 threads): a deeper kc, more panels.
        var intel = new CacheSizes(48 << 10, 1280 << 10, 24L << 20, 16, "test");
        Assert.Equal(new Gemm.Blocking(480, 42, 3264), Gemm.FromCaches(intel, 6, 16));
        // A huge L1 (Apple's 128 KiB) is clamped; the 128-bit kernel's narrower tile gets a deeper kc.
        var big = new CacheSizes(128 << 10, 4 << 20, 16L << 20, 4, "test");
        Assert.Equal(1024, Gemm.FromCaches(big, 6, 16).Kc);
        Assert.Equal(640, Gemm.FromCaches(zen3, 6, 8).Kc);
        // The machine's own: plausible sizes, and the blocking every call uses.
        var machine = CacheSizes.Machine;
        Assert.InRange(machine.L1Data, 8 << 10, 1 << 20);
        Assert.True(machine.L2 >= machine.L1Data && machine.L3 >= machine.L2, machine.ToString());
    }

    [Theory]
    [InlineData("32K", 32L << 10)]
    [InlineData("1024K", 1L << 20)]
    [InlineData("32M", 32L << 20)]
    [InlineData("512", 512L)]
    public void Sysfs_cache_sizes_parse(string text, long bytes) => Assert.Equal(bytes, CacheSizes.ParseSize(text));

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1", 2)]
    [InlineData("0-3,8-11", 8)]
    [InlineData("0,2,4", 3)]
    public void Sysfs_cpu_lists_count(string list, int count) => Assert.Equal(count, CacheSizes.CountCpus(list));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_single_row_gets_the_bits_it_gets_inside_a_batch(string kind)
    {
        // One row takes a row-vector path on the FMA kernels; it must agree bit for bit with the same row of a
        // batch (the micro-kernel), for every transpose of A, alpha, beta and a K of several blocks.
        Gemm.ForcedKernel = Enum.Parse<GemmKernelKind>(kind);
        foreach (var (n, k) in new[] { (128, 784), (37, 5), (200, 1000), (1, 3) })
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f), (-2f, 0.25f) })
                {
                    const int m = 7;
                    var a = TestData.Random(m * k, 41);
                    var b = TestData.Random(k * n, 42);
                    var c0 = TestData.Random(m * n, 43);
                    var batch = (float[])c0.Clone();
                    Gemm.Sgemm(ta, false, m, n, k, alpha, a, ta ? m : k, b, n, beta, batch, n);
                    // Row 3 alone: op(A)'s row 3 (A's column 3 when transposed, read with stride m).
                    var row = c0.AsSpan(3 * n, n).ToArray();
                    if (ta)
                        Gemm.Sgemm(true, false, 1, n, k, alpha, a.AsSpan(3).ToArray(), m, b, n, beta, row, n);
                    else
                        Gemm.Sgemm(false, false, 1, n, k, alpha, a.AsSpan(3 * k, k).ToArray(), k, b, n, beta, row, n);
                    Assert.Equal(batch.AsSpan(3 * n, n).ToArray(), row);
                }
            }
        }
    }

    [Fact]
    public void Beta_zero_ignores_nan_in_c()
    {
        var a = TestData.Random(6, 1);
        var b = TestData.Random(6, 2);
        var c = new float[4];
        Array.Fill(c, float.NaN);
        Gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
        Assert.All(c, v => Assert.False(float.IsNaN(v)));
    }

    [Fact]
    public void Result_is_bit_identical_for_one_and_two_threads()
    {
        var (m, n, k) = (200, 300, 700);
        var a = TestData.Random(m * k, 3);
        var b = TestData.Random(k * n, 4);
        var c1 = new float[m * n];
        var c2 = new float[m * n];
        Gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c1, n, maxThreads: 1);
        Gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n, maxThreads: 2);
        Assert.Equal(c1, c2);
        Gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n, maxThreads: 2);
        Assert.Equal(c1, c2);
    }

    [Fact]
    public void Concurrent_callers_share_the_worker_pool_and_get_the_same_results()
    {
        var (m, n, k) = (200, 300, 700);
        var a = TestData.Random(m * k, 5);
        var b = TestData.Random(k * n, 6);
        var expected = new float[m * n];
        Gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, expected, n, maxThreads: 1);
        // Four callers at once asking for 1–4 strips: one holds the pool, the others run inline.
        var results = new float[4][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            var c = new float[m * n];
            for (int rep = 0; rep < 5; rep++)
                Gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n, maxThreads: t + 1);
            results[t] = c;
        });
        foreach (var c in results)
            Assert.Equal(expected, c);
    }

    private sealed class Failing : WorkerPool.Work
    {
        public int Ran;

        public override void Run(int strip)
        {
            Interlocked.Increment(ref Ran);
            if (strip == 2)
                throw new InvalidOperationException("strip 2 failed");
        }
    }

    [Fact]
    public void A_failing_strip_is_rethrown_on_the_caller_and_the_pool_keeps_working()
    {
        var work = new Failing();
        var ex = Assert.Throws<InvalidOperationException>(() => WorkerPool.Run(work, 3));
        Assert.Equal("strip 2 failed", ex.Message);
        Assert.Equal(3, work.Ran);
        var ok = new Failing();
        WorkerPool.Run(ok, 2);
        Assert.Equal(2, ok.Ran);
    }

    [Fact]
    public void Rejects_operands_that_are_too_short()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.Sgemm(false, false, 4, 4, 4, 1, new float[15], 4, new float[16], 4, 0, new float[16], 4));
        Assert.Contains("A is 4×4", ex.Message);
        Assert.Contains("got 15", ex.Message);
        Assert.Throws<ArgumentException>(() =>
            Gemm.Sgemm(false, false, 4, 4, 4, 1, new float[16], 3, new float[16], 4, 0, new float[16], 4));
    }

    // Checks that each block it is handed is final (equal to the product without an epilogue) and not seen
    // before, then negates it (exact) and counts its elements.
    private sealed class Negating(float[] final, int[] seen) : GemmEpilogue
    {
        public int Wrong;

        public override void Apply(Span<float> block, int ldc, int row0, int rows, int col0, int cols)
        {
            for (int r = 0; r < rows; r++)
            {
                for (int j = 0; j < cols; j++)
                {
                    int ix = (row0 + r) * ldc + col0 + j;
                    if (Interlocked.Increment(ref seen[ix]) != 1 || !block[r * ldc + j].Equals(final[ix]))
                        Interlocked.Increment(ref Wrong);
                    block[r * ldc + j] = -block[r * ldc + j];
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void The_epilogue_sees_every_element_of_c_once_and_final(string kind)
    {
        Gemm.ForcedKernel = Enum.Parse<GemmKernelKind>(kind);
        ulong seed = 700;
        // (m, n, k, threads, blocking): one row; K = 0 and alpha = 0; several k, m and n blocks; a padded C;
        // two threads by rows (m > n) and by columns; the default blocking over the MLP's inference shape.
        var cases = new (int M, int N, int K, float Alpha, int Threads, Gemm.Blocking? Blocks)[]
        {
            (1, 37, 300, 1, 1, null), (5, 7, 0, 1, 1, null), (6, 9, 4, 0, 1, null), (97, 301, 203, 1, 1, new(64, 2, 128)),
            (61, 150, 170, 0.5f, 1, new(80, 3, 48)), (300, 200, 300, 1, 2, null), (200, 300, 300, 1, 2, new(64, 2, 128)),
            (1000, 128, 784, 1, 1, null),
        };
        foreach (var (m, n, k, alpha, threads, blocks) in cases)
        {
            foreach (bool packB in new[] { false, true })
            {
                Gemm.Blocks = blocks;
                Gemm.ForcePackB = packB;
                int ldc = n + 3;
                var a = TestData.Random(m * k, seed);
                var b = TestData.Random(k * n, seed + 1);
                var c0 = TestData.Random(m * ldc, seed + 2);
                seed += 3;
                var final = (float[])c0.Clone();
                Gemm.Sgemm(false, false, m, n, k, alpha, a, Math.Max(1, k), b, n, 0.5f, final, ldc, threads);
                var c = (float[])c0.Clone();
                var seen = new int[c.Length];
                var epilogue = new Negating(final, seen);
                Gemm.Sgemm(false, false, m, n, k, alpha, a, Math.Max(1, k), b, n, 0.5f, c, ldc, threads, epilogue);
                Assert.True(epilogue.Wrong == 0, $"m={m} n={n} k={k} threads={threads} packB={packB}: {epilogue.Wrong} elements seen twice or before they were final");
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < ldc; j++)
                    {
                        int ix = i * ldc + j;
                        Assert.Equal(j < n ? 1 : 0, seen[ix]); // every element of C once, the padding never
                        Assert.Equal(j < n ? -final[ix] : c0[ix], c[ix]);
                    }
                }
            }
        }
    }

    private static void Check(bool ta, bool tb, int m, int n, int k, float alpha, float beta, int pad, ulong seed)
    {
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = TestData.Random(Math.Max(0, aRows * lda), seed);
        var b = TestData.Random(Math.Max(0, bRows * ldb), seed + 1000);
        var c0 = TestData.Random(m * ldc, seed + 2000);
        var expected = (float[])c0.Clone();
        GemmReference.Sgemm(ta, tb, m, n, k, alpha, a, Math.Max(1, lda), b, Math.Max(1, ldb), beta, expected, Math.Max(1, ldc));

        // Sentinels after the output catch overruns.
        var actual = new float[c0.Length + 37];
        c0.CopyTo(actual, 0);
        actual.AsSpan(c0.Length).Fill(Sentinel);
        Gemm.Sgemm(ta, tb, m, n, k, alpha, a, Math.Max(1, lda), b, Math.Max(1, ldb), beta, actual, Math.Max(1, ldc));

        for (int i = c0.Length; i < actual.Length; i++)
            Assert.Equal(Sentinel, actual[i]);
        float tol = 1e-5f * (k + 4) * (Math.Abs(alpha) + Math.Abs(beta) + 1);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                int ix = i * ldc + j;
                // Padding columns of C beyond n must be untouched.
                float want = j < n ? expected[ix] : c0[ix];
                if (Math.Abs(actual[ix] - want) > tol)
                    Assert.Fail($"{Gemm.SelectedKernel} ta={ta} tb={tb} m={m} n={n} k={k} alpha={alpha} beta={beta}: C[{i},{j}] = {actual[ix]}, expected {want}");
            }
        }
    }
}

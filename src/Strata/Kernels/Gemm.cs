using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>The micro-kernel family a GEMM call runs on.</summary>
internal enum GemmKernelKind
{
    /// <summary>The widest the CPU supports.</summary>
    Auto,
    Avx512,
    Avx2,
    /// <summary>128-bit vectors: SSE on x86, NEON on ARM64.</summary>
    Vector128,
    Scalar,
}

/// <summary>
/// Single-precision matrix product, row-major: C = alpha·op(A)·op(B) + beta·C where op(X) is X or
/// Xᵀ. Goto/BLIS structure: B is split into kc×nc blocks, A into mc×kc blocks packed into
/// MR-row panels, and a register-blocked micro-kernel computes MR×NR tiles of C. When B is not
/// transposed its rows are read in place (no packing); otherwise it is packed into NR-column panels.
/// Threads each own a fixed strip of C, so the summation order of every element (and thus the
/// result) is the same for any thread count.
/// </summary>
internal static unsafe partial class Gemm
{
    // Measured on Zen 5 (docs/PERFORMANCE.md): kc 320 beats 256 at 2048² (0.97 vs 0.90 of OpenBLAS) and ties elsewhere.
    private const int PackBMinRows = 512;

    // Rows of B a multiple of 1 KiB apart (any multiple of 256 columns) map to a sixteenth of the L1's 64 sets
    // or fewer (an eighth for the AVX-512 panel's two lines per row; one set at 4 KiB), so the kc rows of a
    // panel read in place cannot stay in L1 and every row panel of A fetches them again from L2.
    // Measured (`gemm --packb true|false`, Zen 4, 1 thread, GFLOP/s in place → packed): AVX2 LSTM dU
    // (6400×256)ᵀ·6400×1024 56 → 93, dW 60 → 86, step 64×256·256×1024 69 → 85, dh 64×1024·1024×256 73 → 95;
    // AVX-512 dU 85 → 89, dW 75 → 87, but its step and dh (6 row panels of 12) 103 → 92 and 109 → 94: packing
    // pays from about ten row panels on. B of 128 columns (512 B apart, an eighth of the sets) was measured
    // with no gain from packing (the MLP shapes, AVX2, Zen 3) and is left in place, as is 784.
    private const int PackBAliasedPanels = 10;

    private static bool RowsAliasInL1(int ldb) => (long)ldb * sizeof(float) % 1024 == 0;

    /// <summary>The cache blocking: kc (depth of a block), mc in MR panels (rows of A per block), nc (columns of B per block).</summary>
    internal readonly record struct Blocking(int Kc, int McPanels, int Nc);

    /// <summary>Overrides the blocking of every call (benchmarks sweep the sizes with it); null: <see cref="BlocksFor"/>.</summary>
    internal static Blocking? Blocks { get; set; }

    /// <summary>The AVX-512 kernel's blocking, measured on Zen 4 and Zen 5 (docs/PERFORMANCE.md, "SGEMM").</summary>
    private static readonly Blocking Measured512 = new(320, 24, 4096);

    private static readonly Blocking[] CacheBlocking = new Blocking[(int)GemmKernelKind.Scalar + 1];

    /// <summary>
    /// The blocking of a kernel family: AVX-512 its measured sizes; the others from this machine's caches
    /// (<see cref="CacheSizes.Machine"/>) by the budgets of Goto and BLIS — a kc×NR panel of B in 5/8 of
    /// the L1 (with an MR×kc panel of A streaming past it), an mc×kc block of A in 3/8 of the L2 (with the
    /// slices of B and C passing through), a kc×nc block of B in a quarter of the L3 (1,024 to 8,192 columns:
    /// a narrower block repacks A more often).
    /// On a Zen 3 core (32 KiB, 512 KiB, 16 MiB of L3 per thread) the AVX2 kernel gets kc 320, mc 25 panels of 6.
    /// </summary>
    internal static Blocking BlocksFor(GemmKernelKind kind)
    {
        if (Blocks is { } forced)
            return forced;
        if (kind == GemmKernelKind.Avx512)
            return Measured512;
        var cached = CacheBlocking[(int)kind];
        if (cached.Kc != 0)
            return cached;
        var (mr, nr) = TileOf(kind);
        return CacheBlocking[(int)kind] = FromCaches(CacheSizes.Machine, mr, nr);
    }

    /// <summary>The register tile (MR rows × NR columns) of a kernel family's micro-kernel.</summary>
    internal static (int Mr, int Nr) TileOf(GemmKernelKind kind) => kind switch
    {
        GemmKernelKind.Avx512 => (GemmMicroKernels.Mr512, GemmMicroKernels.Nr512),
        GemmKernelKind.Avx2 => (GemmMicroKernels.Mr256, GemmMicroKernels.Nr256),
        GemmKernelKind.Vector128 => (GemmMicroKernels.Mr128, GemmMicroKernels.Nr128),
        _ => (GemmMicroKernels.MrScalar, GemmMicroKernels.NrScalar),
    };

    /// <summary>The budgets of <see cref="BlocksFor"/> for given caches and micro-tile.</summary>
    internal static Blocking FromCaches(CacheSizes caches, int mr, int nr)
    {
        int kc = Math.Clamp(caches.L1Data * 5 / 8 / (nr * sizeof(float)) / 16 * 16, 64, 1024);
        int panels = Math.Clamp((int)(caches.L2 * 3L / 8 / ((long)kc * sizeof(float)) / mr), 2, 256);
        int nc = (int)Math.Clamp(caches.L3 / 4 / ((long)kc * sizeof(float)) / nr * nr, 1024, 8192);
        return new Blocking(kc, panels, nc);
    }
    // Below this many multiply-adds a product stays on one thread: splitting it moves its operands
    // between cores' caches (the weights, just rewritten by the optimizer on the calling core), which
    // costs more than the second core saves. Measured with the MLP benchmark: with 2^18–2^22 it
    // trains slower on 2 threads than on 1 (batch 128: 241K vs 287K samples/s at 2^22). The price:
    // a lone batch-128 layer product, hot in both cores' caches, no longer gets its 2-thread
    // speed-up in the GEMM benchmark. See docs/PERFORMANCE.md.
    private const long ParallelThreshold = 1L << 24;

    /// <summary>Overrides the micro-kernel choice (tests use it to run every path).</summary>
    internal static GemmKernelKind ForcedKernel { get; set; } = GemmKernelKind.Auto;

    /// <summary>Overrides whether a transposed A is read in place (null: whenever possible).</summary>
    internal static bool? ForceDirectA { get; set; }

    /// <summary>Overrides whether B is packed (null: decided per call).</summary>
    internal static bool? ForcePackB { get; set; }

    internal static GemmKernelKind SelectedKernel => ForcedKernel != GemmKernelKind.Auto ? ForcedKernel
        : Vector512.IsHardwareAccelerated ? GemmKernelKind.Avx512
        : Vector256.IsHardwareAccelerated ? GemmKernelKind.Avx2
        : Vector128.IsHardwareAccelerated ? GemmKernelKind.Vector128
        : GemmKernelKind.Scalar;

    /// <summary>
    /// C[m×n] = alpha·op(A)·op(B) + beta·C. op(A) is m×k (A is k×m when <paramref name="transA"/>),
    /// op(B) is k×n (B is n×k when <paramref name="transB"/>). Leading dimensions are row strides.
    /// With beta = 0, C is not read (NaN in C does not propagate). An <paramref name="epilogue"/> runs on
    /// each block of C (mc rows of a column block) once its last k block is in, while it is likely still in
    /// cache; every element of C lies in exactly one block, handled on the thread that computed it.
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        int maxThreads = 0, GemmEpilogue? epilogue = null)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0)
            return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(c, m, n, ldc, beta);
            epilogue?.Apply(c, ldc, 0, m, 0, n);
            return;
        }

        var kind = SelectedKernel;
        var (mr, nr) = TileOf(kind);
        // Packing B costs one pass over it; it pays off when many row panels reuse it (tall C), and a
        // transposed B has to be packed anyway. Measured: in place wins at m ≤ 128, packing at m ≥ 784.
        // Rows a multiple of 1 KiB apart alias in L1: packed from ten row panels on (RowsAliasInL1).
        bool packB = ForcePackB ?? (transB || m >= PackBMinRows || (RowsAliasInL1(ldb) && m >= PackBAliasedPanels * mr));
        // A transposed in memory (k×m) already holds MR consecutive values of op(A) per step: the
        // micro-kernel can read its full panels in place (alpha must then be 1: packing applies it).
        bool directA = transA && alpha == 1 && (ForceDirectA ?? true);
        if (!packB && transB)
            packB = true; // a transposed B has no contiguous rows to read in place

        int threads = maxThreads > 0 ? maxThreads : KernelSettings.MaxThreads;
        if ((long)m * n * k < ParallelThreshold)
            threads = 1;

        if (m == 1 && !transB && System.Runtime.Intrinsics.X86.Fma.IsSupported && kind is GemmKernelKind.Avx2 or GemmKernelKind.Avx512)
        {
            // One row (a single sample through a Dense layer): the micro-kernel would compute MR rows, all but
            // one of them padding. A row-vector product instead, with the driver's k blocks and order of
            // operations, so that the row gets the same bits as inside a batch.
            var blocks = BlocksFor(kind);
            int kBlocks = (k + blocks.Kc - 1) / blocks.Kc;
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                if (kind == GemmKernelKind.Avx512)
                    RowTimesMatrix<Vector512<float>, V512>(n, k, (k + kBlocks - 1) / kBlocks, alpha, pa, transA ? lda : 1, pb, ldb, beta, pc);
                else
                    RowTimesMatrix<Vector256<float>, V256>(n, k, (k + kBlocks - 1) / kBlocks, alpha, pa, transA ? lda : 1, pb, ldb, beta, pc);
            }
            epilogue?.Apply(c, ldc, 0, 1, 0, n);
            return;
        }

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var job = new Job
            {
                TransA = transA, TransB = transB, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
                A = pa, Lda = lda, B = pb, Ldb = ldb, C = pc, Ldc = ldc,
                Kind = kind, Mr = mr, Nr = nr, PackB = packB, DirectA = directA, Epilogue = epilogue,
            };
            // Split C into fixed strips along its longer side, in whole panels.
            bool byColumns = n >= m;
            int unit = byColumns ? nr : mr;
            int extent = byColumns ? n : m;
            int units = (extent + unit - 1) / unit;
            int strips = Math.Max(1, Math.Min(threads, units));
            if (strips == 1)
            {
                job.Run(0, m, 0, n);
                return;
            }
            RunStrips(job, strips, units, unit, extent, byColumns);
        }
    }

    /// <summary>
    /// C [m × n] = col · B on the calling thread, where col is rows [firstPixel, firstPixel + m) of the im2col
    /// matrix of the NHWC images at <paramref name="x"/> (<see cref="Conv2DGeometry.K"/> columns) and B is
    /// [K × n]: the convolution's columns are packed from the images into the GEMM's panels as they are needed,
    /// never written out whole. The same blocking and kernels as <see cref="Sgemm"/> on an explicit im2col
    /// matrix, so the same bits.
    /// </summary>
    internal static void SgemmIm2Col(in Conv2DGeometry g, float* x, int firstPixel, int m, int n, float* b, int ldb, float* c, int ldc)
    {
        if (m <= 0 || n <= 0)
            return;
        int k = g.K;
        var kind = SelectedKernel;
        var (mr, nr) = TileOf(kind);
        var job = new Job
        {
            M = m, N = n, K = k, Alpha = 1f, Beta = 0f, A = x, B = b, Ldb = ldb, C = c, Ldc = ldc,
            Kind = kind, Mr = mr, Nr = nr, PackB = ForcePackB ?? true, // the kernel, reused by every row panel: its rows, F floats apart, alias in L1 when F is a power of two
            Im2Col = true, FirstPixel = firstPixel, Conv = g,
        };
        job.Run(0, m, 0, n);
    }

    /// <summary>
    /// c[0..n) = alpha·a·B + beta·c for one row a (k values, <paramref name="aStride"/> apart) and B read in place:
    /// per k block of <paramref name="kc"/>, sums from zero by one FMA per step (a scaled by alpha first, as
    /// packing does), then added to c — the micro-kernel's operations for one row of its tile, so the bits agree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTimesMatrix<TV, TS>(int n, int k, int kc, float alpha, float* a, nint aStride, float* b, nint ldb, float beta, float* c)
        where TV : struct where TS : struct, ISimd<TV>
    {
        if (beta != 0 && beta != 1)
            System.Numerics.Tensors.TensorPrimitives.Multiply(new ReadOnlySpan<float>(c, n), beta, new Span<float>(c, n));
        int w = TS.Count, j = 0;
        for (; j + 4 * w <= n; j += 4 * w)
        {
            for (int pc = 0; pc < k; pc += kc)
            {
                int steps = Math.Min(kc, k - pc);
                float* ap = a + pc * aStride, bp = b + pc * ldb + j;
                TV s0 = TS.Zero, s1 = TS.Zero, s2 = TS.Zero, s3 = TS.Zero;
                for (int p = 0; p < steps; p++, ap += aStride, bp += ldb)
                {
                    var av = TS.Create(alpha == 1 ? *ap : *ap * alpha);
                    s0 = TS.FusedMultiplyAdd(av, TS.Load(bp), s0);
                    s1 = TS.FusedMultiplyAdd(av, TS.Load(bp + w), s1);
                    s2 = TS.FusedMultiplyAdd(av, TS.Load(bp + 2 * w), s2);
                    s3 = TS.FusedMultiplyAdd(av, TS.Load(bp + 3 * w), s3);
                }
                if (pc > 0 || beta != 0)
                {
                    s0 = TS.Add(s0, TS.Load(c + j));
                    s1 = TS.Add(s1, TS.Load(c + j + w));
                    s2 = TS.Add(s2, TS.Load(c + j + 2 * w));
                    s3 = TS.Add(s3, TS.Load(c + j + 3 * w));
                }
                TS.Store(s0, c + j);
                TS.Store(s1, c + j + w);
                TS.Store(s2, c + j + 2 * w);
                TS.Store(s3, c + j + 3 * w);
            }
        }
        for (; j < n; j++)
        {
            for (int pc = 0; pc < k; pc += kc)
            {
                int steps = Math.Min(kc, k - pc);
                float* ap = a + pc * aStride, bp = b + pc * ldb + j;
                float s0 = 0;
                for (int p = 0; p < steps; p++, ap += aStride, bp += ldb)
                    s0 = MathF.FusedMultiplyAdd(alpha == 1 ? *ap : *ap * alpha, *bp, s0);
                c[j] = pc > 0 || beta != 0 ? s0 + c[j] : s0;
            }
        }
    }

    /// <summary>Runs the strips on the worker pool, through a work object reused by the calling thread.</summary>
    private static void RunStrips(Job job, int strips, int units, int unit, int extent, bool byColumns)
    {
        var work = t_work ??= new StripWork();
        work.Job = job;
        work.Strips = strips;
        work.Units = units;
        work.Unit = unit;
        work.Extent = extent;
        work.ByColumns = byColumns;
        try
        {
            WorkerPool.Run(work, strips);
        }
        finally
        {
            work.Job = default; // holds no epilogue past the call
        }
    }

    [ThreadStatic]
    private static StripWork? t_work;

    /// <summary>One strip of C per call: whole panels along C's longer side, fixed by the strip count alone.</summary>
    private sealed class StripWork : WorkerPool.Work
    {
        public Job Job;
        public int Strips, Units, Unit, Extent;
        public bool ByColumns;

        public override void Run(int s)
        {
            int u0 = (int)((long)Units * s / Strips), u1 = (int)((long)Units * (s + 1) / Strips);
            int lo = u0 * Unit, hi = Math.Min(Extent, u1 * Unit);
            if (lo >= hi)
                return;
            if (ByColumns)
                Job.Run(0, Job.M, lo, hi);
            else
                Job.Run(lo, hi, 0, Job.N);
        }
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k, int aLen, int lda, int bLen, int ldb,
        int cLen, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"Sgemm: sizes must be non-negative, got m={m}, n={n}, k={k}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckOperand("A", aRows, aCols, aLen, lda);
        CheckOperand("B", bRows, bCols, bLen, ldb);
        CheckOperand("C", m, n, cLen, ldc);
    }

    private static void CheckOperand(string name, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"Sgemm: leading dimension of {name} must be at least {Math.Max(1, cols)}, got {ld}");
        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"Sgemm: {name} is {rows}×{cols} with leading dimension {ld} and needs {needed} elements, got {length}");
    }

    private static void ScaleC(Span<float> c, int m, int n, int ldc, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0)
                row.Clear();
            else if (beta != 1)
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>One GEMM call's operands, shared by the threads (each writes only its own strip of C).</summary>
    private struct Job
    {
        public bool TransA, TransB, PackB, DirectA;
        /// <summary>A is a batch of NHWC images and op(A) their im2col matrix from pixel <see cref="FirstPixel"/> (geometry <see cref="Conv"/>).</summary>
        public bool Im2Col;
        public int FirstPixel;
        public Conv2DGeometry Conv;
        public int M, N, K, Lda, Ldb, Ldc, Mr, Nr;
        public float Alpha, Beta;
        public float* A, B, C;
        public GemmKernelKind Kind;
        public GemmEpilogue? Epilogue;

        /// <summary>Computes C[i0..i1, j0..j1].</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int i0, int i1, int j0, int j1)
        {
            Debug.Assert(i0 < i1 && j0 < j1);
            if (Beta != 0 && Beta != 1)
            {
                for (int i = i0; i < i1; i++)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(
                        new ReadOnlySpan<float>(C + (long)i * Ldc + j0, j1 - j0), Beta,
                        new Span<float>(C + (long)i * Ldc + j0, j1 - j0));
            }
            var (Kc, mcPanels, Nc) = BlocksFor(Kind);
            int mc = Mr * mcPanels;
            var buffers = GemmBuffers.Get(mc, Kc, Nc, Mr, Nr);
            float* packA = buffers.A, packB = buffers.B, edgeB = buffers.EdgeB, tile = buffers.Tile;
            for (int jc = j0; jc < j1; jc += Nc)
            {
                int nc = Math.Min(Nc, j1 - jc);
                // Split K into equal blocks (784 = 4×196, not 3×256 + 16): a short last block costs a full C pass.
                int kBlocks = (K + Kc - 1) / Kc;
                int kcEven = (K + kBlocks - 1) / kBlocks;
                for (int pc = 0; pc < K; pc += kcEven)
                {
                    int kc = Math.Min(kcEven, K - pc);
                    bool accumulate = pc > 0 || Beta != 0;
                    var epilogue = pc + kc == K ? Epilogue : null;
                    if (PackB)
                        PackPanelsB(pc, kc, jc, nc, packB);
                    for (int ic = i0; ic < i1; ic += mc)
                    {
                        int mcCur = Math.Min(mc, i1 - ic);
                        PackPanelsA(ic, mcCur, pc, kc, packA, edgesOnly: DirectA);
                        for (int jr = 0; jr < nc; jr += Nr)
                        {
                            int nr = Math.Min(Nr, nc - jr);
                            float* bp;
                            nint bStride;
                            if (PackB)
                            {
                                bp = packB + (long)jr * kc;
                                bStride = Nr;
                            }
                            else if (nr == Nr)
                            {
                                bp = B + (long)pc * Ldb + jc + jr;
                                bStride = Ldb;
                            }
                            else
                            {
                                // The last, partial panel of an unpacked B: pad it so the kernel never reads past a row.
                                PackPanelB(pc, kc, jc + jr, nr, edgeB);
                                bp = edgeB;
                                bStride = Nr;
                            }
                            for (int ir = 0; ir < mcCur; ir += Mr)
                            {
                                int mr = Math.Min(Mr, mcCur - ir);
                                float* ap = packA + (long)ir * kc;
                                nint aStride = Mr;
                                if (DirectA && mr == Mr)
                                {
                                    ap = A + (long)pc * Lda + ic + ir;
                                    aStride = Lda;
                                }
                                float* cp = C + (long)(ic + ir) * Ldc + jc + jr;
                                if (nr == Nr)
                                    RunTile(kc, ap, aStride, bp, bStride, cp, mr, accumulate, tile);
                                else
                                {
                                    RunKernel(kc, ap, aStride, bp, bStride, tile, Nr, false);
                                    MergeTile(tile, cp, mr, nr, accumulate);
                                }
                            }
                        }
                        // The block [ic, ic + mcCur) × [jc, jc + nc) is final: its epilogue while it is likely in L2.
                        epilogue?.Apply(new Span<float>(C + (long)ic * Ldc + jc, (mcCur - 1) * Ldc + nc), Ldc, ic, mcCur, jc, nc);
                    }
                }
            }
        }

        /// <summary>Runs an mr×NR tile straight into C, with the narrower AVX-512 kernels for 8 and 4 rows.</summary>
        private readonly void RunTile(int kc, float* ap, nint aStride, float* bp, nint bStride, float* cp, int mr, bool accumulate, float* tile)
        {
            if (mr == Mr)
            {
                RunKernel(kc, ap, aStride, bp, bStride, cp, Ldc, accumulate);
                return;
            }
            if (Kind == GemmKernelKind.Avx512)
            {
                // mr < 12 here: 8..11 rows = 8 direct + up to 3 via the tile; 4..7 = 4 direct + up to 3.
                int done = mr >= 8 ? 8 : mr >= 4 ? 4 : 0;
                if (done == 8)
                    GemmMicroKernels.Kernel<Vector512<float>, V512, GemmMicroKernels.Rows8>(kc, ap, aStride, bp, bStride, cp, Ldc, accumulate);
                else if (done == 4)
                    GemmMicroKernels.Kernel<Vector512<float>, V512, GemmMicroKernels.Rows4>(kc, ap, aStride, bp, bStride, cp, Ldc, accumulate);
                if (done < mr)
                {
                    GemmMicroKernels.Kernel<Vector512<float>, V512, GemmMicroKernels.Rows4>(kc, ap + done, aStride, bp, bStride, tile, Nr, false);
                    MergeTile(tile, cp + done * Ldc, mr - done, Nr, accumulate);
                }
                return;
            }
            RunKernel(kc, ap, aStride, bp, bStride, tile, Nr, false);
            MergeTile(tile, cp, mr, Nr, accumulate);
        }

        private readonly void MergeTile(float* tile, float* cp, int mr, int nr, bool accumulate)
        {
            for (int i = 0; i < mr; i++)
            {
                var src = new ReadOnlySpan<float>(tile + i * Nr, nr);
                var dst = new Span<float>(cp + (long)i * Ldc, nr);
                if (accumulate)
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
                else
                    src.CopyTo(dst);
            }
        }

        private readonly void RunKernel(int kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
        {
            switch (Kind)
            {
                case GemmKernelKind.Avx512:
                    GemmMicroKernels.Kernel<Vector512<float>, V512, GemmMicroKernels.Rows12>(kc, a, aStride, b, bStride, c, ldc, accumulate);
                    break;
                case GemmKernelKind.Avx2:
                    GemmMicroKernels.Kernel<Vector256<float>, V256, GemmMicroKernels.Rows6>(kc, a, aStride, b, bStride, c, ldc, accumulate);
                    break;
                case GemmKernelKind.Vector128:
                    GemmMicroKernels.Kernel<Vector128<float>, V128, GemmMicroKernels.Rows6>(kc, a, aStride, b, bStride, c, ldc, accumulate);
                    break;
                default:
                    GemmMicroKernels.KernelScalar(kc, a, aStride, b, bStride, c, ldc, accumulate);
                    break;
            }
        }

        /// <summary>Packs op(A)[ic.., pc..] into MR-row panels, k-major, scaled by alpha, zero-padded (only the partial panel when edgesOnly).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void PackPanelsA(int ic, int mc, int pc, int kc, float* dst, bool edgesOnly)
        {
            if (Im2Col)
            {
                PackPanelsIm2Col(ic, mc, pc, kc, dst);
                return;
            }
            float** rows = stackalloc float*[Mr];
            for (int ir = 0; ir < mc; ir += Mr)
            {
                int mr = Math.Min(Mr, mc - ir);
                if (edgesOnly && mr == Mr)
                    continue; // read in place by the micro-kernel
                float* panel = dst + (long)ir * kc;
                if (TransA)
                {
                    // A is k×m: row p of A holds op(A)[·, p] contiguously.
                    for (int p = 0; p < kc; p++)
                    {
                        var d = new Span<float>(panel + p * Mr, Mr);
                        new ReadOnlySpan<float>(A + (long)(pc + p) * Lda + ic + ir, mr).CopyTo(d);
                        d[mr..].Clear();
                    }
                }
                else
                {
                    for (int i = 0; i < Mr; i++)
                        rows[i] = i < mr ? A + (long)(ic + ir + i) * Lda + pc : null;
                    Transpose.Panel(rows, Mr, panel, kc);
                }
                if (Alpha != 1)
                {
                    var all = new Span<float>(panel, kc * Mr);
                    System.Numerics.Tensors.TensorPrimitives.Multiply(all, Alpha, all);
                }
            }
        }

        /// <summary>
        /// Packs rows [ic, ic + mc) × columns [pc, pc + kc) of the im2col matrix of the images at A straight from
        /// them: row i is output pixel FirstPixel + i, its columns the window's (kh, kw, c) values. The k range is
        /// walked in runs that are contiguous in the image for every row of a panel — a whole window row (KW·C
        /// floats) where no row's window row hangs over the border and there is no dilation, else one tap (C floats)
        /// — and each run is one <see cref="Transpose.Panel"/> (a tap over the padding is a null row: zeros).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void PackPanelsIm2Col(int ic, int mc, int pc, int kc, float* dst)
        {
            var g = Conv;
            int perImage = g.OH * g.OW, image = g.H * g.W * g.C, run = g.KW * g.C, end = pc + kc;
            float** rows = stackalloc float*[Mr];
            float** images = stackalloc float*[Mr];
            int* ih0 = stackalloc int[Mr];
            int* iw0 = stackalloc int[Mr];
            for (int ir = 0; ir < mc; ir += Mr)
            {
                int mr = Math.Min(Mr, mc - ir);
                bool columnsInside = g.DW == 1;
                for (int i = 0; i < mr; i++)
                {
                    int q = FirstPixel + ic + ir + i, n = q / perImage, r = q - n * perImage, oh = r / g.OW;
                    images[i] = A + (long)n * image;
                    ih0[i] = oh * g.SH - g.PadTop;
                    iw0[i] = (r - oh * g.OW) * g.SW - g.PadLeft;
                    columnsInside &= iw0[i] >= 0 && iw0[i] + g.KW - 1 < g.W;
                }
                for (int i = mr; i < Mr; i++)
                    rows[i] = null;
                float* panel = dst + (long)ir * kc;
                for (int p = pc; p < end;)
                {
                    int kh = p / run, within = p - kh * run, len;
                    if (columnsInside)
                    {
                        len = Math.Min(run - within, end - p);
                        for (int i = 0; i < mr; i++)
                        {
                            int ih = ih0[i] + kh * g.DH;
                            rows[i] = (uint)ih < (uint)g.H ? images[i] + ((long)ih * g.W + iw0[i]) * g.C + within : null;
                        }
                    }
                    else
                    {
                        int kw = within / g.C, c = within - kw * g.C;
                        len = Math.Min(g.C - c, end - p);
                        for (int i = 0; i < mr; i++)
                        {
                            int ih = ih0[i] + kh * g.DH, iw = iw0[i] + kw * g.DW;
                            rows[i] = (uint)ih < (uint)g.H && (uint)iw < (uint)g.W ? images[i] + ((long)ih * g.W + iw) * g.C + c : null;
                        }
                    }
                    Transpose.Panel(rows, Mr, panel + (long)(p - pc) * Mr, len);
                    p += len;
                }
            }
        }

        private readonly void PackPanelsB(int pc, int kc, int jc, int nc, float* dst)
        {
            for (int jr = 0; jr < nc; jr += Nr)
                PackPanelB(pc, kc, jc + jr, Math.Min(Nr, nc - jr), dst + (long)jr * kc);
        }

        /// <summary>Packs op(B)[pc.., j..j+nr] into one NR-column panel, k-major, zero-padded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void PackPanelB(int pc, int kc, int j, int nr, float* dst)
        {
            if (TransB)
            {
                // B is n×k: row j of B holds op(B)[·, j] contiguously.
                Transpose.Block(B + (long)j * Ldb + pc, Ldb, dst, Nr, nr, kc);
                for (int jj = nr; jj < Nr; jj++)
                {
                    for (int p = 0; p < kc; p++)
                        dst[p * Nr + jj] = 0;
                }
            }
            else if (nr == Nr && Kind != GemmKernelKind.Scalar)
            {
                // A full panel row is two vectors of the kernel's width: copied as such (a span copy per row,
                // a call to memmove each, cost as much as the products of a short-m GEMM).
                float* src = B + (long)pc * Ldb + j;
                switch (Kind)
                {
                    case GemmKernelKind.Avx512:
                        CopyRows<Vector512<float>, V512>(src, Ldb, dst, kc);
                        break;
                    case GemmKernelKind.Avx2:
                        CopyRows<Vector256<float>, V256>(src, Ldb, dst, kc);
                        break;
                    default:
                        CopyRows<Vector128<float>, V128>(src, Ldb, dst, kc);
                        break;
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    var src = new ReadOnlySpan<float>(B + (long)(pc + p) * Ldb + j, nr);
                    var d = new Span<float>(dst + p * Nr, Nr);
                    src.CopyTo(d);
                    d[nr..].Clear();
                }
            }
        }

        /// <summary>kc rows of two vectors each, from a stride of <paramref name="ld"/> floats to a packed panel.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void CopyRows<TV, TS>(float* src, nint ld, float* dst, int kc) where TV : struct where TS : struct, ISimd<TV>
        {
            for (int p = 0; p < kc; p++, src += ld, dst += 2 * TS.Count)
            {
                TS.Store(TS.Load(src), dst);
                TS.Store(TS.Load(src + TS.Count), dst + TS.Count);
            }
        }
    }
}

/// <summary>
/// Elementwise work on a GEMM's output (a layer's bias and activation) that <see cref="Gemm.Sgemm"/> runs on
/// each finished block of C while it is in cache, instead of a pass over the whole of C afterwards.
/// </summary>
internal abstract class GemmEpilogue
{
    /// <summary>
    /// Rows [<paramref name="row0"/>, row0 + <paramref name="rows"/>) × columns [<paramref name="col0"/>, col0 + <paramref name="cols"/>)
    /// of C, final: <paramref name="block"/> holds them from C[row0, col0] on, rows <paramref name="ldc"/> apart. Called
    /// once per block, every element of C in exactly one block, from the thread that computed it (several threads
    /// at once on disjoint blocks). It must not call the GEMM itself.
    /// </summary>
    public abstract void Apply(Span<float> block, int ldc, int row0, int rows, int col0, int cols);
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Strata.Kernels;

/// <summary>The instruction path of <see cref="Int8Gemm"/>.</summary>
public enum Int8Path
{
    /// <summary>Plain loops (any machine).</summary>
    Scalar,

    /// <summary>AVX2: vpmaddubsw (u8 × s8 pairs → s16) then vpmaddwd with ones (→ s32).</summary>
    Avx2,

    /// <summary>AVX-VNNI: vpdpbusd on 256-bit registers (u8 × s8 quadruples added into s32 in one instruction).</summary>
    AvxVnni,
}

/// <summary>
/// An s8 matrix B [K, N] packed for <see cref="Int8Gemm"/>: panels of 16 columns, each a run of
/// ⌈K/4⌉ groups of 16 columns × 4 consecutive k (64 bytes), zero past K and N; with the column sums
/// Σₖ B[k, j] that the zero point of A needs.
/// </summary>
internal sealed class PackedInt8Matrix
{
    public const int PanelWidth = 16;

    public PackedInt8Matrix(ReadOnlySpan<sbyte> b, int k, int n)
    {
        if (k < 1 || n < 1 || b.Length < (long)k * n)
            throw new ArgumentException($"Int8Gemm: B needs K·N = {k}·{n} values (K, N ≥ 1), got {b.Length}");
        if (k > Int8Gemm.MaxK)
            throw new ArgumentException($"Int8Gemm: K = {k} exceeds {Int8Gemm.MaxK}, where s32 sums of 127·127 products could overflow");
        K = k;
        N = n;
        KGroups = (k + 3) / 4;
        Panels = (n + PanelWidth - 1) / PanelWidth;
        Data = new sbyte[(long)Panels * KGroups * 64];
        ColumnSums = new int[n];
        for (int kk = 0; kk < k; kk++)
        {
            var row = b.Slice(kk * n, n);
            int g = kk >> 2, t = kk & 3;
            for (int j = 0; j < n; j++)
            {
                int p = j / PanelWidth, col = j % PanelWidth;
                Data[((long)p * KGroups + g) * 64 + col * 4 + t] = row[j];
                ColumnSums[j] += row[j];
            }
        }
    }

    public int K { get; }
    public int N { get; }
    public int KGroups { get; }
    public int Panels { get; }

    /// <summary>The packed bytes.</summary>
    public sbyte[] Data { get; }

    /// <summary>Σₖ B[k, j] for each column j.</summary>
    public int[] ColumnSums { get; }
}

/// <summary>
/// The int8 GEMM of quantized layers: C [M, N] (s32) = A [M, K] (u8, row stride lda) × B (s8, packed
/// once by <see cref="PackedInt8Matrix"/>). Register-blocked 4 × 16 micro-kernels: AVX-VNNI
/// (vpdpbusd), AVX2 (vpmaddubsw + vpmaddwd) and a scalar loop, picked at run time by
/// <c>IsSupported</c>. Exact: every path gives the same integers provided each pair sum
/// a₀b₀ + a₁b₁ fits in s16, which holds for A ≤ 127 (the quantizer's 7-bit activations, as
/// PyTorch's x86 backend uses: vpmaddubsw saturates otherwise). A's rows are read four bytes at a
/// time up to ⌈K/4⌉·4; the bytes past K multiply B's zero padding, but they must be readable: the
/// buffer holds at least (M − 1)·lda + ⌈K/4⌉·4 bytes.
/// </summary>
internal static unsafe class Int8Gemm
{
    /// <summary>The largest K for which K·127·127 fits in s32.</summary>
    public const int MaxK = 133_000;

    private const int Mr = 4, MrVnni = 6; // rows per micro-kernel call: AVX2 and scalar, AVX-VNNI

    /// <summary>The fastest path this machine supports.</summary>
    public static Int8Path BestPath { get; } = AvxVnni.IsSupported ? Int8Path.AvxVnni : Avx2.IsSupported ? Int8Path.Avx2 : Int8Path.Scalar;

    /// <summary>Whether <paramref name="path"/> runs on this machine.</summary>
    public static bool Supports(Int8Path path) => path switch
    {
        Int8Path.Scalar => true,
        Int8Path.Avx2 => Avx2.IsSupported,
        Int8Path.AvxVnni => AvxVnni.IsSupported,
        _ => false,
    };

    /// <summary>The bytes A must hold for <paramref name="m"/> rows of stride <paramref name="lda"/> over K.</summary>
    public static long RequiredA(int m, int lda, int k) => m == 0 ? 0 : (long)(m - 1) * lda + (k + 3) / 4 * 4;

    /// <summary>C rows [0, m) = A rows [0, m) × B, on <paramref name="path"/> (default the best).</summary>
    public static void Multiply(int m, ReadOnlySpan<byte> a, int lda, PackedInt8Matrix b, Span<int> c, int ldc, Int8Path? path = null)
    {
        var p = Check(path, b, c, ldc);
        if (m < 0 || lda < b.K)
            throw new ArgumentException($"Int8Gemm: need M ≥ 0, lda ≥ K = {b.K} and ldc ≥ N = {b.N}; got M = {m}, lda = {lda}, ldc = {ldc}");
        if (a.Length < RequiredA(m, lda, b.K))
            throw new ArgumentException($"Int8Gemm: A needs {RequiredA(m, lda, b.K)} bytes for {m} rows (stride {lda}, K = {b.K} read in fours), got {a.Length}");
        CheckC(m, b, c, ldc);
        if (m == 0)
            return;
        fixed (byte* pa = a)
            Drive(p, m, new Strided(pa, lda, b.KGroups), b, c, ldc);
    }

    /// <summary>Whether <see cref="MultiplyWindows"/> takes a convolution of this geometry: windows inside the image, C a multiple of 4.</summary>
    public static bool TakesWindows(in Conv2DGeometry g) =>
        g.C % 4 == 0 && g.DW == 1 && g.PadTop == 0 && g.PadLeft == 0
        && (g.OH - 1) * g.SH + (g.KH - 1) * g.DH < g.H && (g.OW - 1) * g.SW + g.KW - 1 < g.W;

    /// <summary>
    /// A convolution as the GEMM without im2col: C [images·OH·OW, N] = each output pixel's window of the
    /// codes x [images, H, W, C] × B [KH·KW·C, N], the window read where it lies — KH runs of KW·C
    /// contiguous bytes, one per kernel row — rather than copied into a row of its own first. For the
    /// geometries <see cref="TakesWindows"/> accepts; the integers equal <see cref="Multiply"/> on the im2col rows.
    /// </summary>
    public static void MultiplyWindows(in Conv2DGeometry g, int images, ReadOnlySpan<byte> x, PackedInt8Matrix b, Span<int> c, int ldc, Int8Path? path = null)
    {
        var p = Check(path, b, c, ldc);
        if (!TakesWindows(g) || b.K != g.K)
            throw new ArgumentException($"Int8Gemm: windows need C a multiple of 4, no padding or dilation across, every window inside the image and K = {g.K}; got {g}, K = {b.K}");
        int m = images * g.OH * g.OW;
        if (images < 0 || x.Length < (long)images * g.H * g.W * g.C)
            throw new ArgumentException($"Int8Gemm: {images} images of {g.H}·{g.W}·{g.C} need {(long)images * g.H * g.W * g.C} bytes, got {x.Length}");
        CheckC(m, b, c, ldc);
        if (m == 0)
            return;
        fixed (byte* px = x)
            Drive(p, m, new Windows(px, g), b, c, ldc);
    }

    private static Int8Path Check(Int8Path? path, PackedInt8Matrix b, Span<int> c, int ldc)
    {
        var p = path ?? BestPath;
        if (!Supports(p))
            throw new PlatformNotSupportedException($"Int8Gemm: the {p} path does not run on this machine");
        if (ldc < b.N)
            throw new ArgumentException($"Int8Gemm: need ldc ≥ N = {b.N}, got ldc = {ldc}");
        return p;
    }

    private static void CheckC(int m, PackedInt8Matrix b, Span<int> c, int ldc)
    {
        if (m > 0 && c.Length < (long)(m - 1) * ldc + b.N)
            throw new ArgumentException($"Int8Gemm: C needs {(long)(m - 1) * ldc + b.N} values for {m} rows (stride {ldc}), got {c.Length}");
    }

    /// <summary>Where the rows of A lie: each <see cref="Runs"/> runs of <see cref="Groups"/> four-byte groups, <see cref="RunStride"/> bytes apart.</summary>
    private interface IRows
    {
        /// <summary>The first byte of rows [i0, i0 + count), into <paramref name="dst"/>.</summary>
        void Fill(int i0, int count, byte** dst);
        int Runs { get; }
        int Groups { get; }
        long RunStride { get; }
        int Stride { get; } // bytes of A per row, for the row blocks kept in L2
    }

    private readonly struct Strided(byte* a, int lda, int groups) : IRows
    {
        public void Fill(int i0, int count, byte** dst)
        {
            for (int r = 0; r < count; r++)
                dst[r] = a + (long)(i0 + r) * lda;
        }

        public int Runs => 1;
        public int Groups => groups;
        public long RunStride => 0;
        public int Stride => lda;
    }

    private readonly struct Windows(byte* x, Conv2DGeometry g) : IRows
    {
        // One division for the first row, then a walk along the output pixels (a division per row costs as much as its products at small K).
        public void Fill(int i0, int count, byte** dst)
        {
            int pixels = g.OH * g.OW, n = i0 / pixels, q = i0 - n * pixels, oh = q / g.OW, ow = q - oh * g.OW;
            for (int r = 0; r < count; r++)
            {
                dst[r] = x + (((long)n * g.H + oh * g.SH) * g.W + ow * g.SW) * g.C;
                if (++ow == g.OW)
                {
                    ow = 0;
                    if (++oh == g.OH)
                    {
                        oh = 0;
                        n++;
                    }
                }
            }
        }

        public int Runs => g.KH;
        public int Groups => g.KW * g.C / 4;
        public long RunStride => (long)g.DH * g.W * g.C;
        public int Stride => g.K;
    }

    private static void Drive<TRows>(Int8Path p, int m, TRows a, PackedInt8Matrix b, Span<int> c, int ldc) where TRows : struct, IRows
    {
        int mr = p == Int8Path.AvxVnni ? MrVnni : Mr;
        int* tail = stackalloc int[MrVnni * PackedInt8Matrix.PanelWidth];
        byte** rowsOf = stackalloc byte*[MrVnni];
        int runs = a.Runs, groups = a.Groups;
        long runStride = a.RunStride;
        // Row blocks whose A (block × K bytes) stays in L2 while every panel of B passes over it.
        int block = Math.Max(mr, Math.Min(m, 256 * 1024 / Math.Max(a.Stride, 1)) / mr * mr);
        var starts = System.Buffers.ArrayPool<nint>.Shared.Rent(block);
        fixed (nint* rowStart = starts)
        fixed (sbyte* pb = b.Data)
        fixed (int* pc = c)
        {
            for (int i0 = 0; i0 < m; i0 += block)
            {
                int i1 = Math.Min(m, i0 + block);
                a.Fill(i0, i1 - i0, (byte**)rowStart);
                for (int panel = 0; panel < b.Panels; panel++)
                {
                    int j0 = panel * PackedInt8Matrix.PanelWidth, width = Math.Min(PackedInt8Matrix.PanelWidth, b.N - j0);
                    sbyte* bp = pb + (long)panel * b.KGroups * 64;
                    for (int i = i0; i < i1; i += mr)
                    {
                        int rows = Math.Min(mr, i1 - i);
                        bool direct = rows == mr && width == PackedInt8Matrix.PanelWidth;
                        int* cp = direct ? pc + (long)i * ldc + j0 : tail;
                        int cs = direct ? ldc : PackedInt8Matrix.PanelWidth;
                        for (int r = 0; r < mr; r++)
                            rowsOf[r] = (byte*)rowStart[i - i0 + (r < rows ? r : 0)]; // rows past the end repeat the first (their results are dropped)
                        switch (p)
                        {
                            case Int8Path.AvxVnni: KernelVnni(rowsOf, bp, runs, groups, runStride, cp, cs); break;
                            case Int8Path.Avx2: KernelAvx2(rowsOf, bp, runs, groups, runStride, cp, cs); break;
                            default: KernelScalar(rowsOf, bp, runs, groups, runStride, cp, cs); break;
                        }
                        if (!direct)
                        {
                            for (int r = 0; r < rows; r++)
                                new ReadOnlySpan<int>(tail + r * PackedInt8Matrix.PanelWidth, width).CopyTo(new Span<int>(pc + (long)(i + r) * ldc + j0, width));
                        }
                    }
                }
            }
        }
        System.Buffers.ArrayPool<nint>.Shared.Return(starts);
    }

    // Six rows × 16 columns: 12 accumulators, enough independent vpdpbusd chains to cover its latency
    // on two ports; per group of 4 k: 2 loads of B, 6 broadcasts of A.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelVnni(byte** rows, sbyte* b, int runs, int groups, long runStride, int* c, int ldc)
    {
        byte* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5];
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int run = 0; run < runs; run++, a0 += runStride, a1 += runStride, a2 += runStride, a3 += runStride, a4 += runStride, a5 += runStride)
        for (int g = 0; g < groups; g++, b += 64)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 32);
            var av = Vector256.Create(*(int*)(a0 + 4 * g)).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, av, b0);
            c01 = AvxVnni.MultiplyWideningAndAdd(c01, av, b1);
            av = Vector256.Create(*(int*)(a1 + 4 * g)).AsByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, av, b0);
            c11 = AvxVnni.MultiplyWideningAndAdd(c11, av, b1);
            av = Vector256.Create(*(int*)(a2 + 4 * g)).AsByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, av, b0);
            c21 = AvxVnni.MultiplyWideningAndAdd(c21, av, b1);
            av = Vector256.Create(*(int*)(a3 + 4 * g)).AsByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, av, b0);
            c31 = AvxVnni.MultiplyWideningAndAdd(c31, av, b1);
            av = Vector256.Create(*(int*)(a4 + 4 * g)).AsByte();
            c40 = AvxVnni.MultiplyWideningAndAdd(c40, av, b0);
            c41 = AvxVnni.MultiplyWideningAndAdd(c41, av, b1);
            av = Vector256.Create(*(int*)(a5 + 4 * g)).AsByte();
            c50 = AvxVnni.MultiplyWideningAndAdd(c50, av, b0);
            c51 = AvxVnni.MultiplyWideningAndAdd(c51, av, b1);
        }
        Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 8);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelAvx2(byte** rows, sbyte* b, int runs, int groups, long runStride, int* c, int ldc)
    {
        byte* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3];
        var ones = Vector256.Create((short)1);
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<int> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int run = 0; run < runs; run++, a0 += runStride, a1 += runStride, a2 += runStride, a3 += runStride)
        for (int g = 0; g < groups; g++, b += 64)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 32);
            var av = Vector256.Create(*(int*)(a0 + 4 * g)).AsByte();
            c00 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b0), ones);
            c01 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b1), ones);
            av = Vector256.Create(*(int*)(a1 + 4 * g)).AsByte();
            c10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b0), ones);
            c11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b1), ones);
            av = Vector256.Create(*(int*)(a2 + 4 * g)).AsByte();
            c20 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b0), ones);
            c21 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b1), ones);
            av = Vector256.Create(*(int*)(a3 + 4 * g)).AsByte();
            c30 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b0), ones);
            c31 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(av, b1), ones);
        }
        Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(int* c, int ldc, Vector256<int> c00, Vector256<int> c01, Vector256<int> c10, Vector256<int> c11,
        Vector256<int> c20, Vector256<int> c21, Vector256<int> c30, Vector256<int> c31)
    {
        c00.Store(c); c01.Store(c + 8);
        c10.Store(c + ldc); c11.Store(c + ldc + 8);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 8);
    }

    private static void KernelScalar(byte** rows, sbyte* b, int runs, int groups, long runStride, int* c, int ldc)
    {
        for (int r = 0; r < Mr; r++)
        {
            for (int j = 0; j < PackedInt8Matrix.PanelWidth; j++)
            {
                int sum = 0;
                sbyte* q = b + j * 4;
                for (int run = 0; run < runs; run++)
                {
                    byte* x = rows[r] + run * runStride;
                    for (int g = 0; g < groups; g++, q += 64, x += 4)
                        sum += x[0] * q[0] + x[1] * q[1] + x[2] * q[2] + x[3] * q[3];
                }
                c[r * ldc + j] = sum;
            }
        }
    }
}

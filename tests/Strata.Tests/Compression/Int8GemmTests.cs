using Strata.Kernels;
using Xunit;

namespace Strata.Tests.Compression;

public class Int8GemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 3, 5, 7 }, { 4, 4, 16 }, { 5, 17, 33 }, { 13, 31, 15 }, { 9, 784, 128 }, { 257, 9, 32 }, { 6, 288, 64 },
    };

    private static long Reference(byte[] a, int lda, sbyte[] b, int k, int n, int i, int j, bool saturatePairs)
    {
        long sum = 0;
        for (int p = 0; p < k; p += 2)
        {
            int pair = a[i * lda + p] * b[p * n + j] + (p + 1 < k ? a[i * lda + p + 1] * b[(p + 1) * n + j] : 0);
            sum += saturatePairs ? Math.Clamp(pair, short.MinValue, short.MaxValue) : pair;
        }
        return sum;
    }

    private static (byte[] A, sbyte[] B) Random(int m, int k, int n, int lda, int aMax, ulong seed)
    {
        var rng = new Rng(seed);
        var a = new byte[(m - 1) * lda + (k + 3) / 4 * 4];
        for (int i = 0; i < a.Length; i++)
            a[i] = (byte)(rng.NextUInt() % (uint)(aMax + 1));
        var b = new sbyte[k * n];
        for (int i = 0; i < b.Length; i++)
            b[i] = (sbyte)(int)(rng.NextUInt() % 256 - 128);
        return (a, b);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryPathMatchesThePlainProduct(int m, int k, int n)
    {
        int lda = k + 3, ldc = n + 5;
        var (a, b) = Random(m, k, n, lda, 127, (ulong)(m * 1000 + k * 10 + n));
        // The contract's extremes: A = 127 against B = −128 and 127.
        a[0] = 127;
        b[0] = -128;
        if (k > 1) { a[1] = 127; b[n] = -128; }
        var packed = new PackedInt8Matrix(b, k, n);
        int tested = 0;
        foreach (var path in Enum.GetValues<Int8Path>())
        {
            if (!Int8Gemm.Supports(path))
                continue;
            tested++;
            var c = Enumerable.Repeat(int.MinValue + 7, m * ldc).ToArray(); // sentinels between rows
            Int8Gemm.Multiply(m, a, lda, packed, c, ldc, path);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < ldc; j++)
                {
                    if (j < n)
                        Assert.True(Reference(a, lda, b, k, n, i, j, false) == c[i * ldc + j], $"{path}: C[{i}, {j}] = {c[i * ldc + j]}, expected {Reference(a, lda, b, k, n, i, j, false)}");
                    else
                        Assert.Equal(int.MinValue + 7, c[i * ldc + j]);
                }
            }
        }
        Assert.True(tested >= 2 || !System.Runtime.Intrinsics.X86.Avx2.IsSupported);
    }

    // H, W, C, KH, KW, stride H, stride W, dilation H, images, N: windows read in place, strided, dilated down, up to the image's edge, over several row blocks.
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> WindowShapes => new()
    {
        { 13, 13, 32, 3, 3, 1, 1, 1, 3, 64 }, { 7, 9, 4, 2, 3, 2, 1, 1, 2, 5 }, { 9, 8, 8, 3, 2, 1, 3, 2, 3, 17 },
        { 5, 5, 12, 5, 5, 1, 1, 1, 1, 33 }, { 1, 11, 4, 1, 4, 1, 2, 1, 4, 7 }, { 6, 6, 16, 1, 2, 2, 2, 1, 5, 16 },
        { 18, 18, 64, 3, 3, 1, 1, 1, 2, 64 }, // 512 rows of K = 576: the second row block starts inside the second image, mid-row
    };

    [Theory]
    [MemberData(nameof(WindowShapes))]
    public void WindowsReadInPlaceGiveTheIntegersOfTheIm2ColRows(int h, int w, int c, int kh, int kw, int sh, int sw, int dh, int images, int n)
    {
        int oh = (h - (kh - 1) * dh - 1) / sh + 1, ow = (w - kw) / sw + 1;
        var g = new Conv2DGeometry(h, w, c, kh, kw, sh, sw, dh, 1, 0, 0, oh, ow);
        Assert.True(Int8Gemm.TakesWindows(g));
        var rng = new Rng((ulong)(h * 31 + c * 7 + n));
        var x = new byte[images * h * w * c];
        for (int i = 0; i < x.Length; i++)
            x[i] = (byte)(rng.NextUInt() % 128);
        var b = new sbyte[g.K * n];
        for (int i = 0; i < b.Length; i++)
            b[i] = (sbyte)(int)(rng.NextUInt() % 255 - 127);
        var packed = new PackedInt8Matrix(b, g.K, n);
        int m = images * oh * ow, ldc = n + 3;
        var cols = new byte[m * g.K + 4];
        Im2Col.Expand<byte>(x, cols, g, 0, images, 0);
        foreach (var path in Enum.GetValues<Int8Path>().Where(Int8Gemm.Supports))
        {
            var expected = Enumerable.Repeat(int.MinValue + 3, m * ldc).ToArray();
            var got = Enumerable.Repeat(int.MinValue + 3, m * ldc).ToArray(); // sentinels between rows
            Int8Gemm.Multiply(m, cols, g.K, packed, expected, ldc, Int8Path.Scalar);
            Int8Gemm.MultiplyWindows(g, images, x, packed, got, ldc, path);
            Assert.Equal(expected, got);
            for (int i = 0; i < m; i++)
                Assert.Equal((long)expected[i * ldc], Reference(cols, g.K, b, g.K, n, i, 0, false)); // the rows' product itself is the plain sum
        }
    }

    [Fact]
    public void WindowsRefuseWhatTheyCannotRead()
    {
        var packed = new PackedInt8Matrix(new sbyte[3 * 3 * 3 * 4], 27, 4);
        var odd = new Conv2DGeometry(5, 5, 3, 3, 3, 1, 1, 1, 1, 0, 0, 3, 3); // C = 3: not whole groups of four
        Assert.False(Int8Gemm.TakesWindows(odd));
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyWindows(odd, 1, new byte[75], packed, new int[36], 4));
        Assert.Contains("windows need", e.Message);
        var padded = new Conv2DGeometry(5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5);
        Assert.False(Int8Gemm.TakesWindows(padded));
    }

    [Fact]
    public void Avx2PairsSaturateOutsideTheSevenBitContract()
    {
        if (!Int8Gemm.Supports(Int8Path.Avx2))
            return;
        int m = 4, k = 8, n = 16;
        var a = Enumerable.Repeat((byte)255, m * k).ToArray();
        var b = Enumerable.Repeat((sbyte)127, k * n).ToArray();
        var packed = new PackedInt8Matrix(b, k, n);
        var avx2 = new int[m * n];
        var scalar = new int[m * n];
        Int8Gemm.Multiply(m, a, k, packed, avx2, n, Int8Path.Avx2);
        Int8Gemm.Multiply(m, a, k, packed, scalar, n, Int8Path.Scalar);
        Assert.All(scalar, v => Assert.Equal(8 * 255 * 127, v));
        Assert.All(avx2, v => Assert.Equal(4 * short.MaxValue, v)); // 255·127·2 = 64,770 saturates to 32,767 per pair
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var packed = new PackedInt8Matrix(new sbyte[12], 3, 4);
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(2, new byte[5], 3, packed, new int[8], 4));
        Assert.Contains("A needs", e.Message);
        Assert.Throws<ArgumentException>(() => new PackedInt8Matrix(new sbyte[5], 3, 4));
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(-1f, 3f)]
    [InlineData(-2f, -0.5f)]
    public void QuantParamsKeepZeroExactAndRoundTrip(float min, float max)
    {
        var p = QuantParams.FromRange(min, max);
        Assert.Equal(0f, p.Dequantize(p.Quantize(0f)));
        Assert.Equal(0, p.Quantize(Math.Min(min, 0) - 10));
        Assert.Equal(QuantParams.QMax, p.Quantize(Math.Max(max, 0) + 10));
        var rng = new Rng(3);
        for (int i = 0; i < 1000; i++)
        {
            float x = min + (max - min) * rng.NextFloat();
            Assert.True(Math.Abs(p.Dequantize(p.Quantize(x)) - x) <= p.Scale / 2 * 1.0001f + 1e-6f);
        }
    }

    [Fact]
    public void TiesRoundToEvenAndTheVectorKernelMatchesTheScalarOne()
    {
        var p = new QuantParams(0.5f, 10);
        Assert.Equal(10, p.Quantize(0.25f)); // 0.5 → 0 (even)
        Assert.Equal(12, p.Quantize(0.75f)); // 1.5 → 2
        var x = new float[77];
        var rng = new Rng(5);
        for (int i = 0; i < x.Length; i++)
            x[i] = (rng.NextFloat() - 0.4f) * 200;
        var q = new byte[x.Length];
        QuantizeKernels.Quantize(x, q, p);
        for (int i = 0; i < x.Length; i++)
            Assert.Equal(p.Quantize(x[i]), q[i]);
    }
}

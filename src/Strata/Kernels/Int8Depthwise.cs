using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Strata.Kernels;

/// <summary>
/// The integer depthwise convolution over NHWC codes: for one output pixel,
/// acc[c·M + m] = Σ over the window's valid taps of (code[ih, iw, c] − zeroPoint) · w[kh, kw, c, m]
/// with u8 codes, s8 weights and s32 sums. A tap outside the image holds the zero point (the code of
/// 0), so skipping it is exact. With a multiplier of 1 the AVX2 path widens eight codes and eight
/// weights to s32 lanes per tap and keeps the sums in registers across the window; the scalar path
/// (and any multiplier above 1) runs the same sums one at a time.
/// </summary>
internal static class Int8Depthwise
{
    /// <summary>The path <see cref="Pixel"/> takes by default: AVX2 where the processor has it.</summary>
    public static Int8Path BestPath { get; } = Avx2.IsSupported ? Int8Path.Avx2 : Int8Path.Scalar;

    /// <summary>
    /// The sums of output pixel (<paramref name="oh"/>, <paramref name="ow"/>) of one image:
    /// <paramref name="image"/> holds its H·W·C codes, <paramref name="w"/> the kernel [KH, KW, C, M],
    /// <paramref name="acc"/> receives C·M sums.
    /// </summary>
    public static void Pixel(ReadOnlySpan<byte> image, int zeroPoint, ReadOnlySpan<sbyte> w, int m, in Conv2DGeometry g, int oh, int ow,
        Span<int> acc, Int8Path? path = null)
    {
        int c = g.C, cm = c * m;
        if (image.Length < g.H * g.W * c || w.Length < g.KH * g.KW * cm || acc.Length < cm)
            throw new ArgumentException($"int8 depthwise: an image of {g.H}×{g.W}×{c} codes, a kernel of {g.KH * g.KW * cm} and {cm} sums are needed, got {image.Length}, {w.Length} and {acc.Length}");
        int kh0 = 0, kh1 = g.KH, kw0 = 0, kw1 = g.KW;
        int ih0 = oh * g.SH - g.PadTop, iw0 = ow * g.SW - g.PadLeft;
        while (kh0 < kh1 && ih0 + kh0 * g.DH < 0) kh0++;
        while (kh1 > kh0 && ih0 + (kh1 - 1) * g.DH >= g.H) kh1--;
        while (kw0 < kw1 && iw0 + kw0 * g.DW < 0) kw0++;
        while (kw1 > kw0 && iw0 + (kw1 - 1) * g.DW >= g.W) kw1--;
        int ch = 0;
        if (m == 1 && (path ?? BestPath) != Int8Path.Scalar && Avx2.IsSupported)
        {
            var zp = Vector256.Create(zeroPoint);
            for (; ch <= c - 8; ch += 8)
            {
                var sum = Vector256<int>.Zero;
                for (int kh = kh0; kh < kh1; kh++)
                {
                    int row = (ih0 + kh * g.DH) * g.W;
                    for (int kw = kw0; kw < kw1; kw++)
                    {
                        var q = Avx2.ConvertToVector256Int32(Eight(image, (row + iw0 + kw * g.DW) * c + ch));
                        var k = Avx2.ConvertToVector256Int32(Eight(MemoryMarshal.AsBytes(w), (kh * g.KW + kw) * c + ch).AsSByte());
                        sum += Avx2.MultiplyLow(q - zp, k);
                    }
                }
                sum.CopyTo(acc.Slice(ch, 8));
            }
        }
        for (int o = ch * m; o < cm; o++)
        {
            int from = o / m, s = 0;
            for (int kh = kh0; kh < kh1; kh++)
            {
                int row = (ih0 + kh * g.DH) * g.W;
                for (int kw = kw0; kw < kw1; kw++)
                    s += (image[(row + iw0 + kw * g.DW) * c + from] - zeroPoint) * w[(kh * g.KW + kw) * cm + o];
            }
            acc[o] = s;
        }
    }

    // Eight bytes at i, in the low half of a vector.
    private static Vector128<byte> Eight(ReadOnlySpan<byte> s, int i) => Vector128.CreateScalar(MemoryMarshal.Read<ulong>(s.Slice(i, 8))).AsByte();
}

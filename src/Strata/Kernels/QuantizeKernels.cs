using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Strata.Kernels;

/// <summary>
/// The affine quantization of activations: q = clamp(round(x · (1 / scale)) + zeroPoint, 0, <see cref="QMax"/>),
/// x ≈ (q − zeroPoint)·scale, rounding half to even. Like PyTorch (and unlike ONNX's QuantizeLinear, which
/// divides) it multiplies by the reciprocal: a division per value would bound the kernel; the two differ
/// only where x / scale lies within one rounding of a half. Activations use 7 bits
/// (0..127), so that <see cref="Int8Gemm"/>'s AVX2 pairs never saturate and every path gives the same
/// integers (PyTorch's x86 backend reduces the range the same way).
/// </summary>
internal readonly record struct QuantParams(float Scale, int ZeroPoint)
{
    /// <summary>The largest activation code.</summary>
    public const int QMax = 127;

    /// <summary>The parameters that map [min, max] (widened to hold 0, which must stay exact) onto 0..127.</summary>
    public static QuantParams FromRange(float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
            throw new ArgumentException($"quantization: the range [{min}, {max}] is not a finite interval");
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        if (max - min < 1e-30f)
            return new QuantParams(1f, 0);
        float scale = (max - min) / QMax;
        int zp = (int)Math.Clamp(MathF.Round(-min / scale, MidpointRounding.ToEven), 0, QMax);
        return new QuantParams(scale, zp);
    }

    /// <summary>x's code.</summary>
    public int Quantize(float x) => (int)Math.Clamp(MathF.Round(x * Inverse, MidpointRounding.ToEven) + ZeroPoint, 0, QMax);

    /// <summary>1 / scale, the factor every path quantizes with.</summary>
    public float Inverse => 1f / Scale;

    /// <summary>A code's value.</summary>
    public float Dequantize(int q) => (q - ZeroPoint) * Scale;
}

/// <summary>The span kernels of quantized layers: activations to codes, and the s32 products back to floats.</summary>
internal static class QuantizeKernels
{
    /// <summary>q[i] = the code of x[i] under <paramref name="p"/>.</summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<byte> q, QuantParams p)
    {
        if (q.Length < x.Length)
            throw new ArgumentException($"quantize: {x.Length} values need as many codes, got {q.Length}");
        int i = 0;
        if (Avx2.IsSupported)
        {
            var s = Vector256.Create(p.Inverse);
            var zp = Vector256.Create((float)p.ZeroPoint);
            var hi = Vector256.Create((float)QuantParams.QMax);
            var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7); // the packs interleave 128-bit lanes: put the four-code groups back in order
            for (; i <= x.Length - 32; i += 32)
            {
                var a = Code(Vector256.Create(x.Slice(i, 8)), s, zp, hi);
                var b = Code(Vector256.Create(x.Slice(i + 8, 8)), s, zp, hi);
                var c = Code(Vector256.Create(x.Slice(i + 16, 8)), s, zp, hi);
                var d = Code(Vector256.Create(x.Slice(i + 24, 8)), s, zp, hi);
                var bytes = Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(a, b), Avx2.PackSignedSaturate(c, d));
                Avx2.PermuteVar8x32(bytes.AsInt32(), order).AsByte().CopyTo(q.Slice(i, 32));
            }
        }
        for (; i < x.Length; i++)
            q[i] = (byte)p.Quantize(x[i]);
    }

    // The code of each lane: round(x · inverse scale) + zero point in [0, QMax]. The native min/max and
    // conversion are exact here (the value is clamped first); NaN becomes 0 through MaxNative's order.
    private static Vector256<int> Code(Vector256<float> x, Vector256<float> inverse, Vector256<float> zp, Vector256<float> hi) =>
        Vector256.ConvertToInt32Native(Vector256.MinNative(Vector256.MaxNative(Vector256.Round(x * inverse) + zp, Vector256<float>.Zero), hi));

    /// <summary>
    /// One row of a quantized layer's output: y[j] = (acc[j] − zeroPointA·Σₖ B[k, j])·multiplier[j] + bias[j]
    /// (multiplier = scale of A × scale of column j), through ReLU when asked, then, when
    /// <paramref name="output"/> is given, onto that grid (quantized and dequantized: the value the next
    /// quantized layer reads exactly).
    /// </summary>
    public static void Requantize(ReadOnlySpan<int> acc, int zeroPointA, ReadOnlySpan<int> columnSums, ReadOnlySpan<float> multiplier,
        ReadOnlySpan<float> bias, bool relu, QuantParams? output, Span<float> y)
    {
        int n = y.Length, j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var zpa = Vector256.Create(zeroPointA);
            var zero = Vector256<float>.Zero;
            var os = Vector256.Create(output?.Scale ?? 1f);
            var oinv = Vector256.Create(output?.Inverse ?? 1f);
            var ozp = Vector256.Create((float)(output?.ZeroPoint ?? 0));
            var hi = Vector256.Create((float)QuantParams.QMax);
            for (; j <= n - 8; j += 8)
            {
                var a = Vector256.Create(acc.Slice(j, 8)) - zpa * Vector256.Create(columnSums.Slice(j, 8));
                var v = Vector256.ConvertToSingle(a) * Vector256.Create(multiplier.Slice(j, 8));
                if (!bias.IsEmpty)
                    v += Vector256.Create(bias.Slice(j, 8));
                if (relu)
                    v = Vector256.MaxNative(v, zero);
                if (output is not null)
                    v = (Vector256.MinNative(Vector256.MaxNative(Vector256.Round(v * oinv) + ozp, zero), hi) - ozp) * os;
                v.CopyTo(y.Slice(j, 8));
            }
        }
        for (; j < n; j++)
        {
            float v = (acc[j] - zeroPointA * columnSums[j]) * multiplier[j] + (bias.IsEmpty ? 0f : bias[j]);
            if (relu)
                v = Math.Max(v, 0f);
            if (output is { } o)
                v = o.Dequantize(o.Quantize(v));
            y[j] = v;
        }
    }

    /// <summary>Whether a float holds an int8 value (an integer in [−128, 127]): what integer kernels and I8 files accept.</summary>
    public static bool IsInt8(float v) => v >= -128 && v <= 127 && v == MathF.Round(v);

    /// <summary>The per-tensor parameters of a batch's own range (dynamic quantization).</summary>
    public static QuantParams OfBatch(ReadOnlySpan<float> x) =>
        x.IsEmpty ? new QuantParams(1f, 0) : QuantParams.FromRange(TensorPrimitives.Min(x), TensorPrimitives.Max(x));
}

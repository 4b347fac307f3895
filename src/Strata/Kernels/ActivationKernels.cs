using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// A two-input elementwise operator in scalar, Vector256 and Vector512 form, run by
/// <see cref="ActivationKernels.Run{TOp}"/> (the TensorPrimitives operator-struct pattern).
/// </summary>
internal interface IBinaryKernelOp
{
    float Invoke(float x, float y);
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary>
/// Hand-written activation kernels that TensorPrimitives lacks: leaky ReLU and the masked or
/// fused backward passes. Each has a plain reference in <see cref="ActivationReference"/>.
/// </summary>
internal static class ActivationKernels
{
    /// <summary>d = g where x &gt; 0, else 0 (the ReLU backward mask; 0 at x = 0).</summary>
    public static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> d) => Run(new ReluGrad(), x, g, d);

    /// <summary>d = x where x &gt; 0, else alpha·x.</summary>
    public static void LeakyRelu(ReadOnlySpan<float> x, float alpha, Span<float> d) => Run(new Leaky(alpha), x, x, d);

    /// <summary>d = g where x &gt; 0, else alpha·g.</summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, float alpha, Span<float> d) =>
        Run(new LeakyGrad(alpha), x, g, d);

    /// <summary>d = g·y·(1 − y), with y = sigmoid(x) the forward output.</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> d) => Run(new SigmoidGrad(), y, g, d);

    /// <summary>d = g·(1 − y²), with y = tanh(x) the forward output.</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> d) => Run(new TanhGrad(), y, g, d);

    /// <summary>d[i] = op(x[i], y[i]); x, y and d have the same length (d may alias x or y exactly).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) where TOp : struct, IBinaryKernelOp
    {
        if (x.Length != d.Length || y.Length != d.Length)
            throw new ArgumentException($"{typeof(TOp).Name}: lengths differ (x {x.Length}, y {y.Length}, destination {d.Length})");
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        ref float pd = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(d);
        int n = d.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            // Four vectors per iteration: independent chains keep both FMA/ALU pipes busy.
            for (; i <= n - 64; i += 64)
            {
                var r0 = op.Invoke(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i));
                var r1 = op.Invoke(Vector512.LoadUnsafe(ref px, (nuint)(i + 16)), Vector512.LoadUnsafe(ref py, (nuint)(i + 16)));
                var r2 = op.Invoke(Vector512.LoadUnsafe(ref px, (nuint)(i + 32)), Vector512.LoadUnsafe(ref py, (nuint)(i + 32)));
                var r3 = op.Invoke(Vector512.LoadUnsafe(ref px, (nuint)(i + 48)), Vector512.LoadUnsafe(ref py, (nuint)(i + 48)));
                r0.StoreUnsafe(ref pd, (nuint)i);
                r1.StoreUnsafe(ref pd, (nuint)(i + 16));
                r2.StoreUnsafe(ref pd, (nuint)(i + 32));
                r3.StoreUnsafe(ref pd, (nuint)(i + 48));
            }
            for (; i <= n - 16; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        }
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            for (; i <= n - 8; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        }
        // Scalar tail (and the whole span without SIMD); d may alias x or y: each element is read before it is written.
        for (; i < n; i++)
            d[i] = op.Invoke(x[i], y[i]);
    }

    private readonly struct ReluGrad : IBinaryKernelOp
    {
        public float Invoke(float x, float g) => x > 0 ? g : 0;
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> g) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, Vector256<float>.Zero);
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> g) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), g, Vector512<float>.Zero);
    }

    private readonly struct Leaky(float alpha) : IBinaryKernelOp
    {
        public float Invoke(float x, float _) => x > 0 ? x : alpha * x;
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> _) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, x * alpha);
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> _) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, x * alpha);
    }

    private readonly struct LeakyGrad(float alpha) : IBinaryKernelOp
    {
        public float Invoke(float x, float g) => x > 0 ? g : alpha * g;
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> g) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, g * alpha);
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> g) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), g, g * alpha);
    }

    private readonly struct SigmoidGrad : IBinaryKernelOp
    {
        public float Invoke(float y, float g) => g * y * (1 - y);
        public Vector256<float> Invoke(Vector256<float> y, Vector256<float> g) => g * y * (Vector256<float>.One - y);
        public Vector512<float> Invoke(Vector512<float> y, Vector512<float> g) => g * y * (Vector512<float>.One - y);
    }

    private readonly struct TanhGrad : IBinaryKernelOp
    {
        public float Invoke(float y, float g) => g * (1 - y * y);
        public Vector256<float> Invoke(Vector256<float> y, Vector256<float> g) => g * (Vector256<float>.One - y * y);
        public Vector512<float> Invoke(Vector512<float> y, Vector512<float> g) => g * (Vector512<float>.One - y * y);
    }
}

/// <summary>The plain loops that define <see cref="ActivationKernels"/> (test oracles).</summary>
internal static class ActivationReference
{
    public static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = x[i] > 0 ? g[i] : 0;
    }

    public static void LeakyRelu(ReadOnlySpan<float> x, float alpha, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = x[i] > 0 ? x[i] : alpha * x[i];
    }

    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, float alpha, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = x[i] > 0 ? g[i] : alpha * g[i];
    }

    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = g[i] * y[i] * (1 - y[i]);
    }

    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = g[i] * (1 - y[i] * y[i]);
    }
}

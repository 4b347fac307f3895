using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// A two-input elementwise operator in scalar and vector form (the vector form written once over
/// the width, see <see cref="ISimd{TV}"/>), run by <see cref="ActivationKernels.Run{TOp}"/> (the
/// TensorPrimitives operator-struct pattern).
/// </summary>
internal interface IBinaryKernelOp
{
    float Invoke(float x, float y);
    TV Invoke<TV, TS>(TV x, TV y) where TV : struct where TS : struct, ISimd<TV>;
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
        if (V512.IsAccelerated)
            i = Run<TOp, Vector512<float>, V512>(op, ref px, ref py, ref pd, n, i);
        if (V256.IsAccelerated)
            i = Run<TOp, Vector256<float>, V256>(op, ref px, ref py, ref pd, n, i);
        if (V128.IsAccelerated)
            i = Run<TOp, Vector128<float>, V128>(op, ref px, ref py, ref pd, n, i);
        // Scalar tail (and the whole span without SIMD); d may alias x or y: each element is read before it is written.
        for (; i < n; i++)
            d[i] = op.Invoke(x[i], y[i]);
    }

    /// <summary>The vector loop of <see cref="Run{TOp}"/> at one width, from i; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Run<TOp, TV, TS>(TOp op, ref float px, ref float py, ref float pd, int n, int i)
        where TOp : struct, IBinaryKernelOp where TV : struct where TS : struct, ISimd<TV>
    {
        int w = TS.Count;
        // Four vectors per iteration: independent chains keep both FMA/ALU pipes busy.
        for (; i <= n - 4 * w; i += 4 * w)
        {
            var r0 = op.Invoke<TV, TS>(TS.LoadUnsafe(ref px, (nuint)i), TS.LoadUnsafe(ref py, (nuint)i));
            var r1 = op.Invoke<TV, TS>(TS.LoadUnsafe(ref px, (nuint)(i + w)), TS.LoadUnsafe(ref py, (nuint)(i + w)));
            var r2 = op.Invoke<TV, TS>(TS.LoadUnsafe(ref px, (nuint)(i + 2 * w)), TS.LoadUnsafe(ref py, (nuint)(i + 2 * w)));
            var r3 = op.Invoke<TV, TS>(TS.LoadUnsafe(ref px, (nuint)(i + 3 * w)), TS.LoadUnsafe(ref py, (nuint)(i + 3 * w)));
            TS.StoreUnsafe(r0, ref pd, (nuint)i);
            TS.StoreUnsafe(r1, ref pd, (nuint)(i + w));
            TS.StoreUnsafe(r2, ref pd, (nuint)(i + 2 * w));
            TS.StoreUnsafe(r3, ref pd, (nuint)(i + 3 * w));
        }
        for (; i <= n - w; i += w)
            TS.StoreUnsafe(op.Invoke<TV, TS>(TS.LoadUnsafe(ref px, (nuint)i), TS.LoadUnsafe(ref py, (nuint)i)), ref pd, (nuint)i);
        return i;
    }

    private readonly struct ReluGrad : IBinaryKernelOp
    {
        public float Invoke(float x, float g) => x > 0 ? g : 0;
        public TV Invoke<TV, TS>(TV x, TV g) where TV : struct where TS : struct, ISimd<TV> =>
            TS.ConditionalSelect(TS.Greater(x, TS.Zero), g, TS.Zero);
    }

    private readonly struct Leaky(float alpha) : IBinaryKernelOp
    {
        public float Invoke(float x, float _) => x > 0 ? x : alpha * x;
        public TV Invoke<TV, TS>(TV x, TV _) where TV : struct where TS : struct, ISimd<TV> =>
            TS.ConditionalSelect(TS.Greater(x, TS.Zero), x, TS.Multiply(x, alpha));
    }

    private readonly struct LeakyGrad(float alpha) : IBinaryKernelOp
    {
        public float Invoke(float x, float g) => x > 0 ? g : alpha * g;
        public TV Invoke<TV, TS>(TV x, TV g) where TV : struct where TS : struct, ISimd<TV> =>
            TS.ConditionalSelect(TS.Greater(x, TS.Zero), g, TS.Multiply(g, alpha));
    }

    private readonly struct SigmoidGrad : IBinaryKernelOp
    {
        public float Invoke(float y, float g) => g * y * (1 - y);
        public TV Invoke<TV, TS>(TV y, TV g) where TV : struct where TS : struct, ISimd<TV> =>
            TS.Multiply(TS.Multiply(g, y), TS.Subtract(TS.One, y));
    }

    private readonly struct TanhGrad : IBinaryKernelOp
    {
        public float Invoke(float y, float g) => g * (1 - y * y);
        public TV Invoke<TV, TS>(TV y, TV g) where TV : struct where TS : struct, ISimd<TV> =>
            TS.Multiply(g, TS.Subtract(TS.One, TS.Multiply(y, y)));
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

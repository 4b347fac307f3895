using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Fused optimizer updates: one pass over parameter, gradient and state instead of one per term.
/// Every path (Vector512, Vector256, scalar) does the same operations in the same order, so the
/// result does not depend on the vector width or the length; <see cref="OptimizerReference"/> is the
/// plain loop each is tested against.
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>
    /// Adam: m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; w ← w − (lr·(m·c₁⁻¹)) / (√(v·c₂⁻¹) + ε), where
    /// c₁ = 1 − β₁ᵗ and c₂ = 1 − β₂ᵗ are the bias corrections.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adam(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float beta1, float beta2, float lr, float invC1, float invC2, float eps)
    {
        int n = w.Length;
        if (g.Length != n || m.Length != n || v.Length != n)
            throw new ArgumentException($"adam: lengths differ (w {n}, g {g.Length}, m {m.Length}, v {v.Length})");
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pm = ref MemoryMarshal.GetReference(m);
        ref float pv = ref MemoryMarshal.GetReference(v);
        float ob1 = 1 - beta1, ob2 = 1 - beta2;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var b1 = Vector512.Create(beta1);
            var b2 = Vector512.Create(beta2);
            var o1 = Vector512.Create(ob1);
            var o2 = Vector512.Create(ob2);
            var vlr = Vector512.Create(lr);
            var c1 = Vector512.Create(invC1);
            var c2 = Vector512.Create(invC2);
            var ve = Vector512.Create(eps);
            for (; i <= n - 16; i += 16)
            {
                var gi = Vector512.LoadUnsafe(ref pg, (nuint)i);
                var mi = b1 * Vector512.LoadUnsafe(ref pm, (nuint)i) + o1 * gi;
                var vi = b2 * Vector512.LoadUnsafe(ref pv, (nuint)i) + o2 * (gi * gi);
                mi.StoreUnsafe(ref pm, (nuint)i);
                vi.StoreUnsafe(ref pv, (nuint)i);
                var wi = Vector512.LoadUnsafe(ref pw, (nuint)i) - vlr * (mi * c1) / (Vector512.Sqrt(vi * c2) + ve);
                wi.StoreUnsafe(ref pw, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var b1 = Vector256.Create(beta1);
            var b2 = Vector256.Create(beta2);
            var o1 = Vector256.Create(ob1);
            var o2 = Vector256.Create(ob2);
            var vlr = Vector256.Create(lr);
            var c1 = Vector256.Create(invC1);
            var c2 = Vector256.Create(invC2);
            var ve = Vector256.Create(eps);
            for (; i <= n - 8; i += 8)
            {
                var gi = Vector256.LoadUnsafe(ref pg, (nuint)i);
                var mi = b1 * Vector256.LoadUnsafe(ref pm, (nuint)i) + o1 * gi;
                var vi = b2 * Vector256.LoadUnsafe(ref pv, (nuint)i) + o2 * (gi * gi);
                mi.StoreUnsafe(ref pm, (nuint)i);
                vi.StoreUnsafe(ref pv, (nuint)i);
                var wi = Vector256.LoadUnsafe(ref pw, (nuint)i) - vlr * (mi * c1) / (Vector256.Sqrt(vi * c2) + ve);
                wi.StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = Unsafe.Add(ref pg, i);
            float mi = beta1 * Unsafe.Add(ref pm, i) + ob1 * gi;
            float vi = beta2 * Unsafe.Add(ref pv, i) + ob2 * (gi * gi);
            Unsafe.Add(ref pm, i) = mi;
            Unsafe.Add(ref pv, i) = vi;
            Unsafe.Add(ref pw, i) -= lr * (mi * invC1) / (MathF.Sqrt(vi * invC2) + eps);
        }
    }
}

/// <summary>Plain loops for the optimizer kernels, for tests.</summary>
internal static class OptimizerReference
{
    public static void Adam(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float beta1, float beta2, float lr, float invC1, float invC2, float eps)
    {
        for (int i = 0; i < w.Length; i++)
        {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * (g[i] * g[i]);
            w[i] -= lr * (m[i] * invC1) / (MathF.Sqrt(v[i] * invC2) + eps);
        }
    }
}

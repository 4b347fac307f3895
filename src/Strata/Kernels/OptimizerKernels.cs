using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Fused optimizer updates: one pass over parameter, gradient and state instead of one per term.
/// Every path (512-, 256- and 128-bit vectors, scalar) does the same operations in the same order, so the
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
        if (V512.IsAccelerated)
            i = Adam<Vector512<float>, V512>(ref pw, ref pg, ref pm, ref pv, n, i, beta1, beta2, lr, invC1, invC2, eps);
        if (V256.IsAccelerated)
            i = Adam<Vector256<float>, V256>(ref pw, ref pg, ref pm, ref pv, n, i, beta1, beta2, lr, invC1, invC2, eps);
        if (V128.IsAccelerated)
            i = Adam<Vector128<float>, V128>(ref pw, ref pg, ref pm, ref pv, n, i, beta1, beta2, lr, invC1, invC2, eps);
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

    /// <summary>SGD with momentum (Keras form): v ← μv − lr·g; w ← w + v, or with Nesterov w ← w + (μv − lr·g).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SgdMomentum(Span<float> w, ReadOnlySpan<float> g, Span<float> v, float mu, float lr, bool nesterov)
    {
        int n = w.Length;
        if (g.Length != n || v.Length != n)
            throw new ArgumentException($"sgd: lengths differ (w {n}, g {g.Length}, v {v.Length})");
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pv = ref MemoryMarshal.GetReference(v);
        int i = 0;
        if (V512.IsAccelerated)
            i = SgdMomentum<Vector512<float>, V512>(ref pw, ref pg, ref pv, n, i, mu, lr, nesterov);
        if (V256.IsAccelerated)
            i = SgdMomentum<Vector256<float>, V256>(ref pw, ref pg, ref pv, n, i, mu, lr, nesterov);
        if (V128.IsAccelerated)
            i = SgdMomentum<Vector128<float>, V128>(ref pw, ref pg, ref pv, n, i, mu, lr, nesterov);
        for (; i < n; i++)
        {
            float gi = Unsafe.Add(ref pg, i);
            float vi = mu * Unsafe.Add(ref pv, i) - lr * gi;
            Unsafe.Add(ref pv, i) = vi;
            Unsafe.Add(ref pw, i) += nesterov ? mu * vi - lr * gi : vi;
        }
    }

    /// <summary>
    /// RMSprop: s ← ρs + (1 − ρ)g²; step = lr·g / (√s + ε); with momentum μ &gt; 0, m ← μm + step and the
    /// step is m; w ← w − step. <paramref name="m"/> is empty without momentum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsProp(Span<float> w, ReadOnlySpan<float> g, Span<float> s, Span<float> m, float rho, float mu, float lr, float eps)
    {
        int n = w.Length;
        bool momentum = mu > 0;
        if (g.Length != n || s.Length != n || (momentum && m.Length != n))
            throw new ArgumentException($"rmsprop: lengths differ (w {n}, g {g.Length}, s {s.Length}, m {m.Length})");
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float ps = ref MemoryMarshal.GetReference(s);
        ref float pm = ref MemoryMarshal.GetReference(m);
        float orho = 1 - rho;
        int i = 0;
        if (V512.IsAccelerated)
            i = RmsProp<Vector512<float>, V512>(ref pw, ref pg, ref ps, ref pm, n, i, rho, mu, lr, eps, momentum);
        if (V256.IsAccelerated)
            i = RmsProp<Vector256<float>, V256>(ref pw, ref pg, ref ps, ref pm, n, i, rho, mu, lr, eps, momentum);
        if (V128.IsAccelerated)
            i = RmsProp<Vector128<float>, V128>(ref pw, ref pg, ref ps, ref pm, n, i, rho, mu, lr, eps, momentum);
        for (; i < n; i++)
        {
            float gi = Unsafe.Add(ref pg, i);
            float si = rho * Unsafe.Add(ref ps, i) + orho * (gi * gi);
            Unsafe.Add(ref ps, i) = si;
            float step = lr * gi / (MathF.Sqrt(si) + eps);
            if (momentum)
            {
                step = mu * Unsafe.Add(ref pm, i) + step;
                Unsafe.Add(ref pm, i) = step;
            }
            Unsafe.Add(ref pw, i) -= step;
        }
    }

    /// <summary>AdaGrad: a ← a + g²; w ← w − lr·g / (√a + ε).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adagrad(Span<float> w, ReadOnlySpan<float> g, Span<float> a, float lr, float eps)
    {
        int n = w.Length;
        if (g.Length != n || a.Length != n)
            throw new ArgumentException($"adagrad: lengths differ (w {n}, g {g.Length}, a {a.Length})");
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pa = ref MemoryMarshal.GetReference(a);
        int i = 0;
        if (V512.IsAccelerated)
            i = Adagrad<Vector512<float>, V512>(ref pw, ref pg, ref pa, n, i, lr, eps);
        if (V256.IsAccelerated)
            i = Adagrad<Vector256<float>, V256>(ref pw, ref pg, ref pa, n, i, lr, eps);
        if (V128.IsAccelerated)
            i = Adagrad<Vector128<float>, V128>(ref pw, ref pg, ref pa, n, i, lr, eps);
        for (; i < n; i++)
        {
            float gi = Unsafe.Add(ref pg, i);
            float ai = Unsafe.Add(ref pa, i) + gi * gi;
            Unsafe.Add(ref pa, i) = ai;
            Unsafe.Add(ref pw, i) -= lr * gi / (MathF.Sqrt(ai) + eps);
        }
    }

    // The vector loops, written once over the width: each runs whole vectors from i and returns where it stopped.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Adam<TV, TS>(ref float pw, ref float pg, ref float pm, ref float pv, int n, int i,
        float beta1, float beta2, float lr, float invC1, float invC2, float eps) where TV : struct where TS : struct, ISimd<TV>
    {
        TV b1 = TS.Create(beta1), b2 = TS.Create(beta2), o1 = TS.Create(1 - beta1), o2 = TS.Create(1 - beta2);
        TV vlr = TS.Create(lr), c1 = TS.Create(invC1), c2 = TS.Create(invC2), ve = TS.Create(eps);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            var gi = TS.LoadUnsafe(ref pg, (nuint)i);
            var mi = TS.Add(TS.Multiply(b1, TS.LoadUnsafe(ref pm, (nuint)i)), TS.Multiply(o1, gi));
            var vi = TS.Add(TS.Multiply(b2, TS.LoadUnsafe(ref pv, (nuint)i)), TS.Multiply(o2, TS.Multiply(gi, gi)));
            TS.StoreUnsafe(mi, ref pm, (nuint)i);
            TS.StoreUnsafe(vi, ref pv, (nuint)i);
            var step = TS.Divide(TS.Multiply(vlr, TS.Multiply(mi, c1)), TS.Add(TS.Sqrt(TS.Multiply(vi, c2)), ve));
            TS.StoreUnsafe(TS.Subtract(TS.LoadUnsafe(ref pw, (nuint)i), step), ref pw, (nuint)i);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SgdMomentum<TV, TS>(ref float pw, ref float pg, ref float pv, int n, int i, float mu, float lr, bool nesterov)
        where TV : struct where TS : struct, ISimd<TV>
    {
        TV vmu = TS.Create(mu), vlr = TS.Create(lr);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            var gi = TS.LoadUnsafe(ref pg, (nuint)i);
            var vi = TS.Subtract(TS.Multiply(vmu, TS.LoadUnsafe(ref pv, (nuint)i)), TS.Multiply(vlr, gi));
            TS.StoreUnsafe(vi, ref pv, (nuint)i);
            var step = nesterov ? TS.Subtract(TS.Multiply(vmu, vi), TS.Multiply(vlr, gi)) : vi;
            TS.StoreUnsafe(TS.Add(TS.LoadUnsafe(ref pw, (nuint)i), step), ref pw, (nuint)i);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RmsProp<TV, TS>(ref float pw, ref float pg, ref float ps, ref float pm, int n, int i,
        float rho, float mu, float lr, float eps, bool momentum) where TV : struct where TS : struct, ISimd<TV>
    {
        TV vr = TS.Create(rho), vo = TS.Create(1 - rho), vmu = TS.Create(mu), vlr = TS.Create(lr), ve = TS.Create(eps);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            var gi = TS.LoadUnsafe(ref pg, (nuint)i);
            var si = TS.Add(TS.Multiply(vr, TS.LoadUnsafe(ref ps, (nuint)i)), TS.Multiply(vo, TS.Multiply(gi, gi)));
            TS.StoreUnsafe(si, ref ps, (nuint)i);
            var step = TS.Divide(TS.Multiply(vlr, gi), TS.Add(TS.Sqrt(si), ve));
            if (momentum)
            {
                step = TS.Add(TS.Multiply(vmu, TS.LoadUnsafe(ref pm, (nuint)i)), step);
                TS.StoreUnsafe(step, ref pm, (nuint)i);
            }
            TS.StoreUnsafe(TS.Subtract(TS.LoadUnsafe(ref pw, (nuint)i), step), ref pw, (nuint)i);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Adagrad<TV, TS>(ref float pw, ref float pg, ref float pa, int n, int i, float lr, float eps)
        where TV : struct where TS : struct, ISimd<TV>
    {
        TV vlr = TS.Create(lr), ve = TS.Create(eps);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            var gi = TS.LoadUnsafe(ref pg, (nuint)i);
            var ai = TS.Add(TS.LoadUnsafe(ref pa, (nuint)i), TS.Multiply(gi, gi));
            TS.StoreUnsafe(ai, ref pa, (nuint)i);
            TS.StoreUnsafe(TS.Subtract(TS.LoadUnsafe(ref pw, (nuint)i), TS.Divide(TS.Multiply(vlr, gi), TS.Add(TS.Sqrt(ai), ve))), ref pw, (nuint)i);
        }
        return i;
    }
}

/// <summary>Plain loops for the optimizer kernels, for tests.</summary>
internal static class OptimizerReference
{
    public static void SgdMomentum(Span<float> w, ReadOnlySpan<float> g, Span<float> v, float mu, float lr, bool nesterov)
    {
        for (int i = 0; i < w.Length; i++)
        {
            v[i] = mu * v[i] - lr * g[i];
            w[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
        }
    }

    public static void RmsProp(Span<float> w, ReadOnlySpan<float> g, Span<float> s, Span<float> m, float rho, float mu, float lr, float eps)
    {
        for (int i = 0; i < w.Length; i++)
        {
            s[i] = rho * s[i] + (1 - rho) * (g[i] * g[i]);
            float step = lr * g[i] / (MathF.Sqrt(s[i]) + eps);
            if (mu > 0)
            {
                m[i] = mu * m[i] + step;
                step = m[i];
            }
            w[i] -= step;
        }
    }

    public static void Adagrad(Span<float> w, ReadOnlySpan<float> g, Span<float> a, float lr, float eps)
    {
        for (int i = 0; i < w.Length; i++)
        {
            a[i] += g[i] * g[i];
            w[i] -= lr * g[i] / (MathF.Sqrt(a[i]) + eps);
        }
    }

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

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
        if (Vector512.IsHardwareAccelerated)
        {
            var vmu = Vector512.Create(mu);
            var vlr = Vector512.Create(lr);
            for (; i <= n - 16; i += 16)
            {
                var gi = Vector512.LoadUnsafe(ref pg, (nuint)i);
                var vi = vmu * Vector512.LoadUnsafe(ref pv, (nuint)i) - vlr * gi;
                vi.StoreUnsafe(ref pv, (nuint)i);
                var step = nesterov ? vmu * vi - vlr * gi : vi;
                (Vector512.LoadUnsafe(ref pw, (nuint)i) + step).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vmu = Vector256.Create(mu);
            var vlr = Vector256.Create(lr);
            for (; i <= n - 8; i += 8)
            {
                var gi = Vector256.LoadUnsafe(ref pg, (nuint)i);
                var vi = vmu * Vector256.LoadUnsafe(ref pv, (nuint)i) - vlr * gi;
                vi.StoreUnsafe(ref pv, (nuint)i);
                var step = nesterov ? vmu * vi - vlr * gi : vi;
                (Vector256.LoadUnsafe(ref pw, (nuint)i) + step).StoreUnsafe(ref pw, (nuint)i);
            }
        }
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
        if (Vector512.IsHardwareAccelerated)
        {
            var vr = Vector512.Create(rho);
            var vo = Vector512.Create(orho);
            var vmu = Vector512.Create(mu);
            var vlr = Vector512.Create(lr);
            var ve = Vector512.Create(eps);
            for (; i <= n - 16; i += 16)
            {
                var gi = Vector512.LoadUnsafe(ref pg, (nuint)i);
                var si = vr * Vector512.LoadUnsafe(ref ps, (nuint)i) + vo * (gi * gi);
                si.StoreUnsafe(ref ps, (nuint)i);
                var step = vlr * gi / (Vector512.Sqrt(si) + ve);
                if (momentum)
                {
                    step = vmu * Vector512.LoadUnsafe(ref pm, (nuint)i) + step;
                    step.StoreUnsafe(ref pm, (nuint)i);
                }
                (Vector512.LoadUnsafe(ref pw, (nuint)i) - step).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vr = Vector256.Create(rho);
            var vo = Vector256.Create(orho);
            var vmu = Vector256.Create(mu);
            var vlr = Vector256.Create(lr);
            var ve = Vector256.Create(eps);
            for (; i <= n - 8; i += 8)
            {
                var gi = Vector256.LoadUnsafe(ref pg, (nuint)i);
                var si = vr * Vector256.LoadUnsafe(ref ps, (nuint)i) + vo * (gi * gi);
                si.StoreUnsafe(ref ps, (nuint)i);
                var step = vlr * gi / (Vector256.Sqrt(si) + ve);
                if (momentum)
                {
                    step = vmu * Vector256.LoadUnsafe(ref pm, (nuint)i) + step;
                    step.StoreUnsafe(ref pm, (nuint)i);
                }
                (Vector256.LoadUnsafe(ref pw, (nuint)i) - step).StoreUnsafe(ref pw, (nuint)i);
            }
        }
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
        if (Vector512.IsHardwareAccelerated)
        {
            var vlr = Vector512.Create(lr);
            var ve = Vector512.Create(eps);
            for (; i <= n - 16; i += 16)
            {
                var gi = Vector512.LoadUnsafe(ref pg, (nuint)i);
                var ai = Vector512.LoadUnsafe(ref pa, (nuint)i) + gi * gi;
                ai.StoreUnsafe(ref pa, (nuint)i);
                (Vector512.LoadUnsafe(ref pw, (nuint)i) - vlr * gi / (Vector512.Sqrt(ai) + ve)).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vlr = Vector256.Create(lr);
            var ve = Vector256.Create(eps);
            for (; i <= n - 8; i += 8)
            {
                var gi = Vector256.LoadUnsafe(ref pg, (nuint)i);
                var ai = Vector256.LoadUnsafe(ref pa, (nuint)i) + gi * gi;
                ai.StoreUnsafe(ref pa, (nuint)i);
                (Vector256.LoadUnsafe(ref pw, (nuint)i) - vlr * gi / (Vector256.Sqrt(ai) + ve)).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = Unsafe.Add(ref pg, i);
            float ai = Unsafe.Add(ref pa, i) + gi * gi;
            Unsafe.Add(ref pa, i) = ai;
            Unsafe.Add(ref pw, i) -= lr * gi / (MathF.Sqrt(ai) + eps);
        }
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

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Strata.Kernels;

/// <summary>
/// The operations of one float vector width, as a type parameter: a hand-written kernel is written
/// once, generic over <c>TV</c> (the vector: <c>Vector512&lt;float&gt;</c>, <c>Vector256&lt;float&gt;</c> or
/// <c>Vector128&lt;float&gt;</c>) and <c>TS : ISimd&lt;TV&gt;</c> (its operations: <see cref="V512"/>,
/// <see cref="V256"/>, <see cref="V128"/>), and the JIT compiles one copy per width with the calls
/// inlined — the same instructions as code written on the vector type directly. (A wrapper struct
/// around the vector, which would allow operators, costs a register move after every FMA in the
/// GEMM micro-kernel: the JIT's copy of the wrapped value; the values stay raw vectors.) A kernel runs
/// the widest accelerated width first and hands the remainder to the next narrower one (a 512-bit
/// loop, then 256, then 128), then finishes with its scalar loop. <see cref="V128"/> is SSE on x86
/// and NEON on ARM64 (the only vector path there), exercised on x86 with <c>DOTNET_EnableAVX=0</c>.
/// </summary>
internal unsafe interface ISimd<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Whether this width runs on vector hardware here (a JIT-time constant).</summary>
    static abstract bool IsAccelerated { get; }

    static abstract TV Zero { get; }
    static abstract TV One { get; }
    static abstract TV Create(float value);
    static abstract TV Load(float* p);
    static abstract TV LoadUnsafe(ref float p, nuint index);
    static abstract void Store(TV v, float* p);
    static abstract void StoreUnsafe(TV v, ref float p, nuint index);

    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);
    static abstract TV Multiply(TV a, float b);
    static abstract TV Divide(TV a, TV b);
    static abstract TV And(TV a, TV b);
    static abstract TV Or(TV a, TV b);

    /// <summary>a·b + c, rounded once where the hardware has FMA (every AVX2 and ARM64 CPU), else a·b then + c.</summary>
    static abstract TV FusedMultiplyAdd(TV a, TV b, TV c);
    static abstract TV Max(TV a, TV b);
    /// <summary>
    /// The larger of a and b in one instruction (x86 vmaxps, ARM fmax), where <see cref="Max"/> spends several on
    /// IEEE rules: which of two equal zeros and what NaN gives is the hardware's; callers that must propagate NaN
    /// track it with <see cref="IsNaN"/>.
    /// </summary>
    static abstract TV MaxNative(TV a, TV b);
    /// <summary>All bits set in the lanes that hold NaN.</summary>
    static abstract TV IsNaN(TV a);
    static abstract TV Sqrt(TV a);
    /// <summary>All bits set in the lanes where a == b.</summary>
    static abstract TV Equal(TV a, TV b);
    /// <summary>All bits set in the lanes where a &gt; b.</summary>
    static abstract TV Greater(TV a, TV b);
    /// <summary>a &amp; ~b.</summary>
    static abstract TV AndNot(TV a, TV b);
    /// <summary>The lanes of a where the mask is set, else of b.</summary>
    static abstract TV ConditionalSelect(TV mask, TV a, TV b);
    /// <summary>The sum of the lanes (the runtime's fixed pairwise order: the same bits on every call).</summary>
    static abstract float Sum(TV a);
}

/// <summary>Which vector path the kernels take.</summary>
internal static class Simd
{
    /// <summary>The widest float vector this process runs, in floats (1: no vector path).</summary>
    public static int WidestCount => V512.IsAccelerated ? 16 : V256.IsAccelerated ? 8 : V128.IsAccelerated ? 4 : 1;

    /// <summary>The name of the vector path the float kernels take here, e.g. "AVX-512", "AVX2", "SSE (128-bit)".</summary>
    public static string PathName => WidestCount switch
    {
        16 => "AVX-512",
        8 => Avx2.IsSupported ? "AVX2" : "AVX (256-bit)",
        4 => AdvSimd.IsSupported ? "NEON (128-bit)" : "SSE (128-bit)",
        _ => "scalar",
    };
}

/// <summary>512-bit vectors (AVX-512).</summary>
internal readonly unsafe struct V512 : ISimd<Vector512<float>>
{
    public static int Count => 16;
    public static bool IsAccelerated => Vector512.IsHardwareAccelerated;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    public static Vector512<float> One => Vector512<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Create(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadUnsafe(ref float p, nuint index) => Vector512.LoadUnsafe(ref p, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreUnsafe(Vector512<float> v, ref float p, nuint index) => v.StoreUnsafe(ref p, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> IsNaN(Vector512<float> a) => Vector512.IsNaN(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Equal(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Greater(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> AndNot(Vector512<float> a, Vector512<float> b) => Vector512.AndNot(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> ConditionalSelect(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> a) => Vector512.Sum(a);
}

/// <summary>256-bit vectors (AVX, AVX2).</summary>
internal readonly unsafe struct V256 : ISimd<Vector256<float>>
{
    public static int Count => 8;
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    public static Vector256<float> One => Vector256<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Create(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadUnsafe(ref float p, nuint index) => Vector256.LoadUnsafe(ref p, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreUnsafe(Vector256<float> v, ref float p, nuint index) => v.StoreUnsafe(ref p, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Vector256.FusedMultiplyAdd(a, b, c) : a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> IsNaN(Vector256<float> a) => Vector256.IsNaN(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Equal(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Greater(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> AndNot(Vector256<float> a, Vector256<float> b) => Vector256.AndNot(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> ConditionalSelect(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> a) => Vector256.Sum(a);
}

/// <summary>128-bit vectors: SSE on x86, NEON (AdvSimd) on ARM64.</summary>
internal readonly unsafe struct V128 : ISimd<Vector128<float>>
{
    public static int Count => 4;
    public static bool IsAccelerated => Vector128.IsHardwareAccelerated;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    public static Vector128<float> One => Vector128<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Create(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadUnsafe(ref float p, nuint index) => Vector128.LoadUnsafe(ref p, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreUnsafe(Vector128<float> v, ref float p, nuint index) => v.StoreUnsafe(ref p, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> And(Vector128<float> a, Vector128<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Or(Vector128<float> a, Vector128<float> b) => a | b;
    // SSE without AVX has no FMA: Vector128.FusedMultiplyAdd would fall back to a per-lane software FMA there.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> FusedMultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector128.FusedMultiplyAdd(a, b, c) : a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MaxNative(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> IsNaN(Vector128<float> a) => Vector128.IsNaN(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sqrt(Vector128<float> a) => Vector128.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Equal(Vector128<float> a, Vector128<float> b) => Vector128.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Greater(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> AndNot(Vector128<float> a, Vector128<float> b) => Vector128.AndNot(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> ConditionalSelect(Vector128<float> mask, Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(mask, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> a) => Vector128.Sum(a);
}

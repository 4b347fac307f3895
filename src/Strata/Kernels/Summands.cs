using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// The terms that <see cref="Summation"/> adds up, in scalar and vector form: term <c>i</c> of a flat
/// span, <c>j</c> its column in the column forms (0 in the flat forms). Loads are unchecked: the
/// drivers check the lengths once.
/// </summary>
internal interface ISummand
{
    float At(int i, int j);
    Vector128<float> At128(int i, int j);
    Vector256<float> At256(int i, int j);
    Vector512<float> At512(int i, int j);
}

/// <summary>xᵢ.</summary>
internal readonly ref struct Values(ReadOnlySpan<float> x) : ISummand
{
    private readonly ReadOnlySpan<float> _x = x;

    private ref float X => ref MemoryMarshal.GetReference(_x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j) => Unsafe.Add(ref X, i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j) => Vector128.LoadUnsafe(ref X, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j) => Vector256.LoadUnsafe(ref X, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j) => Vector512.LoadUnsafe(ref X, (nuint)i);
}

/// <summary>xᵢ².</summary>
internal readonly ref struct Squares(ReadOnlySpan<float> x) : ISummand
{
    private readonly ReadOnlySpan<float> _x = x;

    private ref float X => ref MemoryMarshal.GetReference(_x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j)
    {
        float v = Unsafe.Add(ref X, i);
        return v * v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j)
    {
        var v = Vector128.LoadUnsafe(ref X, (nuint)i);
        return v * v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j)
    {
        var v = Vector256.LoadUnsafe(ref X, (nuint)i);
        return v * v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j)
    {
        var v = Vector512.LoadUnsafe(ref X, (nuint)i);
        return v * v;
    }
}

/// <summary>(xᵢ − m)², one m for the whole span.</summary>
internal readonly ref struct SquaredDeviations(ReadOnlySpan<float> x, float mean) : ISummand
{
    private readonly ReadOnlySpan<float> _x = x;

    private ref float X => ref MemoryMarshal.GetReference(_x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j)
    {
        float d = Unsafe.Add(ref X, i) - mean;
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j)
    {
        var d = Vector128.LoadUnsafe(ref X, (nuint)i) - Vector128.Create(mean);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j)
    {
        var d = Vector256.LoadUnsafe(ref X, (nuint)i) - Vector256.Create(mean);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j)
    {
        var d = Vector512.LoadUnsafe(ref X, (nuint)i) - Vector512.Create(mean);
        return d * d;
    }
}

/// <summary>(xᵢ − mⱼ)², a mean per column (batch-normalization variances).</summary>
internal readonly ref struct ColumnSquaredDeviations(ReadOnlySpan<float> x, ReadOnlySpan<float> means) : ISummand
{
    private readonly ReadOnlySpan<float> _x = x, _m = means;

    private ref float X => ref MemoryMarshal.GetReference(_x);
    private ref float M => ref MemoryMarshal.GetReference(_m);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j)
    {
        float d = Unsafe.Add(ref X, i) - Unsafe.Add(ref M, j);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j)
    {
        var d = Vector128.LoadUnsafe(ref X, (nuint)i) - Vector128.LoadUnsafe(ref M, (nuint)j);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j)
    {
        var d = Vector256.LoadUnsafe(ref X, (nuint)i) - Vector256.LoadUnsafe(ref M, (nuint)j);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j)
    {
        var d = Vector512.LoadUnsafe(ref X, (nuint)i) - Vector512.LoadUnsafe(ref M, (nuint)j);
        return d * d;
    }
}

/// <summary>gᵢ·(xᵢ − mean of column j): the per-channel sum of batch normalization's backward pass.</summary>
internal readonly ref struct ColumnProductsOfDeviations(ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> means) : ISummand
{
    private readonly ReadOnlySpan<float> _g = g, _x = x, _m = means;

    private ref float G => ref MemoryMarshal.GetReference(_g);
    private ref float X => ref MemoryMarshal.GetReference(_x);
    private ref float M => ref MemoryMarshal.GetReference(_m);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j) => Unsafe.Add(ref G, i) * (Unsafe.Add(ref X, i) - Unsafe.Add(ref M, j));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j) =>
        Vector128.LoadUnsafe(ref G, (nuint)i) * (Vector128.LoadUnsafe(ref X, (nuint)i) - Vector128.LoadUnsafe(ref M, (nuint)j));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j) =>
        Vector256.LoadUnsafe(ref G, (nuint)i) * (Vector256.LoadUnsafe(ref X, (nuint)i) - Vector256.LoadUnsafe(ref M, (nuint)j));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j) =>
        Vector512.LoadUnsafe(ref G, (nuint)i) * (Vector512.LoadUnsafe(ref X, (nuint)i) - Vector512.LoadUnsafe(ref M, (nuint)j));
}

/// <summary>xᵢ·yᵢ.</summary>
internal readonly ref struct Products(ReadOnlySpan<float> x, ReadOnlySpan<float> y) : ISummand
{
    private readonly ReadOnlySpan<float> _x = x, _y = y;

    private ref float X => ref MemoryMarshal.GetReference(_x);
    private ref float Y => ref MemoryMarshal.GetReference(_y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j) => Unsafe.Add(ref X, i) * Unsafe.Add(ref Y, i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j) => Vector128.LoadUnsafe(ref X, (nuint)i) * Vector128.LoadUnsafe(ref Y, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j) => Vector256.LoadUnsafe(ref X, (nuint)i) * Vector256.LoadUnsafe(ref Y, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j) => Vector512.LoadUnsafe(ref X, (nuint)i) * Vector512.LoadUnsafe(ref Y, (nuint)i);
}

/// <summary>(xᵢ − yᵢ)².</summary>
internal readonly ref struct SquaredDifferences(ReadOnlySpan<float> x, ReadOnlySpan<float> y) : ISummand
{
    private readonly ReadOnlySpan<float> _x = x, _y = y;

    private ref float X => ref MemoryMarshal.GetReference(_x);
    private ref float Y => ref MemoryMarshal.GetReference(_y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j)
    {
        float d = Unsafe.Add(ref X, i) - Unsafe.Add(ref Y, i);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j)
    {
        var d = Vector128.LoadUnsafe(ref X, (nuint)i) - Vector128.LoadUnsafe(ref Y, (nuint)i);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j)
    {
        var d = Vector256.LoadUnsafe(ref X, (nuint)i) - Vector256.LoadUnsafe(ref Y, (nuint)i);
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j)
    {
        var d = Vector512.LoadUnsafe(ref X, (nuint)i) - Vector512.LoadUnsafe(ref Y, (nuint)i);
        return d * d;
    }
}

/// <summary>|xᵢ − yᵢ|.</summary>
internal readonly ref struct AbsoluteDifferences(ReadOnlySpan<float> x, ReadOnlySpan<float> y) : ISummand
{
    private readonly ReadOnlySpan<float> _x = x, _y = y;

    private ref float X => ref MemoryMarshal.GetReference(_x);
    private ref float Y => ref MemoryMarshal.GetReference(_y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float At(int i, int j) => MathF.Abs(Unsafe.Add(ref X, i) - Unsafe.Add(ref Y, i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> At128(int i, int j) => Vector128.Abs(Vector128.LoadUnsafe(ref X, (nuint)i) - Vector128.LoadUnsafe(ref Y, (nuint)i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> At256(int i, int j) => Vector256.Abs(Vector256.LoadUnsafe(ref X, (nuint)i) - Vector256.LoadUnsafe(ref Y, (nuint)i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> At512(int i, int j) => Vector512.Abs(Vector512.LoadUnsafe(ref X, (nuint)i) - Vector512.LoadUnsafe(ref Y, (nuint)i));
}

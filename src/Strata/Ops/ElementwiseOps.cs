using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Strata.Ops;

/// <summary>
/// A binary elementwise operation in the three forms the broadcasting driver needs
/// (vector–vector, vector–scalar, scalar–vector), each mapped to TensorPrimitives.
/// </summary>
internal interface IBinaryOp
{
    static abstract void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d);
    static abstract void Apply(ReadOnlySpan<float> x, float y, Span<float> d);
    static abstract void Apply(float x, ReadOnlySpan<float> y, Span<float> d);
}

internal struct AddOp : IBinaryOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Add(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Add(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Add(y, x, d);
}

internal struct SubOp : IBinaryOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
}

internal struct MulOp : IBinaryOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Multiply(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Multiply(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Multiply(y, x, d);
}

internal struct DivOp : IBinaryOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
}

internal struct MinOp : IBinaryOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Min(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Min(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Min(y, x, d);
}

internal struct MaxOp : IBinaryOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Max(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Max(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Max(y, x, d);
}

internal struct PowOp : IBinaryOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Pow(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Pow(x, y, d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Pow(x, y, d);
}

/// <summary>Comparisons give 1 where the relation holds, else 0.</summary>
internal struct CompareOp<TRel> : IBinaryOp where TRel : struct, IRelation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = TRel.Holds(x[i], y[i]) ? 1f : 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = TRel.Holds(x[i], y) ? 1f : 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = TRel.Holds(x, y[i]) ? 1f : 0f;
    }
}

internal interface IRelation
{
    static abstract bool Holds(float x, float y);
}

internal struct EqualRel : IRelation { [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Holds(float x, float y) => x == y; }
internal struct NotEqualRel : IRelation { [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Holds(float x, float y) => x != y; }
internal struct GreaterRel : IRelation { [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Holds(float x, float y) => x > y; }
internal struct GreaterEqualRel : IRelation { [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Holds(float x, float y) => x >= y; }
internal struct LessRel : IRelation { [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Holds(float x, float y) => x < y; }
internal struct LessEqualRel : IRelation { [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Holds(float x, float y) => x <= y; }

/// <summary>The share of a min/max gradient that goes to the first operand.</summary>
internal interface IShareRelation
{
    static abstract float Share(float a, float b);
}

/// <summary>Applies an <see cref="IShareRelation"/> elementwise.</summary>
internal struct ShareOp<TRel> : IBinaryOp where TRel : struct, IShareRelation
{
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = TRel.Share(x[i], y[i]);
    }

    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = TRel.Share(x[i], y);
    }

    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d)
    {
        for (int i = 0; i < d.Length; i++)
            d[i] = TRel.Share(x, y[i]);
    }
}

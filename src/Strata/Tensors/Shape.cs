using System.Text;

namespace Strata;

/// <summary>
/// The dimensions of a tensor, outermost first (row-major). Immutable; compares by value.
/// </summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[]? _dims;

    /// <summary>Creates a shape from its dimensions.</summary>
    /// <exception cref="ArgumentException">A dimension is negative or the element count overflows.</exception>
    public Shape(params ReadOnlySpan<int> dims)
    {
        long size = 1;
        foreach (int d in dims)
        {
            if (d < 0)
                throw new ArgumentException($"Shape: dimensions must be non-negative, got {Format(dims)}");
            size *= d;
            if (size > Array.MaxLength)
            {
                double all = 1;
                foreach (int e in dims)
                    all *= e;
                throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Shape: {Format(dims)} has {all:N0} elements ({Models.MemoryBudget.Bytes(all * sizeof(float))} as float32); a tensor holds at most {Array.MaxLength:N0}"));
            }
        }
        _dims = dims.ToArray();
        Size = (int)size;
    }

    /// <summary>The shape of a scalar: no dimensions, one element.</summary>
    public static Shape Scalar => new([]);

    /// <summary>The number of dimensions.</summary>
    public int Rank => _dims?.Length ?? 0;

    /// <summary>The number of elements (the product of the dimensions; 1 for a scalar).</summary>
    public int Size { get; } = 1;

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<int> Dims => _dims;

    /// <summary>The size of one axis; negative axes count from the end.</summary>
    public int this[int axis] => _dims![NormalizeAxis(axis, Rank, "Shape")];

    /// <summary>A copy of the dimensions.</summary>
    public int[] ToArray() => Dims.ToArray();

    /// <summary>Maps a possibly negative axis into 0..rank-1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The axis is outside -rank..rank-1.</exception>
    public static int NormalizeAxis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for rank {rank}");
        return a;
    }

    /// <summary>Row-major strides (in elements).</summary>
    internal int[] Strides()
    {
        var strides = new int[Rank];
        int s = 1;
        for (int i = Rank - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= _dims![i];
        }
        return strides;
    }

    /// <summary>The NumPy broadcast of two shapes: align from the right; each pair equal or one of them 1.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast; the message names the op and both shapes.</exception>
    public static Shape Broadcast(Shape a, Shape b, string op)
    {
        if (a == b)
            return a;
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a.Dims[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b.Dims[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {a} and {b} cannot be broadcast together (axis {i - rank}: {da} vs {db})");
            dims[i] = da == 1 ? db : da;
        }
        return new Shape(dims);
    }

    /// <summary>Equal when the dimensions are equal, one by one.</summary>
    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    /// <summary>Equal to another <see cref="Shape"/> with the same dimensions.</summary>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <summary>A hash of the dimensions, consistent with <see cref="Equals(Shape)"/>.</summary>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims)
            h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Equal when the dimensions are equal, one by one.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    /// <summary>Not <c>==</c>.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>The shape with these dimensions, so that an <c>int[]</c> can be given where a shape is expected.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);

    /// <summary>"[2, 3]".</summary>
    public override string ToString() => Format(Dims);

    internal static string Format(ReadOnlySpan<int> dims)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < dims.Length; i++)
            sb.Append(i == 0 ? "" : ", ").Append(dims[i]);
        return sb.Append(']').ToString();
    }
}

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>A tensor that copies the given values, with the given shape (default: 1-D).</summary>
    /// <exception cref="ArgumentException">The number of values differs from the shape's element count.</exception>
    public static Tensor FromArray(ReadOnlySpan<float> values, params int[] shape)
    {
        var s = shape.Length == 0 ? new Shape(values.Length) : new Shape(shape);
        if (s.Size != values.Length)
            throw new ArgumentException($"FromArray: shape {s} needs {s.Size} values, got {values.Length}");
        return new Tensor(values.ToArray(), s);
    }

    /// <summary>A 2-D tensor from a rectangular array.</summary>
    public static Tensor FromArray(float[,] values)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var data = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                data[i * cols + j] = values[i, j];
        return new Tensor(data, new Shape(rows, cols));
    }

    /// <summary>A one-element tensor of rank 0.</summary>
    public static Tensor Scalar(float value) => new([value], Shape.Scalar);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => new(new float[new Shape(shape).Size], new Shape(shape));

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A tensor filled with one value.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var s = new Shape(shape);
        var data = GC.AllocateUninitializedArray<float>(s.Size);
        data.AsSpan().Fill(value);
        return new Tensor(data, s);
    }

    /// <summary>A tensor of zeros with the shape of another.</summary>
    public static Tensor ZerosLike(Tensor t) => new(new float[t.Size], t.Shape);

    /// <summary>A tensor of ones with the shape of another.</summary>
    public static Tensor OnesLike(Tensor t) => Full(1f, t.Shape.ToArray());

    /// <summary>1-D: start, start+step, ... up to (excluding) stop.</summary>
    /// <exception cref="ArgumentException">step is zero.</exception>
    public static Tensor Arange(float start, float stop, float step = 1)
    {
        if (step == 0)
            throw new ArgumentException("Arange: step must not be zero");
        int n = Math.Max(0, (int)Math.Ceiling((stop - start) / step));
        var data = new float[n];
        for (int i = 0; i < n; i++)
            data[i] = start + i * step;
        return new Tensor(data, new Shape(n));
    }

    /// <summary>Uniform in [low, high), from a seed.</summary>
    public static Tensor RandomUniform(int[] shape, float low = 0, float high = 1, ulong seed = 0) =>
        Sample(shape, new Rng(seed), normal: false, low, high);

    /// <summary>
    /// Uniform in [low, high), drawing from <paramref name="rng"/>. An op: inside a traced step (a
    /// compiled plan) it draws fresh values on every run, as the eager step would.
    /// </summary>
    public static Tensor RandomUniform(int[] shape, Rng rng, float low = 0, float high = 1) =>
        Run(new Ops.RandomNode(new Shape(shape), rng, normal: false, low, high));

    /// <summary>Normal with the given mean and standard deviation, from a seed.</summary>
    public static Tensor RandomNormal(int[] shape, float mean = 0, float std = 1, ulong seed = 0) =>
        Sample(shape, new Rng(seed), normal: true, mean, std);

    /// <summary>
    /// Normal with the given mean and standard deviation, drawing from <paramref name="rng"/>. An op:
    /// inside a traced step (a compiled plan) it draws fresh values on every run.
    /// </summary>
    public static Tensor RandomNormal(int[] shape, Rng rng, float mean = 0, float std = 1) =>
        Run(new Ops.RandomNode(new Shape(shape), rng, normal: true, mean, std));

    /// <summary>Random values drawn now, as a constant (not an op): seeded tensors and initial weights.</summary>
    internal static Tensor Sample(int[] shape, Rng rng, bool normal, float a, float b)
    {
        var s = new Shape(shape);
        var data = new float[s.Size];
        Ops.RandomNode.Fill(data, rng, normal, a, b);
        return new Tensor(data, s);
    }

    /// <summary>Wraps a result computed by a kernel into a new tensor (no copy).</summary>
    internal static Tensor Wrap(float[] data, Shape shape) => new(data, shape);

    /// <summary>A fresh, uninitialized result of the given shape.</summary>
    internal static Tensor Empty(Shape shape) => new(GC.AllocateUninitializedArray<float>(shape.Size), shape);

    /// <summary>A scalar tensor (<see cref="Scalar"/>), so that <c>x * 2</c> and <c>1 - x</c> work.</summary>
    public static implicit operator Tensor(float value) => Scalar(value);
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace Strata.Layers;

/// <summary>Creates the initial value of a weight. All draw from the layer's seeded <see cref="Rng"/>.</summary>
public interface IInitializer
{
    /// <summary>The Keras name (for configs and summaries).</summary>
    string Name { get; }

    /// <summary>A new tensor of the given shape.</summary>
    Tensor Create(int[] shape, Rng rng);
}

/// <summary>The Keras initializers: Glorot, He and LeCun (uniform and normal), zeros, ones, random normal / uniform.</summary>
public static class Initializers
{
    /// <summary>Every element 0 (the default for biases).</summary>
    public static IInitializer Zeros { get; } = new Constant("zeros", 0);
    /// <summary>Every element 1 (the default for normalization scales).</summary>
    public static IInitializer Ones { get; } = new Constant("ones", 1);
    /// <summary>U(−l, l), l = √(6 / (fan_in + fan_out)).</summary>
    public static IInitializer GlorotUniform { get; } = new VarianceScaling("glorot_uniform", 1, FanMode.Average, Normal: false);
    /// <summary>Truncated normal, σ = √(2 / (fan_in + fan_out)).</summary>
    public static IInitializer GlorotNormal { get; } = new VarianceScaling("glorot_normal", 1, FanMode.Average, Normal: true);
    /// <summary>U(−l, l), l = √(6 / fan_in).</summary>
    public static IInitializer HeUniform { get; } = new VarianceScaling("he_uniform", 2, FanMode.In, Normal: false);
    /// <summary>Truncated normal, σ = √(2 / fan_in).</summary>
    public static IInitializer HeNormal { get; } = new VarianceScaling("he_normal", 2, FanMode.In, Normal: true);
    /// <summary>U(−l, l), l = √(3 / fan_in).</summary>
    public static IInitializer LecunUniform { get; } = new VarianceScaling("lecun_uniform", 1, FanMode.In, Normal: false);
    /// <summary>Truncated normal, σ = √(1 / fan_in).</summary>
    public static IInitializer LecunNormal { get; } = new VarianceScaling("lecun_normal", 1, FanMode.In, Normal: true);

    /// <summary>
    /// A random orthogonal matrix (Keras' "orthogonal", the recurrent kernels' default): the weight seen
    /// as [product of all but the last axis, last axis] has orthonormal rows or columns, whichever are
    /// fewer — the Q of a QR decomposition of a normal matrix, with R's diagonal made positive.
    /// </summary>
    public static IInitializer Orthogonal { get; } = new OrthogonalInitializer();

    /// <summary>N(mean, std²); named "random_normal", or "random_normal(mean=…, stddev=…)" when not the defaults.</summary>
    public static IInitializer RandomNormal(float mean = 0, float std = 0.05f) =>
        new Random(RandomName("random_normal", "mean", mean, 0, "stddev", std, 0.05f), mean, std, Normal: true);

    /// <summary>U(low, high); named "random_uniform", or "random_uniform(minval=…, maxval=…)" when not the defaults.</summary>
    public static IInitializer RandomUniform(float low = -0.05f, float high = 0.05f) =>
        new Random(RandomName("random_uniform", "minval", low, -0.05f, "maxval", high, 0.05f), low, high, Normal: false);

    // The settings live in the name, the one thing a layer's config keeps of its initializer, so that
    // a layer re-created from its config initializes as the original did.
    private static string RandomName(string name, string a, float va, float da, string b, float vb, float db) =>
        va == da && vb == db ? name : string.Create(CultureInfo.InvariantCulture, $"{name}({a}={va:R}, {b}={vb:R})");

    /// <summary>Looks an initializer up by its Keras name.</summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static IInitializer Parse(string name) => name.ToLowerInvariant() switch
    {
        "zeros" => Zeros,
        "ones" => Ones,
        "glorot_uniform" => GlorotUniform,
        "glorot_normal" => GlorotNormal,
        "he_uniform" => HeUniform,
        "he_normal" => HeNormal,
        "lecun_uniform" => LecunUniform,
        "lecun_normal" => LecunNormal,
        "orthogonal" => Orthogonal,
        "random_normal" => RandomNormal(),
        "random_uniform" => RandomUniform(),
        _ => ParseRandom(name.ToLowerInvariant()) ?? throw new ArgumentException($"Initializer: unknown name '{name}'"),
    };

    /// <summary>"random_normal(mean=m, stddev=s)" or "random_uniform(minval=a, maxval=b)", as <see cref="IInitializer.Name"/> writes them; else null.</summary>
    private static IInitializer? ParseRandom(string name)
    {
        var m = Regex.Match(name, @"^(random_normal|random_uniform)\((\w+)=([^,()]+), (\w+)=([^,()]+)\)$", RegexOptions.CultureInvariant);
        if (!m.Success || !float.TryParse(m.Groups[3].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out float a)
            || !float.TryParse(m.Groups[5].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out float b))
            return null;
        return (m.Groups[1].Value, m.Groups[2].Value, m.Groups[4].Value) switch
        {
            ("random_normal", "mean", "stddev") => RandomNormal(a, b),
            ("random_uniform", "minval", "maxval") => RandomUniform(a, b),
            _ => null,
        };
    }

    /// <summary>(fan_in, fan_out) of a weight shape: [in, out] for Dense, [kh, kw, in, out] for convolutions.</summary>
    internal static (int FanIn, int FanOut) Fans(int[] shape)
    {
        if (shape.Length == 0)
            return (1, 1);
        if (shape.Length == 1)
            return (shape[0], shape[0]);
        int receptive = 1;
        for (int i = 0; i < shape.Length - 2; i++)
            receptive *= shape[i];
        return (shape[^2] * receptive, shape[^1] * receptive);
    }

    private enum FanMode { In, Average }

    private sealed record Constant(string Name, float Value) : IInitializer
    {
        public Tensor Create(int[] shape, Rng rng) => Tensor.Full(Value, shape);
    }

    private sealed record Random(string Name, float A, float B, bool Normal) : IInitializer
    {
        public Tensor Create(int[] shape, Rng rng) =>
            Tensor.Sample(shape, rng, Normal, A, B);
    }

    private sealed record VarianceScaling(string Name, float Scale, FanMode Mode, bool Normal) : IInitializer
    {
        public Tensor Create(int[] shape, Rng rng)
        {
            var (fanIn, fanOut) = Fans(shape);
            float fan = Mode == FanMode.In ? fanIn : (fanIn + fanOut) / 2f;
            float variance = Scale / Math.Max(1f, fan);
            if (!Normal)
            {
                float limit = MathF.Sqrt(3 * variance);
                return Tensor.Sample(shape, rng, normal: false, -limit, limit);
            }
            // Truncated at two standard deviations; 0.8796... is the std of a unit normal truncated so.
            float std = MathF.Sqrt(variance) / 0.87962566f;
            var t = Tensor.Zeros(shape);
            var d = t.AsWritableSpan();
            for (int i = 0; i < d.Length; i++)
            {
                float z;
                do
                    z = rng.NextNormal();
                while (MathF.Abs(z) > 2);
                d[i] = z * std;
            }
            return t;
        }
    }
}

internal sealed class OrthogonalInitializer : IInitializer
{
    public string Name => "orthogonal";

    public Tensor Create(int[] shape, Rng rng)
    {
        if (shape.Length < 2)
            throw new ArgumentException($"Initializer 'orthogonal': needs a weight of at least 2 axes, got [{string.Join(", ", shape)}]");
        int cols = shape[^1], rows = 1;
        foreach (int d in shape[..^1])
            rows *= d;
        // Orthonormalize the columns of a tall normal matrix (modified Gram–Schmidt in float64, which
        // leaves R's diagonal positive); a wide weight is the transpose of a tall one.
        int n = Math.Max(rows, cols), m = Math.Min(rows, cols);
        var q = new double[m * n]; // column j of the tall n × m matrix at q[j·n ..]
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                q[j * n + i] = rng.NextNormal(); // drawn row by row
        for (int j = 0; j < m; j++)
        {
            var col = q.AsSpan(j * n, n);
            for (int p = 0; p < j; p++)
            {
                var prev = q.AsSpan(p * n, n);
                double dot = System.Numerics.Tensors.TensorPrimitives.Dot<double>(prev, col);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<double>(prev, -dot, col, col);
            }
            double norm = System.Numerics.Tensors.TensorPrimitives.Norm<double>(col);
            System.Numerics.Tensors.TensorPrimitives.Divide<double>(col, norm, col);
        }
        var v = new float[rows * cols];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                if (rows >= cols)
                    v[i * cols + j] = (float)q[j * n + i];
                else
                    v[j * cols + i] = (float)q[j * n + i];
            }
        return Tensor.FromArray(v, shape);
    }
}

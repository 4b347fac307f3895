using Strata.Data;
using Strata.Models;

namespace Strata.Cli;

/// <summary>Grids of generated images: latent vectors laid out in rows, images mapped from a tanh's [−1, 1] to [0, 1] and tiled into one PNG.</summary>
internal static class SampleGrids
{
    /// <summary>The columns of a square-ish grid of <paramref name="count"/> images (64 → 8).</summary>
    public static int Columns(int count) => Math.Max(1, (int)Math.Ceiling(Math.Sqrt(count)));

    /// <summary>
    /// The inputs of a grid with a row per class: <paramref name="columns"/> latent vectors, the same
    /// in every row (so a column shows one latent vector as each class), and row r labelled r.
    /// </summary>
    public static (Tensor Latent, Tensor Labels) RowPerClass(Tensor columns, int classes)
    {
        int k = columns.Shape[0], d = columns.Shape[1];
        var z = new float[classes * k * d];
        var labels = new float[classes * k];
        for (int r = 0; r < classes; r++)
        {
            columns.Span.CopyTo(z.AsSpan(r * k * d, k * d));
            labels.AsSpan(r * k, k).Fill(r);
        }
        return (Tensor.FromArray(z).Reshape([classes * k, d]), Tensor.FromArray(labels).Reshape([classes * k, 1]));
    }

    /// <summary>Generated images [n, h, w(, c)] from [−1, 1] to [0, 1] (values outside are clamped).</summary>
    public static Tensor ToUnitRange(Tensor images) => ((images + 1f) * 0.5f).Clamp(0f, 1f);

    /// <summary>Writes generated images [n, h, w(, c)] in [−1, 1] as one grid PNG (2-pixel white gaps), through a temporary name.</summary>
    public static void Save(string path, Tensor images, int columns) =>
        Images.SavePng(path, Images.Grid(ToUnitRange(images), columns, pad: 2, padValue: 1));
}

/// <summary>`strata generate`: a saved generator's images as one PNG grid.</summary>
internal static class GenerateRun
{
    public static int Run(string path, int count, int? digit, ulong seed, string output)
    {
        var model = ModelCommands.Load(path, compile: false);
        var shapes = model.InputShapes;
        string takes = shapes is null ? "inputs of unknown shape" : string.Join(" and ", shapes.Select(s => s.ToString()));
        if (shapes is null || shapes.Count is not (1 or 2) || shapes[0].Rank != 1 || (shapes.Count == 2 && shapes[1] != new Shape([1])))
            throw new InvalidDataException($"generate: model '{model.Name}' ({path}) is not a generator: it takes {takes}; a generator takes a latent vector [latent] (a conditional one also a class [1])");
        bool conditional = shapes.Count == 2;
        int latent = shapes[0][0];
        int classes = model.ClassNames?.Count ?? 10;
        if (digit is int d)
        {
            if (!conditional)
                throw new UsageException($"generate: --digit needs a conditional generator (a latent vector and a class); '{path}' is unconditional (one input, a latent vector of {latent})");
            if (d < 0 || d >= classes)
                throw new UsageException($"--digit: {d} is outside the generator's classes 0 … {classes - 1}");
        }
        string? folder = Path.GetDirectoryName(Path.GetFullPath(output));
        if (folder is not null && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"generate: the folder of '{output}' does not exist");

        Tensor images;
        int columns;
        string what;
        if (!conditional || digit is not null)
        {
            // The latent vectors of Gan.Generate(count, seed) / ConditionalGan.Generate(count, digit, seed).
            var z = Tensor.RandomNormal([count, latent], seed: seed);
            images = conditional ? model.Predict([z, Tensor.Full(digit!.Value, count, 1)]) : model.Predict(z);
            columns = SampleGrids.Columns(count);
            what = conditional ? $"{count} images of class {ClassName(model, digit!.Value)}" : $"{count} images";
        }
        else
        {
            columns = (count + classes - 1) / classes;
            var (z, labels) = SampleGrids.RowPerClass(Tensor.RandomNormal([columns, latent], seed: seed), classes);
            images = model.Predict([z, labels]);
            what = $"{classes * columns} images, a row of {columns} per class";
        }
        if (images.Rank is not (3 or 4) || (images.Rank == 4 && images.Shape[3] is not (1 or 3 or 4)))
            throw new InvalidDataException($"generate: model '{model.Name}' ({path}) does not make images: its output is {new Shape(images.Shape.Dims[1..])} per latent vector (expected [height, width] or [height, width, 1 or 3 channels])");
        SampleGrids.Save(output, images, columns);
        Console.WriteLine($"wrote {output}: {what} from {path} (latent {latent}, seed {seed})");
        return Commands.Ok;
    }

    private static string ClassName(Model model, int index) =>
        model.ClassNames is { } names && index < names.Count ? names[index] : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

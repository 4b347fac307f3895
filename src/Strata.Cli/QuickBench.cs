using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Strata.Data;
using Strata.Kernels;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Cli;

/// <summary>
/// `strata bench`: a quick check of this machine. gemm: single-precision matrix products through
/// <see cref="Tensor.MatMul"/> (what a Dense layer calls) at four shapes, GFLOP/s (2·m·n·k per
/// product). mlp / cnn: training samples/s of the seed models on MNIST (one epoch over the first
/// --samples training images per repeat, Adam, sparse categorical cross-entropy). Each workload
/// is warmed up first (the JIT's tiers settle), then timed --repeats times; the median, minimum
/// and maximum are reported. The full benchmarks, with the PyTorch and OpenBLAS peers, are in bench/.
/// </summary>
internal static class QuickBench
{
    private static readonly (int M, int N, int K)[] s_shapes = [(32, 128, 784), (256, 256, 256), (512, 512, 512), (1024, 1024, 1024)];

    public static int Run(string workload, int batchSize, int threads, int repeats, int samples, bool json)
    {
        KernelSettings.MaxThreads = threads;
        JsonObject result = workload switch
        {
            "gemm" => Gemm(repeats),
            "mlp" or "cnn" => Training(workload, batchSize, repeats, samples),
            _ => throw new UsageException($"bench: unknown workload '{workload}' (expected gemm, mlp or cnn)"),
        };
        result["threads"] = threads;
        result["repeats"] = repeats;
        result["processor"] = Machine.Processor;
        result["logical_cores"] = Environment.ProcessorCount;
        result["vector_width"] = KernelSettings.VectorPath;
        if (json)
        {
            Console.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return Commands.Ok;
        }
        var console = AnsiConsole.Console;
        console.MarkupLine($"[bold]strata bench {workload}[/]: {threads} thread(s), {Markup.Escape(Machine.Processor)}, {KernelSettings.VectorPath}; median of {repeats} after a warm-up");
        var table = new Table();
        string unit = (string)result["unit"]!;
        if (result["shapes"] is JsonArray shapes)
        {
            table.AddColumn("m × n × k").AddColumn(new TableColumn($"median {unit}").RightAligned())
                .AddColumn(new TableColumn("min").RightAligned()).AddColumn(new TableColumn("max").RightAligned());
            foreach (var s in shapes)
                table.AddRow($"{s!["m"]} × {s["n"]} × {s["k"]}", F(s["median"]), F(s["min"]), F(s["max"]));
        }
        else
        {
            table.AddColumn("model").AddColumn("batch").AddColumn(new TableColumn($"median {unit}").RightAligned())
                .AddColumn(new TableColumn("min").RightAligned()).AddColumn(new TableColumn("max").RightAligned());
            table.AddRow(workload, $"{result["batch_size"]}", F(result["median"]), F(result["min"]), F(result["max"]));
        }
        console.Write(table);
        return Commands.Ok;
    }

    private static string F(JsonNode? v) => ((double)v!).ToString(v!.GetValue<double>() >= 100 ? "N0" : "N1", CultureInfo.InvariantCulture);

    private static (double Median, double Min, double Max) Stats(List<double> values) => (TrainRun.Median(values), values.Min(), values.Max());

    private static JsonObject Gemm(int repeats)
    {
        var shapes = new JsonArray();
        (double, double, double) last = default;
        foreach (var (m, n, k) in s_shapes)
        {
            var a = Tensor.RandomNormal([m, k], seed: 1);
            var b = Tensor.RandomNormal([k, n], seed: 2);
            // Warm-up for at least 0.3 s, which also sizes a round to about 0.1 s.
            var watch = Stopwatch.StartNew();
            int calls = 0;
            while (watch.Elapsed.TotalSeconds < 0.3 || calls < 3)
            {
                a.MatMul(b);
                calls++;
            }
            int perRound = Math.Max(1, (int)(calls * 0.1 / watch.Elapsed.TotalSeconds));
            var rates = new List<double>();
            for (int r = 0; r < repeats; r++)
            {
                watch.Restart();
                for (int i = 0; i < perRound; i++)
                    a.MatMul(b);
                rates.Add(2.0 * m * n * k * perRound / watch.Elapsed.TotalSeconds / 1e9);
            }
            last = Stats(rates);
            shapes.Add(new JsonObject { ["m"] = m, ["n"] = n, ["k"] = k, ["median"] = R(last.Item1), ["min"] = R(last.Item2), ["max"] = R(last.Item3) });
        }
        // The headline is the largest product's.
        return new JsonObject
        {
            ["workload"] = "gemm",
            ["unit"] = "GFLOP/s",
            ["median"] = R(last.Item1),
            ["min"] = R(last.Item2),
            ["max"] = R(last.Item3),
            ["shapes"] = shapes,
        };
    }

    private static JsonObject Training(string workload, int batchSize, int repeats, int samples)
    {
        var (images, labels) = Mnist.Load(DataSources.FindShippedMnist(), train: true);
        samples = Math.Min(samples, images.Shape[0]);
        var x = images.Slice(..samples);
        var y = Tensor.FromArray(labels[..samples].Select(v => (float)v).ToArray());
        var model = Presets.Create(workload, seed: 1);
        model.Compile(new Adam(), new SparseCategoricalCrossentropy(), "accuracy");
        var (median, min, max) = Rates(r => model.Fit(x, y, epochs: 1, batchSize: batchSize, seed: r < 0 ? 99UL : (ulong)r), samples, repeats);
        return new JsonObject
        {
            ["workload"] = workload,
            ["unit"] = "samples/s",
            ["median"] = R(median),
            ["min"] = R(min),
            ["max"] = R(max),
            ["batch_size"] = batchSize,
            ["samples"] = samples,
        };
    }

    /// <summary>
    /// Inference samples/s of <paramref name="model"/> over <paramref name="x"/> (all of it per pass, through
    /// <see cref="Model.Predict(Tensor, int)"/>): untimed warm-up passes, then the median, minimum and maximum of
    /// <paramref name="repeats"/> timed passes (<see cref="Rates"/>).
    /// </summary>
    public static (double Median, double Min, double Max) InferenceRate(Model model, Tensor x, int batchSize, int repeats) =>
        Rates(_ => model.Predict(x, batchSize), x.Shape[0], repeats);

    /// <summary>
    /// Units of work per second: <paramref name="run"/>(−1) untimed, once and then again until half a second
    /// has passed (plans are compiled, and .NET's background recompilation of hot methods with full
    /// optimization, which starts after some thirty calls and a 100 ms delay, has run: one pass of a
    /// small model would leave the first timed passes on unoptimized code), then <paramref name="run"/>(r) for r = 0..<paramref name="repeats"/> − 1, each timed, each
    /// doing <paramref name="units"/> units; the median, minimum and maximum rate.
    /// </summary>
    public static (double Median, double Min, double Max) Rates(Action<int> run, double units, int repeats)
    {
        var warm = Stopwatch.StartNew();
        do
            run(-1);
        while (warm.Elapsed.TotalSeconds < 0.5);
        var rates = new List<double>();
        var watch = new Stopwatch();
        for (int r = 0; r < repeats; r++)
        {
            watch.Restart();
            run(r);
            rates.Add(units / Math.Max(watch.Elapsed.TotalSeconds, 1e-9));
        }
        return Stats(rates);
    }

    private static double R(double v) => Math.Round(v, 1);
}

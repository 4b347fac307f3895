using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Benchmarks;

/// <summary>
/// Models that the compiled plans newly make fast, each against its plain peer in the same run, and
/// each on its plan against eager execution: training samples/s of Fit on real MNIST (median of 3
/// one-epoch runs on fresh models, after a warm-up epoch), 1 thread unless told.
/// </summary>
internal static class PlanComparison
{
    /// <summary>A dense layer written by a user from ops, the way the layer guide shows.</summary>
    internal sealed class MyDense(int units, string? name = null) : Layer(name)
    {
        private Weight? _w, _b;

        public override Shape ComputeOutputShape(Shape inputShape) => new(units);

        protected override void OnBuild(Shape inputShape)
        {
            _w = AddWeight("kernel", [inputShape[-1], units], Initializers.GlorotUniform);
            _b = AddWeight("bias", [units], Initializers.Zeros);
        }

        protected override Tensor Call(Tensor x, bool training) => (x.MatMul(_w!.Value) + _b!.Value).Relu();

        public override LayerConfig GetConfig() => new NamedLayerConfig(Name, "MyDense");
    }

    /// <summary>
    /// Real images per second through the DCGAN preset's two-update step (<see cref="GanPresets.Dcgan"/>:
    /// the library <see cref="Gan"/>, its step traced into one compiled program), on fresh models: the
    /// median of 3 passes over the batches, each after three steps that trace (or warm the eager path).
    /// </summary>
    internal static (double Rate, double BytesPerStep) GanRate(Tensor x, int batch, bool plans, bool conditional = false, Tensor? labels = null)
    {
        var images = (x * 2f - 1f).Reshape([x.Shape[0], 28, 28, 1]);
        int steps = x.Shape[0] / batch;
        var batches = Enumerable.Range(0, steps).Select(i => images.Slice((i * batch)..((i + 1) * batch))).ToArray();
        var targets = Enumerable.Range(0, steps).Select(i => labels is null ? Tensor.Zeros(batch) : labels.Slice((i * batch)..((i + 1) * batch))).ToArray();
        var rates = new List<double>();
        double bytes = 0;
        for (int r = 0; r < 3; r++)
        {
            var gan = GanPresets.Dcgan(conditional, seed: 1);
            gan.PlansEnabled = plans;
            for (int i = 0; i < 3; i++)
                gan.TrainStep([batches[i % steps]], targets[i % steps]); // traces
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++)
                gan.TrainStep([batches[i]], targets[i]);
            rates.Add(steps * batch / sw.Elapsed.TotalSeconds);
            bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)steps;
        }
        rates.Sort();
        return (rates[1], bytes);
    }

    private static Model Build(string name, ulong seed) => name switch
    {
        "cnn" => Presets.Cnn(seed: seed),
        "cnn+bn" => new Sequential([new Input([28, 28]), new Reshape([28, 28, 1]), new Conv2D(32, 3, activation: "relu"), new BatchNormalization(),
            new MaxPooling2D(2), new Conv2D(64, 3, activation: "relu"), new BatchNormalization(), new MaxPooling2D(2), new Flatten(),
            new Dense(64, "relu"), new Dense(10, "softmax")], seed),
        "mlp2" => new Sequential([new Input([28, 28]), new Flatten(), new Dense(128, "relu"), new Dense(128, "relu"), new Dense(10, "softmax")], seed),
        "residual" => Residual(seed),
        "custom" => new Sequential([new Input([28, 28]), new Flatten(), new MyDense(128), new MyDense(128), new Dense(10, "softmax")], seed),
        _ => throw new ArgumentException($"unknown model '{name}'"),
    };

    private static Model Residual(ulong seed)
    {
        var x = Input.Create([28, 28]);
        var h = new Dense(128, "relu").Apply(new Flatten().Apply(x));
        var r = new Add().Apply(h, new Dense(128, "relu").Apply(h));
        return new Model(x, new Dense(10, "softmax").Apply(r), seed);
    }

    public static void Run(string dataDir, int threads, int batch, int samples, string[] names)
    {
        KernelSettings.MaxThreads = threads;
        var (x, yInt) = Mnist.Load(dataDir, train: true);
        x = x.Slice(..samples);
        var y = Tensor.FromArray(yInt[..samples].Select(v => (float)v).ToArray());
        Console.WriteLine($"| model | plan samples/s | eager samples/s | plan / eager | allocated per step (plan) |");
        Console.WriteLine($"| --- | ---: | ---: | ---: | ---: |");
        foreach (var name in names)
        {
            var (plan, alloc) = name == "dcgan" ? GanRate(x, batch, plans: true) : Rate(name, x, y, batch, plans: true);
            var (eager, _) = name == "dcgan" ? GanRate(x, batch, plans: false) : Rate(name, x, y, batch, plans: false);
            Console.WriteLine(Inv($"| {name} | {plan:F0} | {eager:F0} | {plan / eager:F2} | {alloc:F0} B |"));
        }
        Console.WriteLine();
        Console.WriteLine("| model | activations (shared) | one buffer each | shared / each | gradient buffers (shared) | one buffer each | shared / each | both on shared arrays | / both shared apart |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var name in names.Where(n => n != "dcgan"))
        {
            var m = Build(name, 1);
            m.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
            m.Fit(x.Slice(..(batch * 4)), y.Slice(..(batch * 4)), epochs: 1, batchSize: batch, seed: 1);
            if (m.PlanMemory("train") is { } mem)
                Console.WriteLine(Inv($"| {name} | {mem.Activations / 1024.0:F0} KiB | {mem.ActivationsUnshared / 1024.0:F0} KiB | {mem.Activations / (double)mem.ActivationsUnshared:F2} | {mem.Gradients / 1024.0:F0} KiB | {mem.GradientsUnshared / 1024.0:F0} KiB | {mem.Gradients / (double)mem.GradientsUnshared:F2} | {mem.Together / 1024.0:F0} KiB | {mem.Together / (double)(mem.Activations + mem.Gradients):F2} |"));
            for (int i = 0; i < 3; i++)
                m.Predict(x.Slice(..batch), batchSize: batch);
            if (m.PlanMemory("predict") is { } inf)
                Console.WriteLine(Inv($"| {name} (inference) | {inf.Activations / 1024.0:F0} KiB | {inf.ActivationsUnshared / 1024.0:F0} KiB | {inf.Activations / (double)inf.ActivationsUnshared:F2} | | | | | |"));
        }
    }

    private static (double Rate, double BytesPerStep) Rate(string name, Tensor x, Tensor y, int batch, bool plans)
    {
        Model Fresh(ulong seed)
        {
            var m = Build(name, seed);
            m.PlansEnabled = plans;
            m.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
            return m;
        }
        Fresh(99).Fit(x, y, epochs: 1, batchSize: batch, seed: 9); // warm-up (JIT tiers)
        var rates = new List<double>();
        double bytes = 0;
        for (int r = 0; r < 3; r++)
        {
            var model = Fresh(1);
            model.Fit(x.Slice(..(batch * 4)), y.Slice(..(batch * 4)), epochs: 1, batchSize: batch, seed: 1); // traces
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            model.Fit(x, y, epochs: 1, batchSize: batch, seed: 1);
            rates.Add(x.Shape[0] / sw.Elapsed.TotalSeconds);
            bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)((x.Shape[0] + batch - 1) / batch);
        }
        rates.Sort();
        return (rates[1], bytes);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

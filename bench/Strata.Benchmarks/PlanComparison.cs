using System.Diagnostics;
using System.Globalization;
using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

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
            var (plan, alloc) = Rate(name, x, y, batch, plans: true);
            var (eager, _) = Rate(name, x, y, batch, plans: false);
            Console.WriteLine(Inv($"| {name} | {plan:F0} | {eager:F0} | {plan / eager:F2} | {alloc:F0} B |"));
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

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
    /// A DCGAN for MNIST whose training step is a custom <see cref="Model.TrainStep(Tensor[], Tensor, Tensor?)"/>:
    /// the discriminator updated on real and generated batches, then the generator through it — traced
    /// into one compiled program by <see cref="Model.TracedStep"/>.
    /// </summary>
    internal sealed class Dcgan : Model
    {
        private readonly Sequential _g, _d;
        private readonly Layer[] _layers;
        private readonly Adam _gOpt = new(2e-4f, beta1: 0.5f), _dOpt = new(2e-4f, beta1: 0.5f);
        private readonly BinaryCrossentropy _bce = new(fromLogits: true);
        private readonly Rng _noise;
        private const int Latent = 64;

        public Dcgan(ulong seed) : base("dcgan")
        {
            var leaky = ActivationFunction.LeakyRelu(0.2f);
            _g = new Sequential([
                new Dense(7 * 7 * 64, useBias: false), new BatchNormalization(), new Activation(leaky), new Reshape([7, 7, 64]),
                new Conv2DTranspose(64, (4, 4), (2, 2), Padding.Same, useBias: false), new BatchNormalization(), new Activation(leaky),
                new Conv2DTranspose(32, (4, 4), (2, 2), Padding.Same, useBias: false), new BatchNormalization(), new Activation(leaky),
                new Conv2D(1, 3, padding: Padding.Same, activation: ActivationFunction.Tanh),
            ], seed);
            _d = new Sequential([
                new Conv2D(32, 4, strides: 2, padding: Padding.Same), new Activation(leaky), new Dropout(0.3f),
                new Conv2D(64, 4, strides: 2, padding: Padding.Same), new Activation(leaky), new Dropout(0.3f),
                new Flatten(), new Dense(1),
            ], seed + 1);
            _noise = new Rng(seed + 2);
            _g.Forward(Tensor.Zeros(1, Latent));
            _d.Forward(Tensor.Zeros(1, 28, 28, 1));
            _layers = [.. _g.Layers, .. _d.Layers];
        }

        public override IReadOnlyList<Layer> Layers => _layers;

        public override Tensor Forward(Tensor x, bool training = false) => _g.Forward(x, training);

        public override Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null) => TracedStep("gan", [x[0]], inputs =>
        {
            var real = inputs[0];
            int b = real.Shape[0];
            var dParams = _d.TrainableWeights.Select(w => w.Value).ToArray();
            var gParams = _g.TrainableWeights.Select(w => w.Value).ToArray();
            var fake = _g.Forward(Tensor.RandomNormal([b, Latent], _noise), training: true).Detach();
            var logits = _d.Forward(Tensor.Concat([fake, real]), training: true);
            var dLoss = _bce.Compute(Tensor.Concat([Tensor.Zeros(b, 1), Tensor.Full(0.9f, b, 1)]), logits);
            _dOpt.ApplyGradients(ComputeGradients(dLoss, dParams).Zip(dParams));
            var gLogits = _d.Forward(_g.Forward(Tensor.RandomNormal([b, Latent], _noise), training: true), training: true);
            var gLoss = _bce.Compute(Tensor.Ones(b, 1), gLogits);
            _gOpt.ApplyGradients(ComputeGradients(gLoss, gParams).Zip(gParams));
            return new Dictionary<string, Tensor> { ["d_loss"] = dLoss, ["g_loss"] = gLoss };
        });
    }

    /// <summary>Real images per second through the DCGAN's two-update step (median of 3 passes after a warm-up).</summary>
    private static (double Rate, double BytesPerStep) GanRate(Tensor x, int batch, bool plans)
    {
        var images = (x * 2f - 1f).Reshape([x.Shape[0], 28, 28, 1]);
        int steps = x.Shape[0] / batch;
        var batches = Enumerable.Range(0, steps).Select(i => images.Slice((i * batch)..((i + 1) * batch))).ToArray();
        var dummy = Tensor.Zeros(batch);
        var rates = new List<double>();
        double bytes = 0;
        for (int r = 0; r < 3; r++)
        {
            var gan = new Dcgan(1) { PlansEnabled = plans };
            for (int i = 0; i < 3; i++)
                gan.TrainStep([batches[i % steps]], dummy); // traces
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            foreach (var b in batches)
                gan.TrainStep([b], dummy);
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
        Console.WriteLine("| model | plan activations | gradient buffers (shared) | one buffer each | shared / each |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var name in names.Where(n => n != "dcgan"))
        {
            var m = Build(name, 1);
            m.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
            m.Fit(x.Slice(..(batch * 4)), y.Slice(..(batch * 4)), epochs: 1, batchSize: batch, seed: 1);
            if (m.PlanMemory("train") is { } mem)
                Console.WriteLine(Inv($"| {name} | {mem.Activations / 1024.0:F0} KiB | {mem.Gradients / 1024.0:F0} KiB | {mem.GradientsUnshared / 1024.0:F0} KiB | {mem.Gradients / (double)mem.GradientsUnshared:F2} |"));
            for (int i = 0; i < 3; i++)
                m.Predict(x.Slice(..batch), batchSize: batch);
            if (m.PlanMemory("predict") is { } inf)
                Console.WriteLine(Inv($"| {name} (inference) | {inf.Activations / 1024.0:F0} KiB, one buffer each {inf.ActivationsUnshared / 1024.0:F0} KiB ({inf.Activations / (double)inf.ActivationsUnshared:F2}) | | | |"));
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

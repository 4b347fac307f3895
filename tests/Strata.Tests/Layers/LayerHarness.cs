using System.Text.Json;
using Strata.Autograd;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Layers;

/// <summary>One layer under test: how to make it, the per-sample shape of each input, and the weights it must have.</summary>
/// <param name="Name">The case's name in test output.</param>
/// <param name="Create">A new, unbuilt layer.</param>
/// <param name="InputShapes">One per-sample shape per input (several for merge layers).</param>
/// <param name="Weights">The number of weights once built.</param>
/// <param name="Parameters">The number of scalars in them.</param>
public sealed record LayerCase(string Name, Func<Layer> Create, int[][] InputShapes, int Weights, long Parameters)
{
    /// <summary>
    /// Inputs are distinct values spaced well apart (a permutation of an even grid), for layers with
    /// kinks (max, min, leaky ReLU): a finite-difference step never crosses a tie or zero.
    /// </summary>
    public bool Distinct { get; init; }

    /// <summary>The layer is the identity in inference (dropout, spatial dropout, the random image layers).</summary>
    public bool IdentityInInference { get; init; }

    /// <summary>
    /// The input is token ids below this vocabulary size (an embedding): whole numbers, with no
    /// gradient, fed to the model directly rather than through a Dense.
    /// </summary>
    public int? TokenIds { get; init; }

    public override string ToString() => Name;
}

/// <summary>
/// Keras' <c>run_layer_test</c> for Strata: one call checks a layer the way every layer must be checked —
/// eager output shape against ComputeOutputShape and the functional API's symbolic shape; weight count;
/// the config through the registry's JSON and back (same JSON, same outputs from the same weights);
/// gradients of inputs and weights against finite differences, in inference and training; a compiled
/// plan against eager execution (outputs, input gradients, weight gradients, state such as moving
/// statistics), its dead activations poisoned so that a backward read a node does not declare shows;
/// training inside a model on the plan (poisoned the same way) against eager training, each trainable weight
/// moving; save and load with identical outputs and a resumed step; identity in inference for
/// dropout-like layers.
/// </summary>
internal static class LayerHarness
{
    private const int Batch = 3;

    public static void Run(LayerCase c)
    {
        ShapesAndWeights(c);
        ConfigRoundTrip(c);
        if (c.IdentityInInference)
            IdentityInInference(c);
        if (c.Create() is Input)
            return; // an input cannot be applied or trained; every model below starts with Input layers (saved and loaded)
        SymbolicShape(c);
        GradientCheck(c);
        PlanMatchesEager(c, training: false);
        PlanMatchesEager(c, training: true);
        TrainingAndSaveLoad(c);
    }

    private static void ShapesAndWeights(LayerCase c)
    {
        var layer = c.Create();
        var x = Inputs(c, 1);
        var y = Apply(layer, x, training: false);
        int[] expected = [Batch, .. OutputShape(layer, c).Dims];
        Assert.Equal(expected, y.Shape.ToArray());
        Assert.Equal(expected, Apply(layer, x, training: true).Shape.ToArray());
        Assert.Equal(c.Weights, layer.Weights.Count);
        Assert.Equal(c.Parameters, layer.ParameterCount);
        Assert.Equal(layer.Name, layer.GetConfig().Name);
    }

    private static void SymbolicShape(LayerCase c)
    {
        var eager = Apply(c.Create(), Inputs(c, 1), training: false);
        var symbolic = Symbolic(c.Create(), c.InputShapes.Select(s => Input.Create(s)).ToArray());
        Assert.Equal(eager.Shape.Dims[1..].ToArray(), symbolic.Shape.ToArray());
    }

    /// <summary>Config → registry JSON → a new layer: the same JSON, and the same outputs from the same weights.</summary>
    private static void ConfigRoundTrip(LayerCase c)
    {
        var layer = c.Create();
        var x = Inputs(c, 2);
        layer.Rng = new Rng(12);
        Apply(layer, x, training: false); // built
        string json = LayerRegistry.Describe(layer).ToJsonString();
        using var doc = JsonDocument.Parse(json);
        var copy = LayerRegistry.Create(doc.RootElement.GetProperty("class").GetString()!, doc.RootElement.GetProperty("config"), c.Name);
        Assert.IsType(layer.GetType(), copy);
        Assert.Equal(json, LayerRegistry.Describe(copy).ToJsonString());

        // Built from the same seed, the copy starts from the same weights (what Model.FromConfig relies on:
        // an initializer's settings must survive the config).
        copy.Rng = new Rng(12);
        Apply(copy, x, training: false);
        Assert.Equal(layer.Weights.Select(w => (w.Name, w.Value.Shape, w.Trainable)), copy.Weights.Select(w => (w.Name, w.Value.Shape, w.Trainable)));
        for (int i = 0; i < layer.Weights.Count; i++)
            Assert.True(layer.Weights[i].Value.Span.SequenceEqual(copy.Weights[i].Value.Span), $"{c.Name}: {layer.Weights[i].Name} initialized differently from its config");
        for (int i = 0; i < layer.Weights.Count; i++)
            layer.Weights[i].Value.Span.CopyTo(copy.Weights[i].Value.AsWritableSpan());
        Assert.Equal(Apply(layer, x, training: false).ToArray(), Apply(copy, x, training: false).ToArray());
        copy.Rng.SetState(layer.Rng.GetState()); // the same random draws, so training mode compares too (a lost rate shows)
        Assert.Equal(Apply(layer, x, training: true).ToArray(), Apply(copy, x, training: true).ToArray());
    }

    private static void IdentityInInference(LayerCase c)
    {
        var layer = c.Create();
        var x = Inputs(c, 3);
        var y = Apply(layer, x, training: false);
        Assert.Equal(x[0].Shape, y.Shape);
        Assert.Equal(x[0].ToArray(), y.ToArray());
        // In training it must do something, or the identity above says nothing about inference (a batch
        // of 16, so that a layer that leaves each sample alone with probability ½ shows it).
        var many = Tensor.RandomUniform([16, .. c.InputShapes[0]], -1f, 1f, 4);
        Assert.NotEqual(many.ToArray(), layer.Forward(many, training: true).ToArray());
    }

    /// <summary>Backpropagated gradients of every input and trainable weight against central differences.</summary>
    private static void GradientCheck(LayerCase c)
    {
        var layer = c.Create();
        var x = Inputs(c, 4, requiresGrad: true);
        Apply(layer, x, training: false); // built
        Tensor[] checkedTensors = [.. c.TokenIds is null ? x : [], .. layer.TrainableWeights.Select(w => w.Value)];
        // Distinct inputs sit a grid step apart: a quarter step never reaches the next value.
        float epsilon = c.Distinct ? 0.25f * GridStep(c) : 1e-2f;
        foreach (bool training in new[] { false, true })
        {
            var state = layer.Rng.GetState(); // each evaluation draws the same masks and transforms
            var check = GradientChecker.Check(t =>
            {
                layer.Rng.SetState(state);
                return Apply(layer, c.TokenIds is null ? t[..x.Length] : x, training);
            }, checkedTensors, epsilon);
            Assert.True(check.Passed, $"{c.Name} (training: {training}): {check.Worst}");
        }
    }

    /// <summary>
    /// The layer traced into a plan (forward, L = Σ y ⊙ r, backward), replayed on new inputs, against
    /// the same step run eagerly from the same state: outputs, input and weight gradients, and the
    /// weights afterwards (moving statistics are updated by an op of the step).
    /// </summary>
    private static void PlanMatchesEager(LayerCase c, bool training)
    {
        string what = $"{c.Name} (training: {training})";
        var layer = c.Create();
        var traced = Inputs(c, 5, requiresGrad: true);
        var upstream = Tensor.RandomUniform([.. Apply(layer, traced, training).Shape.Dims], -1f, 1f, 6); // builds outside the trace
        var start = Snapshot(layer);
        var trace = Trace.Begin();
        Tensor y, loss;
        try
        {
            y = Apply(layer, traced, training);
            loss = (y * upstream).Sum();
        }
        finally
        {
            trace.Dispose();
        }
        var plan = Plan.Compile(trace, traced, [y, loss], loss, out var why);
        Assert.True(plan is not null, $"{what}: no plan ({why})");
        plan.PoisonDeadActivations = true; // a read the layer's nodes do not declare meets NaN (or another buffer's values)

        // Replay on other data and other weights: a plan that kept traced values (inputs, or weights
        // read as constants) would differ from the eager step.
        var x = Inputs(c, 7);
        start = Perturbed(start);
        Restore(layer, start);
        for (int i = 0; i < x.Length; i++)
            plan.Bind(i, x[i]);
        plan.Forward();
        plan.Backward();
        var planned = Results(layer, plan.Outputs[0], traced);

        Restore(layer, start);
        foreach (var w in layer.TrainableWeights)
            w.Value.ZeroGrad();
        var xe = x.Select(t => WithGrad(t.Clone())).ToArray();
        var ye = Apply(layer, xe, training);
        (ye * upstream).Sum().Backward();
        var eager = Results(layer, ye, xe);

        Assert.Equal(eager.Count, planned.Count);
        for (int i = 0; i < eager.Count; i++)
            AssertClose(eager[i].Values, planned[i].Values, 1e-5f, $"{what}: plan {eager[i].What}");
    }

    /// <summary>The output, each input's gradient, each trainable weight's gradient and every weight's value.</summary>
    private static List<(string What, float[] Values)> Results(Layer layer, Tensor output, Tensor[] inputs)
    {
        var r = new List<(string, float[])> { ("output", output.ToArray()) };
        for (int i = 0; i < inputs.Length; i++)
            r.Add(($"input {i} gradient", inputs[i].Grad?.ToArray() ?? new float[inputs[i].Size]));
        foreach (var w in layer.TrainableWeights)
            r.Add(($"{w.Name} gradient", w.Value.Grad?.ToArray() ?? new float[w.Value.Size]));
        foreach (var w in layer.Weights)
            r.Add(($"{w.Name} after the step", w.Value.ToArray()));
        return r;
    }

    /// <summary>
    /// The layer inside a functional model (a Dense before it, so its input gradient trains something):
    /// training on the compiled plan equals eager training; each trainable weight moves; inference on
    /// the plan equals eager inference; saved and loaded, the model predicts the same and resumes the same.
    /// </summary>
    private static void TrainingAndSaveLoad(LayerCase c)
    {
        var (planned, output) = BuildModel(c, 5);
        var (eager, _) = BuildModel(c, 5);
        planned.PoisonPlanActivations = true; // the training plan's activations and gradients share an arena; dead ones are poisoned
        eager.PlansEnabled = false;
        var x = Inputs(c, 8);
        var target = Tensor.RandomUniform([Batch, .. output.Shape.Dims], -1f, 1f, 9);
        var initial = planned.GetWeights();
        Assert.Equal(initial, eager.GetWeights());
        var weights = planned.Weights.ToList();
        for (int step = 0; step < 4; step++) // two traced steps, then the plan
        {
            float a = planned.TrainStep(x, target)["loss"], b = eager.TrainStep(x, target)["loss"];
            Assert.True(Math.Abs(a - b) <= 1e-5f * (1 + Math.Abs(b)), $"{c.Name} step {step}: loss {a} on the plan, {b} eager");
            if (step == 0)
            {
                var after = planned.GetWeights();
                for (int i = 0; i < after.Length; i++)
                {
                    if (weights[i].Trainable)
                        Assert.False(initial[i].SequenceEqual(after[i]), $"{c.Name}: {weights[i].Name} did not change in a training step");
                }
            }
        }
        Assert.True(planned.HasCompiledPlan("train"), $"{c.Name}: {planned.ExecutionPath}");
        var (pw, ew) = (planned.GetWeights(), eager.GetWeights());
        for (int i = 0; i < pw.Length; i++)
            AssertClose(ew[i], pw[i], 1e-5f, $"{c.Name}: trained {weights[i].Name}");

        for (int k = 0; k < 3; k++)
            planned.Predict(x);
        Assert.True(planned.HasCompiledPlan("predict"), $"{c.Name}: {planned.ExecutionPath}");
        var prediction = planned.Predict(x);
        Assert.Equal([Batch, .. output.Shape.Dims], prediction.Shape.ToArray()); // symbolic = eager, through the model
        eager.SetWeights(pw);
        AssertClose(eager.Predict(x).ToArray(), prediction.ToArray(), 1e-5f, $"{c.Name}: prediction on the plan");

        var dir = Directory.CreateTempSubdirectory("strata-harness-");
        try
        {
            var path = Path.Combine(dir.FullName, "model.strata");
            planned.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(planned.Layers.Select(l => LayerRegistry.Describe(l).ToJsonString()), loaded.Layers.Select(l => LayerRegistry.Describe(l).ToJsonString()));
            Assert.Equal(pw, loaded.GetWeights());
            Assert.Equal(eager.Predict(x).ToArray(), loaded.Predict(x).ToArray()); // both eager here: bit for bit
            // Optimizer state and random streams travel with the file: the next step is the same step.
            // (The logged loss is a running mean since the model's last reset: the weights tell.)
            loaded.TrainStep(x, target);
            planned.TrainStep(x, target);
            var (lw, ow) = (loaded.GetWeights(), planned.GetWeights());
            for (int i = 0; i < lw.Length; i++)
                AssertClose(ow[i], lw[i], 1e-5f, $"{c.Name}: {weights[i].Name} after a resumed step");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static (Model Model, SymbolicTensor Output) BuildModel(LayerCase c, ulong seed)
    {
        var inputs = c.InputShapes.Select(s => Input.Create(s)).ToArray();
        var mixed = c.TokenIds is null ? inputs.Select(i => new Dense(i.Shape[-1]).Apply(i)).ToArray() : inputs;
        var output = Symbolic(c.Create(), mixed);
        var model = new Model(inputs, output, seed);
        model.Compile(new Adam(0.01f), new MeanSquaredError());
        return (model, output);
    }

    private static Tensor Apply(Layer layer, Tensor[] x, bool training) =>
        layer is MergeLayer merge ? merge.Forward(x, training) : layer.Forward(Assert.Single(x), training);

    private static SymbolicTensor Symbolic(Layer layer, SymbolicTensor[] x) =>
        layer is MergeLayer merge ? merge.Apply(x) : layer.Apply(Assert.Single(x));

    private static Shape OutputShape(Layer layer, LayerCase c)
    {
        var shapes = c.InputShapes.Select(s => new Shape(s)).ToArray();
        return layer is MergeLayer merge ? merge.ComputeOutputShape(shapes) : layer.ComputeOutputShape(Assert.Single(shapes));
    }

    /// <summary>A batch for each input: uniform in [−1, 1), or for distinct cases one shuffled grid shared by all inputs.</summary>
    private static Tensor[] Inputs(LayerCase c, ulong seed, bool requiresGrad = false)
    {
        var shapes = c.InputShapes.Select(s => (int[])[Batch, .. s]).ToArray();
        Tensor[] x;
        if (c.TokenIds is int vocab)
        {
            var rng = new Rng(seed);
            return shapes.Select(s => Tensor.FromArray(Enumerable.Range(0, new Shape(s).Size).Select(_ => (float)rng.NextInt(vocab)).ToArray(), s)).ToArray();
        }
        if (!c.Distinct)
            x = shapes.Select((s, i) => Tensor.RandomUniform(s, -1f, 1f, seed * 10 + (ulong)i)).ToArray();
        else
        {
            float step = GridStep(c);
            var grid = Enumerable.Range(0, shapes.Sum(s => new Shape(s).Size)).Select(k => -1 + (k + 0.5f) * step).ToArray();
            new Rng(seed).Shuffle(grid.AsSpan());
            int offset = 0;
            x = new Tensor[shapes.Length];
            for (int i = 0; i < shapes.Length; i++)
            {
                int size = new Shape(shapes[i]).Size;
                x[i] = Tensor.FromArray(grid[offset..(offset + size)], shapes[i]);
                offset += size;
            }
        }
        return requiresGrad ? x.Select(WithGrad).ToArray() : x;
    }

    private static float GridStep(LayerCase c) => 2f / c.InputShapes.Sum(s => Batch * new Shape(s).Size);

    private static Tensor WithGrad(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }

    private static (float[][] Weights, uint[] Rng) Snapshot(Layer layer) => (layer.Weights.Select(w => w.Value.ToArray()).ToArray(), layer.Rng.GetState());

    /// <summary>Every weight w as w·(1 + 0.2u) + 0.05v (u uniform in [−1, 1), v in [0, 1)): changed, and still positive where it was (variances).</summary>
    private static (float[][] Weights, uint[] Rng) Perturbed((float[][] Weights, uint[] Rng) state)
    {
        var rng = new Rng(99);
        var weights = state.Weights.Select(w => w.Select(v => v * (1 + 0.2f * (2 * rng.NextFloat() - 1)) + 0.05f * rng.NextFloat()).ToArray()).ToArray();
        return (weights, state.Rng);
    }

    private static void Restore(Layer layer, (float[][] Weights, uint[] Rng) state)
    {
        for (int i = 0; i < state.Weights.Length; i++)
            state.Weights[i].CopyTo(layer.Weights[i].Value.AsWritableSpan());
        layer.Rng.SetState(state.Rng);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what} [{i}]: {actual[i]}, expected {expected[i]}");
        }
    }
}

using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Models;

/// <summary>
/// Model.DataParallel, the core's hook for data-parallel training (Strata.Distributed implements it over
/// MPI; its tests run mpirun): the step hands it the gradients between the backward pass and the update,
/// on the eager and on the compiled path, and Fit hands it the epoch's figures.
/// </summary>
public sealed class DataParallelHookTests
{
    /// <summary>Scales every gradient by a factor (as a sum over replicas without the mean would), and records what it saw.</summary>
    private sealed class Scaling(float factor) : IDataParallel
    {
        public int Steps, Epochs;
        public long Samples;

        public int Rank => 0;

        public int Replicas => 1;

        public float ReduceGradients(IReadOnlyList<Tensor> parameters, float loss)
        {
            foreach (var p in parameters)
            {
                Assert.NotNull(p.Grad); // after the backward pass
                var g = p.Grad!.AsWritableSpan();
                for (int i = 0; i < g.Length; i++)
                    g[i] *= factor;
            }
            Steps++;
            return loss;
        }

        public Logs ReduceLogs(Logs logs, long samples)
        {
            Epochs++;
            Samples += samples;
            return new Logs(logs.ToDictionary(kv => kv.Key, kv => kv.Value + 1000));
        }
    }

    private static Sequential Mlp(float learningRate)
    {
        var model = new Sequential([new Dense(8, activation: "relu"), new Dense(3)]);
        model.Build([4]);
        model.Compile(new Sgd(learningRate), new SparseCategoricalCrossentropy(fromLogits: true));
        return model;
    }

    [Fact]
    public void The_hook_runs_between_backward_and_update_on_the_eager_and_the_compiled_step()
    {
        var rng = new Rng(3);
        var x = Tensor.RandomNormal([16, 4], rng);
        var y = Tensor.FromArray([.. Enumerable.Range(0, 16).Select(i => (float)(i % 3))], 16);
        var hooked = Mlp(0.05f);
        var plain = Mlp(0.1f); // twice the rate: SGD's w − lr·(2g) and w − (2·lr)·g are the same floats
        hooked.SetWeights(plain.GetWeights());
        var hook = new Scaling(2);
        hooked.DataParallel = hook;
        for (int step = 0; step < 6; step++) // the first two eager and traced, then the plan
        {
            hooked.TrainStep(x, y);
            plain.TrainStep(x, y);
        }
        Assert.True(hooked.HasCompiledPlan("train"), hooked.ExecutionPath);
        Assert.Equal(6, hook.Steps);
        Assert.Equal(plain.GetWeights(), hooked.GetWeights());
    }

    [Fact]
    public void Fit_reduces_each_epochs_figures_and_validation_through_the_hook()
    {
        var rng = new Rng(4);
        var data = Dataset.FromTensors(Tensor.RandomNormal([20, 4], rng), Tensor.FromArray([.. Enumerable.Range(0, 20).Select(i => (float)(i % 3))], 20));
        var model = Mlp(0.05f);
        var hook = new Scaling(1);
        model.DataParallel = hook;
        var history = model.Fit(new DataLoader(data, 8, seed: 1), epochs: 2, validationData: new DataLoader(data, 8, shuffle: false));
        Assert.Equal(4, hook.Epochs); // training and validation figures, per epoch
        Assert.Equal(2 * (20 + 20), hook.Samples);
        Assert.All(history["loss"], v => Assert.True(v > 1000));
        Assert.All(history["val_loss"], v => Assert.True(v > 1000));
        Assert.Equal(6, hook.Steps); // 3 batches per epoch
    }

    /// <summary>Records the gradients the backward pass announces, with their values then, for the step's ReduceGradients to compare.</summary>
    private sealed class Announcements : IDataParallel
    {
        private readonly List<(Tensor Parameter, float[] Value)> _step = [];
        public readonly List<Tensor[]> Steps = []; // per step, in announcement order

        public int Rank => 0;

        public int Replicas => 1;

        public void GradientReady(Tensor parameter)
        {
            Assert.DoesNotContain(_step, a => ReferenceEquals(a.Parameter, parameter)); // once per step
            _step.Add((parameter, parameter.Grad!.ToArray()));
        }

        public float ReduceGradients(IReadOnlyList<Tensor> parameters, float loss)
        {
            foreach (var (p, value) in _step)
            {
                Assert.Contains(parameters, q => ReferenceEquals(p, q));
                Assert.Equal(value, p.Grad!.ToArray()); // it was final when announced: nothing added after
            }
            Steps.Add([.. _step.Select(a => a.Parameter)]);
            _step.Clear();
            return loss;
        }

        public Logs ReduceLogs(Logs logs, long samples) => logs;
    }

    /// <summary>Dense(tanh), a Dense(relu) used twice (its kernel's gradient has two contributions), Dense(3) logits.</summary>
    private static (Model Model, Dense First, Dense Shared, Dense Last) SharedLayerModel()
    {
        var input = Input.Create([4]);
        var first = new Dense(6, "tanh");
        var shared = new Dense(6, "relu");
        var last = new Dense(3);
        var model = new Model(input, last.Apply(shared.Apply(shared.Apply(first.Apply(input)))), seed: 2);
        model.Compile(new Sgd(0.05f), new SparseCategoricalCrossentropy(fromLogits: true));
        return (model, first, shared, last);
    }

    [Fact]
    public void A_compiled_step_announces_each_gradient_once_when_it_is_final_last_layer_first()
    {
        var rng = new Rng(5);
        var x = Tensor.RandomNormal([16, 4], rng);
        var y = Tensor.FromArray([.. Enumerable.Range(0, 16).Select(i => (float)(i % 3))], 16);
        var (model, first, shared, last) = SharedLayerModel();
        var (plain, _, _, _) = SharedLayerModel();
        var hook = new Announcements();
        model.DataParallel = hook;
        for (int step = 0; step < 5; step++)
        {
            model.TrainStep(x, y);
            plain.TrainStep(x, y);
        }
        Assert.True(model.HasCompiledPlan("train"), model.ExecutionPath);
        Assert.Equal(plain.GetWeights(), model.GetWeights()); // announcing changes nothing
        var announced = hook.Steps[^1];
        var trainable = model.TrainableWeights.Select(w => w.Value).ToList();
        Assert.Equal(6, trainable.Count);
        Assert.Equal(trainable.Count, announced.Length); // every trainable weight, each once (checked in the hook)
        int At(Tensor t) => Array.FindIndex(announced, a => ReferenceEquals(a, t));
        Assert.True(At(last.Kernel.Value) < At(shared.Kernel.Value), "the last layer's gradient is final before the shared layer's");
        Assert.True(At(shared.Kernel.Value) < At(first.Kernel.Value), "the shared layer's gradient is final before the first layer's");
        Assert.True(At(last.Bias!.Value) < At(first.Bias!.Value));
    }
}

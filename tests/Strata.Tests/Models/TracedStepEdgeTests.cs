using Strata.Autograd;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Tests.Models;

/// <summary>Traced custom steps where the replay could drift from eager execution: each compared with the eager step, or kept eager.</summary>
public sealed class TracedStepEdgeTests
{
    internal sealed class M : Model
    {
        public readonly Sequential Net;
        private readonly Layer[] _layers;
        public Func<M, Tensor[], IReadOnlyDictionary<string, Tensor>> Body = null!;
        public Optimizer Opt = new Sgd(0.1f);

        public M() : base("m")
        {
            Net = new Sequential([new Dense(2)], 7);
            Net.Forward(Tensor.Zeros(1, 3));
            _layers = [.. Net.Layers];
        }

        public override IReadOnlyList<Layer> Layers => _layers;
        public override Tensor Forward(Tensor x, bool training = false) => Net.Forward(x, training);
        public Tensor[] Params => Net.TrainableWeights.Select(w => w.Value).ToArray();
        public Logs Step(Tensor x) => TracedStep("s", [x], inputs => Body(this, inputs));

        public Logs StepWithOutside(Tensor x, Tensor z)
        {
            var h = Net.Forward(z, training: true); // computed before the step, requires grad
            return TracedStep("o", [x], inputs =>
            {
                var loss = (Net.Forward(inputs[0], training: true) - h.Detach()).Square().Mean();
                Opt.ApplyGradients(ComputeGradients(loss, Params).Zip(Params));
                return new Dictionary<string, Tensor> { ["loss"] = loss };
            });
        }
    }

    private static Tensor X(int i) => Tensor.RandomUniform([4, 3], -1f, 1f, (ulong)(10 + i));

    private static void AssertSameWeights(M a, M b, string what)
    {
        var wa = a.Weights.ToArray();
        var wb = b.Weights.ToArray();
        for (int k = 0; k < wa.Length; k++)
        {
            var x = wa[k].Value.ToArray();
            var y = wb[k].Value.ToArray();
            for (int j = 0; j < x.Length; j++)
                Assert.True(Math.Abs(x[j] - y[j]) <= 1e-5f, $"{what}: {wa[k].Name}[{j}] plan {x[j]} eager {y[j]}; {a.ExecutionPath}");
        }
    }

    /// <summary>Runs the step on a plan-enabled and a plan-disabled model; the weights must agree. Returns the first's execution path.</summary>
    private static string Compare(Func<M, Tensor[], IReadOnlyDictionary<string, Tensor>> body, string what, int steps = 6)
    {
        var p = new M { Body = body };
        var e = new M { Body = body, PlansEnabled = false };
        for (int i = 0; i < steps; i++)
        {
            p.Step(X(i));
            e.Step(X(i));
        }
        AssertSameWeights(p, e, what);
        return p.ExecutionPath;
    }

    [Fact]
    public void Control_compute_then_apply_gradients_matches_eager()
    {
        var path = Compare((m, ins) =>
        {
            var ps = m.Params;
            var loss = m.Net.Forward(ins[0], training: true).Square().Mean();
            m.Opt.ApplyGradients(Model.ComputeGradients(loss, ps).Zip(ps));
            return new Dictionary<string, Tensor> { ["loss"] = loss };
        }, "control");
        Assert.Contains("compiled plan", path);
    }

    [Fact]
    public void Backward_then_Apply_inside_a_step_matches_eager()
    {
        var path = Compare((m, ins) =>
        {
            var ps = m.Params;
            foreach (var p in ps)
                p.ZeroGrad();
            var loss = m.Net.Forward(ins[0], training: true).Square().Mean();
            loss.Backward();
            m.Opt.Apply(ps);
            return new Dictionary<string, Tensor> { ["loss"] = loss };
        }, "Backward+Apply");
        Assert.Contains("eager", path);
        Assert.Contains("Tensor.Backward()", path);
    }

    [Fact]
    public void A_fresh_seeded_rng_inside_a_step_matches_eager()
    {
        var path = Compare((m, ins) =>
        {
            var ps = m.Params;
            var noise = Tensor.RandomNormal([4, 2], new Rng(5));
            var loss = (m.Net.Forward(ins[0], training: true) + noise).Square().Mean();
            m.Opt.ApplyGradients(Model.ComputeGradients(loss, ps).Zip(ps));
            return new Dictionary<string, Tensor> { ["loss"] = loss };
        }, "new Rng per call");
        Assert.Contains("eager", path);
    }

    [Fact]
    public void Cloned_gradients_match_eager()
    {
        var path = Compare((m, ins) =>
        {
            var ps = m.Params;
            var loss = m.Net.Forward(ins[0], training: true).Square().Mean();
            var grads = Model.ComputeGradients(loss, ps).Select(g => g.Clone()).ToArray();
            m.Opt.ApplyGradients(grads.Zip(ps));
            return new Dictionary<string, Tensor> { ["loss"] = loss };
        }, "Clone of gradients");
        Assert.Contains("not computed by the step", path);
    }

    [Fact]
    public void Two_gradient_computations_from_one_root_behave_the_same_eagerly()
    {
        static IReadOnlyDictionary<string, Tensor> Body(M m, Tensor[] ins)
        {
            var ps = m.Params;
            var loss = m.Net.Forward(ins[0], training: true).Square().Mean();
            var g0 = Model.ComputeGradients(loss, [ps[0]]);
            var g1 = Model.ComputeGradients(loss, [ps[1]]);
            m.Opt.ApplyGradients(g0.Zip([ps[0]]).Concat(g1.Zip([ps[1]])));
            return new Dictionary<string, Tensor> { ["loss"] = loss };
        }
        var p = new M { Body = Body };
        for (int i = 0; i < 4; i++)
            p.Step(X(i)); // traced and compiled: fine
        Assert.Contains("compiled plan", p.ExecutionPath);
        var e = new M { Body = Body, PlansEnabled = false };
        for (int i = 0; i < 4; i++)
            e.Step(X(i)); // eager: the loss's graph is kept for the second gradient set
        AssertSameWeights(p, e, "two gradient sets");
    }

    [Fact]
    public void Recompiling_with_a_new_optimizer_is_used_by_the_step()
    {
        static IReadOnlyDictionary<string, Tensor> Body(M m, Tensor[] ins)
        {
            var ps = m.Params;
            var loss = m.Net.Forward(ins[0], training: true).Square().Mean();
            m.Optimizer!.ApplyGradients(Model.ComputeGradients(loss, ps).Zip(ps));
            return new Dictionary<string, Tensor> { ["loss"] = loss };
        }
        var p = new M { Body = Body };
        var e = new M { Body = Body, PlansEnabled = false };
        p.Compile(new Sgd(0.1f), new MeanSquaredError());
        e.Compile(new Sgd(0.1f), new MeanSquaredError());
        for (int i = 0; i < 4; i++)
        {
            p.Step(X(i));
            e.Step(X(i));
        }
        p.Compile(new Sgd(0.5f, momentum: 0.9f), new MeanSquaredError());
        e.Compile(new Sgd(0.5f, momentum: 0.9f), new MeanSquaredError());
        for (int i = 4; i < 7; i++)
        {
            p.Step(X(i));
            e.Step(X(i));
        }
        AssertSameWeights(p, e, "recompiled");
    }

    [Fact]
    public void A_value_computed_before_the_step_is_not_replayed_stale()
    {
        var p = new M();
        var e = new M { PlansEnabled = false };
        for (int i = 0; i < 6; i++)
        {
            p.StepWithOutside(X(i), X(100 + i));
            e.StepWithOutside(X(i), X(100 + i));
        }
        AssertSameWeights(p, e, "outside value");
        Assert.Contains("computed before it", p.ExecutionPath);
    }

    [Fact]
    public void Batch_norm_on_an_empty_batch_keeps_the_moving_statistics()
    {
        var mm = Tensor.Wrap([1f, 2f], new Shape([2]));
        var mv = Tensor.Wrap([3f, 4f], new Shape([2]));
        Tensor.BatchNorm(Tensor.Zeros(0, 2), null, null, mm, mv, 0.5f, 1e-3f, training: true);
        Assert.Equal([1f, 2f], mm.ToArray());
        Assert.Equal([3f, 4f], mv.ToArray());
    }
}

using Strata.Autograd;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Losses;

/// <summary>
/// The cross-entropies on probabilities straight from a softmax take the fused loss-and-gradient on the
/// softmax's logits (as Keras does): when that path is taken and when not, values and gradients against
/// the clipped composite (the same loss on a copy of the probabilities that breaks the link), the fused
/// ops against finite differences, extreme logits, and a compiled plan of the fused step.
/// </summary>
public sealed class FusedCrossEntropyTests
{
    /// <summary>The op names of the graph below <paramref name="root"/> (iterative walk over the recorded nodes).</summary>
    private static HashSet<string> Ops(Tensor root)
    {
        var ops = new HashSet<string>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Tensor>([root]);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (t.Node is not { } node || !seen.Add(t))
                continue;
            ops.Add(node.Op);
            foreach (var i in node.Inputs)
                stack.Push(i);
        }
        return ops;
    }

    private static Tensor Leaf(int[] shape, ulong seed, float scale = 2f)
    {
        var t = Tensor.RandomUniform(shape, -scale, scale, seed);
        t.RequiresGrad = true;
        return t;
    }

    private static readonly Tensor Labels = Tensor.FromArray([2f, 0f, 3f, 1f, 1f, 0f]);

    private static Tensor OneHot => Tensor.OneHot([2, 0, 3, 1, 1, 0], 4);

    [Fact]
    public void A_dense_softmax_with_sparse_cross_entropy_takes_the_fused_op_on_its_logits()
    {
        var dense = new Dense(4, "softmax");
        var p = dense.Forward(Leaf([6, 5], 1));
        var loss = new SparseCategoricalCrossentropy().Compute(Labels, p);
        var ops = Ops(loss);
        Assert.Contains("sparse_softmax_cross_entropy", ops);
        Assert.Contains("dense", ops); // the logits, Dense's linear part
        // Neither the composite (pick, clip, log) nor the softmax is on the loss's path.
        Assert.DoesNotContain("pick_per_row", ops);
        Assert.DoesNotContain("log", ops);
        Assert.DoesNotContain("softmax", ops);
        // The prediction is still the probabilities.
        Assert.Equal("softmax", p.Node!.Op);
        for (int r = 0; r < 6; r++)
            Assert.Equal(1f, p.Slice(r..(r + 1)).Sum().ToScalar(), 5);
    }

    [Fact]
    public void A_softmax_activation_layer_with_categorical_cross_entropy_takes_the_fused_op()
    {
        var p = new Activation("softmax").Forward(Leaf([6, 4], 2));
        var ops = Ops(new CategoricalCrossentropy().Compute(OneHot, p));
        Assert.Contains("softmax_cross_entropy", ops);
        Assert.DoesNotContain("softmax", ops);
        Assert.DoesNotContain("log", ops);
        Assert.DoesNotContain("clamp", ops);

        // Categorical from logits is the same one op.
        var fromLogits = Ops(new CategoricalCrossentropy(fromLogits: true).Compute(OneHot, Leaf([6, 4], 2)));
        Assert.Contains("softmax_cross_entropy", fromLogits);
        Assert.DoesNotContain("log_softmax", fromLogits);
    }

    [Fact]
    public void The_fused_op_is_not_taken_when_the_prediction_is_not_straight_from_a_last_axis_softmax()
    {
        var z = Leaf([6, 4], 3);
        var sparse = new SparseCategoricalCrossentropy();
        // A scale between the softmax and the loss.
        var scaled = Ops(sparse.Compute(Labels, z.Softmax() * 1f));
        Assert.Contains("pick_per_row", scaled);
        Assert.DoesNotContain("sparse_softmax_cross_entropy", scaled);
        // A softmax over the batch axis.
        var otherAxis = Ops(sparse.Compute(Labels, z.Softmax(0)));
        Assert.Contains("pick_per_row", otherAxis);
        Assert.DoesNotContain("sparse_softmax_cross_entropy", otherAxis);
        // Over axis 1 of [2, 3, 4] for a loss over the last axis.
        var z3 = Leaf([2, 3, 4], 4);
        var targets = Tensor.OneHot([0, 1, 2, 3, 0, 1], 4).Reshape(2, 3, 4);
        var axis1 = Ops(new CategoricalCrossentropy().Compute(targets, z3.Softmax(1)));
        Assert.Contains("log", axis1);
        Assert.DoesNotContain("softmax_cross_entropy", axis1);
        // Over the last axis of the same tensor it is fused.
        Assert.Contains("softmax_cross_entropy", Ops(new CategoricalCrossentropy().Compute(targets, z3.Softmax(-1))));
        // From logits the prediction is taken as the logits, softmax or not: the op reads the softmax's output.
        var logits = Ops(new SparseCategoricalCrossentropy(fromLogits: true).Compute(Labels, z.Softmax()));
        Assert.Contains("sparse_softmax_cross_entropy", logits);
        Assert.Contains("softmax", logits);
        // No recording, no graph: the clipped composite (the value is checked against the fused one below).
        using (GradMode.Disable())
            Assert.Null(Tensor.SoftmaxInput(z.Softmax()));
    }

    public static TheoryData<string, LossReduction, bool> Cases()
    {
        var data = new TheoryData<string, LossReduction, bool>();
        foreach (var loss in new[] { "sparse", "categorical" })
            foreach (var reduction in Enum.GetValues<LossReduction>())
                foreach (bool weighted in new[] { false, true })
                    data.Add(loss, reduction, weighted);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fused_values_and_gradients_equal_the_clipped_composite(string kind, LossReduction reduction, bool weighted)
    {
        Loss loss = kind == "sparse" ? new SparseCategoricalCrossentropy(reduction: reduction) : new CategoricalCrossentropy(reduction: reduction);
        var targets = kind == "sparse" ? Labels : OneHot;
        var weights = weighted ? Tensor.FromArray([0.5f, 2f, 0f, 1f, 1.5f, 0.25f]) : null;
        var x = Leaf([6, 5], 5);
        var dense = new Dense(4, "softmax");
        dense.Forward(x); // builds
        var z = Leaf([6, 4], 6);
        var upstream = Tensor.RandomUniform([6], -1f, 1f, 7);

        // fused: straight from the softmax; composite: the same probabilities through one more op (× 1, exact).
        (float[] Value, float[][] Grads) Run(bool fused)
        {
            foreach (var t in new[] { x, z, dense.Kernel.Value, dense.Bias!.Value })
                t.Grad = null;
            var pd = dense.Forward(x);
            var pz = z.Softmax();
            var ld = loss.Compute(targets, fused ? pd : pd * 1f, weights);
            var lz = loss.Compute(targets, fused ? pz : pz * 1f, weights);
            Assert.Equal(fused, Ops(ld).Contains(kind == "sparse" ? "sparse_softmax_cross_entropy" : "softmax_cross_entropy"));
            var objective = reduction == LossReduction.None ? ((ld + lz) * upstream).Sum() : ld + lz;
            objective.Backward();
            return ([.. ld.ToArray(), .. lz.ToArray()], [x.Grad!.ToArray(), z.Grad!.ToArray(), dense.Kernel.Value.Grad!.ToArray(), dense.Bias.Value.Grad!.ToArray()]);
        }

        var f = Run(fused: true);
        var c = Run(fused: false);
        AssertClose(c.Value, f.Value, "loss");
        string[] names = ["input", "logits", "kernel", "bias"];
        for (int i = 0; i < names.Length; i++)
            AssertClose(c.Grads[i], f.Grads[i], names[i]);
    }

    private static void AssertClose(float[] expected, float[] actual, string what, float tol = 2e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"{what}[{i}]: composite {expected[i]}, fused {actual[i]}");
    }

    [Fact]
    public void The_fused_ops_match_finite_differences()
    {
        // Soft targets that do not sum to 1, so that the Σy factor of ∂/∂z is checked; and ∂/∂y.
        var z = Leaf([3, 4], 8);
        var y = Tensor.FromArray([0.2f, 0.5f, 0.1f, 0.4f, 1f, 0f, 0f, 0f, 0.3f, 0.3f, 0.2f, 0.2f], 3, 4);
        y.RequiresGrad = true;
        var dense = GradientChecker.Check(t => Tensor.SoftmaxCrossEntropy(t[0], t[1]), [z, y]);
        Assert.True(dense.Passed, dense.Worst);

        var labels = Tensor.FromArray([3f, 0f, 1f]);
        var sparse = GradientChecker.Check(t => Tensor.SparseSoftmaxCrossEntropy(t[0], labels), [z]);
        Assert.True(sparse.Passed, sparse.Worst);

        // Through the loss on a Dense's softmax (the checker's differences run without recording, so on the
        // composite: the fused gradient against the composite's values).
        var layer = new Dense(4, "softmax");
        var x = Leaf([3, 5], 9);
        var viaLoss = GradientChecker.Check(t => new SparseCategoricalCrossentropy(reduction: LossReduction.None).Compute(labels, layer.Forward(t[0])), [x]);
        Assert.True(viaLoss.Passed, viaLoss.Worst);
    }

    [Fact]
    public void Extreme_logits_give_a_finite_loss_and_the_right_gradient_where_the_clip_saturates()
    {
        // Row 0: the target's logit is 100 below the largest, p[t] = e^−100 ≈ 4e−44 (under ε = 1e−7): the fused
        // loss is −log softmax = 100 + log(1 + e^−100) = 100, and ∂/∂z = (softmax − onehot)/2 ≈ (0.5, −0.5, 0).
        // Row 1: the target's logit is the largest by 200: loss ≈ 0, gradient ≈ 0.
        var z = Tensor.FromArray([100f, 0f, -100f, -100f, 0f, 100f], 2, 3);
        z.RequiresGrad = true;
        var loss = new SparseCategoricalCrossentropy().Compute(Tensor.FromArray([1f, 2f]), z.Softmax());
        Assert.Equal(50f, loss.ToScalar(), 3);
        loss.Backward();
        AssertClose([0.5f, -0.5f, 0f, 0f, 0f, 0f], z.Grad!.ToArray(), "fused ∂/∂z", 1e-6f);

        // The clipped composite on the same probabilities: row 0 is stuck at −log ε ≈ 16.118 with no gradient at all.
        z.Grad = null;
        var clipped = new SparseCategoricalCrossentropy().Compute(Tensor.FromArray([1f, 2f]), z.Softmax() * 1f);
        Assert.Equal(-Math.Log(1e-7) / 2, clipped.ToScalar(), 3);
        clipped.Backward();
        Assert.All(z.Grad!.ToArray(), g => Assert.Equal(0f, g));

        // Categorical, and logits a thousand apart.
        var w = Tensor.FromArray([1000f, -1000f, 0f], 1, 3);
        w.RequiresGrad = true;
        var cce = new CategoricalCrossentropy().Compute(Tensor.FromArray([0f, 1f, 0f], 1, 3), w.Softmax());
        Assert.Equal(2000f, cce.ToScalar(), 1);
        cce.Backward();
        AssertClose([1f, -1f, 0f], w.Grad!.ToArray(), "fused categorical ∂/∂z", 1e-6f);
    }

    [Fact]
    public void A_retained_graph_backpropagates_through_the_fused_ops_twice_alike()
    {
        var z = Leaf([3, 4], 10);
        var targets = Tensor.FromArray([0.2f, 0.5f, 0.1f, 0.2f, 1f, 0f, 0f, 0f, 0.25f, 0.25f, 0.25f, 0.25f], 3, 4);
        var labels = Tensor.FromArray([3f, 0f, 1f]);
        foreach (var loss in new[] { Tensor.SparseSoftmaxCrossEntropy(z, labels).Sum(), Tensor.SoftmaxCrossEntropy(z, targets).Sum() })
        {
            z.Grad = null;
            loss.Backward(retainGraph: true);
            var first = z.Grad!.ToArray();
            z.Grad = null;
            loss.Backward(retainGraph: true);
            AssertClose(first, z.Grad!.ToArray(), "second pass", 0f);
        }
    }

    [Fact]
    public void A_compiled_plan_replays_the_fused_step_as_eager_execution_runs_it()
    {
        var dense = new Dense(4, "softmax");
        var loss = new SparseCategoricalCrossentropy();
        var weights = Tensor.FromArray([0.5f, 2f, 0f, 1f, 1.5f, 0.25f]);
        Tensor[] traced = [Leaf([6, 5], 11), Labels.Clone(), weights.Clone()];
        dense.Forward(traced[0]); // builds outside the trace
        var trace = Trace.Begin();
        Tensor p, l;
        try
        {
            p = dense.Forward(traced[0]);
            l = loss.Compute(traced[1], p, traced[2]);
        }
        finally
        {
            trace.Dispose();
        }
        var plan = Plan.Compile(trace, traced, [p, l], l, out var why);
        Assert.True(plan is not null, why);
        Assert.Contains("sparse_softmax_cross_entropy[", plan.Signature);
        Assert.DoesNotContain("pick_per_row[", plan.Signature);

        // Other data and labels: the plan against the eager step.
        var x = Leaf([6, 5], 12);
        var labels = Tensor.FromArray([1f, 1f, 0f, 3f, 2f, 2f]);
        dense.Kernel.Value.Grad = null;
        plan.Bind(0, x);
        plan.Bind(1, labels);
        plan.Bind(2, weights);
        plan.Forward();
        plan.Backward();
        float planned = plan.Outputs[1].ToScalar();
        var plannedProbabilities = plan.Outputs[0].ToArray();
        var plannedGrad = dense.Kernel.Value.Grad!.ToArray();

        dense.Kernel.Value.Grad = null;
        var pe = dense.Forward(x);
        var le = loss.Compute(labels, pe, weights);
        le.Backward();
        AssertClose([le.ToScalar()], [planned], "loss", 1e-6f);
        AssertClose(pe.ToArray(), plannedProbabilities, "probabilities", 1e-6f);
        AssertClose(dense.Kernel.Value.Grad!.ToArray(), plannedGrad, "kernel gradient", 1e-6f);
    }

    [Fact]
    public void The_seed_mlp_trains_on_a_plan_with_the_fused_loss_as_eagerly()
    {
        var x = Tensor.RandomUniform([16, 6], -1f, 1f, 13);
        var y = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)(i % 3)).ToArray());
        var w = Tensor.RandomUniform([16], 0f, 2f, 14);
        Model Make()
        {
            var m = Presets.Mlp([6], classes: 3, seed: 2);
            m.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(), "accuracy");
            return m;
        }
        var planned = Make();
        var eager = Make();
        eager.PlansEnabled = false;
        for (int step = 0; step < 5; step++)
        {
            var a = planned.TrainStep(x, y, w);
            var b = eager.TrainStep(x, y, w);
            foreach (var (k, v) in b)
                Assert.True(Math.Abs(a[k] - v) <= 1e-5f * (1 + Math.Abs(v)), $"step {step}: {k} {a[k]} vs {v}");
        }
        var signature = planned.PlanSignature("train");
        Assert.True(signature is not null, planned.ExecutionPath);
        Assert.Contains("sparse_softmax_cross_entropy[", signature);
        Assert.Contains("softmax[", signature); // the prediction, for the metrics
        Assert.DoesNotContain("pick_per_row[", signature);
        Assert.DoesNotContain("clamp[", signature);
        var (pw, ew) = (planned.GetWeights(), eager.GetWeights());
        for (int i = 0; i < pw.Length; i++)
            AssertClose(ew[i], pw[i], $"weight {i}", 1e-5f);
    }
}

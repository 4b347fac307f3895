using Strata.Compression;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Compression;

/// <summary>The distillation loss: hand values, a double-precision oracle, the logits read before a softmax, the gradient.</summary>
public sealed class DistillationLossTests
{
    /// <summary>Input(n) → Dense(classes, activation, no bias) with the given kernel: on the identity batch its logits are the kernel's rows.</summary>
    internal static Sequential Linear(float[] kernel, int inputs, int classes, ActivationFunction? activation = null, ulong seed = 0)
    {
        var m = new Sequential([new Input([inputs]), new Dense(classes, activation, useBias: false)], seed);
        m.SetWeights([kernel]);
        return m;
    }

    /// <summary>The same network in the functional form (its logits are read as log-probabilities when it ends in a softmax).</summary>
    private static Model FunctionalLinear(float[] kernel, int inputs, int classes, ActivationFunction activation)
    {
        var x = Input.Create([inputs]);
        var m = new Model(x, new Dense(classes, activation, useBias: false).Apply(x));
        m.SetWeights([kernel]);
        return m;
    }

    private static Tensor Identity(int n)
    {
        var v = new float[n * n];
        for (int i = 0; i < n; i++)
            v[i * n + i] = 1;
        return Tensor.FromArray(v, n, n);
    }

    private static readonly float Ln3 = MathF.Log(3);

    // Teacher logits [0, 2 ln 3] and [2 ln 3, 0]; at T = 2 they soften to [1/4, 3/4] and [3/4, 1/4]. The
    // student's logits are 0: [1/2, 1/2]. KL per sample = ¼ ln(½) + ¾ ln(3/2) = 0.1308120 (both samples,
    // by symmetry), times T² = 4: 0.5232481. Student loss: −ln ½ = ln 2 = 0.6931472 for either label.
    // α = 0.25: 0.25 · 0.6931472 + 0.75 · 0.5232481 = 0.5657229.
    private const float HandKl = 0.1308120f, HandDistillation = 4 * HandKl, HandStudent = 0.6931472f;
    private const float HandTotal = 0.25f * HandStudent + 0.75f * HandDistillation;

    [Fact]
    public void Hand_values_on_logits()
    {
        var teacher = Linear([0, 2 * Ln3, 2 * Ln3, 0], 2, 2);
        var student = Linear([0, 0, 0, 0], 2, 2);
        var d = new Distiller(teacher, student, temperature: 2, alpha: 0.25f);
        d.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var losses = d.ComputeLosses([Identity(2)], Tensor.FromArray([1f, 0f]));
        Assert.Equal(HandStudent, losses.Student.ToScalar(), 5);
        Assert.Equal(HandDistillation, losses.Distillation.ToScalar(), 5);
        Assert.Equal(HandTotal, losses.Total.ToScalar(), 5);
        Assert.Equal(0.5657229f, HandTotal, 6); // the constant in the comment
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Hand_values_on_softmax_outputs_from_before_the_softmax_or_from_log_probabilities(bool functional)
    {
        // The same networks ending in a softmax: a Sequential's logits are read before it, a functional
        // model's as log p; softmax(log p / T) = softmax(z / T), so the value is the hand value either way.
        float[] tk = [0, 2 * Ln3, 2 * Ln3, 0], sk = [0, 0, 0, 0];
        Model teacher = functional ? FunctionalLinear(tk, 2, 2, "softmax") : Linear(tk, 2, 2, "softmax");
        Model student = functional ? FunctionalLinear(sk, 2, 2, "softmax") : Linear(sk, 2, 2, "softmax");
        var d = new Distiller(teacher, student, temperature: 2, alpha: 0.25f);
        Assert.Equal(functional ? "the log of the softmax output" : "the final Dense's values before its softmax", d.TeacherLogits);
        d.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy());
        var losses = d.ComputeLosses([Identity(2)], Tensor.FromArray([1f, 0f]));
        Assert.Equal(HandStudent, losses.Student.ToScalar(), 5);
        Assert.Equal(HandDistillation, losses.Distillation.ToScalar(), 5);
        Assert.Equal(HandTotal, losses.Total.ToScalar(), 5);
        // The predictions are the student's own outputs.
        Assert.Equal(student.Predict(Identity(2)).ToArray(), losses.Predictions.ToArray(), new FloatTolerance(1e-7f));
    }

    [Fact]
    public void Alpha_one_is_the_student_loss_and_alpha_zero_the_distillation_loss()
    {
        float[] tk = [0, 2 * Ln3, 2 * Ln3, 0], sk = [0.3f, -0.2f, 0.1f, 0.5f];
        foreach (float alpha in (float[])[0f, 1f])
        {
            var d = new Distiller(Linear(tk, 2, 2), Linear(sk, 2, 2), temperature: 2, alpha: alpha);
            d.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
            var l = d.ComputeLosses([Identity(2)], Tensor.FromArray([1f, 0f]));
            Assert.Equal((alpha == 1 ? l.Student : l.Distillation).ToScalar(), l.Total.ToScalar());
        }
    }

    [Fact]
    public void Random_logits_with_sample_weights_match_a_double_precision_oracle()
    {
        const int n = 5, c = 5;
        const float t = 3.5f, alpha = 0.3f;
        var tk = TestData.Random(n * c, 11, -4, 4);
        var sk = TestData.Random(n * c, 12, -4, 4);
        float[] labels = [0, 3, 1, 4, 2];
        float[] weights = [1, 0.5f, 2, 0, 1.5f];
        var d = new Distiller(Linear(tk, n, c), Linear(sk, n, c), temperature: t, alpha: alpha);
        d.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var losses = d.ComputeLosses([Identity(n)], Tensor.FromArray(labels), Tensor.FromArray(weights));

        // Oracle: per sample, softmax of the rows in double; KL Σ p log(p/q) (no probability here is near
        // the loss's 1e-7 clip); the weighted sum over the batch divided by the batch size, as Keras reduces.
        double[] Softmax(float[] k, int row, double temp)
        {
            var z = Enumerable.Range(0, c).Select(j => k[row * c + j] / temp).ToArray();
            double max = z.Max();
            var e = z.Select(v => Math.Exp(v - max)).ToArray();
            return [.. e.Select(v => v / e.Sum())];
        }
        double kl = 0, ce = 0;
        for (int i = 0; i < n; i++)
        {
            var p = Softmax(tk, i, t);
            var q = Softmax(sk, i, t);
            Assert.All(p.Concat(q), v => Assert.True(v > 1e-6));
            kl += weights[i] * p.Zip(q).Sum(pq => pq.First * Math.Log(pq.First / pq.Second));
            ce += weights[i] * -Math.Log(Softmax(sk, i, 1)[(int)labels[i]]);
        }
        double distillation = kl / n * t * t, student = ce / n;
        Assert.Equal(distillation, losses.Distillation.ToScalar(), 4);
        Assert.Equal(student, losses.Student.ToScalar(), 4);
        Assert.Equal(alpha * student + (1 - alpha) * distillation, losses.Total.ToScalar(), 4);
    }

    [Fact]
    public void A_custom_distillation_loss_replaces_the_kl_divergence()
    {
        var teacher = Linear([0, 2 * Ln3, 2 * Ln3, 0], 2, 2);
        var d = new Distiller(teacher, Linear([0, 0, 0, 0], 2, 2), temperature: 2, alpha: 0.25f);
        d.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy(fromLogits: true), new MeanSquaredError());
        Assert.IsType<MeanSquaredError>(d.DistillationLoss);
        // mean over the two classes of (¼ − ½)² and (¾ − ½)² = 1/16, times T² = 4: 0.25.
        Assert.Equal(0.25f, d.ComputeLosses([Identity(2)], Tensor.FromArray([1f, 0f])).Distillation.ToScalar(), 5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Combined_loss_gradient_matches_finite_differences(bool functional)
    {
        // A softmax student whose logits are read before the softmax (Sequential) or as log p (functional).
        Model student;
        if (functional)
        {
            var x = Input.Create([3]);
            student = new Model(x, new Dense(3, "softmax").Apply(new Dense(4, "tanh").Apply(x)), seed: 5);
        }
        else
        {
            student = new Sequential([new Input([3]), new Dense(4, "tanh"), new Dense(3, "softmax")], seed: 5);
        }
        var teacher = new Sequential([new Input([3]), new Dense(6, "relu"), new Dense(3, "softmax")], seed: 6);
        var d = new Distiller(teacher, student, temperature: 2.5f, alpha: 0.4f);
        d.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy());
        var xs = TestData.Tensor(7, 4, 3);
        var y = Tensor.FromArray([0f, 2f, 1f, 2f]);
        var parameters = student.TrainableWeights.Select(w => w.Value).ToArray();
        Assert.All(parameters, p => Assert.True(p.RequiresGrad));
        // The checker perturbs the weights in place; the function reads them through the models.
        var result = GradientChecker.Check(_ => d.ComputeLosses([xs], y, training: true).Total, parameters, epsilon: 1e-2f);
        Assert.True(result.Passed, result.Worst);
    }

    /// <summary>Equal within an absolute tolerance.</summary>
    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float v) => 0;
    }
}

using Strata.Compression;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Tests.Serialization;
using Strata.Training;

namespace Strata.Tests.Compression;

/// <summary>The Distiller as a model: training on a compiled step, the frozen teacher, the student it leaves, bad input.</summary>
public sealed class DistillerTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-distill-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Notes each epoch that ends.</summary>
    private sealed class EpochRecorder(List<int> epochs) : Callback
    {
        public override void OnEpochEnd(int epoch, Logs logs) => epochs.Add(epoch);
    }

    private static float[][] Values(Model m) => [.. m.Weights.Select(w => w.Value.ToArray())];

    /// <summary>A teacher trained on three 2-D blobs (with dropout, which must be off when it teaches).</summary>
    private static Sequential BlobTeacher()
    {
        var (x, y) = TestData.Blobs(300, 1);
        var teacher = new Sequential([new Input([2]), new Dense(16, "relu"), new Dropout(0.5f), new Dense(3, "softmax")], seed: 2, name: "teacher");
        teacher.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(), "accuracy");
        teacher.Fit(x, y, epochs: 10, batchSize: 32, seed: 3);
        return teacher;
    }

    private static Sequential BlobStudent(ulong seed = 4) =>
        new([new Input([2]), new Dense(4, "relu"), new Dense(3, "softmax")], seed, "student");

    private static Distiller Compiled(Model teacher, Model student, float temperature = 3, float alpha = 0.2f)
    {
        var d = new Distiller(teacher, student, temperature, alpha);
        d.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(), metrics: "accuracy");
        return d;
    }

    [Fact]
    public void Fit_trains_the_student_on_a_compiled_step_and_leaves_the_teacher_unchanged()
    {
        var teacher = BlobTeacher();
        var before = Values(teacher);
        var student = BlobStudent();
        var studentBefore = Values(student);
        var d = Compiled(teacher, student);
        var (x, y) = TestData.Blobs(300, 5);
        var epochs = new List<int>();
        var history = d.Fit(x, y, epochs: 10, batchSize: 32, seed: 6, validationData: TestData.Blobs(90, 7),
            callbacks: [new EpochRecorder(epochs)]);

        Assert.Equal(before, Values(teacher)); // bit for bit, the non-trainable weights too
        Assert.NotEqual(studentBefore, Values(student));
        Assert.Contains("step:distill", d.ExecutionPath);
        Assert.Contains("compiled plan", d.ExecutionPath);
        Assert.DoesNotContain("eager", d.ExecutionPath);
        Assert.Equal(Enumerable.Range(0, 10), epochs);
        foreach (var key in (string[])["loss", "student_loss", "distillation_loss", "accuracy", "val_loss", "val_accuracy"])
            Assert.Equal(10, history[key].Count);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]} → {history["loss"][^1]}");
        // The logged loss is α·student + (1 − α)·distillation of the epoch's running means.
        Assert.Equal(0.2f * history["student_loss"][^1] + 0.8f * history["distillation_loss"][^1], history["loss"][^1], 4);
        Assert.True(history["val_accuracy"][^1] > 0.9f, $"validation accuracy {history["val_accuracy"][^1]}");
    }

    [Fact]
    public void The_compiled_step_equals_the_eager_step()
    {
        var teacher = BlobTeacher();
        var (x, y) = TestData.Blobs(200, 5);
        var compiled = Compiled(teacher, BlobStudent());
        var eager = Compiled(teacher, BlobStudent());
        eager.PlansEnabled = false;
        var hc = compiled.Fit(x, y, epochs: 2, batchSize: 20, seed: 6);
        var he = eager.Fit(x, y, epochs: 2, batchSize: 20, seed: 6);
        Assert.True(compiled.HasCompiledPlan("step:distill"));
        Assert.False(eager.HasCompiledPlan("step:distill"));
        Assert.Equal(Values(eager.Student), Values(compiled.Student));
        Assert.Equal(he["loss"], hc["loss"]);
        Assert.Equal(he["accuracy"], hc["accuracy"]);
    }

    [Fact]
    public void The_teacher_teaches_in_inference_mode()
    {
        // The teacher has dropout: in training mode its outputs (and so the distillation loss) would change from call to call.
        var d = Compiled(BlobTeacher(), BlobStudent());
        var (x, y) = TestData.Blobs(64, 5);
        var a = d.ComputeLosses([x], y, training: true).Distillation.ToScalar();
        var b = d.ComputeLosses([x], y, training: true).Distillation.ToScalar();
        Assert.Equal(a, b);
    }

    [Fact]
    public void Evaluate_and_predict_run_the_student()
    {
        var teacher = BlobTeacher();
        var d = Compiled(teacher, BlobStudent());
        var (x, y) = TestData.Blobs(90, 8);
        d.Fit(x, y, epochs: 1, batchSize: 30);
        Assert.Equal(d.Student.Predict(x).ToArray(), d.Predict(x).ToArray());
        Assert.NotEqual(teacher.Predict(x).ToArray(), d.Predict(x).ToArray());
        var copy = BlobStudent();
        copy.SetWeights(d.Student.GetWeights());
        copy.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy(), "accuracy");
        var expected = copy.Evaluate(x, y);
        var actual = d.Evaluate(x, y);
        Assert.Equal(expected["loss"], actual["loss"], 6);
        Assert.Equal(expected["accuracy"], actual["accuracy"]);
    }

    [Fact]
    public void A_student_distilled_from_the_mnist_cnn_compiles_its_step_and_saves_loads_and_exports()
    {
        var teacher = GanScorer.LoadMnist(RepoPaths.Mnist).Classifier;
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: false);
        var x = images.Slice(..256);
        var y = Tensor.FromArray(labels[..256].Select(v => (float)v).ToArray());
        var student = new Sequential([new Input([28, 28]), new Flatten(), new Dense(16, "relu"), new Dense(10, "softmax")], seed: 1, name: "mlp_student");
        var d = Compiled(teacher, student, temperature: 4, alpha: 0.1f);
        Assert.Equal("the final Dense's values before its softmax", d.TeacherLogits);
        Assert.Equal("the final Dense's values before its softmax", d.StudentLogits);
        d.Fit(x, y, epochs: 1, batchSize: 32, seed: 2); // 8 steps: two traced, six on the program
        Assert.Contains("compiled plan", d.ExecutionPath);
        Assert.DoesNotContain("eager", d.ExecutionPath);

        var path = Path.Combine(_dir.FullName, "student.strata");
        d.Student.Save(path);
        var loaded = Model.Load(path);
        Assert.IsType<Sequential>(loaded);
        Assert.Equal(d.Student.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        OnnxRuntimeCheck.ExportAndCompare(_dir.FullName, loaded, x.Slice(..16));

        var e = Assert.Throws<InvalidOperationException>(() => d.Save(Path.Combine(_dir.FullName, "distiller.strata")));
        Assert.Contains("Student.Save", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "distiller.strata")));
    }

    [Fact]
    public void The_distillers_weights_and_summary_are_the_students()
    {
        var teacher = BlobTeacher();
        var student = BlobStudent();
        var d = new Distiller(teacher, student);
        Assert.Equal(student.Weights.Select(w => w.Value), d.Weights.Select(w => w.Value));
        Assert.Equal(student.TrainableWeights.Count(), d.TrainableWeights.Count());
        var summary = d.Summary();
        Assert.All(student.Layers, l => Assert.Contains(l.Name, summary));
        Assert.All(teacher.Layers, l => Assert.DoesNotContain(l.Name + " (", summary));
    }

    [Fact]
    public void A_student_scoring_other_classes_is_rejected_quoting_both_shapes()
    {
        var teacher = BlobTeacher();
        var student = new Sequential([new Input([2]), new Dense(4, "softmax")], name: "wide");
        var e = Assert.Throws<ArgumentException>(() => new Distiller(teacher, student));
        Assert.Contains("[batch, 4]", e.Message);
        Assert.Contains("[batch, 3]", e.Message);
        Assert.Contains("'wide'", e.Message);
    }

    [Fact]
    public void A_student_taking_other_inputs_is_rejected_quoting_both_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Distiller(BlobTeacher(), new Sequential([new Input([5]), new Dense(3, "softmax")])));
        Assert.Contains("[2]", e.Message);
        Assert.Contains("[5]", e.Message);
    }

    [Theory]
    [InlineData(0f, "0")]
    [InlineData(-2f, "-2")]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void A_temperature_that_is_not_positive_and_finite_is_rejected_with_its_value(float t, string quoted)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Distiller(BlobTeacher(), BlobStudent(), temperature: t));
        Assert.Equal("temperature", e.ParamName);
        Assert.Contains($"got {quoted}", e.Message);
    }

    [Theory]
    [InlineData(-0.1f, "-0.1")]
    [InlineData(1.5f, "1.5")]
    [InlineData(float.NaN, "NaN")]
    public void An_alpha_outside_zero_to_one_is_rejected_with_its_value(float alpha, string quoted)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Distiller(BlobTeacher(), BlobStudent(), alpha: alpha));
        Assert.Equal("alpha", e.ParamName);
        Assert.Contains($"got {quoted}", e.Message);
    }

    [Fact]
    public void Bad_pairs_of_networks_are_rejected_by_name()
    {
        var teacher = BlobTeacher();
        Assert.Contains("two models", Assert.Throws<ArgumentException>(() => new Distiller(teacher, teacher)).Message);
        var shared = new Sequential([teacher.Layers[0], teacher.Layers[1], new Dense(3, "softmax")]);
        Assert.Contains("share a layer", Assert.Throws<ArgumentException>(() => new Distiller(teacher, shared)).Message);
        var sigmoid = new Sequential([new Input([2]), new Dense(3, "sigmoid")], name: "sig");
        var e = Assert.Throws<ArgumentException>(() => new Distiller(teacher, sigmoid));
        Assert.Contains("sigmoid", e.Message);
        Assert.Contains("'sig'", e.Message);
        var untrained = new Sequential([new Dense(3, "softmax")], name: "fresh");
        Assert.Contains("not built", Assert.Throws<ArgumentException>(() => new Distiller(untrained, BlobStudent())).Message);
        var d = new Distiller(teacher, BlobStudent());
        Assert.Contains("Compile", Assert.Throws<InvalidOperationException>(() => d.Fit(TestData.Blobs(9, 1).X, TestData.Blobs(9, 1).Y)).Message);
    }
}

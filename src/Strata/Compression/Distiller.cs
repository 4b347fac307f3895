using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Compression;

/// <summary>
/// Knowledge distillation (Hinton et al., 2015), the Keras way: a trained teacher, frozen and run
/// without gradients in inference mode, teaches a student through the loss
/// <c>α · studentLoss(y, student(x)) + (1 − α) · KL(softmax(z_t / T) ‖ softmax(z_s / T)) · T²</c>,
/// z the class logits of each network (T² keeps the soft term's gradients on the scale of the
/// hard term's as T grows). Networks that end in a softmax give their logits from the values before it
/// (see <see cref="TeacherLogits"/>). Only the student's weights are updated; the step (both
/// forward passes, the loss, the backward pass, the update) runs on one compiled program after two
/// traced calls, and <see cref="Model.Fit(Tensor, Tensor, int, int, bool, ulong, float, ValueTuple{Tensor, Tensor}?, IEnumerable{Callback}?, bool, Tensor?, int, int, CancellationToken)"/>
/// works as on any model (callbacks, progress, history, validation); the logs are <c>loss</c>,
/// <c>student_loss</c>, <c>distillation_loss</c> and the compiled metrics of the student's predictions.
/// <see cref="Model.Forward(Tensor, bool)"/>, <see cref="Model.Predict(Tensor, int)"/> and
/// <see cref="Model.Evaluate(Tensor, Tensor, int)"/> run the student (evaluated with the student loss).
/// <code>
/// var distiller = new Distiller(teacher, student, temperature: 4, alpha: 0.1f);
/// distiller.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), metrics: "accuracy");
/// distiller.Fit(x, y, epochs: 5);
/// distiller.Student.Save("student.strata"); // the model to keep: a plain model
/// </code>
/// </summary>
/// <remarks>
/// A distiller has no file of its own (<see cref="Model.Save"/> throws, naming what to save): it is a
/// training harness whose product is the student, a plain model that saves, loads and exports like any
/// other; the teacher is saved already.
/// </remarks>
public sealed class Distiller : Model
{
    private readonly ClassLogits _teacherLogits, _studentLogits;
    private Loss _distillationLoss = new KLDivergence();

    /// <param name="teacher">A trained, built model (it is not changed: no update, inference mode).</param>
    /// <param name="student">The model to train; its outputs must have the teacher's shape.</param>
    /// <param name="temperature">T &gt; 0: softens both distributions (1 leaves them as they are; 2–10 is usual).</param>
    /// <param name="alpha">α in [0, 1]: the weight of the student loss on the true labels; 1 − α weighs the distillation loss.</param>
    /// <param name="name">Model name.</param>
    /// <exception cref="ArgumentException">The same model twice, shared layers, an unbuilt teacher, differing input or output shapes
    /// (the message quotes both), an output activation that gives no class scores, or T or α out of range (the message quotes the value).</exception>
    public Distiller(Model teacher, Model student, float temperature = 3, float alpha = 0.1f, string? name = null) : base(name ?? "distiller")
    {
        Teacher = teacher ?? throw new ArgumentNullException(nameof(teacher));
        Student = student ?? throw new ArgumentNullException(nameof(student));
        if (!(temperature > 0 && float.IsFinite(temperature)))
            throw new ArgumentOutOfRangeException(nameof(temperature), $"Distiller '{Name}': the temperature must be positive and finite, got {temperature}");
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), $"Distiller '{Name}': alpha must be in [0, 1], got {alpha}");
        Temperature = temperature;
        Alpha = alpha;
        if (ReferenceEquals(teacher, student))
            throw new ArgumentException($"Distiller '{Name}': the teacher and the student must be two models");
        if (teacher is Distiller || student is Distiller)
            throw new ArgumentException($"Distiller '{Name}': the teacher and the student must be plain models, not distillers (pass a distiller's Student)");
        if (teacher.InputCount != student.InputCount)
            throw new ArgumentException($"Distiller '{Name}': the teacher takes {teacher.InputCount} input(s), the student {student.InputCount}");
        if (teacher.Layers.Count == 0 || teacher.Layers.Any(l => !l.Built))
            throw new ArgumentException($"Distiller '{Name}': the teacher '{teacher.Name}' must be a trained model; it is not built", nameof(teacher));
        _teacherLogits = ClassLogits.Of(teacher, "teacher");
        _studentLogits = ClassLogits.Of(student, "student");
        Layer[] both = [.. student.Layers, .. teacher.Layers];
        if (both.Distinct(ReferenceEqualityComparer.Instance).Count() != both.Length)
            throw new ArgumentException($"Distiller '{Name}': the teacher and the student share a layer; the student needs its own");

        var tShapes = teacher.InputShapes;
        var sShapes = student.InputShapes;
        if (tShapes is not null && sShapes is not null && !tShapes.SequenceEqual(sShapes))
            throw new ArgumentException($"Distiller '{Name}': the teacher takes {string.Join(", ", tShapes)}, the student {string.Join(", ", sShapes)}");
        if ((tShapes ?? sShapes) is { } shapes)
        {
            // A dry run on one sample builds the student and checks that both score the same classes.
            using (GradMode.Disable())
            {
                var probe = shapes.Select(s => Tensor.Zeros([1, .. s.Dims])).ToArray();
                Tensor studentOut;
                try
                {
                    studentOut = student.Forward(probe);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"Distiller '{Name}': the student '{student.Name}' does not take the teacher's input {string.Join(", ", shapes)}: {e.Message}", e);
                }
                CheckOutputs(teacher.Forward(probe).Shape, studentOut.Shape);
            }
        }
    }

    /// <summary>The trained model whose outputs the student learns from (never updated).</summary>
    public Model Teacher { get; }

    /// <summary>The model being trained: the result to keep.</summary>
    public Model Student { get; }

    /// <summary>T: both networks' logits are divided by it before the softmax.</summary>
    public float Temperature { get; }

    /// <summary>α: the weight of the student loss; 1 − α weighs the distillation loss.</summary>
    public float Alpha { get; }

    /// <summary>The student loss on the true labels (the model's <see cref="Model.Loss"/>); set by Compile.</summary>
    public Loss? StudentLoss => Loss;

    /// <summary>
    /// The loss between the teacher's and the student's softened distributions, (target, prediction) =
    /// (softmax(z_t / T), softmax(z_s / T)): <see cref="KLDivergence"/> unless Compile was given another.
    /// </summary>
    public Loss DistillationLoss => _distillationLoss;

    /// <summary>What the teacher's logits are read from (before its softmax, its log-probabilities, or its output).</summary>
    public string TeacherLogits => _teacherLogits.Description;

    /// <summary>What the student's logits are read from.</summary>
    public string StudentLogits => _studentLogits.Description;

    /// <summary>
    /// The student's layers: the distiller's weights, trainable weights and <see cref="Model.Summary"/> are the
    /// student's (the teacher's layers are <see cref="Teacher"/>'s, outside the model that trains).
    /// </summary>
    public override IReadOnlyList<Layer> Layers => Student.Layers;

    /// <inheritdoc/>
    public override int InputCount => Student.InputCount;

    /// <summary>Runs the student.</summary>
    public override Tensor Forward(Tensor x, bool training = false) => Student.Forward(x, training);

    /// <summary>Runs the student.</summary>
    public override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training = false) => Student.Forward(inputs, training);

    /// <summary>
    /// Chooses the optimizer (it updates the student's weights only), the student loss on the true
    /// labels, the distillation loss and the metrics (of the student's predictions, as
    /// <see cref="Model.Compile(Optimizer, Loss, object[])"/> takes them).
    /// </summary>
    /// <param name="optimizer">Updates the student.</param>
    /// <param name="studentLoss">The loss of the student's outputs against the labels (for a softmax student, e.g. <see cref="SparseCategoricalCrossentropy"/> on probabilities).</param>
    /// <param name="distillationLoss">Between the softened distributions; <see cref="KLDivergence"/> when null.</param>
    /// <param name="metrics">Metrics or their names ("accuracy" fits the student loss).</param>
    public void Compile(Optimizer optimizer, Loss studentLoss, Loss? distillationLoss = null, params object[] metrics)
    {
        _distillationLoss = distillationLoss ?? new KLDivergence();
        base.Compile(optimizer, studentLoss, metrics ?? []); // drops the compiled steps, which hold the old losses
    }

    /// <summary>The losses of one batch, as tensors (recorded: differentiable with respect to the student's weights).</summary>
    /// <param name="Total">α · Student + (1 − α) · Distillation, without weight penalties.</param>
    /// <param name="Student">The student loss on the true labels.</param>
    /// <param name="Distillation">The distillation loss between the softened distributions, times T².</param>
    /// <param name="Predictions">The student's outputs (what its Forward gives).</param>
    public sealed record BatchLosses(Tensor Total, Tensor Student, Tensor Distillation, Tensor Predictions);

    /// <summary>
    /// The distillation losses of a batch: the teacher in inference mode without gradients, the student
    /// in the given mode with them.
    /// </summary>
    /// <param name="x">One tensor per input.</param>
    /// <param name="y">The true labels, as the student loss takes them.</param>
    /// <param name="sampleWeight">Optional weights [batch], applied to both losses.</param>
    /// <param name="training">Runs the student in training mode (dropout, batch statistics).</param>
    /// <exception cref="InvalidOperationException">Not compiled.</exception>
    /// <exception cref="ArgumentException">The networks' outputs differ in shape (both quoted), or the losses reject the shapes.</exception>
    public BatchLosses ComputeLosses(Tensor[] x, Tensor y, Tensor? sampleWeight = null, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (Loss is null)
            throw new InvalidOperationException($"Distiller '{Name}': {CompileHint} first");
        Tensor teacherLogits;
        using (GradMode.Disable())
            (_, teacherLogits) = _teacherLogits.Run(Teacher, x, training: false);
        var (predictions, studentLogits) = _studentLogits.Run(Student, x, training);
        CheckOutputs(teacherLogits.Shape, studentLogits.Shape);
        float inverseT = 1f / Temperature;
        var soft = _distillationLoss.Compute((teacherLogits * inverseT).Softmax(-1), (studentLogits * inverseT).Softmax(-1), sampleWeight)
            * (Temperature * Temperature);
        var hard = Loss.Compute(y, predictions, sampleWeight);
        return new(hard * Alpha + soft * (1 - Alpha), hard, soft, predictions);
    }

    /// <summary>
    /// One distillation step: the losses (<see cref="ComputeLosses"/>, the student in training mode),
    /// the student's weight penalties, gradients for the student's trainable weights, the optimizer's
    /// update, the metrics on the student's predictions. Runs on a compiled program from the third call
    /// of a batch signature. A loss that turns NaN or infinite stops training (<see cref="Model.StopReason"/>).
    /// </summary>
    public override Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (!IsCompiled)
            throw new InvalidOperationException($"Distiller '{Name}': {CompileHint} before training");
        if (x.Length != InputCount)
            throw new ArgumentException($"Distiller.TrainStep: model '{Name}' has {InputCount} input(s), got {x.Length} array(s)");
        int n = x.Length;
        Tensor[] batch = sampleWeight is null ? [.. x, y] : [.. x, y, sampleWeight];
        int rows = x[0].Rank > 0 ? x[0].Shape[0] : 1;
        RunTraced("distill", batch, own =>
        {
            var losses = ComputeLosses(own[..n], own[n], sampleWeight is null ? null : own[n + 1], training: true);
            var parameters = Student.TrainableWeights.Select(w => w.Value).ToArray();
            var objective = Student.AddRegularization(losses.Total);
            if (objective.RequiresGrad) // false for a student without trainable weights
                Optimizer!.ApplyGradients(ComputeGradients(objective, parameters).Zip(parameters));
            return (LogNames, [losses.Total, losses.Student, losses.Distillation, losses.Predictions]);
        }, (_, values) =>
        {
            for (int i = 0; i < 3; i++)
                StepMean(LogNames[i]).Add(values[i].ToScalar(), rows);
            foreach (var m in Metrics)
                m.Update(y, values[3], sampleWeight);
        });
        var logs = CurrentLogs();
        if (logs.TryGetValue("loss", out float loss) && !float.IsFinite(loss) && !StopTraining)
        {
            StopTraining = true;
            StopReason = $"Distiller '{Name}': the loss became {loss} in epoch {CompletedEpochs + 1}; training stopped";
        }
        return logs;
    }

    // The step's results: three scalars logged as running means, then the student's predictions for the metrics.
    private static readonly string[] LogNames = ["loss", "student_loss", "distillation_loss", "predictions"];

    private protected override string CompileHint => "call Compile(optimizer, studentLoss, distillationLoss, metrics)";

    private protected override string SaveRefusal =>
        $"Save: Distiller '{Name}' is a training harness without a file of its own; save the trained student, distiller.Student.Save(path) " +
        "(a plain model that loads, evaluates and exports like any other), and the teacher where it came from";

    private void CheckOutputs(Shape teacher, Shape student)
    {
        if (teacher.Rank < 1 || student.Rank < 1 || !teacher.Dims[1..].SequenceEqual(student.Dims[1..]))
        {
            static string PerSample(Shape s) => s.Rank < 1 ? s.ToString() : $"[batch, {string.Join(", ", s.Dims[1..].ToArray())}]";
            throw new ArgumentException($"Distiller '{Name}': the student '{Student.Name}' outputs {PerSample(student)}, the teacher '{Teacher.Name}' {PerSample(teacher)}; they must score the same classes");
        }
    }
}

using Strata.Layers;
using Strata.Losses;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Models;

/// <summary>
/// A generative adversarial network, the Keras way: a generator (latent vectors → samples) and a
/// discriminator (samples → one logit, "real"), each with its own optimizer, and a
/// <see cref="TrainStep(Tensor[], Tensor, Tensor?)"/> that first updates the discriminator on a batch of
/// real samples and as many generated ones, then the generator through the discriminator, which that
/// second update leaves unchanged. The step runs on one compiled program (both updates) after two
/// traced calls. <see cref="Model.Fit(Tensor, Tensor, int, int, bool, ulong, float, ValueTuple{Tensor, Tensor}?, IEnumerable{Callback}?, bool, Tensor?, int, int, CancellationToken)"/>
/// works on it as on any model (callbacks, progress, history, checkpoints: <see cref="Model.Save"/>
/// writes both networks, both optimizers and the noise stream, so a run resumes bit for bit); the
/// logs are <c>d_loss</c> and <c>g_loss</c>. <see cref="Model.Forward(Tensor, bool)"/> and
/// <see cref="Model.Predict(Tensor, int)"/> run the generator.
/// </summary>
public class Gan : Model
{
    private readonly Layer[] _layers;
    private readonly Rng _noise;

    /// <param name="generator">Maps [batch, latent] to samples (for images, NHWC in [−1, 1] from a tanh).</param>
    /// <param name="discriminator">Maps samples to [batch, 1] logits: high for real.</param>
    /// <param name="latentDim">The latent size; read from the generator's input when null.</param>
    /// <param name="seed">Seeds the latent draws.</param>
    /// <param name="name">Model name.</param>
    /// <exception cref="ArgumentException">The networks do not fit each other (the message names the part and quotes both shapes).</exception>
    public Gan(Model generator, Model discriminator, int? latentDim = null, ulong seed = 0, string? name = null)
        : this(generator, discriminator, latentDim, classes: 0, seed, name ?? "gan")
    {
    }

    private protected Gan(Model generator, Model discriminator, int? latentDim, int classes, ulong seed, string name) : base(name)
    {
        Generator = generator ?? throw new ArgumentNullException(nameof(generator));
        Discriminator = discriminator ?? throw new ArgumentNullException(nameof(discriminator));
        if (ReferenceEquals(generator, discriminator))
            throw new ArgumentException($"{Kind} '{name}': the generator and the discriminator must be two models");
        int conditions = classes > 0 ? 1 : 0;
        CheckInputCount("generator", generator, 1 + conditions, classes > 0 ? "[latent vector, class label]" : "a latent vector");
        CheckInputCount("discriminator", discriminator, 1 + conditions, classes > 0 ? "[sample, class label]" : "a sample");
        var gShapes = generator.InputShapes;
        int? fromModel = gShapes is { Count: > 0 } && gShapes[0].Rank == 1 ? gShapes[0][0] : null;
        if (gShapes is { Count: > 0 } && gShapes[0].Rank != 1)
            throw new ArgumentException($"{Kind} '{name}': the generator's (first) input must be a latent vector [latent], got {gShapes[0]}");
        LatentDim = latentDim ?? fromModel ?? throw new ArgumentException($"{Kind} '{name}': give latentDim, or start the generator with an Input layer (its size cannot be read)");
        if (LatentDim < 1)
            throw new ArgumentOutOfRangeException(nameof(latentDim), $"{Kind} '{name}': the latent size must be at least 1, got {LatentDim}");
        if (fromModel is { } m && m != LatentDim)
            throw new ArgumentException($"{Kind} '{name}': latentDim is {LatentDim} but the generator takes [{m}]");
        Classes = classes;
        _noise = new Rng(seed ^ 0x6A09E667F3BCC909UL);

        // A dry run on one sample builds both networks and checks that they fit together.
        using (GradMode.Disable())
        {
            var probe = ConditionInputs(Tensor.Zeros(1, LatentDim), classes > 0 ? Tensor.Zeros(1, 1) : null);
            Tensor sample;
            try
            {
                sample = generator.Forward(probe);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{Kind} '{name}': the generator does not take a latent vector of {LatentDim}{(classes > 0 ? " and a class label [1]" : "")}: {e.Message}", e);
            }
            if (discriminator.InputShapes is { Count: > 0 } dShapes && dShapes[0] != new Shape(sample.Shape.Dims[1..]))
                throw new ArgumentException($"{Kind} '{name}': the generator makes samples of {new Shape(sample.Shape.Dims[1..])}, the discriminator takes {dShapes[0]}");
            Tensor logits;
            try
            {
                logits = discriminator.Forward(ConditionInputs(sample, classes > 0 ? Tensor.Zeros(1, 1) : null));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{Kind} '{name}': the generator's samples {new Shape(sample.Shape.Dims[1..])} do not fit the discriminator: {e.Message}", e);
            }
            if (logits.Shape != new Shape([1, 1]))
                throw new ArgumentException($"{Kind} '{name}': the discriminator must give one logit per sample ([batch, 1]), it gives {new Shape(logits.Shape.Dims[1..])}");
            SampleShape = new Shape(sample.Shape.Dims[1..]);
        }
        _layers = [.. generator.Layers, .. discriminator.Layers];
        if (_layers.Distinct(ReferenceEqualityComparer.Instance).Count() != _layers.Length)
            throw new ArgumentException($"{Kind} '{name}': the generator and the discriminator share a layer; each network needs its own");
    }

    private string Kind => GetType().Name;

    private static void CheckInputCount(string part, Model model, int expected, string what)
    {
        if (model.InputCount != expected)
            throw new ArgumentException($"Gan: the {part} must take {what} ({expected} input{(expected == 1 ? "" : "s")}), it has {model.InputCount}");
    }

    /// <summary>Maps latent vectors to samples.</summary>
    public Model Generator { get; }

    /// <summary>Maps samples to one logit each (high: real).</summary>
    public Model Discriminator { get; }

    /// <summary>The size of a latent vector.</summary>
    public int LatentDim { get; }

    /// <summary>The number of classes a conditional GAN generates; 0 for an unconditional one.</summary>
    public int Classes { get; }

    /// <summary>The shape of one generated sample (without the batch axis).</summary>
    public Shape SampleShape { get; }

    /// <summary>Updates the discriminator; set by <see cref="Compile(Optimizer, Optimizer, Loss?, float)"/>.</summary>
    public Optimizer? DiscriminatorOptimizer { get; private set; }

    /// <summary>Updates the generator; set by <see cref="Compile(Optimizer, Optimizer, Loss?, float)"/>.</summary>
    public Optimizer? GeneratorOptimizer { get; private set; }

    /// <summary>The adversarial loss on the discriminator's logits.</summary>
    public Loss? AdversarialLoss { get; private set; }

    /// <summary>One-sided label smoothing: real samples are labelled 1 − this in the discriminator's update (generated ones stay 0).</summary>
    public float LabelSmoothing { get; private set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Runs the generator.</summary>
    public override Tensor Forward(Tensor x, bool training = false) => Generator.Forward(x, training);

    /// <summary>Runs the generator (a conditional one on [latent vectors, labels]).</summary>
    public override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training = false) => Generator.Forward(inputs, training);

    /// <summary>The latent draws of every training step (saved with the model, so a resumed run draws what the uninterrupted one would).</summary>
    internal Rng Noise => _noise;

    /// <summary>
    /// Chooses the two optimizers and the adversarial loss (default: binary cross-entropy on logits,
    /// as in the DCGAN papers; the discriminator's last layer is then linear).
    /// </summary>
    /// <param name="discriminatorOptimizer">Updates the discriminator (DCGAN: Adam 2e-4, β1 = 0.5).</param>
    /// <param name="generatorOptimizer">Updates the generator; its own object.</param>
    /// <param name="loss">The adversarial loss on logits; binary cross-entropy when null.</param>
    /// <param name="labelSmoothing">One-sided label smoothing in [0, 1): real samples count as 1 − this for the discriminator.</param>
    /// <exception cref="ArgumentException">The same optimizer object for both networks (it would share its step count and slots), or a smoothing outside [0, 1).</exception>
    public void Compile(Optimizer discriminatorOptimizer, Optimizer generatorOptimizer, Loss? loss = null, float labelSmoothing = 0)
    {
        ArgumentNullException.ThrowIfNull(discriminatorOptimizer);
        ArgumentNullException.ThrowIfNull(generatorOptimizer);
        if (ReferenceEquals(discriminatorOptimizer, generatorOptimizer))
            throw new ArgumentException($"{Kind}.Compile: give each network its own optimizer object (one object would mix their step counts and moments)");
        if (!(labelSmoothing >= 0 && labelSmoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"{Kind}.Compile: label smoothing must be in [0, 1), got {labelSmoothing}");
        DiscriminatorOptimizer = discriminatorOptimizer;
        GeneratorOptimizer = generatorOptimizer;
        AdversarialLoss = loss ?? new BinaryCrossentropy(fromLogits: true);
        LabelSmoothing = labelSmoothing;
        InvalidatePlans();
    }

    private protected override bool IsCompiled => DiscriminatorOptimizer is not null;

    private protected override string CompileHint => "call Compile(discriminatorOptimizer, generatorOptimizer)";

    internal override IReadOnlyList<(string Prefix, Optimizer Optimizer, IReadOnlyList<Weight> Weights)> OptimizerGroups() =>
        DiscriminatorOptimizer is null ? [] :
        [("discriminator/", DiscriminatorOptimizer, [.. Discriminator.Weights]), ("generator/", GeneratorOptimizer!, [.. Generator.Weights])];

    /// <summary>Trains on unlabelled real samples (the targets Fit needs are not read by an unconditional GAN).</summary>
    public History Fit(Tensor x, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        IEnumerable<Callback>? callbacks = null, bool verbose = false, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Classes > 0)
            throw new InvalidOperationException($"{Kind}.Fit: a conditional GAN trains on samples and their class labels; call Fit(x, labels, ...)");
        if (x.Rank < 1)
            throw new ArgumentException($"{Kind}.Fit: expected a batch of samples, got a scalar");
        return Fit(x, Tensor.Zeros(x.Shape[0]), epochs, batchSize, shuffle, seed, callbacks: callbacks, verbose: verbose, initialEpoch: initialEpoch);
    }

    /// <summary>
    /// One adversarial step on a batch of real samples: the discriminator on generated samples
    /// (labelled 0) and the real ones (labelled 1 − <see cref="LabelSmoothing"/>), then the generator
    /// on fresh latent vectors, its loss the discriminator calling them real. A loss that turns NaN or
    /// infinite stops training (<see cref="Model.StopReason"/> says where).
    /// </summary>
    public override Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null)
    {
        if (!IsCompiled)
            throw new InvalidOperationException($"{Kind} '{Name}': {CompileHint} before training");
        if (x.Length != 1)
            throw new ArgumentException($"{Kind}.TrainStep: expected one batch of real samples, got {x.Length} arrays");
        if (x[0].Shape.Rank < 1 || new Shape(x[0].Shape.Dims[1..]) != SampleShape)
            throw new ArgumentException($"{Kind}.TrainStep: real samples must be [batch, {string.Join(", ", SampleShape.ToArray())}] like the generator's, got {x[0].Shape}");
        var labels = StepLabels(x[0], y);
        Tensor[] batch = labels is null ? [x[0]] : [x[0], labels];
        var logs = TracedStep("gan", batch, inputs => AdversarialStep(inputs[0], labels is null ? null : inputs[1]));
        foreach (var key in (ReadOnlySpan<string>)["d_loss", "g_loss"])
        {
            if (logs.TryGetValue(key, out float v) && !float.IsFinite(v) && !StopTraining)
            {
                StopTraining = true;
                StopReason = $"{Kind} '{Name}': {(key == "d_loss" ? "the discriminator" : "the generator")} loss became {v} in epoch {CompletedEpochs + 1}; training stopped (a checkpoint keeps the last state saved before it)";
            }
        }
        return logs;
    }

    /// <summary>The class labels of a batch as [batch, 1] for a conditional GAN; null for an unconditional one.</summary>
    private protected virtual Tensor? StepLabels(Tensor x, Tensor y) => null;

    /// <summary>The generator's or discriminator's inputs: the tensor, with the labels for a conditional GAN.</summary>
    private protected static Tensor[] ConditionInputs(Tensor x, Tensor? labels) => labels is null ? [x] : [x, labels];

    private Dictionary<string, Tensor> AdversarialStep(Tensor real, Tensor? labels) => new()
    {
        ["d_loss"] = DiscriminatorUpdate(real, labels),
        ["g_loss"] = GeneratorUpdate(real.Shape[0], labels),
    };

    /// <summary>
    /// The discriminator's update, written with ops (so a traced step records it): generated samples
    /// (no gradient to the generator) labelled 0 and the real ones 1 − <see cref="LabelSmoothing"/>, in
    /// one batch; only the discriminator's weights are updated. Returns the loss.
    /// </summary>
    /// <param name="real">A batch of real samples.</param>
    /// <param name="labels">Their classes ([batch, 1]) for a conditional GAN; null otherwise.</param>
    protected Tensor DiscriminatorUpdate(Tensor real, Tensor? labels)
    {
        ArgumentNullException.ThrowIfNull(real);
        int b = real.Shape[0];
        var dParams = Discriminator.TrainableWeights.Select(w => w.Value).ToArray();
        var fake = Generator.Forward(ConditionInputs(Tensor.RandomNormal([b, LatentDim], _noise), labels), training: true).Detach();
        var both = Tensor.Concat([fake, real]);
        var logits = Discriminator.Forward(ConditionInputs(both, labels is null ? null : Tensor.Concat([labels, labels])), training: true);
        var targets = Tensor.Concat([Tensor.Zeros(b, 1), Tensor.Full(1 - LabelSmoothing, b, 1)]);
        var dLoss = AdversarialLoss!.Compute(targets, logits);
        DiscriminatorOptimizer!.ApplyGradients(ComputeGradients(dLoss, dParams).Zip(dParams));
        return dLoss;
    }

    /// <summary>
    /// The generator's update, written with ops: <paramref name="batch"/> fresh latent vectors, the
    /// loss the discriminator calling their samples real; the gradient flows through the discriminator,
    /// whose weights this update leaves unchanged. Returns the loss.
    /// </summary>
    /// <param name="batch">How many samples to generate.</param>
    /// <param name="labels">The classes to generate ([batch, 1]) for a conditional GAN; null otherwise.</param>
    protected Tensor GeneratorUpdate(int batch, Tensor? labels)
    {
        var gParams = Generator.TrainableWeights.Select(w => w.Value).ToArray();
        var generated = Generator.Forward(ConditionInputs(Tensor.RandomNormal([batch, LatentDim], _noise), labels), training: true);
        var gLogits = Discriminator.Forward(ConditionInputs(generated, labels), training: true);
        var gLoss = AdversarialLoss!.Compute(Tensor.Ones(batch, 1), gLogits);
        GeneratorOptimizer!.ApplyGradients(ComputeGradients(gLoss, gParams).Zip(gParams));
        return gLoss;
    }

    /// <summary>Latent vectors drawn from N(0, 1): [count, <see cref="LatentDim"/>], the same for the same seed.</summary>
    public Tensor SampleLatent(int count, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return Tensor.RandomNormal([count, LatentDim], seed: seed);
    }

    /// <summary>Samples from latent vectors [count, <see cref="LatentDim"/>] (inference mode: batch norm uses its moving statistics).</summary>
    /// <exception cref="ArgumentException">The latent vectors are not [count, LatentDim].</exception>
    public Tensor Generate(Tensor latent)
    {
        CheckLatent(latent);
        if (Classes > 0)
            throw new InvalidOperationException($"{Kind} '{Name}': a conditional GAN generates the class it is asked for; call Generate(latent, classes)");
        return Generator.Predict(latent);
    }

    /// <summary><paramref name="count"/> samples from latent vectors drawn with <paramref name="seed"/>.</summary>
    public Tensor Generate(int count, ulong seed = 0) => Generate(SampleLatent(count, seed));

    private protected void CheckLatent(Tensor latent)
    {
        ArgumentNullException.ThrowIfNull(latent);
        if (latent.Rank != 2 || latent.Shape[1] != LatentDim || latent.Shape[0] == 0)
            throw new ArgumentException($"{Kind}.Generate: latent vectors must be [count, {LatentDim}], got {latent.Shape}");
    }

    /// <summary>Loads a GAN saved with <see cref="Model.Save"/> (both networks; the optimizers and training state when <paramref name="compile"/>).</summary>
    /// <exception cref="InvalidDataException">The file holds another kind of model.</exception>
    public static new Gan Load(string path, bool compile = true) =>
        Model.Load(path, compile) as Gan ?? throw new InvalidDataException($"{path}: the file holds a model that is not a GAN; load it with Model.Load");
}

/// <summary>
/// A conditional GAN: both networks also take the class label (a [batch, 1] input holding the class
/// index, e.g. into an Embedding), so the generator makes the class it is asked for. Fit takes the
/// real samples and their labels; each step generates samples of the batch's own labels.
/// </summary>
public sealed class ConditionalGan : Gan
{
    /// <param name="generator">Inputs [latent vector, class label]; output a sample.</param>
    /// <param name="discriminator">Inputs [sample, class label]; output [batch, 1] logits.</param>
    /// <param name="classes">The number of classes (labels 0 … classes − 1).</param>
    /// <param name="latentDim">The latent size; read from the generator's first input when null.</param>
    /// <param name="seed">Seeds the latent draws.</param>
    /// <param name="name">Model name.</param>
    public ConditionalGan(Model generator, Model discriminator, int classes, int? latentDim = null, ulong seed = 0, string? name = null)
        : base(generator, discriminator, latentDim, classes >= 1 ? classes : throw new ArgumentOutOfRangeException(nameof(classes), $"ConditionalGan: needs at least 1 class, got {classes}"), seed, name ?? "conditional_gan")
    {
    }

    private protected override Tensor? StepLabels(Tensor x, Tensor y)
    {
        if (y.Size != x.Shape[0] || (y.Rank != 1 && !(y.Rank == 2 && y.Shape[1] == 1)))
            throw new ArgumentException($"ConditionalGan.TrainStep: expected one class label per sample ([{x.Shape[0]}] or [{x.Shape[0]}, 1]), got {y.Shape}");
        CheckLabels("ConditionalGan.TrainStep", y.Span);
        return y.Rank == 2 ? y : y.Reshape([x.Shape[0], 1]);
    }

    private void CheckLabels(string op, ReadOnlySpan<float> labels)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            float c = labels[i];
            if (!(c >= 0 && c < Classes) || c != MathF.Floor(c))
                throw new ArgumentException($"{op}: label {i} is {c}; the classes are 0 … {Classes - 1}");
        }
    }

    /// <summary>Samples of the requested classes (one label per latent vector).</summary>
    /// <exception cref="ArgumentException">A class outside 0 … Classes − 1, or counts that differ.</exception>
    public Tensor Generate(Tensor latent, ReadOnlySpan<int> classes)
    {
        CheckLatent(latent);
        if (classes.Length != latent.Shape[0])
            throw new ArgumentException($"ConditionalGan.Generate: {latent.Shape[0]} latent vectors but {classes.Length} classes");
        var labels = new float[classes.Length];
        for (int i = 0; i < classes.Length; i++)
            labels[i] = classes[i];
        CheckLabels("ConditionalGan.Generate", labels);
        return Generator.Predict([latent, Tensor.FromArray(labels).Reshape([classes.Length, 1])]);
    }

    /// <summary><paramref name="count"/> samples of one class from latent vectors drawn with <paramref name="seed"/>.</summary>
    public Tensor Generate(int count, int digit, ulong seed = 0)
    {
        if (digit < 0 || digit >= Classes)
            throw new ArgumentOutOfRangeException(nameof(digit), $"ConditionalGan.Generate: class {digit} is outside 0 … {Classes - 1}");
        return Generate(SampleLatent(count, seed), Enumerable.Repeat(digit, count).ToArray());
    }

    /// <summary>Trains on real samples and their class labels (0 … Classes − 1).</summary>
    public History Fit(Tensor x, Tensor labels, int epochs = 1, int batchSize = 32, bool shuffle = true, ulong seed = 0,
        IEnumerable<Callback>? callbacks = null, bool verbose = false, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(labels);
        CheckLabels("ConditionalGan.Fit", labels.Span);
        return base.Fit(x, labels, epochs, batchSize, shuffle, seed, callbacks: callbacks, verbose: verbose, initialEpoch: initialEpoch);
    }
}

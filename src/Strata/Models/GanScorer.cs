using Strata.Layers;
using Strata.Metrics;

namespace Strata.Models;

/// <summary>
/// Measures generated images with a trained classifier: the classifier score (the Inception-score
/// formula), the Fréchet distance of the classifier's penultimate features to those of real images
/// (the FID formula) and, for a conditional generator, how often the classifier sees the requested
/// class. <see cref="LoadMnist"/> gives the classifier shipped for MNIST:
/// <code>
/// var scorer = GanScorer.LoadMnist();
/// scorer.SetReference(Mnist.Load(dir, train: false).Images);
/// GanScores s = scorer.Score(generated, requestedDigits); // s.ClassifierScore, s.FrechetDistance, s.ClassAccuracy
/// </code>
/// </summary>
/// <remarks>
/// The classifier must be a <see cref="Sequential"/> whose last layer is a <see cref="Dense"/> with the
/// softmax activation (or a linear Dense followed by a softmax <see cref="Activation"/>) over flat
/// features: the features are that Dense's input, computed by running every layer before it. Inference
/// runs in batches of <see cref="BatchSize"/> with gradient recording off.
/// </remarks>
public sealed class GanScorer
{
    /// <summary>The images classified per batch.</summary>
    public const int BatchSize = 256;

    /// <summary>The file name of the shipped MNIST classifier in data/mnist.</summary>
    public const string MnistClassifierFileName = "classifier.strata";

    private const string Op = "GanScorer";
    private readonly IReadOnlyList<Layer> _layers;
    private readonly int _head; // the index of the final Dense: layers [0, _head) make the features
    private FeatureStatistics? _reference;

    /// <param name="classifier">A trained, built classifier as described in the remarks.</param>
    /// <exception cref="ArgumentException">The model is not a Sequential ending in a softmax Dense over flat features, or is not built.</exception>
    public GanScorer(Model classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (classifier is not Sequential)
            throw new ArgumentException($"{Op}: the classifier must be a Sequential model ending in a softmax Dense, got {classifier.GetType().Name} '{classifier.Name}'", nameof(classifier));
        var layers = classifier.Layers;
        _head = FindHead(classifier.Name, layers);
        if (!layers[0].Built)
            throw new ArgumentException($"{Op}: the classifier '{classifier.Name}' is not built (begin it with an Input layer, or build it, before scoring)", nameof(classifier));
        var dense = (Dense)layers[_head];
        if (!dense.Built || dense.InputShape.Rank != 1)
            throw new ArgumentException($"{Op}: the final Dense '{dense.Name}' of '{classifier.Name}' must take flat features [batch, d]; its input is {(dense.Built ? $"[batch, {string.Join(", ", dense.InputShape.ToArray())}]" : "not built")}", nameof(classifier));
        if (dense.Units < 2)
            throw new ArgumentException($"{Op}: the classifier '{classifier.Name}' must score at least 2 classes, its final Dense '{dense.Name}' has {dense.Units} unit", nameof(classifier));
        Classifier = classifier;
        _layers = layers;
        InputShape = layers[0].InputShape;
        FeatureDimension = dense.InputShape[0];
        Classes = dense.Units;
    }

    /// <summary>The classifier.</summary>
    public Model Classifier { get; }

    /// <summary>One image's shape as the classifier takes it (the shipped MNIST classifier: [28, 28]).</summary>
    public Shape InputShape { get; }

    /// <summary>The length of a feature vector (the final Dense's input).</summary>
    public int FeatureDimension { get; }

    /// <summary>The number of classes the classifier scores.</summary>
    public int Classes { get; }

    /// <summary>
    /// The statistics of real images that <see cref="Score"/> measures the Fréchet distance to; null
    /// (no distance) until set, here or through <see cref="SetReference"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Set to statistics whose dimension is not <see cref="FeatureDimension"/>.</exception>
    public FeatureStatistics? Reference
    {
        get => _reference;
        set
        {
            if (value is not null)
            {
                value.Validate($"{Op}.Reference", "given");
                if (value.Dimension != FeatureDimension)
                    throw new ArgumentException($"{Op}.Reference: the classifier's features have {FeatureDimension} dimensions, the statistics given have {value.Dimension}", nameof(value));
            }
            _reference = value;
        }
    }

    /// <summary>
    /// Sets <see cref="Reference"/> to the feature statistics of real images (for MNIST, the test set).
    /// </summary>
    /// <param name="realImages">At least 2 images, as <see cref="Score"/> takes them.</param>
    /// <exception cref="ArgumentException">As <see cref="Score"/>, or fewer than 2 images.</exception>
    public void SetReference(Tensor realImages)
    {
        var (_, features) = Classify(realImages);
        if (features.Shape[0] < 2)
            throw new ArgumentException($"{Op}.SetReference: reference statistics need at least 2 images, got {features.Shape[0]}", nameof(realImages));
        Reference = FeatureStatistics.Of(features);
    }

    /// <summary>
    /// Scores a set of images: the classifier score, the Fréchet distance to <see cref="Reference"/> (when
    /// set) and, when <paramref name="requested"/> is given, the fraction classified as requested.
    /// </summary>
    /// <param name="images">[n, ...] images in the classifier's input range [0, 1] (a tanh generator's output
    /// needs (x + 1)/2 first): [n, 28, 28], [n, 28, 28, 1] or [n, 784] for MNIST — any shape with as many
    /// values per image as <see cref="InputShape"/>, read row-major.</param>
    /// <param name="requested">The class each image was generated for (n values), or empty.</param>
    /// <exception cref="ArgumentException">Images of the wrong size, values outside [0, 1], fewer than 2 images with a
    /// reference set, or requested classes of the wrong length or outside [0, <see cref="Classes"/>).</exception>
    public GanScores Score(Tensor images, ReadOnlySpan<int> requested = default)
    {
        var (probabilities, features) = Classify(images);
        int n = probabilities.Shape[0];
        if (!requested.IsEmpty && requested.Length != n)
            throw new ArgumentException($"{Op}.Score: expected {n} requested classes (one per image), got {requested.Length}", nameof(requested));
        double? distance = null;
        if (_reference is not null)
        {
            if (n < 2)
                throw new ArgumentException($"{Op}.Score: a Fréchet distance needs at least 2 images, got {n}", nameof(images));
            distance = GenerativeScores.FrechetDistance(FeatureStatistics.Of(features), _reference);
        }
        double? accuracy = requested.IsEmpty ? null : GenerativeScores.ClassAgreement(probabilities, requested);
        return new GanScores(GenerativeScores.ClassifierScore(probabilities), distance, accuracy, n);
    }

    /// <summary>
    /// The classifier's outputs for a set of images: the class probabilities [n, <see cref="Classes"/>] and the
    /// penultimate features [n, <see cref="FeatureDimension"/>], in batches of <see cref="BatchSize"/>, in inference
    /// mode and without recording gradients.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Score"/>.</exception>
    public (Tensor Probabilities, Tensor Features) Classify(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int per = InputShape.Size;
        if (images.Rank < 2 || images.Shape[0] < 1 || images.Size / images.Shape[0] != per)
            throw new ArgumentException($"{Op}: expected images [n, {string.Join(", ", InputShape.ToArray())}] (or any [n, ...] with {per} values per image) for classifier '{Classifier.Name}', got {images.Shape}", nameof(images));
        int n = images.Shape[0];
        var pixels = images.Span;
        for (int i = 0; i < pixels.Length; i++)
        {
            // NOTE: !(v >= 0 && v <= 1) also catches NaN. A small overshoot is rounding, not a wrong range.
            float v = pixels[i];
            if (!(v >= -1e-3f && v <= 1 + 1e-3f))
                throw new ArgumentException($"{Op}: image {i / per} holds the value {v}; expected pixels in [0, 1], the classifier's input range (rescale a tanh generator's output with (x + 1) / 2)", nameof(images));
        }

        var probabilities = new float[n * Classes];
        var features = new float[n * FeatureDimension];
        using (GradMode.Disable())
        {
            for (int start = 0; start < n; start += BatchSize)
            {
                int len = Math.Min(BatchSize, n - start);
                var x = Tensor.FromArray(pixels.Slice(start * per, len * per), [len, .. InputShape.ToArray()]);
                Tensor? mask = null;
                for (int l = 0; l < _head; l++)
                    x = _layers[l].Forward(x, mask, training: false, out mask);
                x.Span.CopyTo(features.AsSpan(start * FeatureDimension, len * FeatureDimension));
                for (int l = _head; l < _layers.Count; l++)
                    x = _layers[l].Forward(x, mask, training: false, out mask);
                x.Span.CopyTo(probabilities.AsSpan(start * Classes, len * Classes));
            }
        }
        return (Tensor.Wrap(probabilities, new Shape(n, Classes)), Tensor.Wrap(features, new Shape(n, FeatureDimension)));
    }

    /// <summary>
    /// A scorer over the MNIST classifier shipped in the repository (data/mnist/classifier.strata: the seed CNN
    /// trained by tools/make-mnist-classifier.cs; see data/mnist/README.md for its test accuracy and hash).
    /// </summary>
    /// <param name="path">The classifier file or the folder holding it; null looks for data/mnist upwards from the working
    /// folder and from the program's folder (as in a clone of the repository).</param>
    /// <exception cref="FileNotFoundException">No classifier there (or none found).</exception>
    /// <exception cref="InvalidDataException">The file is not a valid model file.</exception>
    public static GanScorer LoadMnist(string? path = null)
    {
        string file = path is null ? FindShippedMnistClassifier() : Directory.Exists(path) ? Path.Combine(path, MnistClassifierFileName) : path;
        if (!File.Exists(file))
            throw new FileNotFoundException($"{Op}.LoadMnist: '{file}' does not exist", file);
        return new GanScorer(Model.Load(file, compile: false));
    }

    private static string FindShippedMnistClassifier()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "mnist", MnistClassifierFileName);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        throw new FileNotFoundException($"{Op}.LoadMnist: data/mnist/{MnistClassifierFileName} (shipped in the Strata repository) was not found above the working folder; run from the repository, or pass its path");
    }

    /// <summary>The index of the Dense that computes the class scores (see the remarks).</summary>
    private static int FindHead(string model, IReadOnlyList<Layer> layers)
    {
        if (layers.Count > 0 && layers[^1] is Dense last && last.Activation.Equals(ActivationFunction.Softmax))
            return layers.Count - 1;
        if (layers.Count > 1 && layers[^1] is Activation act && act.Function.Equals(ActivationFunction.Softmax)
            && layers[^2] is Dense linear && linear.Activation.Equals(ActivationFunction.Linear))
            return layers.Count - 2;
        string ending = layers.Count == 0 ? "no layers"
            : $"its last layer is {Describe(layers[^1])}";
        throw new ArgumentException($"{Op}: the classifier '{model}' must end in a Dense with the softmax activation (its input is taken as the features); {ending}", "classifier");
    }

    private static string Describe(Layer layer) => layer switch
    {
        Dense d => $"Dense '{d.Name}' with activation {d.Activation.Name}",
        Activation a => $"Activation '{a.Name}' ({a.Function.Name})",
        _ => $"{layer.GetType().Name} '{layer.Name}'",
    };
}

using Strata.Data;
using Strata.Layers;
using Strata.Metrics;
using Strata.Models;

namespace Strata.Tests.Models;

/// <summary>The shipped MNIST classifier and the real test set, classified once for all the tests.</summary>
public sealed class MnistScorerFixture
{
    public MnistScorerFixture()
    {
        Scorer = GanScorer.LoadMnist(RepoPaths.Mnist);
        (Images, Labels) = Mnist.Load(RepoPaths.Mnist, train: false);
        (Probabilities, Features) = Scorer.Classify(Images);
        Reference = FeatureStatistics.Of(Features);
    }

    public GanScorer Scorer { get; }
    public Tensor Images { get; }
    public int[] Labels { get; }
    public Tensor Probabilities { get; }
    public Tensor Features { get; }
    public FeatureStatistics Reference { get; }

    /// <summary>Test image 0 (a 7) repeated <paramref name="n"/> times.</summary>
    public Tensor Constant(int n)
    {
        var one = Images.Span[..784];
        var x = new float[n * 784];
        for (int i = 0; i < n; i++)
            one.CopyTo(x.AsSpan(i * 784));
        return Tensor.FromArray(x, n, 28, 28);
    }
}

/// <summary>
/// GanScorer on the shipped classifier (data/mnist/classifier.strata, made by tools/make-mnist-classifier.cs):
/// its accuracy, the scores of real and degenerate image sets, and the shapes of model and input it refuses.
/// The figures in the comments were measured with that file (see data/mnist/README.md).
/// </summary>
public sealed class GanScorerTests(MnistScorerFixture fx) : IClassFixture<MnistScorerFixture>
{
    [Fact]
    public void The_shipped_classifier_loads_and_reaches_99_percent_on_the_test_set()
    {
        Assert.Equal([28, 28], fx.Scorer.InputShape.ToArray());
        Assert.Equal(64, fx.Scorer.FeatureDimension); // the input of the final Dense(10, softmax): Dense(64, relu)'s output
        Assert.Equal(10, fx.Scorer.Classes);
        Assert.Equal(Mnist.ClassNames, fx.Scorer.Classifier.ClassNames);
        // Measured: 99.30%.
        double accuracy = GenerativeScores.ClassAgreement(fx.Probabilities, fx.Labels);
        Assert.True(accuracy >= 0.99, $"test accuracy {accuracy:P2}");
        // The layer-by-layer pass that also yields the features gives the model's own outputs (Predict's planned path).
        var predicted = fx.Scorer.Classifier.Predict(fx.Images, batchSize: 256);
        Assert.Equal(fx.Probabilities.Shape, predicted.Shape);
        float worst = 0;
        for (int i = 0; i < predicted.Size; i++)
            worst = Math.Max(worst, Math.Abs(predicted.Span[i] - fx.Probabilities.Span[i]));
        Assert.True(worst < 1e-5f, $"Classify and Predict differ by up to {worst}");
        // Found without a path too, upwards from the test binaries (inside the repository).
        Assert.Equal(64, GanScorer.LoadMnist().FeatureDimension);
    }

    [Fact]
    public void Real_test_images_score_near_ten_classes()
    {
        // Measured: 9.8891 over all 10,000; 9.8669 ± 0.0652 over 10 splits of 1,000.
        double score = GenerativeScores.ClassifierScore(fx.Probabilities);
        Assert.True(score >= 9.5 && score <= 10, $"classifier score {score}");
        var (mean, std) = GenerativeScores.ClassifierScore(fx.Probabilities, splits: 10);
        Assert.True(mean >= 9.5 && std < 0.2, $"10 splits: {mean} ± {std}");
    }

    [Fact]
    public void Real_test_images_are_close_to_each_other_and_far_from_a_repeated_image()
    {
        // Measured on the 64 features (Tr Σ of the test set 650.5): even vs odd indices 2.16; the first 5,000 test
        // images (from NIST's SD-3, written by Census staff) vs the last 5,000 (SD-1, by students) 28.06, a real
        // shift of writers that a random split does not show; one image repeated 1,224.6.
        double evenOdd = GenerativeScores.FrechetDistance(Rows(fx.Features, 0, 2), Rows(fx.Features, 1, 2));
        double halves = GenerativeScores.FrechetDistance(fx.Features.Slice(0..5000), fx.Features.Slice(5000..));
        Assert.True(evenOdd < 5, $"FD(even, odd) = {evenOdd}");
        Assert.True(halves < 50 && halves > evenOdd, $"FD(test[:5000], test[5000:]) = {halves}, FD(even, odd) = {evenOdd}");

        var scorer = GanScorer.LoadMnist(RepoPaths.Mnist);
        scorer.Reference = fx.Reference;
        var constant = scorer.Score(fx.Constant(500), Enumerable.Repeat(fx.Labels[0], 500).ToArray());
        Assert.Equal(500, constant.Count);
        Assert.Equal(1.0, constant.ClassifierScore, 6); // every row the same distribution: KL to the mean is 0
        Assert.True(constant.FrechetDistance > 20 * halves, $"FD of one repeated image {constant.FrechetDistance}, of the two halves {halves}");
        Assert.Equal(1.0, constant.ClassAccuracy); // test image 0 is a 7, classified as one
    }

    [Fact]
    public void Scoring_the_test_set_with_its_labels_gives_the_classifier_accuracy()
    {
        var scorer = GanScorer.LoadMnist(RepoPaths.Mnist);
        var none = scorer.Score(fx.Images.Slice(0..300));
        Assert.Null(none.FrechetDistance); // no reference yet
        Assert.Null(none.ClassAccuracy); // no requested classes
        scorer.Reference = fx.Reference;
        var scores = scorer.Score(fx.Images.Reshape(10_000, 28, 28, 1), fx.Labels); // the [n, 28, 28, 1] layout is taken too
        Assert.Equal(10_000, scores.Count);
        // The labels as requested classes: the fraction whose argmax of the model's own Predict output is the label.
        var predicted = fx.Scorer.Classifier.Predict(fx.Images.Slice(0..2000), batchSize: 256);
        int right = 0;
        for (int i = 0; i < 2000; i++)
        {
            var row = predicted.Span.Slice(i * 10, 10);
            int best = 0;
            for (int j = 1; j < 10; j++)
                best = row[j] > row[best] ? j : best;
            right += best == fx.Labels[i] ? 1 : 0;
        }
        Assert.Equal(right / 2000.0, scorer.Score(fx.Images.Slice(0..2000), fx.Labels.AsSpan(0, 2000)).ClassAccuracy);
        Assert.True(scores.ClassAccuracy >= 0.99, $"class accuracy {scores.ClassAccuracy}");
        Assert.Equal(GenerativeScores.ClassifierScore(fx.Probabilities), scores.ClassifierScore, 9);
        Assert.True(scores.FrechetDistance < 1e-6, $"FD of the reference set to itself {scores.FrechetDistance}");
    }

    [Fact]
    public void SetReference_computes_the_feature_statistics_of_real_images()
    {
        var scorer = GanScorer.LoadMnist(RepoPaths.Mnist);
        scorer.SetReference(fx.Images.Slice(0..300));
        Assert.Equal(300, scorer.Reference!.Count);
        var direct = FeatureStatistics.Of(fx.Features.Slice(0..300));
        Assert.Equal(direct.Mean, scorer.Reference.Mean);
        Assert.Equal(direct.Covariance, scorer.Reference.Covariance);
        scorer.Reference = null;
        Assert.Null(scorer.Score(fx.Images.Slice(0..10)).FrechetDistance);
        var wrong = Assert.Throws<ArgumentException>(() => scorer.Reference = FeatureStatistics.Of(Tensor.RandomUniform([10, 32], 0, 1, 1)));
        Assert.Contains("64 dimensions", wrong.Message);
        Assert.Contains("have 32", wrong.Message);
        Assert.Throws<ArgumentException>(() => scorer.SetReference(fx.Images.Slice(0..1)));
    }

    [Fact]
    public void Bad_images_are_refused_with_the_shape_or_value_received()
    {
        var size = Assert.Throws<ArgumentException>(() => fx.Scorer.Score(Tensor.Zeros(3, 32, 32)));
        Assert.Contains("expected images [n, 28, 28]", size.Message);
        Assert.Contains("784 values per image", size.Message);
        Assert.Contains("got [3, 32, 32]", size.Message);
        Assert.Throws<ArgumentException>(() => fx.Scorer.Score(Tensor.Zeros(3, 28, 28, 3)));
        Assert.Throws<ArgumentException>(() => fx.Scorer.Score(Tensor.Zeros(784)));
        var tanh = Assert.Throws<ArgumentException>(() => fx.Scorer.Score(Tensor.Full(-1f, 2, 28, 28)));
        Assert.Contains("image 0 holds the value -1", tanh.Message);
        Assert.Contains("(x + 1) / 2", tanh.Message);
        var requested = Assert.Throws<ArgumentException>(() => fx.Scorer.Score(fx.Images.Slice(0..4), [1, 2]));
        Assert.Contains("expected 4 requested classes", requested.Message);
        var outOfRange = Assert.Throws<ArgumentException>(() => fx.Scorer.Score(fx.Images.Slice(0..2), [1, 10]));
        Assert.Contains("class 10 at position 1", outOfRange.Message);
        Assert.Throws<FileNotFoundException>(() => GanScorer.LoadMnist(Path.Combine(RepoPaths.Root, "no-such-folder", "x.strata")));
    }

    [Fact]
    public void Classifiers_without_a_final_softmax_dense_are_refused()
    {
        var relu = Assert.Throws<ArgumentException>(() => new GanScorer(new Sequential([new Input([4]), new Dense(8, "relu"), new Dense(3, "relu", name: "head")])));
        Assert.Contains("must end in a Dense with the softmax activation", relu.Message);
        Assert.Contains("Dense 'head' with activation relu", relu.Message);
        var pool = Assert.Throws<ArgumentException>(() => new GanScorer(new Sequential([new Input([6, 6, 1]), new MaxPooling2D(2, name: "pool")])));
        Assert.Contains("MaxPooling2D 'pool'", pool.Message);
        var x = Input.Create([4]);
        var functional = Assert.Throws<ArgumentException>(() => new GanScorer(new Model(x, new Dense(3, "softmax").Apply(x), name: "func")));
        Assert.Contains("must be a Sequential", functional.Message);
        Assert.Contains("'func'", functional.Message);
        var sequence = Assert.Throws<ArgumentException>(() => new GanScorer(new Sequential([new Input([5, 4]), new Dense(3, "softmax", name: "per_step")])));
        Assert.Contains("'per_step'", sequence.Message);
        Assert.Contains("flat features", sequence.Message);
        Assert.Contains("[batch, 5, 4]", sequence.Message);
    }

    [Fact]
    public void A_linear_dense_followed_by_a_softmax_activation_is_taken_too()
    {
        var model = new Sequential([new Input([4]), new Dense(8, "relu"), new Dense(3), new Activation(ActivationFunction.Softmax)], seed: 3);
        var scorer = new GanScorer(model);
        Assert.Equal(8, scorer.FeatureDimension);
        Assert.Equal(3, scorer.Classes);
        var x = Tensor.RandomUniform([600, 4], 0, 1, 4); // more than one batch of 256
        var (p, f) = scorer.Classify(x);
        Assert.Equal(model.Predict(x).ToArray(), p.ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
        Assert.Equal(model.Layers[1].Forward(x).ToArray(), f.ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
    }

    /// <summary>Rows first, first + step, ... of a [n, d] tensor.</summary>
    private static Tensor Rows(Tensor t, int first, int step)
    {
        int n = (t.Shape[0] - first + step - 1) / step, d = t.Shape[1];
        var x = new float[n * d];
        for (int k = 0; k < n; k++)
            t.Span.Slice((first + k * step) * d, d).CopyTo(x.AsSpan(k * d));
        return Tensor.FromArray(x, n, d);
    }
}

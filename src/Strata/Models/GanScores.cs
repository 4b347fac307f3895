namespace Strata.Models;

/// <summary>What <see cref="GanScorer.Score"/> measures on a set of images.</summary>
/// <param name="ClassifierScore">exp(mean KL(p(y|x) ‖ p(y))) under the scorer's classifier, from 1 to the number of
/// classes (see <see cref="Metrics.GenerativeScores.ClassifierScore(Tensor)"/>); higher is better.</param>
/// <param name="FrechetDistance">The Fréchet distance between the images' penultimate-layer features and the
/// reference's (see <see cref="Metrics.GenerativeScores.FrechetDistance(Metrics.FeatureStatistics, Metrics.FeatureStatistics)"/>);
/// lower is better; null when the scorer has no <see cref="GanScorer.Reference"/>.</param>
/// <param name="ClassAccuracy">The fraction of images the classifier assigns to the class that was requested for
/// them; null when no requested classes were given.</param>
/// <param name="Count">The number of images scored.</param>
public sealed record GanScores(double ClassifierScore, double? FrechetDistance, double? ClassAccuracy, int Count);

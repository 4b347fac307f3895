// A GAN on MNIST (the DCGAN of Radford et al., at half its default width): a generator (Dense → two stride-2
// Conv2DTranspose → Conv2D with tanh) and a discriminator (two stride-2 Conv2D → one logit), each with its own
// Adam, trained adversarially with Fit. A small budget: EPOCHS (default 3) over 4,000 training images. The
// generated digits are scored with the MNIST classifier shipped in the repository, before and after training:
// the classifier score (the Inception-score formula: 1 when every image looks like the same class, up to 10 for
// confident and varied digits) and the Fréchet distance of the classifier's features to real test images' (the
// FID formula; lower is better). Writes 64 samples to samples.png.
//
//   dotnet run -- [DATA] [EPOCHS]   DATA: the folder holding mnist/ with classifier.strata (default ../../data, the repository's)
using System.Globalization;
using Strata;
using Strata.Data;
using Strata.Models;

string mnist = Path.Combine(args.Length > 0 ? args[0] : Path.Combine("..", "..", "data"), "mnist");
int epochs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
if (!File.Exists(Path.Combine(mnist, GanScorer.MnistClassifierFileName)))
{
    Console.Error.WriteLine($"gan: no MNIST folder with {GanScorer.MnistClassifierFileName} at {Path.GetFullPath(mnist)}; pass the folder that holds mnist/");
    return 1;
}

var (digits, _) = Mnist.Load(mnist, train: true);
var (testDigits, _) = Mnist.Load(mnist, train: false);
const int count = 4_000, scored = 500;
var real = (digits.Slice(..count) * 2f - 1f).Reshape([count, 28, 28, 1]);   // the generator's tanh range, [−1, 1]

var scorer = GanScorer.LoadMnist(mnist);
scorer.SetReference(testDigits.Slice(..2_000).Reshape([2_000, 28, 28, 1])); // images in [0, 1]
Report("real test digits", scorer.Score(testDigits.Slice(2_000..(2_000 + scored)).Reshape([scored, 28, 28, 1])));

var gan = GanPresets.Dcgan(latentDim: 32, width: 16, seed: 1);              // compiled: Adam(2e-4, β1 = 0.5) for each network
var latent = gan.SampleLatent(scored, seed: 7);                             // the same latent vectors before and after
Report("before training", scorer.Score((gan.Generate(latent) + 1f) * 0.5f));

var history = gan.Fit(real, epochs: epochs, batchSize: 32, seed: 1);        // logs d_loss and g_loss
Console.WriteLine($"trained {epochs} epoch(s) on {count:N0} images: d_loss {history["d_loss"][^1]:F3}, g_loss {history["g_loss"][^1]:F3}");
Report($"after {epochs} epoch(s)", scorer.Score((gan.Generate(latent) + 1f) * 0.5f));

Images.SavePng("samples.png", Images.Grid((gan.Generate(64, seed: 3) + 1f) * 0.5f, columns: 8));
Console.WriteLine($"samples.png: 64 generated digits ({Path.GetFullPath("samples.png")})");
return 0;

static void Report(string what, GanScores s) =>
    Console.WriteLine($"{what,-20} classifier score {s.ClassifierScore,5:F2}, Fréchet distance {s.FrechetDistance,6:F1} ({s.Count:N0} images)");

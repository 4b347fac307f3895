using System.CommandLine;
using System.Globalization;

namespace Strata.Cli;

internal static partial class Commands
{
    // ------------------------------------------------------------------ gan and generate

    private static Option<float?> OptionalFloat(string name, string description, Func<float, bool> valid, string range)
    {
        var o = new Option<float?>(name) { Description = description };
        o.Validators.Add(r =>
        {
            if (Parsed<float>(r) is float v && !valid(v))
                r.AddError($"{name} must be {range}, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        return o;
    }

    private static Command GanCommand()
    {
        var conditional = new Option<bool>("--conditional") { Description = "Train the conditional DCGAN: both networks also take the digit, so the generator makes the digit it is asked for" };
        var epochs = Positive("--epochs", "Epochs to train (with --resume: the total, counting the epochs already trained)", 10);
        var output = new Option<string>("--out") { Description = "The folder for the sample grids, the scores, the checkpoint, the generator and the report (a fresh run replaces what an earlier one left there)", Required = true };
        var batch = Positive("--batch-size", "Real images per adversarial step", 64);
        batch.Aliases.Add("--batch");
        var latent = OptionalPositive("--latent", $"The latent size (default {Strata.Models.GanPresets.DefaultLatent})");
        var width = OptionalPositive("--width", $"The channel width w of both networks (default {Strata.Models.GanPresets.DefaultWidth})");
        var smoothing = OptionalFloat("--label-smoothing", "One-sided label smoothing: the discriminator learns real images as 1 − S (default 0)", v => v >= 0 && v < 1, "in [0, 1)");
        var rate = OptionalFloat("--learning-rate", $"Adam's rate for both networks (default {GanRun.DefaultLearningRate.ToString(CultureInfo.InvariantCulture)}, β1 = 0.5, as in the DCGAN paper; with --resume: replaces the saved rate)",
            v => v > 0 && float.IsFinite(v), "a positive number");
        var samples = NonNegative("--samples", "Train on the first N training images only (0: all)");
        var scoreSamples = Positive("--score-samples", "Images generated (and real test images read) for the scores after each epoch; at most half the test images", 2000);
        var seed = new Option<ulong>("--seed") { Description = "Seeds the networks, the latent draws and the shuffles (with --resume, give the --seed and --samples of the first run)", DefaultValueFactory = _ => 1UL };
        var threads = Threads();
        var data = new Option<string>("--data")
        {
            Description = "mnist (the files shipped with Strata), fashion-mnist, or a folder of MNIST-format IDX files (28×28 grey images)",
            DefaultValueFactory = _ => "mnist",
        };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out (its gan.strata checkpoint) up to --epochs" };
        var c = new Command("gan", "Train a DCGAN on MNIST: sample grids and quality scores after every epoch, loss and score curves, the generator, a checkpoint and a report")
        {
            conditional, epochs, output, batch, latent, width, smoothing, rate, samples, scoreSamples, seed, threads, data, resume,
        };
        c.SetAction(p => GanRun.Run(new GanSettings(p.GetValue(conditional), p.GetValue(epochs), p.GetValue(output)!, p.GetValue(batch),
            p.GetValue(latent), p.GetValue(width), p.GetValue(smoothing), p.GetValue(rate), p.GetValue(samples), p.GetValue(scoreSamples),
            p.GetValue(seed), p.GetValue(threads), p.GetValue(data)!, p.GetValue(resume))));
        return c;
    }

    private static Command GenerateCommand()
    {
        var model = new Argument<string>("generator") { Description = "A generator saved by `strata gan` (generator.strata), or any model from latent vectors to images" };
        var count = Positive("--count", "Images to generate (a conditional generator without --digit: about this many, a row per class)", 64);
        var digit = new Option<int?>("--digit") { Description = "A conditional generator: generate this class only" };
        var seed = new Option<ulong>("--seed") { Description = "Seeds the latent vectors", DefaultValueFactory = _ => 0UL };
        var output = new Option<string>("--out") { Description = "The PNG file for the grid of generated images", Required = true };
        var c = new Command("generate", "Generate images with a saved generator and write them as one PNG grid") { model, count, digit, seed, output };
        c.SetAction(p => GenerateRun.Run(p.GetValue(model)!, p.GetValue(count), p.GetValue(digit), p.GetValue(seed), p.GetValue(output)!));
        return c;
    }
}

using System.Globalization;
using Spectre.Console;
using Strata.Data;
using Strata.Kernels;
using Strata.Models;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Cli;

internal sealed record GanSettings(bool Conditional, int Epochs, string Out, int BatchSize, int? Latent, int? Width, float? LabelSmoothing,
    float? LearningRate, int Samples, int ScoreSamples, ulong Seed, int Threads, string Data, bool Resume);

/// <summary>MNIST-format images [n, 28, 28] in [0, 1] with their digits: the training split and the test split.</summary>
internal sealed record GanData(Tensor TrainImages, int[] TrainLabels, Tensor TestImages, int[] TestLabels, string Description);

/// <summary>
/// `strata gan`: trains the DCGAN preset (<see cref="GanPresets.Dcgan"/>) on MNIST-format images with
/// a live progress display; after every epoch a sample grid from fixed latent vectors, the quality
/// scores of <c>--score-samples</c> generated images (scores.csv) and a checkpoint (gan.strata); at the
/// end the generator alone (generator.strata), the loss and score curves and report.html. A run whose
/// loss turns NaN stops with the GAN's <see cref="Model.StopReason"/> and exit code 1; gan.strata keeps
/// the last epoch that ended with finite losses.
/// </summary>
internal static class GanRun
{
    public const float DefaultLearningRate = 2e-4f;

    /// <summary>The latent draws of the sample grids and of the scored images: fixed, so that epochs (and runs) compare on the same vectors.</summary>
    public const ulong GridSeed = 17, ScoreSeed = 23;

    public const string CheckpointFile = "gan.strata", GeneratorFile = "generator.strata", ScoresFile = "scores.csv",
        BatchLossesFile = "batch_losses.csv", SamplesFolder = "samples";

    public static int Run(GanSettings s)
    {
        KernelSettings.MaxThreads = s.Threads;
        var console = AnsiConsole.Console;
        var started = DateTime.Now;
        CheckOptions(s);
        string checkpoint = Path.Combine(s.Out, CheckpointFile);
        var (gan, initialEpoch) = CreateOrResume(s, checkpoint);
        var data = LoadData(s.Data);
        var trainImages = data.TrainImages;
        var trainLabels = data.TrainLabels;
        if (s.Samples > 0 && s.Samples < trainLabels.Length)
        {
            trainImages = trainImages.Slice(..s.Samples);
            trainLabels = trainLabels[..s.Samples];
        }
        int testCount = data.TestLabels.Length;
        if (s.ScoreSamples < 2 || s.ScoreSamples > testCount / 2)
            throw new UsageException($"--score-samples must be in [2, {testCount / 2}] (at most half of the {testCount:N0} test images: the odd-indexed half is the Fréchet reference), got {s.ScoreSamples}");

        Directory.CreateDirectory(s.Out);
        string generatorPath = Path.Combine(s.Out, GeneratorFile);
        if (initialEpoch == 0)
        {
            // A fresh run replaces what an earlier run left in the folder (GanRecord.Open: its grids and scores).
            File.Delete(checkpoint);
            File.Delete(generatorPath);
        }
        if (gan is ConditionalGan)
            gan.Generator.ClassNames = Mnist.ClassNames; // generator.strata knows its classes (`strata generate --digit`)

        var settings = new List<(string, string)>
        {
            ("model", $"{gan.Name}: {(gan is ConditionalGan ? "conditional DCGAN (the digit into both networks)" : "DCGAN")}, latent {gan.LatentDim}" +
                (initialEpoch > 0 ? $" (resumed from {checkpoint} after epoch {initialEpoch})" : "")),
            ("generator", $"{gan.Generator.Weights.Where(w => w.Trainable).Sum(w => w.Value.Size):N0} trainable parameters"),
            ("discriminator", $"{gan.Discriminator.Weights.Where(w => w.Trainable).Sum(w => w.Value.Size):N0} trainable parameters"),
            ("data", data.Description),
            ("training images", $"{trainLabels.Length:N0}"),
            ("epochs", initialEpoch > 0 ? $"{s.Epochs} (from epoch {initialEpoch + 1})" : $"{s.Epochs}"),
            ("batch size", $"{s.BatchSize}"),
            ("optimizers", string.Create(CultureInfo.InvariantCulture,
                $"Adam for each network, learning rate {gan.DiscriminatorOptimizer!.LearningRate:G4} / {gan.GeneratorOptimizer!.LearningRate:G4}")),
            ("label smoothing", gan.LabelSmoothing.ToString("0.###", CultureInfo.InvariantCulture)),
            ("scores", $"{s.ScoreSamples:N0} images per epoch; Fréchet reference: the {testCount / 2:N0} odd-indexed test images"),
            ("seed", $"{s.Seed}"),
            ("threads", $"{s.Threads}"),
            ("output", Path.GetFullPath(s.Out)),
        };
        console.Write(new Rule($"[bold]Strata gan[/]: {Markup.Escape(gan is ConditionalGan ? "a conditional DCGAN" : "a DCGAN")} on {Markup.Escape(data.Description)}").LeftJustified());
        var table = new Table().HideHeaders().Border(TableBorder.None).AddColumn("").AddColumn("");
        foreach (var (k, v) in settings)
            table.AddRow(new Text(k, new Style(Color.Grey)), new Text(v));
        console.Write(table);

        // The scale: the test set split by index parity. The odd-indexed half is the Fréchet reference; the
        // real row scores --score-samples even-indexed images against it. (Splitting at 5,000 instead
        // would compare two writer populations: MNIST's first test half comes from NIST SD-3, the second from SD-1.)
        var odd = Enumerable.Range(0, testCount / 2).Select(i => 2 * i + 1).ToArray();
        var even = Enumerable.Range(0, s.ScoreSamples).Select(i => 2 * i).ToArray();
        var scorer = GanScorer.LoadMnist(); // data/mnist/classifier.strata, found as data/mnist is
        scorer.SetReference(data.TestImages.IndexSelect(0, odd));
        var realImages = data.TestImages.IndexSelect(0, even);
        var realLabels = even.Select(i => data.TestLabels[i]).ToArray();
        var realScores = scorer.Score(realImages, gan is ConditionalGan ? realLabels : default);
        console.MarkupLine(Markup.Escape($"real test images ({s.ScoreSamples:N0}): {ScoreText(realScores, real: true)}"));

        var record = GanRecord.Open(s.Out, initialEpoch, realScores);
        var timer = new EpochTimer();
        var outputs = new GanEpochOutputs(gan, s.Out, scorer, s.ScoreSamples, trainLabels.Length, s.BatchSize, timer, record);
        var callbacks = new List<Callback> { timer, new ModelCheckpoint(checkpoint), outputs };
        var x = (trainImages * 2f - 1f).Reshape([trainLabels.Length, 28, 28, 1]);
        var y = Tensor.FromArray([.. trainLabels.Select(v => (float)v)]);
        void Fit()
        {
            if (gan is ConditionalGan cgan)
                cgan.Fit(x, y, s.Epochs, s.BatchSize, shuffle: true, s.Seed, callbacks, initialEpoch: initialEpoch);
            else
                gan.Fit(x, s.Epochs, s.BatchSize, shuffle: true, s.Seed, callbacks, initialEpoch: initialEpoch);
        }
        if (console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            console.Progress().AutoClear(false).HideCompleted(false).Columns(LiveProgress.Columns()).Start(ctx =>
            {
                callbacks.Add(new LiveProgress(ctx, s.Epochs, trainLabels.Length, s.BatchSize, timer));
                Fit();
            });
        }
        else
        {
            callbacks.Add(new PlainProgress(Console.Out, s.Epochs, trainLabels.Length, timer, s.BatchSize));
            Fit();
        }

        string? stop = gan.StopReason;
        var saved = record.Generated.Count > 0 ? record.Generated[^1].Epoch : 0;
        if (stop is null)
            gan.Generator.Save(generatorPath);
        else if (File.Exists(checkpoint) && saved > 0)
        {
            // The generator of the last good epoch, from its checkpoint.
            var good = Gan.Load(checkpoint, compile: false);
            if (good is ConditionalGan)
                good.Generator.ClassNames = Mnist.ClassNames;
            good.Generator.Save(generatorPath);
        }
        var run = new GanReportData(
            Title: $"Strata gan: {(gan is ConditionalGan ? "a conditional DCGAN" : "a DCGAN")} on {data.Description}",
            Settings: settings,
            Record: record,
            Conditional: gan is ConditionalGan,
            StopReason: stop,
            GeneratorSummary: gan.Generator.Summary(),
            DiscriminatorSummary: gan.Discriminator.Summary(),
            Started: started,
            Threads: s.Threads,
            HasGenerator: File.Exists(generatorPath));
        var html = Report.WriteGan(s.Out, run);

        console.Write(new Rule().LeftJustified());
        if (record.Generated.Count > 0)
            console.MarkupLine(Markup.Escape($"epoch {record.Generated[^1].Epoch}: {ScoreText(record.Generated[^1].Scores)}"));
        console.MarkupLine(Markup.Escape($"real test images: {ScoreText(realScores, real: true)}"));
        if (File.Exists(generatorPath))
            console.MarkupLine($"generator: [link]{Markup.Escape(Path.GetFullPath(generatorPath))}[/]");
        console.MarkupLine($"report: [link]{Markup.Escape(Path.GetFullPath(html))}[/]");
        if (stop is not null)
        {
            string kept = saved > 0 ? $"{checkpoint} keeps epoch {saved}" : "no epoch ended before it, so there is no checkpoint";
            const string libraryNote = "(a checkpoint keeps the last state saved before it)";
            Console.Error.WriteLine($"strata: {(stop.Contains(libraryNote, StringComparison.Ordinal) ? stop.Replace(libraryNote, $"({kept})", StringComparison.Ordinal) : $"{stop}; {kept}")}");
            return Commands.Failed;
        }
        return Commands.Ok;
    }

    /// <summary>Scores in words; for real images the class accuracy is against their own labels.</summary>
    public static string ScoreText(GanScores s, bool real = false)
    {
        var c = CultureInfo.InvariantCulture;
        return $"classifier score {s.ClassifierScore.ToString("0.000", c)}, Fréchet distance {(s.FrechetDistance is double f ? f.ToString("0.000", c) : "n/a")}" +
            (s.ClassAccuracy is double a ? $", read as {(real ? "their own" : "the requested")} digit {Report.Percent(a, 1)}" : "");
    }

    /// <summary>Mistakes that need no data: options that only size a new GAN given with --resume.</summary>
    private static void CheckOptions(GanSettings s)
    {
        if (!s.Resume)
            return;
        foreach (var (option, given) in new[] { ("--latent", s.Latent is not null), ("--width", s.Width is not null), ("--label-smoothing", s.LabelSmoothing is not null) })
        {
            if (given)
                throw new UsageException($"{option} sizes a new GAN; with --resume the checkpoint keeps its own");
        }
    }

    private static (Gan Gan, int InitialEpoch) CreateOrResume(GanSettings s, string checkpoint)
    {
        if (s.Resume)
        {
            if (!File.Exists(checkpoint))
                throw new FileNotFoundException($"--resume: there is no checkpoint {checkpoint} (start the run without --resume)", checkpoint);
            var loaded = Gan.Load(checkpoint);
            if (loaded.DiscriminatorOptimizer is null || loaded.CompletedEpochs == 0)
                throw new InvalidDataException($"--resume: '{checkpoint}' is not a training checkpoint (it holds no optimizer state or completed epochs)");
            if (loaded is ConditionalGan != s.Conditional)
                throw new UsageException($"--resume: '{checkpoint}' holds {(loaded is ConditionalGan ? "a conditional GAN: add --conditional" : "an unconditional GAN: drop --conditional")}");
            if (loaded.CompletedEpochs >= s.Epochs)
                throw new UsageException($"--resume: '{checkpoint}' has already trained {loaded.CompletedEpochs} epoch(s); pass --epochs greater than {loaded.CompletedEpochs}");
            if (s.LearningRate is float lr)
                loaded.DiscriminatorOptimizer.LearningRate = loaded.GeneratorOptimizer!.LearningRate = lr;
            return (loaded, loaded.CompletedEpochs);
        }
        var gan = GanPresets.Dcgan(s.Conditional, s.Latent ?? GanPresets.DefaultLatent, s.Width ?? GanPresets.DefaultWidth, s.Seed, s.LabelSmoothing ?? 0);
        if (s.LearningRate is float rate)
            gan.Compile(new Adam(rate, beta1: 0.5f), new Adam(rate, beta1: 0.5f), labelSmoothing: s.LabelSmoothing ?? 0);
        return (gan, 0);
    }

    /// <summary>--data: the shipped MNIST, Debian's Fashion-MNIST, or a folder of MNIST-format IDX files; 28×28 images.</summary>
    private static GanData LoadData(string source)
    {
        string folder, description;
        switch (source.ToLowerInvariant())
        {
            case "mnist":
                folder = DataSources.FindShippedMnist();
                description = "MNIST";
                break;
            case "fashion-mnist":
                if (!Directory.Exists(FashionMnist.DebianFolder))
                    throw new DirectoryNotFoundException($"Fashion-MNIST not found in {FashionMnist.DebianFolder}: install Debian's dataset-fashion-mnist package, or pass --data with a folder holding its IDX files");
                folder = FashionMnist.DebianFolder;
                description = "Fashion-MNIST";
                break;
            default:
                if (!Directory.Exists(source))
                    throw new DirectoryNotFoundException($"--data: '{source}' is neither mnist, fashion-mnist nor an existing folder of MNIST-format IDX files");
                folder = source;
                description = $"IDX files in {source}";
                break;
        }
        var (train, trainLabels) = Mnist.Load(folder, train: true);
        var (test, testLabels) = Mnist.Load(folder, train: false);
        foreach (var (images, split) in new[] { (train, "training"), (test, "test") })
        {
            if (images.Shape[1] != 28 || images.Shape[2] != 28)
                throw new InvalidDataException($"--data: the DCGAN presets make 28×28 images; the {split} images of {description} are {images.Shape[1]}×{images.Shape[2]}");
        }
        foreach (var label in trainLabels.Concat(testLabels))
        {
            if (label > 9)
                throw new InvalidDataException($"--data: expected digits 0–9 as labels (the conditional GAN's classes), {description} has label {label}");
        }
        return new GanData(train, trainLabels, test, testLabels, description);
    }
}

/// <summary>
/// After every epoch that ends with finite losses: the sample grid of the fixed latent vectors
/// (samples/epoch-NNN.png; 8×8, or for a conditional GAN a row per digit, the same 10 latent vectors
/// in each row), the scores of the fixed scoring draw (the digits requested evenly: image i asks for
/// i mod 10), added to the epoch's logs (score, fid, class_accuracy) and to scores.csv; per batch the
/// step's losses (batch_losses.csv). Place it after the checkpoint, so that a diverged epoch's
/// skipped checkpoint and its missing row agree.
/// </summary>
internal sealed class GanEpochOutputs : Callback
{
    private readonly Gan _gan;
    private readonly string _folder;
    private readonly GanScorer _scorer;
    private readonly EpochTimer _timer;
    private readonly GanRecord _record;
    private readonly int _samples, _batchSize, _batches;
    private readonly Tensor _gridLatent, _scoreLatent;
    private readonly int[]? _gridClasses, _scoreClasses;
    private readonly int _gridColumns;
    private int _epoch;
    private float _previousD, _previousG;

    public GanEpochOutputs(Gan gan, string folder, GanScorer scorer, int scoreSamples, int samples, int batchSize, EpochTimer timer, GanRecord record)
    {
        (_gan, _folder, _scorer, _timer, _record, _samples, _batchSize) = (gan, folder, scorer, timer, record, samples, batchSize);
        _batches = (samples + batchSize - 1) / batchSize;
        _scoreLatent = gan.SampleLatent(scoreSamples, GanRun.ScoreSeed);
        if (gan is ConditionalGan c)
        {
            var (z, labels) = SampleGrids.RowPerClass(gan.SampleLatent(10, GanRun.GridSeed), c.Classes);
            (_gridLatent, _gridClasses, _gridColumns) = (z, [.. labels.ToArray().Select(v => (int)v)], 10);
            _scoreClasses = [.. Enumerable.Range(0, scoreSamples).Select(i => i % c.Classes)];
        }
        else
        {
            (_gridLatent, _gridColumns) = (gan.SampleLatent(64, GanRun.GridSeed), 8);
        }
        Directory.CreateDirectory(Path.Combine(folder, GanRun.SamplesFolder));
    }

    /// <summary>The grid file of an epoch (1-based), relative to the run's folder.</summary>
    public static string GridFile(int epoch) => $"{GanRun.SamplesFolder}/epoch-{epoch:D3}.png";

    public override void OnEpochBegin(int epoch)
    {
        _epoch = epoch;
        _previousD = _previousG = 0;
    }

    public override void OnBatchEnd(int batch, Logs logs)
    {
        // The logs hold the epoch's running means; a batch's own loss is the change of the running sum.
        int before = Math.Min(_samples, batch * _batchSize), after = Math.Min(_samples, (batch + 1) * _batchSize);
        float d = logs.GetValueOrDefault("d_loss", float.NaN), g = logs.GetValueOrDefault("g_loss", float.NaN);
        float dBatch = (d * after - _previousD * before) / (after - before), gBatch = (g * after - _previousG * before) / (after - before);
        (_previousD, _previousG) = (d, g);
        _record.Batches.Add(new BatchLoss(_epoch + 1, batch + 1, _epoch + (batch + 1) / (double)_batches, dBatch, gBatch));
    }

    public override void OnEpochEnd(int epoch, Logs logs)
    {
        float d = logs.GetValueOrDefault("d_loss", float.NaN), g = logs.GetValueOrDefault("g_loss", float.NaN);
        if (!float.IsFinite(d) || !float.IsFinite(g))
        {
            _record.Save(); // the batches up to the divergence; no grid, no scores
            return;
        }
        SampleGrids.Save(Path.Combine(_folder, GridFile(epoch + 1)), Generate(_gridLatent, _gridClasses), _gridColumns);
        var scores = _scorer.Score(SampleGrids.ToUnitRange(Generate(_scoreLatent, _scoreClasses)), _scoreClasses);
        logs["score"] = (float)scores.ClassifierScore;
        if (scores.FrechetDistance is double f)
            logs["fid"] = (float)f;
        if (scores.ClassAccuracy is double a)
            logs["class_accuracy"] = (float)a;
        double seconds = _timer.EpochSeconds.Count > 0 ? _timer.EpochSeconds[^1] : 0;
        _record.Generated.Add(new ScoreRow(epoch + 1, d, g, scores, seconds));
        _record.Save();
    }

    private Tensor Generate(Tensor latent, int[]? classes) =>
        _gan is ConditionalGan c ? c.Generate(latent, classes) : _gan.Generate(latent);
}

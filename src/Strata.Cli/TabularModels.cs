using System.Globalization;
using Strata.Data;
using Strata.Layers;
using Strata.Models;

namespace Strata.Cli;

/// <summary>
/// The mlp preset on a CSV table, with its preprocessing saved in the model so that `strata predict` takes
/// raw rows: Input [columns] → Normalization (adapted on the training rows; text columns' indices pass
/// through) → OneHotColumns (when there are text columns) → the preset's Dense(128, relu) → Dense(64, relu)
/// → Dense(classes, softmax), or for a regression Dense(1) → Rescaling by the training labels' standard
/// deviation and mean (so that the network's last layer works on standardized targets).
/// </summary>
internal static class TabularModels
{
    /// <summary>The mlp preset for the table, and what it put in front of the preset (for the settings).</summary>
    /// <exception cref="InvalidDataException">A preset other than mlp (the message quotes the input shape).</exception>
    public static (Model Model, string Preprocessing) Create(string preset, LoadedData data, Dataset train, ulong seed)
    {
        int columns = train.SampleShape.Size;
        if (preset != "mlp")
        {
            try
            {
                Presets.Create(preset, [columns], Math.Max(2, data.ClassNames.Count), seed); // throws with the preset's own reason
            }
            catch (ArgumentException error)
            {
                throw new InvalidDataException($"model/data mismatch: {error.Message}", error);
            }
            throw new InvalidDataException($"model/data mismatch: the preset '{preset}' takes images; a table takes mlp");
        }
        var (x, y) = train.ToTensors();
        var normalization = new Normalization(name: "normalization");
        normalization.Adapt(x);
        // Text columns hold vocabulary indices, which OneHotColumns reads as they are: mean 0, variance 1. A column
        // that is constant over the training rows is centred only (its variance 0 would scale a new value by 1e7).
        var mean = normalization.Weights[0].Value.AsWritableSpan();
        var variance = normalization.Weights[1].Value.AsWritableSpan();
        int constant = 0;
        for (int c = 0; c < columns; c++)
        {
            if (data.Encoding?.Columns[c].Vocabulary is not null)
                (mean[c], variance[c]) = (0, 1);
            else if (variance[c] == 0)
                (variance[c], constant) = (1, constant + 1);
        }
        List<Layer> layers = [new Input([columns]), normalization];
        if (data.Encoding is { } encoding)
            layers.Add(encoding);
        layers.AddRange([new Dense(128, "relu"), new Dense(64, "relu")]);
        int numbers = data.Encoding?.Columns.Count(c => c.Vocabulary is null) ?? columns;
        string front = $"Normalization of the {numbers} number column(s), adapted on the {train.Count:N0} training rows" +
            (constant > 0 ? $" ({constant} constant there: centred only)" : "") +
            (data.Encoding is { } e ? $"; OneHotColumns for the {columns - numbers} text column(s) ({e.OutputWidth - numbers} values from the training split)" : "");
        if (data.Task == TaskKind.Regression)
        {
            var labels = y.ToArray();
            double m = labels.Average(v => (double)v), sd = Math.Sqrt(labels.Average(v => (v - m) * (v - m)));
            if (!(sd > 0))
                sd = 1;
            layers.AddRange([new Dense(1), new Rescaling((float)sd, (float)m, "target_scale")]);
            front += string.Create(CultureInfo.InvariantCulture, $"; output Dense(1) × {sd:G4} + {m:G4} (the training labels' standard deviation and mean)");
        }
        else
        {
            layers.Add(new Dense(data.ClassNames.Count, "softmax"));
        }
        return (new Sequential(layers, seed, "mlp"), front);
    }

    /// <summary>
    /// A CSV table as the model takes it: a resumed model's own task and text vocabularies (the file read again with
    /// them); a spec file's model as it is, which cannot take text columns.
    /// </summary>
    public static (LoadedData, Dataset, Dataset?, string?) Conform(TrainSettings s, Model model, LoadedData data, Dataset train, Dataset? validation, string? tabular)
    {
        var encoding = TabularModels.Encoding(model);
        if (s.Resume is not null)
        {
            var task = TabularModels.IsRegression(model) ? TaskKind.Regression : TaskKind.Classification;
            (data, train, validation) = TrainRun.LoadSplits(s, s.Data with { Task = task }, encoding);
            data = data with { TaskReason = "the resumed model's" };
            var front = model.Layers.Where(l => l is Normalization or OneHotColumns).Select(l => l.GetType().Name).ToList();
            tabular = front.Count > 0 ? $"the resumed model's {string.Join(" and ", front)}" : "none (the resumed model has none)";
        }
        else if (tabular is null)
        {
            if (data.Encoding is not null && encoding is null)
                throw new InvalidDataException($"model/data mismatch: {data.Description} has text columns; the spec model '{model.Name}' takes numbers (train the mlp preset, which one-hot encodes them)");
            tabular = "none (a spec file's model takes the columns as they are)";
        }
        return (data, train, validation, tabular);
    }

    /// <summary>The test split's mean squared error when every prediction is the training labels' mean (the baseline a regression must beat).</summary>
    public static double MeanPredictorMse(Dataset train, Tensor testLabels)
    {
        var (_, y) = train.ToTensors();
        double mean = y.ToArray().Average(v => (double)v);
        return testLabels.ToArray().Average(v => (v - mean) * (v - mean));
    }

    /// <summary>The model's OneHotColumns, when it takes a table with text columns.</summary>
    public static OneHotColumns? Encoding(Model model) => model.Layers.OfType<OneHotColumns>().FirstOrDefault();

    /// <summary>A model scores no classes but predicts one number: no class names and an output of one value.</summary>
    public static bool IsRegression(Model model) =>
        model.ClassNames is null or { Count: 0 } && model.Layers[^1].OutputShape is { Rank: 1 } o && o[0] == 1;
}

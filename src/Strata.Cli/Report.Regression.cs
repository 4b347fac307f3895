using System.Globalization;
using ScottPlot;

namespace Strata.Cli;

/// <summary>A regression's plots: each test row's prediction against its true value, and its residual against the prediction.</summary>
internal static partial class Report
{
    public const string ScatterFile = "predicted_vs_true.png", ResidualFile = "residuals.png";
    public const int RegressionPlotSize = 600;

    private static readonly string[] RegressionFiles = [ScatterFile, ResidualFile];

    private static IEnumerable<(Plot Plot, string File, string Title, string Alt)> RegressionPlots(RunResult run)
    {
        double[] truth = [.. run.TestLabels.ToArray().Select(v => (double)v)];
        double[] predicted = [.. run.Probabilities.ToArray().Select(v => (double)v)];
        double[] residual = [.. truth.Select((t, i) => t - predicted[i])];

        var scatter = new Plot();
        // A diverged model's predictions may be NaN or infinite: the axes span the finite values only.
        var finite = truth.Concat(predicted).Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        double lo = finite.Min(), hi = Math.Max(finite.Max(), lo + 1e-9);
        var diagonal = scatter.Add.Line(lo, lo, hi, hi);
        diagonal.LineColor = Colors.Gray;
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "predicted = true";
        var points = scatter.Add.ScatterPoints(truth, predicted, Colors.C0);
        points.MarkerSize = 6;
        points.LegendText = "test rows";
        scatter.Title(string.Create(CultureInfo.InvariantCulture, $"Predicted against true ({truth.Length:N0} test rows, RMSE {run.Test["rmse"]:G4})"));
        scatter.XLabel("true value");
        scatter.YLabel("predicted value");
        scatter.ShowLegend(Alignment.UpperLeft);
        yield return (scatter, ScatterFile, "Predicted against true values", "each test row's predicted value against its true value, with the diagonal");

        var residuals = new Plot();
        var zero = residuals.Add.HorizontalLine(0, 1.5f, Colors.Gray, LinePattern.Dashed);
        zero.LegendText = "no error";
        var marks = residuals.Add.ScatterPoints(predicted, residual, Colors.C1);
        marks.MarkerSize = 6;
        marks.LegendText = "true − predicted";
        residuals.Title(string.Create(CultureInfo.InvariantCulture, $"Residuals against the prediction (mean {residual.Average():G4})"));
        residuals.XLabel("predicted value");
        residuals.YLabel("residual (true − predicted)");
        residuals.ShowLegend(Alignment.UpperLeft);
        yield return (residuals, ResidualFile, "Residuals", "each test row's residual (true − predicted) against its predicted value");
    }
}

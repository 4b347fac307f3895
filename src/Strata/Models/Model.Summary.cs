using System.Globalization;
using System.Text;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Models;

public partial class Model
{
    /// <summary>
    /// The Keras-style table: layers, output shapes, parameter counts (and, for a functional model,
    /// the layers each one reads), then total, trainable and non-trainable parameter counts.
    /// </summary>
    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{Name}\"");
        bool graph = _graph is not null;
        string line = new('─', graph ? 90 : 66);
        sb.AppendLine(line);
        sb.Append($"{"Layer (type)",-30}{"Output Shape",-22}{"Param #",14}");
        sb.AppendLine(graph ? "  Connected to" : "");
        sb.AppendLine(line);
        foreach (var l in Layers)
        {
            string shape = l.Built ? $"(None, {string.Join(", ", l.OutputShape.ToArray())})" : "?";
            sb.Append($"{$"{l.Name} ({l.GetType().Name})",-30}{shape,-22}{l.ParameterCount.ToString("N0", CultureInfo.InvariantCulture),14}");
            sb.AppendLine(graph ? "  " + string.Join(", ", _graph!.ConnectedTo(l)) : "");
        }
        sb.AppendLine(line);
        long trainable = TrainableWeights.Sum(w => (long)w.Value.Size);
        long total = Weights.Sum(w => (long)w.Value.Size);
        sb.AppendLine($"Total params: {total.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Trainable params: {trainable.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Non-trainable params: {(total - trainable).ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine("Execution: " + ExecutionPath.Replace(Environment.NewLine, Environment.NewLine + "  "));
        return sb.ToString();
    }
}

using System.Diagnostics;

namespace Strata.Autograd;

internal sealed partial class Plan
{
    /// <summary>
    /// When set (benchmarks only: <c>Strata.Benchmarks profile gan|mlp-train|cnn-train</c>, <c>onnx ... --in-sequence</c>),
    /// every node a plan runs forward or backward and every effect adds its elapsed time here, keyed by op,
    /// direction and output shape. Process-wide; one profiled thread at a time.
    /// </summary>
    internal static StepProfile? Profiler { get; set; }

    /// <summary>Elapsed time per (op, direction, output shape) across profiled replays.</summary>
    internal sealed class StepProfile
    {
        private readonly Dictionary<string, (double Seconds, long Calls)> _times = [];

        public IReadOnlyDictionary<string, (double Seconds, long Calls)> Times => _times;

        public void Add(string key, long start) => Add(key, Stopwatch.GetElapsedTime(start).TotalSeconds);

        /// <summary>A node's time, read before its key is built (the key's string would otherwise be timed with it).</summary>
        public void Add(OpNode node, string direction, long start)
        {
            double s = Stopwatch.GetElapsedTime(start).TotalSeconds;
            Add($"{node.Op} {direction} {node.OutputShape}", s);
        }

        private void Add(string key, double s) =>
            _times[key] = _times.TryGetValue(key, out var t) ? (t.Seconds + s, t.Calls + 1) : (s, 1);
    }
}

using System.Diagnostics;
using Strata.Layers;
using Strata.Ops;
using Strata.Onnx.Proto;

namespace Strata.Onnx;

/// <summary>
/// SimpleRnn, Lstm, Gru and Bidirectional as ONNX RNN / LSTM / GRU nodes (time-major: ONNX Runtime
/// runs only layout 0, so the input is transposed to [steps, batch, features]). The weights are
/// reordered from Keras' [features, gates·units] columns to ONNX's [directions, gates·units, features]
/// rows (LSTM gates i, f, c, o → i, o, f, c; GRU z, r, h as they are, with linear_before_reset = 1 and
/// B = [input bias, recurrent bias]). go_backwards is direction "reverse": ONNX writes Y in time
/// order, Strata in processing order, so that output is reversed back. A Bidirectional whose two
/// copies agree (cell, units, activations) is one "bidirectional" node, else two nodes.
/// <para>
/// Masks are exact, not only for post-padding: a masked step must carry the state on and repeat the
/// previous output, whereas ONNX's sequence_lens only stops a sequence early. So each row's kept steps
/// are moved to the front (in order) and the node runs with sequence_lens = their count; a forward
/// layer's output at step t is then the node's output at (kept steps up to t) − 1, and a backward
/// layer's is at count − (kept steps from t on), zeros before its first kept step — which is
/// Strata's output at every step, whatever the padding. The final state is the node's Y_h (zeros for
/// a row with no kept step).
/// </para>
/// </summary>
internal sealed partial class OnnxExporter
{
    private readonly Dictionary<string, MaskPlan> _maskPlans = new(StringComparer.Ordinal);

    /// <summary>What the recurrent layers derive from one mask [batch, steps], each made once and only when needed.</summary>
    private sealed class MaskPlan(string mask, int steps)
    {
        public string Mask { get; } = mask;
        public int Steps { get; } = steps;
        public string? Order { get; set; }
        public string? Count { get; set; }
        public string? Lengths { get; set; }
        public string? Any { get; set; }
        public (string Index, string Keep)? Forward { get; set; }
        public (string Index, string Keep)? Backward { get; set; }
    }

    /// <summary>A recurrent output: a sequence [batch, steps, units] in time order that stands for its reverse when <paramref name="Reversed"/>, or a final state [batch, units].</summary>
    private readonly record struct Sequence(string Name, bool Reversed);

    private Value Recurrent(RecurrentLayer r, Value v, Shape s)
    {
        var y = RunRecurrent(r.Name, [r], v, s)[0];
        return new Value(r.ReturnSequences ? 3 : 2) { Last = InOrder(r.Name, y, s[0]), Mask = r.ReturnSequences ? v.Mask : null };
    }

    private Value Bidirectional(Bidirectional b, Value v, Shape s)
    {
        string n = b.Name;
        RecurrentLayer f = b.ForwardLayer, k = b.BackwardCopy;
        bool sequences = f.ReturnSequences;
        int steps = s[0];
        if (sequences && v.Mask is null && b.MergeMode == "concat" && !f.GoBackwards && Pairs(f, k))
        {
            // One bidirectional node: batch-major, its Y [batch, steps, 2, units] already is concat(forward, backward) at each step.
            var (y, _) = RecurrentNode(n, [f, k], Op("Transpose", n, [Get(v, false)], Ints("perm", 1, 0, 2)), null, s[1]);
            string yb = Op("Transpose", n, [y], Ints("perm", 2, 0, 1, 3));
            return new Value(3) { Last = Op("Reshape", n, [yb, Int64Constant(n + "/shape", -1, steps, f.Units + k.Units)]) };
        }
        var outputs = RunRecurrent(n, [f, k], v, s);
        var fo = outputs[0];
        var bo = sequences ? outputs[1] with { Reversed = !outputs[1].Reversed } : outputs[1]; // Bidirectional.ReverseSteps
        Debug.Assert(fo.Reversed == bo.Reversed, "one copy goes each way");
        string merged = b.MergeMode switch
        {
            "concat" => Op("Concat", n, [fo.Name, bo.Name], Int("axis", -1)),
            "sum" => Op("Add", n, [fo.Name, bo.Name]),
            "mul" => Op("Mul", n, [fo.Name, bo.Name]),
            _ => Op("Mul", n, [Op("Add", n, [fo.Name, bo.Name]), Constant(n + "/half", [0.5f])]),
        };
        return new Value(sequences ? 3 : 2) { Last = InOrder(n, new Sequence(merged, fo.Reversed), steps), Mask = sequences ? v.Mask : null };
    }

    /// <summary>Whether two copies can share one bidirectional node.</summary>
    private static bool Pairs(RecurrentLayer a, RecurrentLayer b) =>
        a.Cell == b.Cell && a.Units == b.Units && a.Activation == b.Activation && a.RecurrentActivation == b.RecurrentActivation && a.GoBackwards != b.GoBackwards;

    /// <summary>Runs one layer, or a Bidirectional's two copies, over the value; returns each one's output as Strata gives it.</summary>
    private Sequence[] RunRecurrent(string name, RecurrentLayer[] layers, Value v, Shape s)
    {
        var plan = v.Mask is { } m ? Plan(m, s[0]) : null;
        string x = Get(v, false);
        if (plan is not null) // each row's kept steps first: sequence_lens then skips exactly the masked steps
            x = Op("GatherND", name, [x, Order(name, plan)], Int("batch_dims", 1));
        string xt = Op("Transpose", name, [x], Ints("perm", 1, 0, 2));
        string? lengths = plan is null ? null : Lengths(name, plan);
        RecurrentLayer[][] groups = layers.Length == 2 && Pairs(layers[0], layers[1])
            ? [[.. layers.OrderBy(l => l.GoBackwards)]] // ONNX's forward direction first
            : [.. layers.Select(l => new[] { l })];
        var result = new Dictionary<RecurrentLayer, Sequence>();
        foreach (var group in groups)
        {
            var (y, yh) = RecurrentNode(name, group, xt, lengths, s[1]);
            string? yb = group[0].ReturnSequences ? Op("Transpose", name, [y], Ints("perm", 2, 0, 1, 3)) : null; // [batch, steps, directions, units]
            for (int d = 0; d < group.Length; d++)
            {
                var l = group[d];
                if (!l.ReturnSequences)
                {
                    string h = Op("Gather", name, [yh, Int64Scalar(name + "/direction", d)], Int("axis", 0));
                    result[l] = new Sequence(plan is null ? h : Op("Mul", name, [h, Any(name, plan)]), false);
                    continue;
                }
                string sequence = Op("Gather", name, [yb!, Int64Scalar(name + "/direction", d)], Int("axis", 2));
                if (plan is not null)
                {
                    var (index, keep) = l.GoBackwards ? Backward(name, plan) : Forward(name, plan);
                    sequence = Op("Mul", name, [Op("GatherND", name, [sequence, index], Int("batch_dims", 1)), keep]);
                }
                result[l] = new Sequence(sequence, l.GoBackwards);
            }
        }
        return [.. layers.Select(l => result[l])];
    }

    /// <summary>The sequence as Strata has it (reversed along the steps when it stands for its reverse).</summary>
    private string InOrder(string layer, Sequence y, int steps) => !y.Reversed ? y.Name
        : Op("Gather", layer, [y.Name, Int64Constant(layer + "/reverse", [.. Enumerable.Range(0, steps).Select(i => (long)(steps - 1 - i))])], Int("axis", 1));

    /// <summary>One ONNX RNN / LSTM / GRU node over xt [steps, batch, features] for one layer or a forward and a backward one; returns Y [steps, directions, batch, units] and Y_h [directions, batch, units].</summary>
    private (string Y, string Yh) RecurrentNode(string name, RecurrentLayer[] slots, string xt, string? lengths, int inputDim)
    {
        var first = slots[0];
        int h = first.Units, g = Gates(first.Cell), gh = g * h, dirs = slots.Length;
        var w = new float[dirs * gh * inputDim];
        var r = new float[dirs * gh * h];
        var b = new float[dirs * 2 * gh];
        for (int d = 0; d < dirs; d++)
            OnnxWeights(slots[d], inputDim, w.AsSpan(d * gh * inputDim, gh * inputDim), r.AsSpan(d * gh * h, gh * h), b.AsSpan(d * 2 * gh, 2 * gh));
        string op = first.Cell switch { RecurrentCell.Lstm => "LSTM", RecurrentCell.Gru => "GRU", _ => "RNN" };
        var (names, alphas, betas) = ActivationsOf(name, slots, op);
        var attributes = new List<AttributeProto>
        {
            Int("hidden_size", h),
            Str("direction", dirs == 2 ? "bidirectional" : first.GoBackwards ? "reverse" : "forward"),
            Strings("activations", names),
        };
        if (alphas.Count > 0)
            attributes.Add(Floats("activation_alpha", alphas));
        if (betas.Count > 0)
            attributes.Add(Floats("activation_beta", betas));
        if (first.Cell == RecurrentCell.Gru)
            attributes.Add(Int("linear_before_reset", 1)); // Keras' reset_after
        var inputs = new List<string> { xt, Constant(name + "/W", w, dirs, gh, inputDim), Constant(name + "/R", r, dirs, gh, h) };
        bool bias = slots.Any(l => l.UseBias);
        if (bias || lengths is not null)
            inputs.Add(bias ? Constant(name + "/B", b, dirs, 2 * gh) : "");
        if (lengths is not null)
            inputs.Add(lengths);
        string y = Unique($"{name}/{op}_Y"), yh = Unique($"{name}/{op}_Y_h");
        Node(op, inputs, [y, yh], [.. attributes]);
        return (y, yh);
    }

    private static int Gates(RecurrentCell cell) => cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    /// <summary>
    /// Keras' W [features, gates·units], U [units, gates·units] and bias as ONNX's W [gates·units, features],
    /// R [gates·units, units] and B [Wb, Rb] of one direction. ONNX gate j is Keras gate order[j]: the LSTM's
    /// i, o, f, c are Keras' columns 0, 3, 1, 2. Strata's single LSTM / RNN bias goes to Wb (Rb stays zero);
    /// the GRU's [2, 3·units] bias rows are Wb and Rb.
    /// </summary>
    private static void OnnxWeights(RecurrentLayer l, int inputDim, Span<float> w, Span<float> r, Span<float> b)
    {
        int h = l.Units, g = Gates(l.Cell), gh = g * h;
        int[] order = l.Cell == RecurrentCell.Lstm ? [0, 3, 1, 2] : [0, 1, 2];
        var kernel = l.Kernel.Value.Span;
        var recurrent = l.RecurrentKernel.Value.Span;
        var bias = l.Bias is { } bw ? bw.Value.Span : default;
        for (int j = 0; j < g; j++)
        {
            for (int o = 0; o < h; o++)
            {
                int row = j * h + o, col = order[j] * h + o;
                for (int i = 0; i < inputDim; i++)
                    w[row * inputDim + i] = kernel[i * gh + col];
                for (int i = 0; i < h; i++)
                    r[row * h + i] = recurrent[i * gh + col];
                if (bias.IsEmpty)
                    continue;
                b[row] = bias[col];
                if (l.Cell == RecurrentCell.Gru)
                    b[gh + row] = bias[gh + col];
            }
        }
    }

    /// <summary>
    /// The activations attribute (RNN: f; GRU: f, g; LSTM: f, g, h per direction: recurrent_activation
    /// then activation) with its alphas and betas, listed for the functions that take them in that order
    /// (as the ONNX spec and ONNX Runtime's LSTM and GRU read them; the two directions of one node
    /// always have the same functions, so ONNX Runtime's RNN, which reads one per direction, agrees).
    /// </summary>
    private static (List<string> Names, List<float> Alphas, List<float> Betas) ActivationsOf(string name, RecurrentLayer[] slots, string op)
    {
        List<string> names = [];
        List<float> alphas = [], betas = [];
        foreach (var l in slots)
        {
            ActivationFunction[] functions = l.Cell switch
            {
                RecurrentCell.SimpleRnn => [l.Activation],
                RecurrentCell.Gru => [l.RecurrentActivation, l.Activation],
                _ => [l.RecurrentActivation, l.Activation, l.Activation],
            };
            foreach (var f in functions)
            {
                switch (f.Name)
                {
                    case "linear":
                        names.Add("Affine"); // 1·x + 0
                        alphas.Add(1f);
                        betas.Add(0f);
                        break;
                    case "leaky_relu":
                        names.Add("LeakyRelu");
                        alphas.Add(((AlphaConfig)f.GetConfig()!).Alpha);
                        break;
                    case "relu" or "sigmoid" or "tanh":
                        names.Add(char.ToUpperInvariant(f.Name[0]) + f.Name[1..]);
                        break;
                    default:
                        string who = slots.Length == 2 || l.Name != name ? $"layer '{name}' ({l.GetType().Name} '{l.Name}')" : $"layer '{name}' ({l.GetType().Name})";
                        throw new NotSupportedException($"ExportOnnx: {who} uses activation '{f.Name}', which ONNX's {op} op cannot apply " +
                            "(its activations here: linear, relu, leaky_relu, sigmoid, tanh)");
                }
            }
        }
        return (names, alphas, betas);
    }

    private MaskPlan Plan(string mask, int steps)
    {
        if (!_maskPlans.TryGetValue(mask, out var plan))
            _maskPlans[mask] = plan = new MaskPlan(mask, steps);
        return plan;
    }

    /// <summary>GatherND indices [batch, steps, 1]: each row's kept steps in time order, then its masked ones.</summary>
    private string Order(string layer, MaskPlan p)
    {
        if (p.Order is { } order)
            return order;
        // Distinct keys, sorted ascending: a kept step t is t, a masked one steps + t.
        float[] range = [.. Enumerable.Range(0, p.Steps).Select(i => (float)i)];
        string masked = Op("Sub", layer, [Constant(layer + "/one", [1f]), p.Mask]);
        string key = Op("Add", layer, [Op("Mul", layer, [masked, Constant(layer + "/steps", [(float)p.Steps])]), Constant(layer + "/range", range, p.Steps)]);
        string values = Unique($"{layer}/TopK_values"), indices = Unique($"{layer}/TopK_indices");
        Node("TopK", [key, Int64Constant(layer + "/k", p.Steps)], [values, indices], Int("axis", 1), Int("largest", 0), Int("sorted", 1));
        return p.Order = PerStep(layer, indices, 2);
    }

    /// <summary>The number of kept steps of each row, [batch, 1].</summary>
    private string Count(string layer, MaskPlan p) =>
        p.Count ??= Op("ReduceSum", layer, [p.Mask, Int64Constant(layer + "/axes", 1)], Int("keepdims", 1));

    /// <summary>
    /// sequence_lens (int32 [batch]): the kept steps, at least 1 — ONNX Runtime's RNN reads step
    /// length − 1 for Y_h — and a row with none is zeroed afterwards (<see cref="Any"/>).
    /// </summary>
    private string Lengths(string layer, MaskPlan p) =>
        p.Lengths ??= Cast(layer, Op("Max", layer, [Op("Reshape", layer, [Count(layer, p), Int64Constant(layer + "/flat", -1)]), Constant(layer + "/one", [1f])]), OnnxInt32);

    /// <summary>1 for a row with a kept step, else 0, [batch, 1].</summary>
    private string Any(string layer, MaskPlan p) => p.Any ??= Op("Min", layer, [Count(layer, p), Constant(layer + "/one", [1f])]);

    /// <summary>For a forward layer: step t shows the node's output at (kept steps up to t) − 1, or zeros before the first.</summary>
    private (string Index, string Keep) Forward(string layer, MaskPlan p)
    {
        if (p.Forward is { } f)
            return f;
        string one = Constant(layer + "/one", [1f]);
        string upTo = Op("CumSum", layer, [p.Mask, Int64Scalar(layer + "/axis", 1)]);
        string index = Cast(layer, Op("Max", layer, [Op("Sub", layer, [upTo, one]), Constant(layer + "/zero", [0f])]), OnnxInt64);
        return (p.Forward = (PerStep(layer, index, 2), PerStep(layer, Op("Min", layer, [upTo, one]), 2))).Value;
    }

    /// <summary>For a backward layer (in time order): step t shows the node's output at count − (kept steps from t on), or zeros after the last.</summary>
    private (string Index, string Keep) Backward(string layer, MaskPlan p)
    {
        if (p.Backward is { } b)
            return b;
        string from = Op("CumSum", layer, [p.Mask, Int64Scalar(layer + "/axis", 1)], Int("reverse", 1));
        string position = Op("Min", layer, [Op("Sub", layer, [Count(layer, p), from]), Constant(layer + "/last", [p.Steps - 1f])]);
        string keep = Op("Min", layer, [from, Constant(layer + "/one", [1f])]);
        return (p.Backward = (PerStep(layer, Cast(layer, position, OnnxInt64), 2), PerStep(layer, keep, 2))).Value;
    }
}

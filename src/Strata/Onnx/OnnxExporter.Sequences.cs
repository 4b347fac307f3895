using Strata.Layers;
using Strata.Onnx.Proto;

namespace Strata.Onnx;

/// <summary>
/// The sequence layers and masks. A mask is a float [batch, steps] value (1 where a step holds data);
/// it is made where Strata makes one (Embedding with mask_zero, Masking), passed on where Strata
/// passes it on, and used where Strata uses it (the recurrent layers and Bidirectional, Conv1D, the
/// 1-D poolings, merges), with the same arithmetic as <see cref="Masks"/>.
/// </summary>
internal sealed partial class OnnxExporter
{
    private const int OnnxFloat = (int)TensorProto.Types.DataType.Float;
    private const int OnnxInt32 = (int)TensorProto.Types.DataType.Int32;
    private const int OnnxInt64 = (int)TensorProto.Types.DataType.Int64;

    /// <summary>The layers that make, change or use masks; null for the others (<see cref="LayerCore"/> exports them).</summary>
    private Value? SequenceLayer(Layer layer, Value[] inputs, Shape[] shapes)
    {
        string n = layer.Name;
        var v = inputs[0];
        var s = shapes[0];
        switch (layer)
        {
            case Embedding e:
            {
                // Ids arrive as floats (whole numbers, checked by Strata, not by ONNX: a negative id wraps around in Gather).
                string ids = Get(v, false);
                string y = Op("Gather", n, [Constant(n + "/embeddings", e.Embeddings.Value.Span, e.InputDim, e.OutputDim), Cast(n, ids, OnnxInt64)], Int("axis", 0));
                string? mask = e.MaskZero ? Cast(n, Op("Not", n, [Op("Equal", n, [ids, Constant(n + "/zero", [0f])])]), OnnxFloat) : v.Mask;
                return new Value(s.Rank + 2) { Last = y, Mask = mask };
            }
            case TextVectorization:
                // Strings cannot enter an ONNX graph of floats: the exported model takes the vectorized
                // input (TextVectorization.Vectorize's ids or tf-idf rows), which the layer passes on.
                return v;
            case Masking m:
            {
                string x = Get(v, false);
                string kept = Cast(n, Op("Not", n, [Op("Equal", n, [x, Constant(n + "/mask_value", [m.MaskValue])])]), OnnxFloat);
                string mask = Op("ReduceMax", n, [kept], Ints("axes", -1), Int("keepdims", 0));
                return new Value(3) { Last = Op("Mul", n, [x, PerStep(n, mask, 2)]), Mask = mask };
            }
            case RecurrentLayer r:
                return Recurrent(r, v, s);
            case Bidirectional b:
                return Bidirectional(b, v, s);
            case TimeDistributed td:
            {
                // The steps folded into the batch, the inner layer (without a mask, as in Strata), and unfolded.
                var step = new Shape(s.Dims[1..]);
                var folded = new Value(s.Rank) { Last = Op("Reshape", n, [Get(v, false), Int64Constant(n + "/fold", [-1, .. step.ToArray().Select(d => (long)d)])]) };
                var inner = Get(Layer(td.Layer, [folded], [step]), false);
                var outStep = td.Layer.OutputShape;
                string y = Op("Reshape", n, [inner, Int64Constant(n + "/unfold", [-1, s[0], .. outStep.ToArray().Select(d => (long)d)])]);
                return new Value(outStep.Rank + 2) { Last = y, Mask = v.Mask };
            }
            case Conv1D c when v.Mask is { } mask:
            {
                // Padded steps read as zeros; the output mask is Conv1D.ComputeMask's.
                var zeroed = new Value(3) { Last = Op("Mul", n, [Get(v, false), PerStep(n, mask, 2)]) };
                var y = LayerCore(c, [zeroed], shapes);
                int outSteps = c.OutputShape[0];
                string outMask = c.Padding == Padding.Valid
                    ? AllInWindow(n, mask, (c.KernelSize - 1) * c.DilationRate + 1, c.Strides)
                    : c.Strides == 1 && outSteps == s[0] ? mask
                    : Op("Slice", n, [mask, Int64Constant(n + "/starts", 0), Int64Constant(n + "/ends", (long)(outSteps - 1) * c.Strides + 1),
                        Int64Constant(n + "/axes", 1), Int64Constant(n + "/steps", c.Strides)]);
                return WithMask(y, outMask);
            }
            case Pooling1D p when v.Mask is { } mask:
            {
                // Masked steps take no part: a maximum over the kept steps, a mean of the kept steps; a window with none gives 0.
                bool max = p is MaxPooling1D;
                string keep = p.Padding == Padding.Valid
                    ? AllInWindow(n, mask, p.PoolSize, p.Strides)
                    : WindowPool(n, "MaxPool", mask, p.PoolSize, p.Strides, SamePads(s[0], p.PoolSize, p.Strides, 1));
                string x = Get(v, false);
                var y = Get(LayerCore(p, [new Value(3) { Last = max ? Lowered(n, x, mask) : Op("Mul", n, [x, PerStep(n, mask, 2)]) }], shapes), true);
                if (!max)
                {
                    var pads = p.Padding == Padding.Same ? SamePads(s[0], p.PoolSize, p.Strides, 1) : (0L, 0L);
                    string share = Op("Max", n, [WindowPool(n, "AveragePool", mask, p.PoolSize, p.Strides, pads), Constant(n + "/floor", [1e-6f])]);
                    y = Op("Div", n, [y, PerStep(n, share, 1)]);
                }
                return new Value(3) { First = Op("Mul", n, [y, PerStep(n, keep, 1)]), Mask = keep };
            }
            case GlobalPooling1D when v.Mask is { } mask:
            {
                // Over the kept steps only; a sequence with none gives 0.
                string x = Get(v, false);
                string y;
                if (layer is GlobalMaxPooling1D)
                {
                    string any = Op("ReduceMax", n, [mask], Ints("axes", 1), Int("keepdims", 1));
                    y = Op("Mul", n, [Op("ReduceMax", n, [Lowered(n, x, mask)], Ints("axes", 1), Int("keepdims", 0)), any]);
                }
                else
                {
                    string sum = Op("ReduceSum", n, [Op("Mul", n, [x, PerStep(n, mask, 2)]), Int64Constant(n + "/axes", 1)], Int("keepdims", 0));
                    string count = Op("ReduceSum", n, [mask, Int64Constant(n + "/axes", 1)], Int("keepdims", 1));
                    y = Op("Div", n, [sum, Op("Max", n, [count, Constant(n + "/one", [1f])])]);
                }
                return new Value(2) { Last = y };
            }
            case MergeLayer when inputs.Any(i => i.Mask is not null):
            {
                // MergeLayer.MergeMasks: the product of the inputs' masks, kept when the output still has those steps.
                var masked = inputs.Select((i, k) => (i.Mask, Steps: shapes[k].Rank > 0 ? shapes[k][0] : -1)).Where(m => m.Mask is not null).ToArray();
                string mask = masked[0].Mask!;
                for (int k = 1; k < masked.Length; k++)
                    mask = Op("Mul", n, [mask, masked[k].Mask!]);
                var outShape = layer.OutputShape;
                return WithMask(LayerCore(layer, inputs, shapes), outShape.Rank >= 1 && outShape[0] == masked[0].Steps ? mask : null);
            }
            default:
                return null;
        }
    }

    private string Cast(string layer, string x, int to) => Op("Cast", layer, [x], Int("to", to));

    /// <summary>A mask [batch, steps] with a unit axis inserted at <paramref name="axis"/>, to multiply a sequence.</summary>
    private string PerStep(string layer, string mask, long axis) => Op("Unsqueeze", layer, [mask, Int64Constant(layer + "/axes", axis)]);

    /// <summary>Masks.Lowered: x where the step is kept, −3e38 where it is masked (it never wins a maximum).</summary>
    private string Lowered(string layer, string x, string mask)
    {
        string m = PerStep(layer, mask, 2);
        string low = Op("Mul", layer, [Op("Sub", layer, [m, Constant(layer + "/one", [1f])]), Constant(layer + "/lowest", [3e38f])]);
        return Op("Add", layer, [Op("Mul", layer, [x, m]), low]);
    }

    /// <summary>A pooling of a mask [batch, steps] over windows of steps (as a one-channel [batch, 1, steps] sequence).</summary>
    private string WindowPool(string layer, string op, string mask, int window, int stride, (long, long) pads)
    {
        string pooled = Op(op, layer, [PerStep(layer, mask, 1)], Ints("kernel_shape", window), Ints("strides", stride), Ints("pads", pads.Item1, pads.Item2));
        return Op("Squeeze", layer, [pooled, Int64Constant(layer + "/axes", 1)]);
    }

    /// <summary>Masks.AllInWindow: 1 for each (valid) window whose steps are all kept.</summary>
    private string AllInWindow(string layer, string mask, int window, int stride)
    {
        string one = Constant(layer + "/one", [1f]);
        return Op("Sub", layer, [one, WindowPool(layer, "MaxPool", Op("Sub", layer, [one, mask]), window, stride, (0, 0))]);
    }

    private static AttributeProto Strings(string name, IEnumerable<string> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(Google.Protobuf.ByteString.CopyFromUtf8));
        return a;
    }

    private static AttributeProto Floats(string name, IEnumerable<float> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return a;
    }
}

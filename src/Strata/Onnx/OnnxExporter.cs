using System.Runtime.InteropServices;
using Google.Protobuf;
using Strata.Compression;
using Strata.Layers;
using Strata.Models;
using Strata.Onnx.Proto;

namespace Strata.Onnx;

/// <summary>
/// Writes a built model as an ONNX file (IR version 8, opset 17): the inference graph with the
/// weights as initializers and a symbolic batch axis. Strata's tensors are channels-last (NHWC);
/// ONNX convolutions and poolings are channels-first, so values are transposed where an operator
/// needs the other layout — once per change of layout, not per layer (a chain of convolutions and
/// poolings stays channels-first). Dropout and the random image layers are the identity (inference).
/// Masks (Embedding with mask_zero, Masking) travel with the values as float [batch, steps] tensors
/// and follow each layer's own mask rule; the sequence layers are in <c>OnnxExporter.Sequences.cs</c>
/// and <c>OnnxExporter.Recurrent.cs</c>.
/// </summary>
internal sealed partial class OnnxExporter
{
    public const int Opset = 17;
    public const int IrVersion = 8;

    private readonly GraphProto _graph = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>
    /// A value of the graph in one or both layouts (channels-last as Strata has it, channels-first for
    /// ONNX's spatial operators), and its mask: a float [batch, steps] of 1 (data) and 0 (padding), or null.
    /// </summary>
    private sealed class Value(int rank)
    {
        public int Rank { get; } = rank;
        public string? Last { get; set; }
        public string? First { get; set; }
        public string? Mask { get; init; }
    }

    public static ModelProto Build(Model model)
    {
        var layers = model.Layers;
        if (layers.Any(l => !l.Built))
            throw new InvalidOperationException($"ExportOnnx: model '{model.Name}' is not built yet; run it on a batch (or Fit) first");
        var e = new OnnxExporter();
        e._graph.Name = model.Name;
        Value output;
        if (model.Graph is { } graph)
        {
            var values = new Value[graph.Nodes.Length];
            for (int i = 0; i < graph.Nodes.Length; i++)
            {
                var node = graph.Nodes[i];
                values[i] = graph.Args[i].Length == 0
                    ? e.Input(node.Layer.Name, node.Shape)
                    : e.Layer(node.Layer, [.. graph.Args[i].Select(a => values[a])], [.. graph.Args[i].Select(a => graph.Nodes[a].Shape)]);
            }
            output = values[graph.OutputIndex];
        }
        else if (model is Sequential)
        {
            int start = layers[0] is Input ? 1 : 0;
            var value = e.Input(layers[0] is Input input ? input.Name : "input", layers[0].InputShape);
            for (int i = start; i < layers.Count; i++)
                value = e.Layer(layers[i], [value], [layers[i].InputShape]);
            output = value;
        }
        else
        {
            throw new InvalidOperationException($"ExportOnnx: model '{model.Name}' is a Model subclass; its forward pass is code, which cannot be exported. Build it as a Sequential or functional model");
        }
        var outShape = layers[^1].OutputShape;
        var result = e.Get(output, channelsFirst: false);
        e.Node("Identity", [result], [e.Unique("output")]);
        e._graph.Output.Add(ValueInfo(e._graph.Node[^1].Output[0], outShape));
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Strata",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            ModelVersion = 1,
            Graph = e._graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return proto;
    }

    private string Unique(string name)
    {
        string n = name;
        for (int k = 1; !_names.Add(n); k++)
            n = $"{name}_{k}";
        return n;
    }

    private static ValueInfoProto ValueInfo(string name, Shape sample)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (var d in sample.ToArray())
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private Value Input(string name, Shape shape)
    {
        string n = Unique(name);
        _graph.Input.Add(ValueInfo(n, shape));
        return new Value(shape.Rank + 1) { Last = n };
    }

    private NodeProto Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Unique(op.ToLowerInvariant()) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return node;
    }

    /// <summary>One node with one output named after the layer; returns that name.</summary>
    internal string Op(string op, string layer, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string output = Unique($"{layer}/{op}");
        Node(op, inputs, [output], attributes);
        return output;
    }

    private static AttributeProto Ints(string name, params long[] values) => OnnxAttribute.Ints(name, values).Proto;

    private static AttributeProto Int(string name, long value) => OnnxAttribute.Int(name, value).Proto;

    private static AttributeProto Float(string name, float value) => OnnxAttribute.Float(name, value).Proto;

    private static AttributeProto Str(string name, string value) => OnnxAttribute.String(name, value).Proto;

    /// <summary>A float initializer (raw little-endian data).</summary>
    internal string Constant(string name, ReadOnlySpan<float> values, params int[] dims)
    {
        string n = Unique(name);
        var t = new TensorProto { Name = n, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        t.Dims.AddRange(dims.Select(d => (long)d));
        _graph.Initializer.Add(t);
        return n;
    }

    private string Int64Constant(string name, params long[] values) => Int64Tensor(name, values, [values.Length]);

    /// <summary>A 0-D int64 initializer (an index that drops its axis in Gather, an axis for CumSum).</summary>
    private string Int64Scalar(string name, long value) => Int64Tensor(name, [value], []);

    private string Int64Tensor(string name, long[] values, long[] dims)
    {
        string n = Unique(name);
        var t = new TensorProto { Name = n, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        _graph.Initializer.Add(t);
        return n;
    }

    /// <summary>The value in the asked layout, transposing (once, cached) when it only exists in the other.</summary>
    private string Get(Value v, bool channelsFirst)
    {
        if (v.Rank < 3)
            return v.Last ?? v.First!; // [batch, features]: one layout
        if (channelsFirst && v.First is null)
        {
            long[] perm = [0, v.Rank - 1, .. Enumerable.Range(1, v.Rank - 2).Select(i => (long)i)];
            v.First = Op("Transpose", "layout", [v.Last!], Ints("perm", perm));
        }
        else if (!channelsFirst && v.Last is null)
        {
            long[] perm = [0, .. Enumerable.Range(2, v.Rank - 2).Select(i => (long)i), 1];
            v.Last = Op("Transpose", "layout", [v.First!], Ints("perm", perm));
        }
        return channelsFirst ? v.First! : v.Last!;
    }

    private static Value Last(int rank, string name) => new(rank) { Last = name };

    private static Value First(int rank, string name) => rank < 3 ? new(rank) { Last = name } : new(rank) { First = name };

    private static Tensor Weight(Layer layer, string name) =>
        layer.Weights.FirstOrDefault(w => w.Name.EndsWith("/" + name, StringComparison.Ordinal))?.Value
        ?? throw new InvalidOperationException($"ExportOnnx: layer '{layer.Name}' has no weight '{name}'");

    private static Tensor? OptionalWeight(Layer layer, string name) =>
        layer.Weights.FirstOrDefault(w => w.Name.EndsWith("/" + name, StringComparison.Ordinal))?.Value;

    /// <summary>An activation on a value, in the layout it is in, through its form in <see cref="OnnxActivations"/> (softmax runs over the channel axis of either layout).</summary>
    private Value Activate(ActivationFunction f, Value v, string layer)
    {
        var export = OnnxActivations.Find(f.Name)
            ?? throw new NotSupportedException($"ExportOnnx: layer '{layer}' uses activation '{f.Name}' (type {f.GetType().FullName}), which has no ONNX form; " +
                $"register one with OnnxActivations.Register(\"{f.Name}\", ...) (registered: {string.Join(", ", OnnxActivations.Names)})");
        bool first = v.Last is null && v.Rank >= 3;
        string x = v.Last ?? v.First!;
        string y = export(new OnnxActivationContext(this, f, first ? v.First! : x, first ? 1 : -1, layer));
        return first ? new Value(v.Rank) { First = y } : new Value(v.Rank) { Last = y };
    }

    /// <summary>Keras "same" padding of one axis: (begin, end).</summary>
    private static (long, long) SamePads(int input, int kernel, int stride, int dilation)
    {
        int output = (input + stride - 1) / stride;
        int total = Math.Max((output - 1) * stride + (kernel - 1) * dilation + 1 - input, 0);
        return (total / 2, total - total / 2);
    }

    /// <summary>ONNX pads [top, left, bottom, right] of a 2-D window over a [H, W, C] sample.</summary>
    private static long[] Pads2D(Padding padding, Shape sample, (int H, int W) kernel, (int H, int W) stride, (int H, int W) dilation)
    {
        if (padding != Padding.Same)
            return [0, 0, 0, 0];
        var (top, bottom) = SamePads(sample[0], kernel.H, stride.H, dilation.H);
        var (left, right) = SamePads(sample[1], kernel.W, stride.W, dilation.W);
        return [top, left, bottom, right];
    }

    private Value Layer(Layer layer, Value[] inputs, Shape[] shapes)
    {
        if (SequenceLayer(layer, inputs, shapes) is { } y)
            return y;
        y = LayerCore(layer, inputs, shapes);
        // Every other layer keeps its input's mask when it passes masks on (Keras' supports_masking), else drops it.
        return WithMask(y, layer.PassesMask ? inputs[0].Mask : null);
    }

    /// <summary>The value with another mask (a new value: the input may feed other layers too).</summary>
    private static Value WithMask(Value v, string? mask) =>
        v.Mask == mask ? v : new Value(v.Rank) { Last = v.Last, First = v.First, Mask = mask };

    private Value LayerCore(Layer layer, Value[] inputs, Shape[] shapes)
    {
        string n = layer.Name;
        var v = inputs[0];
        var s = shapes[0];
        int rank = s.Rank + 1;
        switch (layer)
        {
            case Strata.Layers.Input:
                return v;
            case Dropout or SpatialDropout or RandomImageLayer:
                return v;
            case Rescaling r:
            {
                string y = Op("Mul", n, [Get(v, false), Constant(n + "/scale", [r.Scale])]);
                return Last(rank, Op("Add", n, [y, Constant(n + "/offset", [r.Offset])]));
            }
            case Normalization z:
            {
                int c = z.Mean.Length;
                var scale = new float[c];
                for (int i = 0; i < c; i++)
                    scale[i] = 1f / MathF.Max(MathF.Sqrt(z.Variance[i]), 1e-7f);
                string y = Op("Sub", n, [Get(v, false), Constant(n + "/mean", z.Mean, c)]);
                return Last(rank, Op("Mul", n, [y, Constant(n + "/scale", scale, c)]));
            }
            case Activation a:
                return Activate(a.Function, v, n);
            case Flatten:
                return Last(2, Op("Flatten", n, [Get(v, false)], Int("axis", 1)));
            case Reshape r:
                return Last(r.TargetShape.Length + 1, Op("Reshape", n, [Get(v, false), Int64Constant(n + "/shape", [-1, .. r.TargetShape.Select(d => (long)d)])]));
            case Dense d:
            {
                var k = d.Kernel.Value;
                string y = Op("MatMul", n, [Get(v, false), Constant(n + "/kernel", k.Span, k.Shape.ToArray())]);
                if (d.Bias is { } b)
                    y = Op("Add", n, [y, Constant(n + "/bias", b.Value.Span, b.Value.Shape.ToArray())]);
                return Activate(d.Activation, Last(rank, y), n);
            }
            case Conv2D c:
            {
                var (kh, kw) = c.KernelSize;
                var k = c.Kernel.Value; // [KH, KW, C, F] → [F, C, KH, KW]
                var w = Permute(k.Span, [kh, kw, s[2], c.Filters], [3, 2, 0, 1]);
                var args = new List<string> { Get(v, true), Constant(n + "/kernel", w, c.Filters, s[2], kh, kw) };
                if (c.Bias is { } b)
                    args.Add(Constant(n + "/bias", b.Value.Span, c.Filters));
                string y = Op("Conv", n, args, Ints("kernel_shape", kh, kw), Ints("strides", c.Strides.Height, c.Strides.Width),
                    Ints("dilations", c.DilationRate.Height, c.DilationRate.Width), Ints("pads", Pads2D(c.Padding, s, c.KernelSize, c.Strides, c.DilationRate)));
                return Activate(c.Activation, First(rank, y), n);
            }
            case Conv1D c:
            {
                int kk = c.KernelSize;
                var w = Permute(c.Kernel.Value.Span, [kk, s[1], c.Filters], [2, 1, 0]); // kernel [K, C, F] → [F, C, K]
                var (pl, pr) = c.Padding switch
                {
                    Padding.Same => SamePads(s[0], kk, c.Strides, c.DilationRate),
                    Padding.Causal => ((long)(kk - 1) * c.DilationRate, 0L),
                    _ => (0L, 0L),
                };
                var args = new List<string> { Get(v, true), Constant(n + "/kernel", w, c.Filters, s[1], kk) };
                if (c.Bias is { } b)
                    args.Add(Constant(n + "/bias", b.Value.Span, c.Filters));
                string y = Op("Conv", n, args, Ints("kernel_shape", kk), Ints("strides", c.Strides), Ints("dilations", c.DilationRate), Ints("pads", pl, pr));
                return Activate(c.Activation, First(rank, y), n);
            }
            case DepthwiseConv2D c:
            {
                var (kh, kw) = c.KernelSize;
                int ch = s[2], m = c.DepthMultiplier;
                var w = Permute(c.Kernel.Value.Span, [kh, kw, ch, m], [2, 3, 0, 1]); // [KH, KW, C, M] → [C·M, 1, KH, KW]
                var args = new List<string> { Get(v, true), Constant(n + "/kernel", w, ch * m, 1, kh, kw) };
                if (c.Bias is { } b)
                    args.Add(Constant(n + "/bias", b.Value.Span, ch * m));
                string y = Op("Conv", n, args, Ints("kernel_shape", kh, kw), Ints("strides", c.Strides.Height, c.Strides.Width),
                    Ints("dilations", c.DilationRate.Height, c.DilationRate.Width), Ints("pads", Pads2D(c.Padding, s, c.KernelSize, c.Strides, c.DilationRate)),
                    Int("group", ch));
                return Activate(c.Activation, First(rank, y), n);
            }
            case Conv2DTranspose c:
            {
                var (kh, kw) = c.KernelSize;
                int ch = s[2];
                var w = Permute(c.Kernel.Value.Span, [kh, kw, c.Filters, ch], [3, 2, 0, 1]); // [KH, KW, F, C] → [C, F, KH, KW]
                // "same": the output is input·stride; the forward convolution it inverts pads (K − s) split as Keras does.
                long[] pads = [0, 0, 0, 0], extra = [0, 0];
                if (c.Padding == Padding.Same)
                {
                    int th = Math.Max(kh - c.Strides.Height, 0), tw = Math.Max(kw - c.Strides.Width, 0);
                    pads = [th / 2, tw / 2, th - th / 2, tw - tw / 2];
                    extra = [Math.Max(c.Strides.Height - kh, 0), Math.Max(c.Strides.Width - kw, 0)];
                }
                var args = new List<string> { Get(v, true), Constant(n + "/kernel", w, ch, c.Filters, kh, kw) };
                if (c.Bias is { } b)
                    args.Add(Constant(n + "/bias", b.Value.Span, c.Filters));
                string y = Op("ConvTranspose", n, args, Ints("kernel_shape", kh, kw), Ints("strides", c.Strides.Height, c.Strides.Width),
                    Ints("pads", pads), Ints("output_padding", extra));
                return Activate(c.Activation, First(rank, y), n);
            }
            case Pooling2D p:
            {
                var (ph, pw) = p.PoolSize;
                string op = p is MaxPooling2D ? "MaxPool" : "AveragePool";
                return First(rank, Op(op, n, [Get(v, true)], Ints("kernel_shape", ph, pw), Ints("strides", p.Strides.Height, p.Strides.Width),
                    Ints("pads", Pads2D(p.Padding, s, p.PoolSize, p.Strides, (1, 1)))));
            }
            case Pooling1D p:
            {
                var (pl, pr) = p.Padding == Padding.Same ? SamePads(s[0], p.PoolSize, p.Strides, 1) : (0, 0);
                string op = p is MaxPooling1D ? "MaxPool" : "AveragePool";
                return First(rank, Op(op, n, [Get(v, true)], Ints("kernel_shape", p.PoolSize), Ints("strides", p.Strides), Ints("pads", pl, pr)));
            }
            case GlobalPooling2D or GlobalPooling1D:
            {
                string op = layer is GlobalMaxPooling2D or GlobalMaxPooling1D ? "ReduceMax" : "ReduceMean";
                long[] axes = [.. Enumerable.Range(1, rank - 2).Select(a => (long)a)];
                return Last(2, Op(op, n, [Get(v, false)], Ints("axes", axes), Int("keepdims", 0)));
            }
            case ZeroPadding2D z:
                return Last(rank, Op("Pad", n, [Get(v, false), Int64Constant(n + "/pads", 0, z.Rows.Top, z.Columns.Left, 0, 0, z.Rows.Bottom, z.Columns.Right, 0)]));
            case UpSampling2D u:
            {
                float[] scales = [1, u.Size.Height, u.Size.Width, 1];
                return Last(rank, Op("Resize", n, [Get(v, false), "", Constant(n + "/scales", scales, 4)], Str("mode", "nearest"),
                    Str("coordinate_transformation_mode", "asymmetric"), Str("nearest_mode", "floor")));
            }
            case BatchNormalization bn:
            {
                int c = s[-1];
                var gamma = OptionalWeight(bn, "gamma")?.ToArray() ?? Enumerable.Repeat(1f, c).ToArray();
                var beta = OptionalWeight(bn, "beta")?.ToArray() ?? new float[c];
                var args = new[]
                {
                    Get(v, true), Constant(n + "/gamma", gamma, c), Constant(n + "/beta", beta, c),
                    Constant(n + "/moving_mean", bn.MovingMean.Span, c), Constant(n + "/moving_variance", bn.MovingVariance.Span, c),
                };
                return First(rank, Op("BatchNormalization", n, args, Float("epsilon", bn.Epsilon)));
            }
            case LayerNormalization ln:
            {
                int c = s[-1];
                var gamma = OptionalWeight(ln, "gamma")?.ToArray() ?? Enumerable.Repeat(1f, c).ToArray();
                var beta = OptionalWeight(ln, "beta")?.ToArray() ?? new float[c];
                return Last(rank, Op("LayerNormalization", n, [Get(v, false), Constant(n + "/gamma", gamma, c), Constant(n + "/beta", beta, c)],
                    Int("axis", -1), Float("epsilon", ln.Epsilon)));
            }
            case Add or Subtract or Multiply or Average or Maximum or Minimum:
            {
                string op = layer switch { Add => "Sum", Subtract => "Sub", Multiply => "Mul", Average => "Mean", Maximum => "Max", _ => "Min" };
                bool first = rank >= 3 && inputs.All(i => i.First is not null);
                return first ? First(rank, Op(op, n, inputs.Select(i => Get(i, true)))) : Last(rank, Op(op, n, inputs.Select(i => Get(i, false))));
            }
            case QuantizedDense qd:
                return QuantizedDenseLayer(qd, v, rank);
            case QuantizedConvolution qc:
                return QuantizedConvolutionLayer(qc, v, rank);
            case QuantizedDepthwiseConvolution qw:
                return QuantizedDepthwiseLayer(qw, v, rank);
            case Concatenate cat:
                return Last(rank, Op("Concat", n, inputs.Select(i => Get(i, false)), Int("axis", cat.Axis)));
            default:
                throw new NotSupportedException($"ExportOnnx: layer '{n}' ({layer.GetType().Name}) has no ONNX export");
        }
    }

    /// <summary>A row-major array of <paramref name="dims"/> with its axes reordered: output axis i is input axis <paramref name="perm"/>[i].</summary>
    private static float[] Permute(ReadOnlySpan<float> x, int[] dims, int[] perm)
    {
        int rank = dims.Length;
        var outDims = perm.Select(p => dims[p]).ToArray();
        var inStrides = new int[rank];
        inStrides[rank - 1] = 1;
        for (int i = rank - 2; i >= 0; i--)
            inStrides[i] = inStrides[i + 1] * dims[i + 1];
        var y = new float[x.Length];
        var idx = new int[rank];
        for (int o = 0; o < y.Length; o++)
        {
            int src = 0;
            for (int i = 0; i < rank; i++)
                src += idx[i] * inStrides[perm[i]];
            y[o] = x[src];
            for (int i = rank - 1; i >= 0 && ++idx[i] == outDims[i]; i--)
                idx[i] = 0;
        }
        return y;
    }
}

using System.Runtime.InteropServices;
using Google.Protobuf;
using Strata.Compression;
using Strata.Layers;
using Strata.Onnx.Proto;

namespace Strata.Onnx;

/// <summary>
/// The quantized layers in QDQ form, the form ONNX Runtime's quantization tools write and its graph
/// optimizer fuses into integer kernels (QLinearConv, QGemm, QLinearMatMul): the input through
/// QuantizeLinear → DequantizeLinear with the layer's calibrated parameters (DynamicQuantizeLinear
/// for a dynamic layer), the int8 kernel as an INT8 initializer through DequantizeLinear per output
/// channel, the bias as INT32 at scale input·kernel (float for a dynamic layer), the float operator,
/// ReLU, and the output grid through QuantizeLinear → DequantizeLinear. Strata's activation codes are
/// 7-bit (0..127) where ONNX's uint8 reaches 255, so the two agree wherever values lie within the
/// calibrated range and differ only where Strata saturates.
/// </summary>
internal sealed partial class OnnxExporter
{
    private Value QuantizedDenseLayer(QuantizedDense d, Value v, int rank)
    {
        string n = d.Name;
        var k = d.Kernel.Value;
        int kk = k.Shape[0], units = k.Shape[1];
        var q = d.ActivationQuant.Value.Span;
        var scales = d.KernelScale.Value.Span;
        string x = QuantizedInput(Get(v, false), n, q[0], q[1]);
        string w = Int8Dequantized(n + "/kernel", k.Span, [kk, units], scales, axis: 1);
        string? bias = d.Bias is { } b ? Bias(n, b.Value.Span, q[0], scales) : null;
        string y;
        if (rank == 2)
        {
            y = Op("Gemm", n, bias is null ? [x, w] : [x, w, bias]);
        }
        else
        {
            y = Op("MatMul", n, [x, w]);
            if (bias is not null)
                y = Op("Add", n, [y, bias]);
        }
        return QuantizedOutput(Last(rank, y), d.Activation, n, q[2], q[3]);
    }

    private Value QuantizedConvolutionLayer(QuantizedConvolution c, Value v, int rank)
    {
        string n = c.Name;
        var g = c.Geometry;
        var q = c.ActivationQuant.Value.Span;
        var scales = c.KernelScale.Value.Span;
        string x = QuantizedInput(Get(v, true), n, q[0], q[1]);
        var (bottom, right) = FarPads(g);
        string w;
        AttributeProto[] attributes;
        if (c.Source == "Conv1D")
        {
            var kernel = Permute(c.Kernel.Value.Span, [g.KW, g.C, c.Filters], [2, 1, 0]); // [K, C, F] → [F, C, K]
            w = Int8Dequantized(n + "/kernel", kernel, [c.Filters, g.C, g.KW], scales, axis: 0);
            attributes = [Ints("kernel_shape", g.KW), Ints("strides", g.SW), Ints("dilations", g.DW), Ints("pads", g.PadLeft, right)];
        }
        else
        {
            var kernel = Permute(c.Kernel.Value.Span, [g.KH, g.KW, g.C, c.Filters], [3, 2, 0, 1]); // [KH, KW, C, F] → [F, C, KH, KW]
            w = Int8Dequantized(n + "/kernel", kernel, [c.Filters, g.C, g.KH, g.KW], scales, axis: 0);
            attributes = [Ints("kernel_shape", g.KH, g.KW), Ints("strides", g.SH, g.SW), Ints("dilations", g.DH, g.DW), Ints("pads", g.PadTop, g.PadLeft, bottom, right)];
        }
        var args = new List<string> { x, w };
        if (c.Bias is { } b)
            args.Add(Bias(n, b.Value.Span, q[0], scales));
        return QuantizedOutput(First(rank, Op("Conv", n, args, attributes)), c.Activation, n, q[2], q[3]);
    }

    private Value QuantizedDepthwiseLayer(QuantizedDepthwiseConvolution d, Value v, int rank)
    {
        string n = d.Name;
        var g = d.Geometry;
        int m = d.DepthMultiplier;
        var q = d.ActivationQuant.Value.Span;
        var scales = d.KernelScale.Value.Span;
        string x = QuantizedInput(Get(v, true), n, q[0], q[1]);
        var (bottom, right) = FarPads(g);
        var kernel = Permute(d.Kernel.Value.Span, [g.KH, g.KW, g.C, m], [2, 3, 0, 1]); // [KH, KW, C, M] → [C·M, 1, KH, KW]
        var args = new List<string> { x, Int8Dequantized(n + "/kernel", kernel, [g.C * m, 1, g.KH, g.KW], scales, axis: 0) };
        if (d.Bias is { } b)
            args.Add(Bias(n, b.Value.Span, q[0], scales));
        string y = Op("Conv", n, args, Ints("kernel_shape", g.KH, g.KW), Ints("strides", g.SH, g.SW), Ints("dilations", g.DH, g.DW),
            Ints("pads", g.PadTop, g.PadLeft, bottom, right), Int("group", g.C));
        return QuantizedOutput(First(rank, y), d.Activation, n, q[2], q[3]);
    }

    // The bottom and right padding the window's last position needs beyond the top and left the geometry holds.
    private static (long Bottom, long Right) FarPads(Kernels.Conv2DGeometry g) =>
        (Math.Max((g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1 - g.H - g.PadTop, 0),
         Math.Max((g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1 - g.W - g.PadLeft, 0));

    /// <summary>The input on the layer's grid: Q → DQ with the calibrated parameters, or DynamicQuantizeLinear → DQ when the scale is 0 (dynamic).</summary>
    private string QuantizedInput(string x, string layer, float scale, float zeroPoint)
    {
        if (scale > 0)
            return QuantizeDequantize(x, layer, scale, zeroPoint);
        string codes = Unique($"{layer}/DynamicQuantizeLinear"), s = Unique($"{layer}/input_scale"), z = Unique($"{layer}/input_zero_point");
        Node("DynamicQuantizeLinear", [x], [codes, s, z]);
        return Op("DequantizeLinear", layer, [codes, s, z]);
    }

    /// <summary>ReLU when fused, the output grid when the layer has one, then any other activation in float.</summary>
    private Value QuantizedOutput(Value y, ActivationFunction activation, string layer, float scale, float zeroPoint)
    {
        bool first = y.Last is null && y.Rank >= 3;
        Value Wrap(string name) => first ? new Value(y.Rank) { First = name } : new Value(y.Rank) { Last = name };
        string value = first ? y.First! : y.Last!;
        if (QuantizedWeights.FusesRelu(activation))
            value = Op("Relu", layer, [value]);
        if (scale > 0)
            value = QuantizeDequantize(value, layer, scale, zeroPoint);
        var result = Wrap(value);
        return QuantizedWeights.Fuses(activation) ? result : Activate(activation, result, layer);
    }

    private string QuantizeDequantize(string x, string layer, float scale, float zeroPoint)
    {
        string s = Constant(layer + "/scale", [scale]); // no dims: a scalar, per-tensor parameters
        string z = ByteTensor(layer + "/zero_point", TensorProto.Types.DataType.Uint8, [checked((byte)zeroPoint)], []);
        string codes = Op("QuantizeLinear", layer, [x, s, z]);
        return Op("DequantizeLinear", layer, [codes, s, z]);
    }

    /// <summary>An INT8 initializer of integer codes and its DequantizeLinear with one scale per index of <paramref name="axis"/>.</summary>
    private string Int8Dequantized(string name, ReadOnlySpan<float> codes, int[] dims, ReadOnlySpan<float> scales, int axis)
    {
        var bytes = new byte[codes.Length];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)checked((sbyte)codes[i]);
        string w = ByteTensor(name, TensorProto.Types.DataType.Int8, bytes, [.. dims.Select(d => (long)d)]);
        string s = Constant(name + "_scale", scales, scales.Length);
        string z = ByteTensor(name + "_zero_point", TensorProto.Types.DataType.Int8, new byte[scales.Length], [scales.Length]);
        return Op("DequantizeLinear", name, [w, s, z], Int("axis", axis));
    }

    /// <summary>The bias as INT32 codes at scale input scale · kernel scale (ONNX Runtime's integer form), or float for a dynamic layer.</summary>
    private string Bias(string layer, ReadOnlySpan<float> bias, float inputScale, ReadOnlySpan<float> kernelScales)
    {
        if (inputScale <= 0)
            return Constant(layer + "/bias", bias, bias.Length);
        var codes = new int[bias.Length];
        var scales = new float[bias.Length];
        for (int i = 0; i < codes.Length; i++)
        {
            scales[i] = inputScale * kernelScales[i];
            codes[i] = (int)Math.Clamp(Math.Round(bias[i] / (double)scales[i], MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        }
        string b = ByteTensor(layer + "/bias", TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(codes.AsSpan()).ToArray(), [codes.Length]);
        string s = Constant(layer + "/bias_scale", scales, scales.Length);
        string z = ByteTensor(layer + "/bias_zero_point", TensorProto.Types.DataType.Int32, new byte[4 * codes.Length], [codes.Length]);
        return Op("DequantizeLinear", layer + "/bias", [b, s, z], Int("axis", 0));
    }

    private string ByteTensor(string name, TensorProto.Types.DataType type, byte[] raw, long[] dims)
    {
        string n = Unique(name);
        var t = new TensorProto { Name = n, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        _graph.Initializer.Add(t);
        return n;
    }
}

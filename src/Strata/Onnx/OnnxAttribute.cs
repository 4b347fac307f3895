using Google.Protobuf;
using Strata.Onnx.Proto;

namespace Strata.Onnx;

/// <summary>An attribute of an ONNX node (for <see cref="OnnxActivationContext.Node"/>).</summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    internal AttributeProto Proto { get; }

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Float(string name, float value) => new(new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    /// <summary>An integer attribute.</summary>
    public static OnnxAttribute Int(string name, long value) => new(new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    /// <summary>A list-of-integers attribute (axes, pads, strides...).</summary>
    public static OnnxAttribute Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return new(a);
    }

    /// <summary>A string attribute (UTF-8).</summary>
    public static OnnxAttribute String(string name, string value) =>
        new(new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });
}

using Google.Protobuf;
using Strata.Onnx.Proto;

namespace Strata.Onnx;

/// <summary>An attribute of an ONNX node (for <see cref="OnnxActivationContext.Node"/>).</summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    internal AttributeProto Proto { get; }

    public static OnnxAttribute Float(string name, float value) => new(new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    public static OnnxAttribute Int(string name, long value) => new(new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    public static OnnxAttribute Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return new(a);
    }

    public static OnnxAttribute String(string name, string value) =>
        new(new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });
}

using Strata.Layers;

namespace Strata.Onnx;

/// <summary>Writes an activation's ONNX nodes on <see cref="OnnxActivationContext.Input"/> and returns the name of their output.</summary>
public delegate string OnnxActivationExport(OnnxActivationContext context);

/// <summary>
/// The ONNX form of each activation, by the activation's registered name: what <c>Model.ExportOnnx</c>
/// writes for it. The built-ins are registered from the start, one call each; a custom activation
/// registers its form here to be exported (exporting a model that uses an activation without one throws,
/// naming it).
/// </summary>
public static class OnnxActivations
{
    private static readonly Dictionary<string, OnnxActivationExport> s_forms = new(StringComparer.OrdinalIgnoreCase);

    static OnnxActivations()
    {
        Register("linear", c => c.Input);
        Register("relu", c => c.Node("Relu", [c.Input]));
        Register("sigmoid", c => c.Node("Sigmoid", [c.Input]));
        Register("tanh", c => c.Node("Tanh", [c.Input]));
        Register("exponential", c => c.Node("Exp", [c.Input]));
        Register("softplus", c => c.Node("Softplus", [c.Input]));
        Register("selu", c => c.Node("Selu", [c.Input]));
        Register("leaky_relu", c => c.Node("LeakyRelu", [c.Input], OnnxAttribute.Float("alpha", Alpha(c.Activation))));
        Register("elu", c => c.Node("Elu", [c.Input], OnnxAttribute.Float("alpha", Alpha(c.Activation))));
        Register("softmax", c => c.Node("Softmax", [c.Input], OnnxAttribute.Int("axis", c.ChannelAxis)));
        Register("swish", c => c.Node("Mul", [c.Input, c.Node("Sigmoid", [c.Input])]));
    }

    private static float Alpha(ActivationFunction f) => ((AlphaConfig)f.GetConfig()!).Alpha;

    /// <summary>Registers (or replaces) the ONNX form of the activation registered as <paramref name="activationName"/>.</summary>
    public static void Register(string activationName, OnnxActivationExport export)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(activationName);
        ArgumentNullException.ThrowIfNull(export);
        lock (s_forms)
            s_forms[activationName] = export;
    }

    /// <summary>Whether an activation name has an ONNX form.</summary>
    public static bool IsRegistered(string activationName)
    {
        lock (s_forms)
            return s_forms.ContainsKey(activationName);
    }

    /// <summary>The registered names, sorted.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (s_forms)
                return [.. s_forms.Keys.Order(StringComparer.Ordinal)];
        }
    }

    internal static OnnxActivationExport? Find(string activationName)
    {
        lock (s_forms)
            return s_forms.TryGetValue(activationName, out var f) ? f : null;
    }
}

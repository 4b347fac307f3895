using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Strata.Layers;

namespace Strata.Serialization;

/// <summary>
/// The activations that names in code (<c>new Dense(8, "relu")</c>) and in model files may refer to. An
/// activation is saved as its name, or as <c>{"name": ..., settings...}</c> when its
/// <see cref="ActivationFunction.GetConfig"/> returns settings; loading looks the name up here. The
/// built-ins are registered from the start, each with one call like a custom activation's.
/// </summary>
public static class ActivationRegistry
{
    private static readonly Registry<ActivationFunction> s_registry = new("activation", "ActivationRegistry.Register", sharedTypes: true, ignoreCase: true);
    private static readonly Dictionary<string, Func<ActivationFunction>> s_byName = new(StringComparer.OrdinalIgnoreCase);

    static ActivationRegistry()
    {
        Register("linear", () => ActivationFunction.Linear);
        Register("exponential", () => ActivationFunction.Exponential);
        Register("sigmoid", () => ActivationFunction.Sigmoid);
        Register("tanh", () => ActivationFunction.Tanh);
        Register("relu", () => ActivationFunction.Relu);
        Builtin<AlphaConfig>("leaky_relu", c => ActivationFunction.LeakyRelu(c.Alpha), () => ActivationFunction.LeakyRelu());
        Register("softmax", () => ActivationFunction.Softmax);
        Builtin<AlphaConfig>("elu", c => ActivationFunction.Elu(c.Alpha), () => ActivationFunction.Elu());
        Register("selu", () => ActivationFunction.Selu);
        Register("gelu", () => ActivationFunction.Gelu);
        Register("swish", () => ActivationFunction.Swish);
        Register("softplus", () => ActivationFunction.Softplus);
    }

    /// <summary>Registers an activation without settings: <paramref name="create"/> makes it (it may return one shared instance).</summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or <paramref name="create"/> makes one with another name.</exception>
    public static void Register<TActivation>(string name, Func<TActivation> create) where TActivation : ActivationFunction
    {
        ArgumentNullException.ThrowIfNull(create);
        Add<TActivation>(name, null, ModelJson.Options, _ => create(), create);
    }

    /// <summary>
    /// Registers an activation with settings: saving writes its <see cref="ActivationFunction.GetConfig"/>
    /// (a <typeparamref name="TConfig"/>) beside its name, loading reads them back and calls
    /// <paramref name="fromConfig"/>. <paramref name="byName"/>, when given, makes it from its name alone
    /// (<c>"leaky_relu"</c> in code); without it the name alone is refused. The settings are read and written by
    /// reflection; under trimming or native AOT use the overload that takes their JSON contracts.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the activations made carry another name.</exception>
    [RequiresUnreferencedCode(ModelJson.ReflectionMessage)]
    [RequiresDynamicCode(ModelJson.ReflectionMessage)]
    public static void Register<TActivation, TConfig>(string name, Func<TConfig, TActivation> fromConfig, Func<TActivation>? byName = null)
        where TActivation : ActivationFunction where TConfig : class
    {
        ArgumentNullException.ThrowIfNull(fromConfig);
        Add<TActivation>(name, typeof(TConfig), ModelJson.ReflectionOptions(), c => fromConfig((TConfig)c!), byName);
    }

    /// <summary>
    /// Registers an activation with settings, as <see cref="Register{TActivation, TConfig}(string, Func{TConfig, TActivation}, Func{TActivation})"/>,
    /// with <typeparamref name="TConfig"/>'s JSON contract taken from <paramref name="configJson"/> (a JsonSerializerContext
    /// with <c>[JsonSerializable(typeof(TConfig))]</c>): no reflection, so it works under trimming and native AOT.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the activations made carry another name, or
    /// <paramref name="configJson"/> has no contract for <typeparamref name="TConfig"/>.</exception>
    public static void Register<TActivation, TConfig>(string name, Func<TConfig, TActivation> fromConfig, IJsonTypeInfoResolver configJson,
        Func<TActivation>? byName = null)
        where TActivation : ActivationFunction where TConfig : class
    {
        ArgumentNullException.ThrowIfNull(fromConfig);
        Add<TActivation>(name, typeof(TConfig), s_registry.OptionsFor(typeof(TConfig), configJson), c => fromConfig((TConfig)c!), byName);
    }

    // A built-in with settings: its contract from the generated ones (Register's reflection overload would warn under AOT).
    private static void Builtin<TConfig>(string name, Func<TConfig, ActivationFunction> fromConfig, Func<ActivationFunction> byName) where TConfig : class =>
        Add<ActivationFunction>(name, typeof(TConfig), ModelJson.Options, c => fromConfig((TConfig)c!), byName);

    private static void Add<TActivation>(string name, Type? configType, JsonSerializerOptions json, Func<object?, ActivationFunction> create,
        Func<ActivationFunction>? byName)
        where TActivation : ActivationFunction
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var sample = byName?.Invoke();
        // Registered as an abstract type (the built-ins, whose classes are internal), the type is the one it makes.
        Type type = !typeof(TActivation).IsAbstract ? typeof(TActivation)
            : sample?.GetType() ?? throw new ArgumentException($"ActivationRegistry.Register: '{name}' is registered as the abstract {typeof(TActivation).Name}; name the concrete type");
        if (sample is not null && !string.Equals(sample.Name, name, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"ActivationRegistry.Register: '{name}' makes an activation named '{sample.Name}'; an activation is registered under its own name");
        s_registry.Add(new(name, type, configType, c => Checked(name, create(c)), json));
        lock (s_byName)
        {
            if (byName is null)
                s_byName.Remove(name);
            else
                s_byName[name] = byName;
        }
    }

    private static ActivationFunction Checked(string name, ActivationFunction f) =>
        string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase) ? f
            : throw new ArgumentException($"the factory registered as '{name}' made an activation named '{f.Name}'");

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names => s_registry.Names;

    /// <summary>Whether a name can be used.</summary>
    public static bool IsRegistered(string name) => s_registry.Find(name) is not null;

    /// <summary>The activation a name alone stands for (case-insensitive; "silu" is swish, null or "" is linear).</summary>
    /// <exception cref="ArgumentException">An unknown name, or one whose activation needs settings.</exception>
    internal static ActivationFunction FromName(string? name)
    {
        string n = (name ?? "").Trim();
        if (n.Length == 0)
            n = "linear";
        else if (n.Equals("silu", StringComparison.OrdinalIgnoreCase))
            n = "swish";
        if (s_registry.Find(n) is null)
            throw new ArgumentException($"Activation: unknown name '{name}'; expected one of {string.Join(", ", Names)} (register custom ones with ActivationRegistry.Register)");
        Func<ActivationFunction>? create;
        lock (s_byName)
            s_byName.TryGetValue(n, out create);
        return create?.Invoke() ?? throw new ArgumentException($"Activation '{n}' needs settings; create it in code rather than by name");
    }

    /// <summary>An activation as saved: its name, or {"name", settings...}.</summary>
    /// <exception cref="InvalidOperationException">The activation is not registered under its name with its type.</exception>
    internal static JsonNode ToJson(ActivationFunction f)
    {
        var (name, config) = s_registry.Describe(f, f.Name, f.GetConfig(), f.Name);
        if (config is null)
            return JsonValue.Create(name);
        var o = new JsonObject { ["name"] = name };
        foreach (var (key, value) in config.AsObject().ToArray())
        {
            if (key == "name")
                throw new InvalidOperationException($"Model.Save: activation '{f.Name}' has a setting called 'name', which its saved form uses for the activation's name");
            config.AsObject().Remove(key);
            o[key] = value;
        }
        return o;
    }

    /// <summary>An activation from its saved form.</summary>
    /// <exception cref="InvalidDataException">An unknown name or settings that do not fit.</exception>
    internal static ActivationFunction FromJson(JsonElement e, string where)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            // A name alone; an activation with settings then takes the ones its name stands for (files
            // written before activations carried their settings kept an Activation layer's alpha beside it).
            try
            {
                return FromName(e.GetString());
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{where}: {ex.Message}", ex);
            }
        }
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where}: expected an activation name or {{\"name\": ..., settings}}, got {e.ValueKind}");
        var settings = new JsonObject();
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name != "name")
                settings[p.Name] = JsonNode.Parse(p.Value.GetRawText());
        }
        using var doc = JsonDocument.Parse(settings.ToJsonString(), new JsonDocumentOptions { MaxDepth = ModelJson.MaxDepth });
        return s_registry.Create(n.GetString()!, doc.RootElement, where);
    }
}

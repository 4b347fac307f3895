using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Strata.Serialization;

/// <summary>
/// The one implementation behind every registry (<see cref="LayerRegistry"/>, <see cref="OptimizerRegistry"/>,
/// <see cref="LossRegistry"/>, <see cref="ScheduleRegistry"/>, <see cref="MetricRegistry"/>,
/// <see cref="ActivationRegistry"/>): names mapped to a type, the type of its config record and a factory
/// from that record. Saving asks an object for its config and writes it as JSON under the registered name;
/// loading reads the JSON back into the registered config type and calls the factory, so a name read from
/// a file only ever reaches a factory registered in this process, never reflection. The config types'
/// JSON contracts come from <see cref="ModelJsonContext"/> (the built-ins), from a custom registration's own
/// JsonSerializerContext, or, for a custom registration without one, from reflection.
/// </summary>
/// <typeparam name="TBase">The extension point (Layer, Optimizer, Loss, ...).</typeparam>
internal sealed class Registry<TBase> where TBase : class
{
    /// <param name="Name">The registered name, written to files.</param>
    /// <param name="Type">The exact type of the objects it makes.</param>
    /// <param name="ConfigType">The config record type; null for objects without settings.</param>
    /// <param name="Create">The factory: the config (null when <paramref name="ConfigType"/> is) → a new object.</param>
    /// <param name="Json">The options whose contract of <paramref name="ConfigType"/> reads and writes it.</param>
    internal sealed record Entry(string Name, Type Type, Type? ConfigType, Func<object?, TBase> Create, JsonSerializerOptions Json)
    {
        public JsonTypeInfo ConfigContract => Json.GetTypeInfo(ConfigType!);
    }

    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _byName;
    private readonly Dictionary<Type, Entry> _byType = [];
    private readonly bool _sharedTypes;

    /// <param name="kind">What the registry holds, for messages ("optimizer").</param>
    /// <param name="registerCall">The public call that registers one, for messages ("OptimizerRegistry.Register").</param>
    /// <param name="sharedTypes">
    /// Whether several names may share one type (the built-in activations are one class): objects are then
    /// found by their own name, checked against the type registered under it, instead of by type.
    /// </param>
    /// <param name="ignoreCase">Whether names are case-insensitive.</param>
    public Registry(string kind, string registerCall, bool sharedTypes = false, bool ignoreCase = false)
    {
        Kind = kind;
        RegisterCall = registerCall;
        _sharedTypes = sharedTypes;
        _byName = new Dictionary<string, Entry>(ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
    }

    public string Kind { get; }

    public string RegisterCall { get; }

    /// <summary>Registers <typeparamref name="T"/> under <paramref name="name"/>, made from its <typeparamref name="TConfig"/> by <paramref name="fromConfig"/>.</summary>
    public void Add<T, TConfig>(string name, Func<TConfig, T> fromConfig, JsonSerializerOptions json) where T : TBase where TConfig : class
    {
        ArgumentNullException.ThrowIfNull(fromConfig);
        Add(new(name, typeof(T), typeof(TConfig), c => fromConfig((TConfig)c!), json));
    }

    /// <summary>Adds or replaces an entry (replacing is allowed for the same name and type).</summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or (unless types are shared) the type by another name.</exception>
    public void Add(Entry entry)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Name);
        lock (_lock)
        {
            if (_byName.TryGetValue(entry.Name, out var old) && old.Type != entry.Type)
                throw new ArgumentException($"{RegisterCall}: the name '{entry.Name}' is already registered for {old.Type.FullName}, not {entry.Type.FullName}");
            if (!_sharedTypes && _byType.TryGetValue(entry.Type, out var oldType) && oldType.Name != entry.Name)
                throw new ArgumentException($"{RegisterCall}: {entry.Type.FullName} is already registered as '{oldType.Name}', not '{entry.Name}'");
            _byName[entry.Name] = entry;
            if (!_sharedTypes)
                _byType[entry.Type] = entry;
        }
    }

    /// <summary>
    /// The options for a custom config type whose contract comes from <paramref name="resolver"/> (a JsonSerializerContext
    /// that lists it), checked now so that a missing contract fails at registration rather than at the first save.
    /// </summary>
    /// <exception cref="ArgumentException">The resolver has no contract for <paramref name="configType"/>.</exception>
    public JsonSerializerOptions OptionsFor(Type configType, IJsonTypeInfoResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        var options = ModelJson.WithResolver(resolver);
        try
        {
            options.GetTypeInfo(configType);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException($"{RegisterCall}: the given JSON contracts do not include {configType.FullName}; " +
                $"list it in the JsonSerializerContext ([JsonSerializable(typeof({configType.Name}))]) passed here", nameof(resolver), e);
        }
        return options;
    }

    /// <summary>The registered names, sorted.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_lock)
                return [.. _byName.Keys.Order(StringComparer.Ordinal)];
        }
    }

    public Entry? Find(string name)
    {
        lock (_lock)
            return _byName.TryGetValue(name, out var e) ? e : null;
    }

    /// <summary>The entry that saves <paramref name="value"/>: by its type, or by <paramref name="name"/> when types are shared.</summary>
    public Entry? Find(TBase value, string? name)
    {
        lock (_lock)
        {
            if (!_sharedTypes)
                return _byType.TryGetValue(value.GetType(), out var byType) ? byType : null;
            return name is not null && _byName.TryGetValue(name, out var e) && e.Type == value.GetType() ? e : null;
        }
    }

    /// <summary>The registered name of <paramref name="value"/> and its config as JSON (null for an entry without a config).</summary>
    /// <param name="value">The object to save.</param>
    /// <param name="label">How messages name it (the layer's or optimizer's name); null for none.</param>
    /// <param name="config">Its config, from its <c>GetConfig()</c>.</param>
    /// <param name="name">Its own name, when types are shared.</param>
    /// <exception cref="InvalidOperationException">The type is not registered, or its config is not the registered record type.</exception>
    public (string Name, JsonNode? Config) Describe(TBase value, string? label, object? config, string? name = null)
    {
        string what = label is null ? $"{Kind} {value.GetType().FullName}" : $"{Kind} '{label}' (type {value.GetType().FullName})";
        var entry = Find(value, name)
            ?? throw new InvalidOperationException($"Model.Save: {what} is not registered; register it with {RegisterCall}(...) " +
                "once before saving or loading models that use it (a file that names it could not be loaded or resumed otherwise)");
        if (entry.ConfigType is null)
        {
            if (config is not null)
                throw new InvalidOperationException($"Model.Save: {what} returned a {config.GetType().Name} config; its registration as '{entry.Name}' takes none");
            return (entry.Name, null);
        }
        if (config is null || config.GetType() != entry.ConfigType)
            throw new InvalidOperationException($"Model.Save: {what} returned a {config?.GetType().Name ?? "null"} config; " +
                $"its registration as '{entry.Name}' expects {entry.ConfigType.Name}");
        return (entry.Name, JsonSerializer.SerializeToNode(config, entry.ConfigContract));
    }

    /// <summary>{"class": name, "config": {...}}, the form every kind but activations is written in.</summary>
    public JsonObject DescribeObject(TBase value, string? label, object? config)
    {
        var (name, json) = Describe(value, label, config);
        return new JsonObject { ["class"] = name, ["config"] = json ?? new JsonObject() };
    }

    /// <summary>A new object from its registered name and JSON config (null or {} for an entry without a config).</summary>
    /// <exception cref="InvalidDataException">An unknown name, or a config that does not fit (the message says where and why).</exception>
    public TBase Create(string name, JsonElement? config, string where)
    {
        var entry = Find(name)
            ?? throw new InvalidDataException($"{where}: unknown {Kind} '{ModelJson.Quote(name)}'; register custom ones with {RegisterCall} before loading " +
                $"(registered: {string.Join(", ", Names)})");
        object? typed = null;
        if (entry.ConfigType is null)
        {
            if (config is { ValueKind: not JsonValueKind.Null } c && (c.ValueKind != JsonValueKind.Object || c.EnumerateObject().Any()))
                throw new InvalidDataException($"{where}: the {Kind} '{entry.Name}' takes no settings, got {ModelJson.Quote(c.GetRawText())}");
        }
        else
        {
            if (config is not { ValueKind: JsonValueKind.Object } c)
                throw new InvalidDataException($"{where}: the {Kind} '{entry.Name}' needs a config object");
            try
            {
                typed = c.Deserialize(entry.ConfigContract);
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidDataException($"{where}: the {entry.Name} config does not fit {entry.ConfigType.Name} ({e.Message})", e);
            }
            if (typed is null)
                throw new InvalidDataException($"{where}: the {entry.Name} config is null");
        }
        return Create(entry, typed, where);
    }

    /// <summary>A new object from its {"class": name, "config": {...}} form.</summary>
    /// <exception cref="InvalidDataException">Not that form, an unknown name, or a config that does not fit.</exception>
    public TBase CreateFromObject(JsonElement o, string where)
    {
        if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("class", out var cls) || cls.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where}: expected {{\"class\": name, \"config\": {{...}}}}, got {ModelJson.Quote(o.GetRawText())}");
        if (o.EnumerateObject().Any(p => p.Name is not ("class" or "config")))
            throw new InvalidDataException($"{where}: a {Kind} holds only \"class\" and \"config\"");
        return Create(cls.GetString()!, o.TryGetProperty("config", out var c) ? c : null, where);
    }

    /// <summary>The entry's factory on a typed config, with its argument errors reported as bad data.</summary>
    public TBase Create(Entry entry, object? config, string where)
    {
        try
        {
            return entry.Create(config);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{where}: the {entry.Name} config is not valid ({e.Message})", e);
        }
    }
}

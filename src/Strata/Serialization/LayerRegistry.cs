using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Strata.Layers;

namespace Strata.Serialization;

/// <summary>
/// The layer types a model file may name, each with its config record and a factory that builds
/// the layer from that record. Loading a model looks every layer's class up here — a type name read
/// from a file never reaches reflection — so a file can only create layers registered in this
/// process. The built-in layers are registered from the start; a custom layer registers itself
/// once (for example in a static constructor) with <see cref="Register{TLayer, TConfig}"/>.
/// </summary>
public static class LayerRegistry
{
    private sealed record Entry(string ClassName, Type LayerType, Type ConfigType, Func<LayerConfig, Layer> Create);

    private static readonly object s_lock = new();
    private static readonly Dictionary<string, Entry> s_byName = new(StringComparer.Ordinal);
    private static readonly Dictionary<Type, Entry> s_byType = [];

    static LayerRegistry()
    {
        Register<Dense, DenseConfig>("Dense", c => new Dense(c.Units, c.Activation, c.UseBias, Initializers.Parse(c.KernelInitializer),
            Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.BiasRegularizer, c.Name));
        Register<Activation, ActivationConfig>("Activation", c => new Activation(ModelJson.Activation(c.Activation, c.Alpha), c.Name));
        Register<Flatten, NamedLayerConfig>("Flatten", c => new Flatten(c.Name));
        Register<Reshape, ShapeConfig>("Reshape", c => new Reshape(c.Shape, c.Name));
        Register<Dropout, DropoutConfig>("Dropout", c => new Dropout(c.Rate, c.Name));
        Register<Input, ShapeConfig>("InputLayer", c => new Input(c.Shape, c.Name));
        Register<Add, MergeConfig>("Add", c => new Add(c.Name));
        Register<Subtract, MergeConfig>("Subtract", c => new Subtract(c.Name));
        Register<Multiply, MergeConfig>("Multiply", c => new Multiply(c.Name));
        Register<Average, MergeConfig>("Average", c => new Average(c.Name));
        Register<Maximum, MergeConfig>("Maximum", c => new Maximum(c.Name));
        Register<Minimum, MergeConfig>("Minimum", c => new Minimum(c.Name));
        Register<Concatenate, ConcatenateConfig>("Concatenate", c => new Concatenate(c.Axis, c.Name));
        Register<Conv2D, Conv2DConfig>("Conv2D", c => new Conv2D(c.Filters, c.KernelSize, c.Strides, c.Padding, c.DilationRate, c.Activation,
            c.UseBias, Initializers.Parse(c.KernelInitializer), Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.BiasRegularizer, c.Name));
        Register<Conv1D, Conv1DConfig>("Conv1D", c => new Conv1D(c.Filters, c.KernelSize, c.Strides, c.Padding, c.DilationRate, c.Activation,
            c.UseBias, Initializers.Parse(c.KernelInitializer), Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.BiasRegularizer, c.Name));
        Register<Conv2DTranspose, Conv2DTransposeConfig>("Conv2DTranspose", c => new Conv2DTranspose(c.Filters, c.KernelSize, c.Strides,
            c.Padding, c.Activation, c.UseBias, Initializers.Parse(c.KernelInitializer), Initializers.Parse(c.BiasInitializer), c.Name));
        Register<DepthwiseConv2D, DepthwiseConv2DConfig>("DepthwiseConv2D", c => new DepthwiseConv2D(c.KernelSize, c.Strides, c.Padding,
            c.DepthMultiplier, c.DilationRate, c.Activation, c.UseBias, Initializers.Parse(c.DepthwiseInitializer),
            Initializers.Parse(c.BiasInitializer), c.Name));
        Register<MaxPooling2D, Pooling2DConfig>("MaxPooling2D", c => new MaxPooling2D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Register<AveragePooling2D, Pooling2DConfig>("AveragePooling2D", c => new AveragePooling2D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Register<GlobalAveragePooling2D, NamedLayerConfig>("GlobalAveragePooling2D", c => new GlobalAveragePooling2D(c.Name));
        Register<GlobalMaxPooling2D, NamedLayerConfig>("GlobalMaxPooling2D", c => new GlobalMaxPooling2D(c.Name));
        Register<MaxPooling1D, Pooling1DConfig>("MaxPooling1D", c => new MaxPooling1D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Register<AveragePooling1D, Pooling1DConfig>("AveragePooling1D", c => new AveragePooling1D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Register<GlobalAveragePooling1D, NamedLayerConfig>("GlobalAveragePooling1D", c => new GlobalAveragePooling1D(c.Name));
        Register<GlobalMaxPooling1D, NamedLayerConfig>("GlobalMaxPooling1D", c => new GlobalMaxPooling1D(c.Name));
        Register<ZeroPadding2D, ZeroPadding2DConfig>("ZeroPadding2D", c => new ZeroPadding2D(c.Rows, c.Columns, c.Name));
        Register<UpSampling2D, Size2DConfig>("UpSampling2D", c => new UpSampling2D(c.Size, c.Name));
        Register<SpatialDropout1D, SpatialDropoutConfig>("SpatialDropout1D", c => new SpatialDropout1D(c.Rate, c.Name));
        Register<SpatialDropout2D, SpatialDropoutConfig>("SpatialDropout2D", c => new SpatialDropout2D(c.Rate, c.Name));
        Register<Rescaling, RescalingConfig>("Rescaling", c => new Rescaling(c.Scale, c.Offset, c.Name));
        Register<Normalization, FeatureNormalizationConfig>("Normalization", c => new Normalization(c.Mean, c.Variance, c.Name));
        Register<RandomFlip, RandomFlipConfig>("RandomFlip", c => new RandomFlip(c.Mode, c.Name));
        Register<RandomRotation, RandomWarpConfig>("RandomRotation", c => new RandomRotation(c.Factor, c.FillMode, c.Interpolation, c.FillValue, c.Name));
        Register<RandomTranslation, RandomWarpConfig>("RandomTranslation",
            c => new RandomTranslation(c.Factor, c.WidthFactor, c.FillMode, c.Interpolation, c.FillValue, c.Name));
        Register<RandomZoom, RandomWarpConfig>("RandomZoom", c => new RandomZoom(c.Factor, c.WidthFactor, c.FillMode, c.Interpolation, c.FillValue, c.Name));
        Register<RandomContrast, RandomContrastConfig>("RandomContrast", c => new RandomContrast(c.Factor, c.Name));
        Register<BatchNormalization, NormalizationConfig>("BatchNormalization",
            c => new BatchNormalization(c.Momentum, c.Epsilon, c.Center, c.Scale, c.Name));
        Register<LayerNormalization, NormalizationConfig>("LayerNormalization",
            c => new LayerNormalization(c.Epsilon, c.Center, c.Scale, c.Name));
    }

    /// <summary>
    /// Registers a layer type under a class name: saving writes the layer's <see cref="Layer.GetConfig"/>
    /// (which must return a <typeparamref name="TConfig"/>) as JSON, loading reads that JSON back into a
    /// <typeparamref name="TConfig"/> and calls <paramref name="fromConfig"/>. Registering the same type
    /// under the same name again is allowed (it replaces the factory).
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    public static void Register<TLayer, TConfig>(string className, Func<TConfig, TLayer> fromConfig)
        where TLayer : Layer where TConfig : LayerConfig
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(className);
        ArgumentNullException.ThrowIfNull(fromConfig);
        var entry = new Entry(className, typeof(TLayer), typeof(TConfig), c => fromConfig((TConfig)c));
        lock (s_lock)
        {
            if (s_byName.TryGetValue(className, out var old) && old.LayerType != typeof(TLayer))
                throw new ArgumentException($"LayerRegistry: class name '{className}' is already registered for {old.LayerType.FullName}");
            if (s_byType.TryGetValue(typeof(TLayer), out var oldType) && oldType.ClassName != className)
                throw new ArgumentException($"LayerRegistry: {typeof(TLayer).FullName} is already registered as '{oldType.ClassName}'");
            s_byName[className] = entry;
            s_byType[typeof(TLayer)] = entry;
        }
    }

    /// <summary>The registered class names.</summary>
    public static IReadOnlyList<string> ClassNames
    {
        get
        {
            lock (s_lock)
                return [.. s_byName.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Whether a class name can be loaded.</summary>
    public static bool IsRegistered(string className)
    {
        lock (s_lock)
            return s_byName.ContainsKey(className);
    }

    /// <summary>The class name and JSON config of a layer.</summary>
    /// <exception cref="InvalidOperationException">The layer's type is not registered, or its config is not the registered record type.</exception>
    internal static JsonObject Describe(Layer layer)
    {
        Entry? entry;
        lock (s_lock)
            s_byType.TryGetValue(layer.GetType(), out entry);
        if (entry is null)
            throw new InvalidOperationException($"Save: layer '{layer.Name}' is a {layer.GetType().FullName}, which is not registered; " +
                "call LayerRegistry.Register<TLayer, TConfig>(className, fromConfig) once before saving or loading models that use it");
        var config = layer.GetConfig();
        if (config.GetType() != entry.ConfigType)
            throw new InvalidOperationException($"Save: layer '{layer.Name}' returned a {config.GetType().Name} config, its registration expects {entry.ConfigType.Name}");
        return new JsonObject
        {
            ["class"] = entry.ClassName,
            ["config"] = JsonSerializer.SerializeToNode(config, entry.ConfigType, ModelJson.Options),
        };
    }

    /// <summary>A new layer from its class name and JSON config.</summary>
    /// <exception cref="InvalidDataException">An unknown class, or a config that does not fit it (the message says which).</exception>
    internal static Layer Create(string className, JsonElement config, string where)
    {
        Entry? entry;
        lock (s_lock)
            s_byName.TryGetValue(className, out entry);
        if (entry is null)
            throw new InvalidDataException($"{where}: unknown layer class '{ModelJson.Quote(className)}'; register custom layers with LayerRegistry.Register before loading");
        LayerConfig? typed;
        try
        {
            typed = (LayerConfig?)config.Deserialize(entry.ConfigType, ModelJson.Options);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"{where}: the {entry.ClassName} config does not fit {entry.ConfigType.Name} ({e.Message})", e);
        }
        if (typed is null)
            throw new InvalidDataException($"{where}: the {entry.ClassName} config is null");
        try
        {
            return entry.Create(typed);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{where}: the {entry.ClassName} config is not valid ({e.Message})", e);
        }
    }
}

/// <summary>The JSON conventions of model files: snake_case names, strict records, pairs as arrays.</summary>
internal static class ModelJson
{
    /// <summary>Nesting limit for every JSON document of a model file.</summary>
    public const int MaxDepth = 32;

    public static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            MaxDepth = MaxDepth,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            WriteIndented = true,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        o.Converters.Add(new PairConverter());
        o.Converters.Add(new ActivationConverter());
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    /// <summary>An activation from its name and alpha (alpha matters for leaky_relu and elu).</summary>
    public static ActivationFunction Activation(string name, float alpha) => ActivationFunction.Parse(name) switch
    {
        { Name: "leaky_relu" } => ActivationFunction.LeakyRelu(alpha),
        { Name: "elu" } => ActivationFunction.Elu(alpha),
        var f => f,
    };

    /// <summary>A string from a file, shortened and stripped of control characters for an error message.</summary>
    public static string Quote(string s)
    {
        var clean = new string([.. s.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);
        return s.Length > 80 ? clean + "…" : clean;
    }

    /// <summary>(a, b) as [a, b].</summary>
    private sealed class PairConverter : JsonConverter<(int, int)>
    {
        public override (int, int) Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new JsonException($"expected a pair [a, b], got {reader.TokenType}");
            reader.Read();
            int a = reader.GetInt32();
            reader.Read();
            int b = reader.GetInt32();
            reader.Read();
            if (reader.TokenType != JsonTokenType.EndArray)
                throw new JsonException("expected a pair [a, b] with exactly two numbers");
            return (a, b);
        }

        public override void Write(Utf8JsonWriter writer, (int, int) value, JsonSerializerOptions options)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(value.Item1);
            writer.WriteNumberValue(value.Item2);
            writer.WriteEndArray();
        }
    }

    /// <summary>An activation as its name, or {"name", "alpha"} when it has a parameter.</summary>
    private sealed class ActivationConverter : JsonConverter<ActivationFunction>
    {
        public override ActivationFunction Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            try
            {
                if (reader.TokenType == JsonTokenType.String)
                    return ActivationFunction.Parse(reader.GetString());
                if (reader.TokenType != JsonTokenType.StartObject)
                    throw new JsonException($"expected an activation name or {{\"name\", \"alpha\"}}, got {reader.TokenType}");
                string? name = null;
                float alpha = 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    string key = reader.GetString()!;
                    reader.Read();
                    switch (key)
                    {
                        case "name":
                            name = reader.GetString();
                            break;
                        case "alpha":
                            alpha = reader.GetSingle();
                            break;
                        default:
                            throw new JsonException($"unexpected activation field '{Quote(key)}'");
                    }
                }
                if (reader.TokenType != JsonTokenType.EndObject || name is null)
                    throw new JsonException("an activation object needs a name");
                return Activation(name, alpha);
            }
            catch (ArgumentException e)
            {
                throw new JsonException(e.Message, e);
            }
        }

        public override void Write(Utf8JsonWriter writer, ActivationFunction value, JsonSerializerOptions options)
        {
            if (value.Name is "leaky_relu" or "elu")
            {
                writer.WriteStartObject();
                writer.WriteString("name", value.Name);
                writer.WriteNumber("alpha", value.Alpha);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteStringValue(value.Name);
            }
        }
    }
}

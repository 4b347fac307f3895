using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Strata.Layers;
using Strata.Losses;
using Strata.Optimizers;

namespace Strata.Serialization;

/// <summary>
/// The JSON conventions of model files: snake_case names, strict records, pairs as arrays, activations
/// as their name (or {"name", settings...}), schedules as {"class", "config"} through their registry.
/// </summary>
internal static class ModelJson
{
    /// <summary>Nesting limit for every JSON document of a model file.</summary>
    public const int MaxDepth = 32;

    /// <summary>The options of every built-in config: the contracts generated in <see cref="ModelJsonContext"/>, no reflection.</summary>
    public static readonly JsonSerializerOptions Options = CreateOptions(ModelJsonContext.Default);

    /// <summary>What a registration that reads its config type by reflection says to trimmed and native AOT callers.</summary>
    public const string ReflectionMessage = "Reads and writes the config type by reflection, which trimming and native AOT cannot follow; " +
        "pass a JsonSerializerContext that lists the config type ([JsonSerializable(typeof(TConfig))]) to the overload that takes one.";

    private static JsonSerializerOptions? s_reflection;

    /// <summary>
    /// The options of a config type given with its own contracts (a custom registration's JsonSerializerContext):
    /// the built-in contracts first, so that Strata's own types inside it are written as always, then <paramref name="resolver"/>'s.
    /// </summary>
    public static JsonSerializerOptions WithResolver(IJsonTypeInfoResolver resolver) =>
        CreateOptions(JsonTypeInfoResolver.Combine(ModelJsonContext.Default, resolver));

    /// <summary>
    /// The options of a config type registered without contracts, read by reflection as before the generated
    /// contracts: any record, its enums as snake_case names like the built-in ones.
    /// </summary>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public static JsonSerializerOptions ReflectionOptions() =>
        s_reflection ??= CreateOptions(JsonTypeInfoResolver.Combine(ModelJsonContext.Default, new DefaultJsonTypeInfoResolver()),
            new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));

    private static JsonSerializerOptions CreateOptions(IJsonTypeInfoResolver resolver, JsonConverter? anyEnum = null)
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
            TypeInfoResolver = resolver,
        };
        // Every enum of a built-in config, as its snake_case name ("same", "tf_idf"); GeneratedJsonTests checks that the list is complete.
        o.Converters.Add(Enum<Padding>());
        o.Converters.Add(Enum<FillMode>());
        o.Converters.Add(Enum<Interpolation>());
        o.Converters.Add(Enum<TextStandardization>());
        o.Converters.Add(Enum<TextSplit>());
        o.Converters.Add(Enum<TextOutputMode>());
        o.Converters.Add(Enum<LossReduction>());
        if (anyEnum is not null)
            o.Converters.Add(anyEnum);
        o.Converters.Add(new PairConverter());
        o.Converters.Add(new ActivationConverter());
        o.Converters.Add(new ScheduleConverter());
        o.Converters.Add(new NestedLayerConverter());
        o.MakeReadOnly();
        return o;
    }

    private static JsonStringEnumConverter<T> Enum<T>() where T : struct, Enum => new(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false);

    /// <summary>
    /// An Activation layer's function with the alpha that files written before activations carried their
    /// own settings kept beside it (<c>"activation": "leaky_relu", "alpha": 0.1</c>); unchanged without one.
    /// </summary>
    public static ActivationFunction WithLegacyAlpha(ActivationFunction f, float? alpha) => (f.Name, alpha) switch
    {
        ("leaky_relu", float a) => ActivationFunction.LeakyRelu(a),
        ("elu", float a) => ActivationFunction.Elu(a),
        _ => f,
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

    /// <summary>An activation through <see cref="ActivationRegistry"/>: its name, or {"name", settings...} when it has settings.</summary>
    private sealed class ActivationConverter : JsonConverter<ActivationFunction>
    {
        public override ActivationFunction Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var doc = JsonDocument.ParseValue(ref reader);
            try
            {
                return ActivationRegistry.FromJson(doc.RootElement, "activation");
            }
            catch (InvalidDataException e)
            {
                throw new JsonException(e.Message, e);
            }
        }

        public override void Write(Utf8JsonWriter writer, ActivationFunction value, JsonSerializerOptions options) =>
            ActivationRegistry.ToJson(value).WriteTo(writer);
    }

    /// <summary>A learning-rate schedule through <see cref="ScheduleRegistry"/>: {"class", "config"}.</summary>
    private sealed class ScheduleConverter : JsonConverter<ILearningRateSchedule>
    {
        public override ILearningRateSchedule Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var doc = JsonDocument.ParseValue(ref reader);
            try
            {
                return ScheduleRegistry.FromJson(doc.RootElement, "schedule");
            }
            catch (InvalidDataException e)
            {
                throw new JsonException(e.Message, e);
            }
        }

        public override void Write(Utf8JsonWriter writer, ILearningRateSchedule value, JsonSerializerOptions options) =>
            ScheduleRegistry.ToJson(value).WriteTo(writer);
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Strata.Optimizers;

namespace Strata.Serialization;

/// <summary>
/// The learning-rate schedules a model file may name (inside its optimizer's config): saving writes the
/// schedule's registered name and its <see cref="ILearningRateSchedule.GetConfig"/>, loading looks the
/// name up here. The built-ins are registered from the start, one call each, the same way as a custom one.
/// </summary>
public static class ScheduleRegistry
{
    private static readonly Registry<ILearningRateSchedule> s_registry = new("learning-rate schedule", "ScheduleRegistry.Register");

    static ScheduleRegistry()
    {
        Builtin<ExponentialDecay>("exponential_decay");
        Builtin<PiecewiseConstantDecay>("piecewise_constant_decay");
        Builtin<InverseTimeDecay>("inverse_time_decay");
        Builtin<CosineDecay>("cosine_decay");
    }

    /// <summary>
    /// Registers a schedule that is its own config (a record whose constructor takes its properties, and
    /// whose <see cref="ILearningRateSchedule.GetConfig"/> is the default, itself), read and written by reflection;
    /// under trimming or native AOT use the overload that takes its JSON contracts.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    [RequiresUnreferencedCode(ModelJson.ReflectionMessage)]
    [RequiresDynamicCode(ModelJson.ReflectionMessage)]
    public static void Register<TSchedule>(string name) where TSchedule : class, ILearningRateSchedule =>
        Add<TSchedule, TSchedule>(name, c => c, ModelJson.ReflectionOptions());

    /// <summary>
    /// Registers a schedule that is its own config, as <see cref="Register{TSchedule}(string)"/>, with its JSON contract
    /// taken from <paramref name="configJson"/> (a JsonSerializerContext with <c>[JsonSerializable(typeof(TSchedule))]</c>):
    /// no reflection, so it works under trimming and native AOT.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name, or
    /// <paramref name="configJson"/> has no contract for <typeparamref name="TSchedule"/>.</exception>
    public static void Register<TSchedule>(string name, IJsonTypeInfoResolver configJson) where TSchedule : class, ILearningRateSchedule =>
        Add<TSchedule, TSchedule>(name, c => c, s_registry.OptionsFor(typeof(TSchedule), configJson));

    /// <summary>
    /// Registers a schedule type under a name: saving writes its <see cref="ILearningRateSchedule.GetConfig"/>
    /// (which must return a <typeparamref name="TConfig"/>), loading reads it back and calls <paramref name="fromConfig"/>.
    /// The config is read and written by reflection; under trimming or native AOT use the overload that takes its JSON contracts.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    [RequiresUnreferencedCode(ModelJson.ReflectionMessage)]
    [RequiresDynamicCode(ModelJson.ReflectionMessage)]
    public static void Register<TSchedule, TConfig>(string name, Func<TConfig, TSchedule> fromConfig)
        where TSchedule : class, ILearningRateSchedule where TConfig : class => Add(name, fromConfig, ModelJson.ReflectionOptions());

    /// <summary>
    /// Registers a schedule type under a name, as <see cref="Register{TSchedule, TConfig}(string, Func{TConfig, TSchedule})"/>,
    /// with <typeparamref name="TConfig"/>'s JSON contract taken from <paramref name="configJson"/> (a JsonSerializerContext
    /// with <c>[JsonSerializable(typeof(TConfig))]</c>): no reflection, so it works under trimming and native AOT.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name, or
    /// <paramref name="configJson"/> has no contract for <typeparamref name="TConfig"/>.</exception>
    public static void Register<TSchedule, TConfig>(string name, Func<TConfig, TSchedule> fromConfig, IJsonTypeInfoResolver configJson)
        where TSchedule : class, ILearningRateSchedule where TConfig : class => Add(name, fromConfig, s_registry.OptionsFor(typeof(TConfig), configJson));

    private static void Builtin<TSchedule>(string name) where TSchedule : class, ILearningRateSchedule =>
        Add<TSchedule, TSchedule>(name, c => c, ModelJson.Options);

    private static void Add<TSchedule, TConfig>(string name, Func<TConfig, TSchedule> fromConfig, JsonSerializerOptions json)
        where TSchedule : class, ILearningRateSchedule where TConfig : class => s_registry.Add(name, fromConfig, json);

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names => s_registry.Names;

    /// <summary>Whether a name can be loaded.</summary>
    public static bool IsRegistered(string name) => s_registry.Find(name) is not null;

    /// <summary>{"class", "config"} of a schedule.</summary>
    /// <exception cref="InvalidOperationException">Its type is not registered.</exception>
    internal static JsonObject ToJson(ILearningRateSchedule schedule) => s_registry.DescribeObject(schedule, null, schedule.GetConfig());

    /// <summary>A schedule from its saved form.</summary>
    /// <exception cref="InvalidDataException">An unknown name, or a config that does not fit it.</exception>
    internal static ILearningRateSchedule FromJson(JsonElement o, string where) => s_registry.CreateFromObject(o, where);
}

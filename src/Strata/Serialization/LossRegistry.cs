using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Strata.Losses;

namespace Strata.Serialization;

/// <summary>
/// The losses a model file may name: saving writes the loss's registered name and its
/// <see cref="Loss.GetConfig"/>, loading looks the name up here. The built-ins are registered from the
/// start, one call each, the same way as a custom one.
/// </summary>
public static class LossRegistry
{
    private static readonly Registry<Loss> s_registry = new("loss", "LossRegistry.Register");

    static LossRegistry()
    {
        Builtin<MeanSquaredError, LossConfig>("mean_squared_error", c => new MeanSquaredError(c.Reduction));
        Builtin<MeanAbsoluteError, LossConfig>("mean_absolute_error", c => new MeanAbsoluteError(c.Reduction));
        Builtin<KLDivergence, LossConfig>("kl_divergence", c => new KLDivergence(c.Reduction));
        Builtin<Huber, HuberConfig>("huber", c => new Huber(c.Delta, c.Reduction));
        Builtin<BinaryCrossentropy, CrossentropyConfig>("binary_crossentropy", c => new BinaryCrossentropy(c.FromLogits, c.Reduction));
        Builtin<CategoricalCrossentropy, CrossentropyConfig>("categorical_crossentropy", c => new CategoricalCrossentropy(c.FromLogits, c.Reduction));
        Builtin<SparseCategoricalCrossentropy, CrossentropyConfig>("sparse_categorical_crossentropy",
            c => new SparseCategoricalCrossentropy(c.FromLogits, c.Reduction));
    }

    /// <summary>
    /// Registers a loss type under a name: saving writes its <see cref="Loss.GetConfig"/> (which must return a
    /// <typeparamref name="TConfig"/>), loading reads it back and calls <paramref name="fromConfig"/>. The config is
    /// read and written by reflection; under trimming or native AOT use the overload that takes its JSON contracts.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    [RequiresUnreferencedCode(ModelJson.ReflectionMessage)]
    [RequiresDynamicCode(ModelJson.ReflectionMessage)]
    public static void Register<TLoss, TConfig>(string name, Func<TConfig, TLoss> fromConfig) where TLoss : Loss where TConfig : LossConfig =>
        Add(name, fromConfig, ModelJson.ReflectionOptions());

    /// <summary>
    /// Registers a loss type under a name, as <see cref="Register{TLoss, TConfig}(string, Func{TConfig, TLoss})"/>, with
    /// <typeparamref name="TConfig"/>'s JSON contract taken from <paramref name="configJson"/> (a JsonSerializerContext
    /// with <c>[JsonSerializable(typeof(TConfig))]</c>): no reflection, so it works under trimming and native AOT.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name, or
    /// <paramref name="configJson"/> has no contract for <typeparamref name="TConfig"/>.</exception>
    public static void Register<TLoss, TConfig>(string name, Func<TConfig, TLoss> fromConfig, IJsonTypeInfoResolver configJson)
        where TLoss : Loss where TConfig : LossConfig => Add(name, fromConfig, s_registry.OptionsFor(typeof(TConfig), configJson));

    private static void Builtin<TLoss, TConfig>(string name, Func<TConfig, TLoss> fromConfig) where TLoss : Loss where TConfig : LossConfig =>
        Add(name, fromConfig, ModelJson.Options);

    private static void Add<TLoss, TConfig>(string name, Func<TConfig, TLoss> fromConfig, JsonSerializerOptions json) where TLoss : Loss where TConfig : LossConfig =>
        s_registry.Add(name, fromConfig, json);

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names => s_registry.Names;

    /// <summary>Whether a name can be loaded.</summary>
    public static bool IsRegistered(string name) => s_registry.Find(name) is not null;

    /// <summary>{"class", "config"} of a loss.</summary>
    /// <exception cref="InvalidOperationException">Its type is not registered.</exception>
    internal static JsonObject ToJson(Loss loss) => s_registry.DescribeObject(loss, loss.Name, loss.GetConfig());

    /// <summary>A loss from its saved form.</summary>
    /// <exception cref="InvalidDataException">An unknown name, or a config that does not fit it.</exception>
    internal static Loss FromJson(JsonElement o, string where) => s_registry.CreateFromObject(o, where);
}

using System.Text.Json;
using System.Text.Json.Nodes;
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
        Register<MeanSquaredError, LossConfig>("mean_squared_error", c => new MeanSquaredError(c.Reduction));
        Register<MeanAbsoluteError, LossConfig>("mean_absolute_error", c => new MeanAbsoluteError(c.Reduction));
        Register<KLDivergence, LossConfig>("kl_divergence", c => new KLDivergence(c.Reduction));
        Register<Huber, HuberConfig>("huber", c => new Huber(c.Delta, c.Reduction));
        Register<BinaryCrossentropy, CrossentropyConfig>("binary_crossentropy", c => new BinaryCrossentropy(c.FromLogits, c.Reduction));
        Register<CategoricalCrossentropy, CrossentropyConfig>("categorical_crossentropy", c => new CategoricalCrossentropy(c.FromLogits, c.Reduction));
        Register<SparseCategoricalCrossentropy, CrossentropyConfig>("sparse_categorical_crossentropy",
            c => new SparseCategoricalCrossentropy(c.FromLogits, c.Reduction));
    }

    /// <summary>
    /// Registers a loss type under a name: saving writes its <see cref="Loss.GetConfig"/> (which must return a
    /// <typeparamref name="TConfig"/>), loading reads it back and calls <paramref name="fromConfig"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    public static void Register<TLoss, TConfig>(string name, Func<TConfig, TLoss> fromConfig) where TLoss : Loss where TConfig : LossConfig
    {
        ArgumentNullException.ThrowIfNull(fromConfig);
        s_registry.Add(new(name, typeof(TLoss), typeof(TConfig), c => fromConfig((TConfig)c!)));
    }

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

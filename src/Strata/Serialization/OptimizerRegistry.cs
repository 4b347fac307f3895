using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Optimizers;

namespace Strata.Serialization;

/// <summary>
/// The optimizers a model file may name. Saving writes the optimizer's registered name and its
/// <see cref="Optimizer.GetConfig"/>, and its state (every slot of every weight, the step count, the
/// rate) beside the weights; loading looks the name up here, so training resumes with the same
/// optimizer. The built-ins are registered from the start, one call each, the same way as a custom one.
/// </summary>
public static class OptimizerRegistry
{
    private static readonly Registry<Optimizer> s_registry = new("optimizer", "OptimizerRegistry.Register");

    static OptimizerRegistry()
    {
        Register<Sgd, SgdConfig>("sgd", c => new Sgd(c.LearningRate ?? 0, c.Momentum, c.Nesterov, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Register<Adagrad, AdagradConfig>("adagrad",
            c => new Adagrad(c.LearningRate ?? 0, c.InitialAccumulator, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Register<RmsProp, RmsPropConfig>("rmsprop",
            c => new RmsProp(c.LearningRate ?? 0, c.Rho, c.Momentum, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Register<Adam, AdamConfig>("adam",
            c => new Adam(c.LearningRate ?? 0, c.Beta1, c.Beta2, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Register<AdamW, AdamWConfig>("adamw",
            c => new AdamW(c.LearningRate ?? 0, c.WeightDecay, c.Beta1, c.Beta2, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
    }

    /// <summary>
    /// Registers an optimizer type under a name: saving writes its <see cref="Optimizer.GetConfig"/> (which
    /// must return a <typeparamref name="TConfig"/>), loading reads it back and calls <paramref name="fromConfig"/>,
    /// which passes the config's rate (or schedule) and clipping to the optimizer's constructor. Registering
    /// the same type under the same name again replaces the factory.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    public static void Register<TOptimizer, TConfig>(string name, Func<TConfig, TOptimizer> fromConfig)
        where TOptimizer : Optimizer where TConfig : OptimizerConfig
    {
        ArgumentNullException.ThrowIfNull(fromConfig);
        s_registry.Add(new(name, typeof(TOptimizer), typeof(TConfig), c =>
        {
            var config = (TConfig)c!;
            if (config.LearningRate is null && config.Schedule is null)
                throw new ArgumentException("the config needs a learning_rate or a schedule");
            return fromConfig(config);
        }));
    }

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names => s_registry.Names;

    /// <summary>Whether a name can be loaded.</summary>
    public static bool IsRegistered(string name) => s_registry.Find(name) is not null;

    /// <summary>{"class", "config"} of an optimizer.</summary>
    /// <exception cref="InvalidOperationException">Its type (or its schedule's) is not registered.</exception>
    internal static JsonObject ToJson(Optimizer optimizer) => s_registry.DescribeObject(optimizer, optimizer.Name, optimizer.GetConfig());

    /// <summary>An optimizer from its saved form.</summary>
    /// <exception cref="InvalidDataException">An unknown name, or a config that does not fit it.</exception>
    internal static Optimizer FromJson(JsonElement o, string where) => s_registry.CreateFromObject(o, where);
}

using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Strata.Optimizers;

namespace Strata.Serialization;

/// <summary>
/// The optimizers a model file may name, and the names <see cref="Create"/> (the CLI's <c>--optimizer</c>) makes
/// them from. Saving writes the optimizer's registered name and its <see cref="Optimizer.GetConfig"/>, and its
/// state (every slot of every weight, the step count, the rate) beside the weights; loading looks the name up
/// here, so training resumes with the same optimizer. The built-ins are registered from the start, one call
/// each, the same way as a custom one.
/// </summary>
public static class OptimizerRegistry
{
    private static readonly Registry<Optimizer> s_registry = new("optimizer", "OptimizerRegistry.Register");

    // The names Create takes (case-insensitive): each makes its optimizer with its type's default settings.
    private static readonly Dictionary<string, Func<Optimizer>> s_byName = new(StringComparer.OrdinalIgnoreCase);

    static OptimizerRegistry()
    {
        Builtin<Sgd, SgdConfig>("sgd", c => new Sgd(c.LearningRate ?? 0, c.Momentum, c.Nesterov, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Builtin<Adagrad, AdagradConfig>("adagrad",
            c => new Adagrad(c.LearningRate ?? 0, c.InitialAccumulator, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Builtin<RmsProp, RmsPropConfig>("rmsprop",
            c => new RmsProp(c.LearningRate ?? 0, c.Rho, c.Momentum, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Builtin<Adam, AdamConfig>("adam",
            c => new Adam(c.LearningRate ?? 0, c.Beta1, c.Beta2, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));
        Builtin<AdamW, AdamWConfig>("adamw",
            c => new AdamW(c.LearningRate ?? 0, c.WeightDecay, c.Beta1, c.Beta2, c.Epsilon, c.Schedule, c.ClipValue, c.ClipNorm, c.GlobalClipNorm));

        // By name, each with its constructor's defaults (Keras' rates: 0.01 for SGD, 0.001 for the others).
        RegisterName("sgd", () => new Sgd());
        RegisterName("momentum", () => new Sgd(momentum: 0.9f));
        RegisterName("nesterov", () => new Sgd(momentum: 0.9f, nesterov: true));
        RegisterName("adagrad", () => new Adagrad());
        RegisterName("rmsprop", () => new RmsProp());
        RegisterName("adam", () => new Adam());
        RegisterName("adamw", () => new AdamW());
    }

    /// <summary>
    /// Registers an optimizer type under a name: saving writes its <see cref="Optimizer.GetConfig"/> (which
    /// must return a <typeparamref name="TConfig"/>), loading reads it back and calls <paramref name="fromConfig"/>,
    /// which passes the config's rate (or schedule) and clipping to the optimizer's constructor. Registering
    /// the same type under the same name again replaces the factory. The config is read and written by
    /// reflection; under trimming or native AOT use the overload that takes its JSON contracts.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    [RequiresUnreferencedCode(ModelJson.ReflectionMessage)]
    [RequiresDynamicCode(ModelJson.ReflectionMessage)]
    public static void Register<TOptimizer, TConfig>(string name, Func<TConfig, TOptimizer> fromConfig)
        where TOptimizer : Optimizer where TConfig : OptimizerConfig => Add(name, fromConfig, ModelJson.ReflectionOptions());

    /// <summary>
    /// Registers an optimizer type under a name, as <see cref="Register{TOptimizer, TConfig}(string, Func{TConfig, TOptimizer})"/>,
    /// with <typeparamref name="TConfig"/>'s JSON contract taken from <paramref name="configJson"/> (a JsonSerializerContext
    /// with <c>[JsonSerializable(typeof(TConfig))]</c>): no reflection, so it works under trimming and native AOT.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name, or
    /// <paramref name="configJson"/> has no contract for <typeparamref name="TConfig"/>.</exception>
    public static void Register<TOptimizer, TConfig>(string name, Func<TConfig, TOptimizer> fromConfig, IJsonTypeInfoResolver configJson)
        where TOptimizer : Optimizer where TConfig : OptimizerConfig => Add(name, fromConfig, s_registry.OptionsFor(typeof(TConfig), configJson));

    private static void Builtin<TOptimizer, TConfig>(string name, Func<TConfig, TOptimizer> fromConfig)
        where TOptimizer : Optimizer where TConfig : OptimizerConfig => Add(name, fromConfig, ModelJson.Options);

    private static void Add<TOptimizer, TConfig>(string name, Func<TConfig, TOptimizer> fromConfig, JsonSerializerOptions json)
        where TOptimizer : Optimizer where TConfig : OptimizerConfig
    {
        ArgumentNullException.ThrowIfNull(fromConfig);
        s_registry.Add(new(name, typeof(TOptimizer), typeof(TConfig), c =>
        {
            var config = (TConfig)c!;
            if (config.LearningRate is null && config.Schedule is null)
                throw new ArgumentException("the config needs a learning_rate or a schedule");
            return fromConfig(config);
        }, json));
    }

    /// <summary>
    /// Makes <paramref name="name"/> a name <see cref="Create"/> takes (case-insensitive), replacing what it made
    /// before: <paramref name="create"/> makes the optimizer with its default settings ("momentum" is SGD with
    /// momentum 0.9). A rate given to Create goes through the optimizer's config, so its type must also be
    /// registered with <see cref="Register{TOptimizer, TConfig}(string, Func{TConfig, TOptimizer}, IJsonTypeInfoResolver)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An empty name.</exception>
    public static void RegisterName(string name, Func<Optimizer> create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        lock (s_byName)
            s_byName[name] = create;
    }

    /// <summary>The registered names (what files name optimizers by).</summary>
    public static IReadOnlyList<string> Names => s_registry.Names;

    /// <summary>The names <see cref="Create"/> takes, sorted.</summary>
    public static IReadOnlyList<string> CreateNames
    {
        get
        {
            lock (s_byName)
                return [.. s_byName.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// A new optimizer by name (one of <see cref="CreateNames"/>), with its default settings; a
    /// <paramref name="learningRate"/> replaces its rate, every other setting kept (its config with the new rate,
    /// through the factory its type is registered with).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name (the message lists the names), or a rate the optimizer refuses.</exception>
    /// <exception cref="InvalidOperationException">A rate for an optimizer whose type is not registered.</exception>
    public static Optimizer Create(string name, float? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        Func<Optimizer>? create;
        lock (s_byName)
            s_byName.TryGetValue(name, out create);
        if (create is null)
            throw new ArgumentException($"OptimizerRegistry.Create: unknown optimizer '{name}'; expected one of {string.Join(", ", CreateNames)}");
        var optimizer = create();
        if (learningRate is not float rate)
            return optimizer;
        var entry = s_registry.Find(optimizer, null)
            ?? throw new InvalidOperationException($"OptimizerRegistry.Create: '{name}' makes a {optimizer.GetType().FullName}, which is not registered; " +
                "register it with OptimizerRegistry.Register to set its learning rate");
        return entry.Create(optimizer.GetConfig() with { LearningRate = rate, Schedule = null });
    }

    /// <summary>Whether a name can be loaded.</summary>
    public static bool IsRegistered(string name) => s_registry.Find(name) is not null;

    /// <summary>{"class", "config"} of an optimizer.</summary>
    /// <exception cref="InvalidOperationException">Its type (or its schedule's) is not registered.</exception>
    internal static JsonObject ToJson(Optimizer optimizer) => s_registry.DescribeObject(optimizer, optimizer.Name, optimizer.GetConfig());

    /// <summary>An optimizer from its saved form.</summary>
    /// <exception cref="InvalidDataException">An unknown name, or a config that does not fit it.</exception>
    internal static Optimizer FromJson(JsonElement o, string where) => s_registry.CreateFromObject(o, where);
}

using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Strata.Losses;
using Strata.Metrics;

namespace Strata.Serialization;

/// <summary>
/// The metric types a model file may name, and the names <c>Compile</c> takes metrics by. A metric given to
/// <c>Compile</c> by name ("accuracy") is made here and saved as that name; one given as an object is saved
/// as its registered class name and its <see cref="Metric.GetConfig"/>, and loading looks the class up here.
/// The built-ins are registered from the start, one call each, the same way as a custom one.
/// </summary>
public static class MetricRegistry
{
    private static readonly Registry<Metric> s_registry = new("metric", "MetricRegistry.Register");

    // The names Compile takes (case-insensitive, as Compile always was): each makes its metric from the
    // compiled loss; an alias stands for one of them.
    private static readonly Dictionary<string, Func<Loss, Metric>> s_byName = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Dictionary<string, string> s_aliases = new(StringComparer.OrdinalIgnoreCase);

    static MetricRegistry()
    {
        Builtin<Accuracy, MetricConfig>("accuracy", c => new Accuracy(c.Name));
        Builtin<BinaryAccuracy, ThresholdMetricConfig>("binary_accuracy", c => new BinaryAccuracy(c.Threshold, c.Name));
        Builtin<CategoricalAccuracy, MetricConfig>("categorical_accuracy", c => new CategoricalAccuracy(c.Name));
        Builtin<SparseCategoricalAccuracy, MetricConfig>("sparse_categorical_accuracy", c => new SparseCategoricalAccuracy(c.Name));
        Builtin<TopKCategoricalAccuracy, TopKMetricConfig>("top_k_categorical_accuracy", c => new TopKCategoricalAccuracy(c.K, c.Sparse, c.Name));
        Builtin<MeanAbsoluteErrorMetric, MetricConfig>("mean_absolute_error", c => new MeanAbsoluteErrorMetric(c.Name));
        Builtin<MeanSquaredErrorMetric, MetricConfig>("mean_squared_error", c => new MeanSquaredErrorMetric(c.Name));
        Builtin<RootMeanSquaredErrorMetric, MetricConfig>("root_mean_squared_error", c => new RootMeanSquaredErrorMetric(c.Name));
        Builtin<Precision, ThresholdMetricConfig>("precision", c => new Precision(c.Threshold, c.Name));
        Builtin<Recall, ThresholdMetricConfig>("recall", c => new Recall(c.Threshold, c.Name));
        Builtin<Auc, AucConfig>("auc", c => new Auc(c.Thresholds, c.Name));
        Builtin<Mean, MetricConfig>("mean", c => new Mean(c.Name));

        // Compile's names. "accuracy" is the accuracy that fits the loss (the loss says which); the others
        // keep the names Keras logs them under ("mean_absolute_error" logs as "mae").
        RegisterName("accuracy", loss => loss.MatchingAccuracy("accuracy"));
        RegisterName("binary_accuracy", _ => new BinaryAccuracy());
        RegisterName("top_k_categorical_accuracy", _ => new TopKCategoricalAccuracy());
        RegisterName("sparse_top_k_categorical_accuracy", _ => new TopKCategoricalAccuracy(sparse: true));
        RegisterName("mean_absolute_error", _ => new MeanAbsoluteErrorMetric());
        RegisterName("mean_squared_error", _ => new MeanSquaredErrorMetric());
        RegisterName("root_mean_squared_error", _ => new RootMeanSquaredErrorMetric());
        RegisterName("precision", _ => new Precision());
        RegisterName("recall", _ => new Recall());
        RegisterName("auc", _ => new Auc());
        RegisterAlias("acc", "accuracy");
        RegisterAlias("mae", "mean_absolute_error");
        RegisterAlias("mse", "mean_squared_error");
        RegisterAlias("rmse", "root_mean_squared_error");
    }

    /// <summary>
    /// Registers a metric type under a class name: saving writes its <see cref="Metric.GetConfig"/> (which must
    /// return a <typeparamref name="TConfig"/>), loading reads it back and calls <paramref name="fromConfig"/>.
    /// A metric whose config is the plain <see cref="MetricConfig"/> can then also be given to <c>Compile</c>
    /// by its class name (it is made from <c>new MetricConfig(className)</c>), unless the name already makes
    /// a metric there; one with settings needs <see cref="RegisterName"/> to be given by name. The config is read
    /// and written by reflection; under trimming or native AOT use the overload that takes its JSON contracts.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    [RequiresUnreferencedCode(ModelJson.ReflectionMessage)]
    [RequiresDynamicCode(ModelJson.ReflectionMessage)]
    public static void Register<TMetric, TConfig>(string className, Func<TConfig, TMetric> fromConfig) where TMetric : Metric where TConfig : MetricConfig =>
        Add(className, fromConfig, ModelJson.ReflectionOptions());

    /// <summary>
    /// Registers a metric type under a class name, as <see cref="Register{TMetric, TConfig}(string, Func{TConfig, TMetric})"/>,
    /// with <typeparamref name="TConfig"/>'s JSON contract taken from <paramref name="configJson"/> (a JsonSerializerContext
    /// with <c>[JsonSerializable(typeof(TConfig))]</c>): no reflection, so it works under trimming and native AOT.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name, or
    /// <paramref name="configJson"/> has no contract for <typeparamref name="TConfig"/>.</exception>
    public static void Register<TMetric, TConfig>(string className, Func<TConfig, TMetric> fromConfig, IJsonTypeInfoResolver configJson)
        where TMetric : Metric where TConfig : MetricConfig => Add(className, fromConfig, s_registry.OptionsFor(typeof(TConfig), configJson));

    private static void Builtin<TMetric, TConfig>(string className, Func<TConfig, TMetric> fromConfig) where TMetric : Metric where TConfig : MetricConfig =>
        Add(className, fromConfig, ModelJson.Options);

    private static void Add<TMetric, TConfig>(string className, Func<TConfig, TMetric> fromConfig, JsonSerializerOptions json)
        where TMetric : Metric where TConfig : MetricConfig
    {
        s_registry.Add(className, fromConfig, json);
        if (typeof(TConfig) != typeof(MetricConfig))
            return;
        lock (s_byName)
        {
            // Looked up when used, so registering the type again with another factory takes effect here too.
            if (!s_byName.ContainsKey(className) && !s_aliases.ContainsKey(className))
                s_byName[className] = _ => s_registry.Find(className)!.Create(new MetricConfig(className));
        }
    }

    /// <summary>
    /// Makes <paramref name="name"/> a name <c>Compile</c> takes a metric by (case-insensitive), replacing what it made
    /// before: <paramref name="create"/> gets the loss being compiled, for metrics whose variant depends on it
    /// (the built-in "accuracy" asks the loss, <see cref="Loss.MatchingAccuracy"/>). A metric given by name is saved as
    /// the name, so its type need not be registered with <see cref="Register{TMetric, TConfig}(string, Func{TConfig, TMetric})"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or already an alias.</exception>
    public static void RegisterName(string name, Func<Loss, Metric> create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        lock (s_byName)
        {
            if (s_aliases.TryGetValue(name, out var target))
                throw new ArgumentException($"MetricRegistry.RegisterName: '{name}' is already an alias of '{target}'");
            s_byName[name] = create;
        }
    }

    /// <summary>Makes <paramref name="alias"/> another name for one that <c>Compile</c> takes ("mae" for "mean_absolute_error").</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a name Compile takes, or <paramref name="alias"/> already is one.</exception>
    public static void RegisterAlias(string alias, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(alias);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (s_byName)
        {
            if (!s_byName.ContainsKey(name))
                throw new ArgumentException($"MetricRegistry.RegisterAlias: '{name}' is not a name Compile takes (expected one of {string.Join(", ", s_byName.Keys.Order(StringComparer.Ordinal))})");
            if (s_byName.ContainsKey(alias) || (s_aliases.TryGetValue(alias, out var old) && !string.Equals(old, name, StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"MetricRegistry.RegisterAlias: '{alias}' already names a metric");
            s_aliases[alias] = name;
        }
    }

    /// <summary>The registered class names (what files name metrics given as objects by).</summary>
    public static IReadOnlyList<string> Names => s_registry.Names;

    /// <summary>The names <c>Compile</c> takes metrics by, aliases included, sorted.</summary>
    public static IReadOnlyList<string> CompileNames
    {
        get
        {
            lock (s_byName)
                return [.. s_byName.Keys.Concat(s_aliases.Keys).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The metric <c>Compile(..., name)</c> stands for with <paramref name="loss"/>.</summary>
    /// <exception cref="ArgumentException">A name Compile does not take (the message lists those it takes).</exception>
    internal static Metric FromName(string name, Loss loss)
    {
        Func<Loss, Metric>? create;
        lock (s_byName)
        {
            string n = s_aliases.TryGetValue(name, out var target) ? target : name;
            s_byName.TryGetValue(n, out create);
        }
        if (create is not null)
            return create(loss);
        if (s_registry.Find(name) is { } entry)
            throw new ArgumentException($"Compile: the metric class '{name}' has settings ({entry.ConfigType!.Name}); give it as an object, " +
                "or make the name stand for one with MetricRegistry.RegisterName");
        throw new ArgumentException($"Compile: unknown metric '{name}'; expected one of {string.Join(", ", CompileNames)} " +
            "(register custom ones with MetricRegistry.Register or MetricRegistry.RegisterName)");
    }

    /// <summary>Whether a class name can be loaded.</summary>
    public static bool IsRegistered(string className) => s_registry.Find(className) is not null;

    /// <summary>{"class", "config"} of a metric.</summary>
    /// <exception cref="InvalidOperationException">Its type is not registered.</exception>
    internal static JsonObject ToJson(Metric metric) => s_registry.DescribeObject(metric, metric.Name, metric.GetConfig());

    /// <summary>A metric from its saved form.</summary>
    /// <exception cref="InvalidDataException">An unknown class, or a config that does not fit it.</exception>
    internal static Metric FromJson(JsonElement o, string where) => s_registry.CreateFromObject(o, where);
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Metrics;

namespace Strata.Serialization;

/// <summary>
/// The metric types a model file may name. A metric given to <c>Compile</c> by name ("accuracy") is saved
/// as that name; one given as an object is saved as its registered class name and its
/// <see cref="Metric.GetConfig"/>, and loading looks the class up here. The built-ins are registered from
/// the start, one call each, the same way as a custom one.
/// </summary>
public static class MetricRegistry
{
    private static readonly Registry<Metric> s_registry = new("metric", "MetricRegistry.Register");

    static MetricRegistry()
    {
        Register<Accuracy, MetricConfig>("accuracy", c => new Accuracy(c.Name));
        Register<BinaryAccuracy, ThresholdMetricConfig>("binary_accuracy", c => new BinaryAccuracy(c.Threshold, c.Name));
        Register<CategoricalAccuracy, MetricConfig>("categorical_accuracy", c => new CategoricalAccuracy(c.Name));
        Register<SparseCategoricalAccuracy, MetricConfig>("sparse_categorical_accuracy", c => new SparseCategoricalAccuracy(c.Name));
        Register<TopKCategoricalAccuracy, TopKMetricConfig>("top_k_categorical_accuracy", c => new TopKCategoricalAccuracy(c.K, c.Sparse, c.Name));
        Register<MeanAbsoluteErrorMetric, MetricConfig>("mean_absolute_error", c => new MeanAbsoluteErrorMetric(c.Name));
        Register<MeanSquaredErrorMetric, MetricConfig>("mean_squared_error", c => new MeanSquaredErrorMetric(c.Name));
        Register<Precision, ThresholdMetricConfig>("precision", c => new Precision(c.Threshold, c.Name));
        Register<Recall, ThresholdMetricConfig>("recall", c => new Recall(c.Threshold, c.Name));
        Register<Auc, AucConfig>("auc", c => new Auc(c.Thresholds, c.Name));
        Register<Mean, MetricConfig>("mean", c => new Mean(c.Name));
    }

    /// <summary>
    /// Registers a metric type under a class name: saving writes its <see cref="Metric.GetConfig"/> (which must
    /// return a <typeparamref name="TConfig"/>), loading reads it back and calls <paramref name="fromConfig"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    public static void Register<TMetric, TConfig>(string className, Func<TConfig, TMetric> fromConfig) where TMetric : Metric where TConfig : MetricConfig
    {
        ArgumentNullException.ThrowIfNull(fromConfig);
        s_registry.Add(new(className, typeof(TMetric), typeof(TConfig), c => fromConfig((TConfig)c!)));
    }

    /// <summary>The registered class names.</summary>
    public static IReadOnlyList<string> Names => s_registry.Names;

    /// <summary>Whether a class name can be loaded.</summary>
    public static bool IsRegistered(string className) => s_registry.Find(className) is not null;

    /// <summary>{"class", "config"} of a metric.</summary>
    /// <exception cref="InvalidOperationException">Its type is not registered.</exception>
    internal static JsonObject ToJson(Metric metric) => s_registry.DescribeObject(metric, metric.Name, metric.GetConfig());

    /// <summary>A metric from its saved form.</summary>
    /// <exception cref="InvalidDataException">An unknown class, or a config that does not fit it.</exception>
    internal static Metric FromJson(JsonElement o, string where) => s_registry.CreateFromObject(o, where);
}

using System.Text.Json.Serialization;
using Strata.Compression;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Optimizers;

namespace Strata.Serialization;

/// <summary>
/// The JSON metadata of every built-in config record, generated at compile time, so that model files are
/// read and written without reflection (trimming and native AOT). <see cref="ModelJson.Options"/> resolves
/// through it; its naming policy, converters and strictness are those options', not these attributes'.
/// A built-in config missing here would fail when first saved or loaded; GeneratedJsonTests checks that every one is listed.
/// </summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
// Layers
[JsonSerializable(typeof(DenseConfig))]
[JsonSerializable(typeof(ActivationConfig))]
[JsonSerializable(typeof(NamedLayerConfig))]
[JsonSerializable(typeof(ShapeConfig))]
[JsonSerializable(typeof(DropoutConfig))]
[JsonSerializable(typeof(MergeConfig))]
[JsonSerializable(typeof(ConcatenateConfig))]
[JsonSerializable(typeof(Conv2DConfig))]
[JsonSerializable(typeof(Conv1DConfig))]
[JsonSerializable(typeof(Conv2DTransposeConfig))]
[JsonSerializable(typeof(DepthwiseConv2DConfig))]
[JsonSerializable(typeof(Pooling2DConfig))]
[JsonSerializable(typeof(Pooling1DConfig))]
[JsonSerializable(typeof(ZeroPadding2DConfig))]
[JsonSerializable(typeof(Size2DConfig))]
[JsonSerializable(typeof(SpatialDropoutConfig))]
[JsonSerializable(typeof(RescalingConfig))]
[JsonSerializable(typeof(FeatureNormalizationConfig))]
[JsonSerializable(typeof(OneHotColumnsConfig))]
[JsonSerializable(typeof(RandomFlipConfig))]
[JsonSerializable(typeof(RandomWarpConfig))]
[JsonSerializable(typeof(RandomContrastConfig))]
[JsonSerializable(typeof(EmbeddingConfig))]
[JsonSerializable(typeof(MaskingConfig))]
[JsonSerializable(typeof(RecurrentConfig))]
[JsonSerializable(typeof(BidirectionalConfig))]
[JsonSerializable(typeof(TimeDistributedConfig))]
[JsonSerializable(typeof(NormalizationConfig))]
[JsonSerializable(typeof(QuantizedDenseConfig))]
[JsonSerializable(typeof(QuantizedConvolutionConfig))]
[JsonSerializable(typeof(QuantizedDepthwiseConvolutionConfig))]
[JsonSerializable(typeof(TextVectorizationConfig))]
// Activations with settings
[JsonSerializable(typeof(AlphaConfig))]
// Optimizers and their schedules (a schedule is its own config)
[JsonSerializable(typeof(SgdConfig))]
[JsonSerializable(typeof(AdagradConfig))]
[JsonSerializable(typeof(RmsPropConfig))]
[JsonSerializable(typeof(AdamConfig))]
[JsonSerializable(typeof(AdamWConfig))]
[JsonSerializable(typeof(ExponentialDecay))]
[JsonSerializable(typeof(PiecewiseConstantDecay))]
[JsonSerializable(typeof(InverseTimeDecay))]
[JsonSerializable(typeof(CosineDecay))]
// Losses and metrics
[JsonSerializable(typeof(LossConfig))]
[JsonSerializable(typeof(HuberConfig))]
[JsonSerializable(typeof(CrossentropyConfig))]
[JsonSerializable(typeof(MetricConfig))]
[JsonSerializable(typeof(ThresholdMetricConfig))]
[JsonSerializable(typeof(TopKMetricConfig))]
[JsonSerializable(typeof(AucConfig))]
internal sealed partial class ModelJsonContext : JsonSerializerContext;

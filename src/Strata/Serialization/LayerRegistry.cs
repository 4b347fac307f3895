using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Strata.Layers;

namespace Strata.Serialization;

/// <summary>
/// The layer types a model file may name, each with its config record and a factory that builds
/// the layer from that record. Loading a model looks every layer's class up here — a type name read
/// from a file never reaches reflection — so a file can only create layers registered in this
/// process. The built-in layers are registered from the start; a custom layer registers itself
/// once (for example in a static constructor) with <see cref="Register{TLayer, TConfig}(string, Func{TConfig, TLayer}, IJsonTypeInfoResolver)"/>
/// (its config's JSON contract from a JsonSerializerContext: trimming and native AOT safe) or
/// <see cref="Register{TLayer, TConfig}(string, Func{TConfig, TLayer})"/> (its config read by reflection).
/// </summary>
public static class LayerRegistry
{
    private static readonly Registry<Layer> s_registry = new("layer", "LayerRegistry.Register<TLayer, TConfig>");

    static LayerRegistry()
    {
        Builtin<Dense, DenseConfig>("Dense", c => new Dense(c.Units, c.Activation, c.UseBias, Initializers.Parse(c.KernelInitializer),
            Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.BiasRegularizer, c.Name));
        Builtin<Activation, ActivationConfig>("Activation", c => new Activation(ModelJson.WithLegacyAlpha(c.Activation, c.Alpha), c.Name));
        Builtin<Flatten, NamedLayerConfig>("Flatten", c => new Flatten(c.Name));
        Builtin<Reshape, ShapeConfig>("Reshape", c => new Reshape(c.Shape, c.Name));
        Builtin<Dropout, DropoutConfig>("Dropout", c => new Dropout(c.Rate, c.Name));
        Builtin<Input, ShapeConfig>("InputLayer", c => new Input(c.Shape, c.Name));
        Builtin<Add, MergeConfig>("Add", c => new Add(c.Name));
        Builtin<Subtract, MergeConfig>("Subtract", c => new Subtract(c.Name));
        Builtin<Multiply, MergeConfig>("Multiply", c => new Multiply(c.Name));
        Builtin<Average, MergeConfig>("Average", c => new Average(c.Name));
        Builtin<Maximum, MergeConfig>("Maximum", c => new Maximum(c.Name));
        Builtin<Minimum, MergeConfig>("Minimum", c => new Minimum(c.Name));
        Builtin<Concatenate, ConcatenateConfig>("Concatenate", c => new Concatenate(c.Axis, c.Name));
        Builtin<Conv2D, Conv2DConfig>("Conv2D", c => new Conv2D(c.Filters, c.KernelSize, c.Strides, c.Padding, c.DilationRate, c.Activation,
            c.UseBias, Initializers.Parse(c.KernelInitializer), Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.BiasRegularizer, c.Name));
        Builtin<Conv1D, Conv1DConfig>("Conv1D", c => new Conv1D(c.Filters, c.KernelSize, c.Strides, c.Padding, c.DilationRate, c.Activation,
            c.UseBias, Initializers.Parse(c.KernelInitializer), Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.BiasRegularizer, c.Name));
        Builtin<Conv2DTranspose, Conv2DTransposeConfig>("Conv2DTranspose", c => new Conv2DTranspose(c.Filters, c.KernelSize, c.Strides,
            c.Padding, c.Activation, c.UseBias, Initializers.Parse(c.KernelInitializer), Initializers.Parse(c.BiasInitializer), c.Name));
        Builtin<DepthwiseConv2D, DepthwiseConv2DConfig>("DepthwiseConv2D", c => new DepthwiseConv2D(c.KernelSize, c.Strides, c.Padding,
            c.DepthMultiplier, c.DilationRate, c.Activation, c.UseBias, Initializers.Parse(c.DepthwiseInitializer),
            Initializers.Parse(c.BiasInitializer), c.Name));
        Builtin<MaxPooling2D, Pooling2DConfig>("MaxPooling2D", c => new MaxPooling2D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Builtin<AveragePooling2D, Pooling2DConfig>("AveragePooling2D", c => new AveragePooling2D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Builtin<GlobalAveragePooling2D, NamedLayerConfig>("GlobalAveragePooling2D", c => new GlobalAveragePooling2D(c.Name));
        Builtin<GlobalMaxPooling2D, NamedLayerConfig>("GlobalMaxPooling2D", c => new GlobalMaxPooling2D(c.Name));
        Builtin<MaxPooling1D, Pooling1DConfig>("MaxPooling1D", c => new MaxPooling1D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Builtin<AveragePooling1D, Pooling1DConfig>("AveragePooling1D", c => new AveragePooling1D(c.PoolSize, c.Strides, c.Padding, c.Name));
        Builtin<GlobalAveragePooling1D, NamedLayerConfig>("GlobalAveragePooling1D", c => new GlobalAveragePooling1D(c.Name));
        Builtin<GlobalMaxPooling1D, NamedLayerConfig>("GlobalMaxPooling1D", c => new GlobalMaxPooling1D(c.Name));
        Builtin<ZeroPadding2D, ZeroPadding2DConfig>("ZeroPadding2D", c => new ZeroPadding2D(c.Rows, c.Columns, c.Name));
        Builtin<UpSampling2D, Size2DConfig>("UpSampling2D", c => new UpSampling2D(c.Size, c.Name));
        Builtin<SpatialDropout1D, SpatialDropoutConfig>("SpatialDropout1D", c => new SpatialDropout1D(c.Rate, c.Name));
        Builtin<SpatialDropout2D, SpatialDropoutConfig>("SpatialDropout2D", c => new SpatialDropout2D(c.Rate, c.Name));
        Builtin<Rescaling, RescalingConfig>("Rescaling", c => new Rescaling(c.Scale, c.Offset, c.Name));
        Builtin<Normalization, FeatureNormalizationConfig>("Normalization", c => new Normalization(c.Mean, c.Variance, c.Name));
        Builtin<OneHotColumns, OneHotColumnsConfig>("OneHotColumns", c => new OneHotColumns(c.Columns, c.Name));
        Builtin<RandomFlip, RandomFlipConfig>("RandomFlip", c => new RandomFlip(c.Mode, c.Name));
        Builtin<RandomRotation, RandomWarpConfig>("RandomRotation", c => new RandomRotation(c.Factor, c.FillMode, c.Interpolation, c.FillValue, c.Name));
        Builtin<RandomTranslation, RandomWarpConfig>("RandomTranslation",
            c => new RandomTranslation(c.Factor, c.WidthFactor, c.FillMode, c.Interpolation, c.FillValue, c.Name));
        Builtin<RandomZoom, RandomWarpConfig>("RandomZoom", c => new RandomZoom(c.Factor, c.WidthFactor, c.FillMode, c.Interpolation, c.FillValue, c.Name));
        Builtin<RandomContrast, RandomContrastConfig>("RandomContrast", c => new RandomContrast(c.Factor, c.Name));
        Builtin<Embedding, EmbeddingConfig>("Embedding", c => new Embedding(c.InputDim, c.OutputDim, Initializers.Parse(c.EmbeddingsInitializer),
            c.EmbeddingsRegularizer, c.MaskZero, c.Name));
        Builtin<Masking, MaskingConfig>("Masking", c => new Masking(c.MaskValue, c.Name));
        Builtin<SimpleRnn, RecurrentConfig>("SimpleRNN", c => new SimpleRnn(c.Units, c.Activation, c.UseBias, c.ReturnSequences, c.ReturnState,
            c.GoBackwards, c.Dropout, c.RecurrentDropout, Initializers.Parse(c.KernelInitializer), Initializers.Parse(c.RecurrentInitializer),
            Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.RecurrentRegularizer, c.BiasRegularizer, c.Name));
        Builtin<Lstm, RecurrentConfig>("LSTM", c => new Lstm(c.Units, c.Activation, c.RecurrentActivation, c.UseBias, c.ReturnSequences,
            c.ReturnState, c.GoBackwards, c.Dropout, c.RecurrentDropout, c.UnitForgetBias, Initializers.Parse(c.KernelInitializer),
            Initializers.Parse(c.RecurrentInitializer), Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.RecurrentRegularizer,
            c.BiasRegularizer, c.Name));
        Builtin<Gru, RecurrentConfig>("GRU", c => new Gru(c.Units, c.Activation, c.RecurrentActivation, c.UseBias, c.ReturnSequences,
            c.ReturnState, c.GoBackwards, c.Dropout, c.RecurrentDropout, true, Initializers.Parse(c.KernelInitializer),
            Initializers.Parse(c.RecurrentInitializer), Initializers.Parse(c.BiasInitializer), c.KernelRegularizer, c.RecurrentRegularizer,
            c.BiasRegularizer, c.Name));
        Builtin<Bidirectional, BidirectionalConfig>("Bidirectional", c => new Bidirectional(c.Layer, c.MergeMode, c.BackwardLayer, c.Name));
        Builtin<TimeDistributed, TimeDistributedConfig>("TimeDistributed", c => new TimeDistributed(c.Layer, c.Name));
        Builtin<BatchNormalization, NormalizationConfig>("BatchNormalization",
            c => new BatchNormalization(c.Momentum, c.Epsilon, c.Center, c.Scale, c.Name));
        Builtin<LayerNormalization, NormalizationConfig>("LayerNormalization",
            c => new LayerNormalization(c.Epsilon, c.Center, c.Scale, c.Name));
        Builtin<Compression.QuantizedDense, Compression.QuantizedDenseConfig>("QuantizedDense",
            c => new Compression.QuantizedDense(c.Units, c.Activation, c.UseBias, c.Dynamic, c.Name));
        Builtin<Compression.QuantizedConvolution, Compression.QuantizedConvolutionConfig>("QuantizedConvolution",
            c => new Compression.QuantizedConvolution(c.Source, c.Filters, c.Geometry, c.Activation, c.UseBias, c.Name));
        Builtin<Compression.QuantizedDepthwiseConvolution, Compression.QuantizedDepthwiseConvolutionConfig>("QuantizedDepthwiseConvolution",
            c => new Compression.QuantizedDepthwiseConvolution(c.DepthMultiplier, c.Geometry, c.Activation, c.UseBias, c.Name));
        Builtin<TextVectorization, TextVectorizationConfig>("TextVectorization", c => new TextVectorization(c.MaxTokens, c.Standardize, c.Split,
            c.Ngrams, c.OutputMode, c.OutputSequenceLength, c.PadToMaxTokens, c.Vocabulary, c.IdfWeights, c.Name));
    }

    /// <summary>
    /// Registers a layer type under a class name: saving writes the layer's <see cref="Layer.GetConfig"/>
    /// (which must return a <typeparamref name="TConfig"/>) as JSON, loading reads that JSON back into a
    /// <typeparamref name="TConfig"/> and calls <paramref name="fromConfig"/>. Registering the same type
    /// under the same name again is allowed (it replaces the factory). The config is read and written by
    /// reflection; under trimming or native AOT use the overload that takes the config's JSON contracts.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name.</exception>
    [RequiresUnreferencedCode(ModelJson.ReflectionMessage)]
    [RequiresDynamicCode(ModelJson.ReflectionMessage)]
    public static void Register<TLayer, TConfig>(string className, Func<TConfig, TLayer> fromConfig)
        where TLayer : Layer where TConfig : LayerConfig => Add(className, fromConfig, ModelJson.ReflectionOptions());

    /// <summary>
    /// Registers a layer type under a class name, as <see cref="Register{TLayer, TConfig}(string, Func{TConfig, TLayer})"/>, with
    /// <typeparamref name="TConfig"/>'s JSON contract taken from <paramref name="configJson"/> (a JsonSerializerContext
    /// with <c>[JsonSerializable(typeof(TConfig))]</c>): no reflection, so it works under trimming and native AOT. The
    /// file's conventions (snake_case names, activations, shapes and nested layers as Strata writes them) still apply.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken by another type, or the type by another name, or
    /// <paramref name="configJson"/> has no contract for <typeparamref name="TConfig"/>.</exception>
    public static void Register<TLayer, TConfig>(string className, Func<TConfig, TLayer> fromConfig, IJsonTypeInfoResolver configJson)
        where TLayer : Layer where TConfig : LayerConfig => Add(className, fromConfig, s_registry.OptionsFor(typeof(TConfig), configJson));

    private static void Builtin<TLayer, TConfig>(string className, Func<TConfig, TLayer> fromConfig)
        where TLayer : Layer where TConfig : LayerConfig => Add(className, fromConfig, ModelJson.Options);

    private static void Add<TLayer, TConfig>(string className, Func<TConfig, TLayer> fromConfig, JsonSerializerOptions json)
        where TLayer : Layer where TConfig : LayerConfig
        => s_registry.Add(className, fromConfig, json);

    /// <summary>The registered class names.</summary>
    public static IReadOnlyList<string> ClassNames => s_registry.Names;

    /// <summary>Whether a class name can be loaded.</summary>
    public static bool IsRegistered(string className) => s_registry.Find(className) is not null;

    /// <summary>The class name and JSON config of a layer.</summary>
    /// <exception cref="InvalidOperationException">The layer's type is not registered, or its config is not the registered record type.</exception>
    internal static JsonObject Describe(Layer layer) => s_registry.DescribeObject(layer, layer.Name, layer.GetConfig());

    /// <summary>A new layer of <paramref name="like"/>'s registered class from a config of its type (a wrapper's copies of the layer it wraps).</summary>
    /// <exception cref="InvalidOperationException">The layer's type is not registered.</exception>
    internal static Layer FromConfig(Layer like, LayerConfig config)
    {
        var entry = s_registry.Find(like, null)
            ?? throw new InvalidOperationException($"{like}: its type is not registered; register it with LayerRegistry.Register<TLayer, TConfig>(...) to copy it");
        return s_registry.Create(entry, config, $"copy of {like}");
    }

    /// <summary>A layer written as {"class": name, "config": {...}} (inside a wrapper's config).</summary>
    internal static Layer CreateFromObject(JsonElement o, string where) => s_registry.CreateFromObject(o, where);

    /// <summary>A new layer from its class name and JSON config.</summary>
    /// <exception cref="InvalidDataException">An unknown class, or a config that does not fit it (the message says which).</exception>
    internal static Layer Create(string className, JsonElement config, string where) => s_registry.Create(className, config, where);
}

/// <summary>Writes a layer held in a config (a wrapper's inner layer) as {"class": name, "config": {...}} and reads it back through the registry.</summary>
public sealed class NestedLayerConverter : System.Text.Json.Serialization.JsonConverter<Layer>
{
    /// <inheritdoc/>
    public override Layer Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        return LayerRegistry.CreateFromObject(doc.RootElement.Clone(), "nested layer");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Layer value, JsonSerializerOptions options) =>
        LayerRegistry.Describe(value).WriteTo(writer, options);
}

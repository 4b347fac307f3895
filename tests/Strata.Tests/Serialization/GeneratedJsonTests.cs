using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Models;
using Strata.Optimizers;
using Strata.Serialization;

namespace Strata.Tests.Serialization;

/// <summary>
/// Config JSON without reflection (trimming, native AOT): every built-in config has a generated contract and
/// its enums a name converter, and a custom type registered with its own JsonSerializerContext round-trips in
/// the file's conventions.
/// </summary>
public sealed class GeneratedJsonTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("strata-gen-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Every config record Strata ships (the config bases' subclasses, the activation settings, the schedules).</summary>
    private static Type[] BuiltInConfigTypes()
    {
        Type[] bases = [typeof(LayerConfig), typeof(OptimizerConfig), typeof(LossConfig), typeof(MetricConfig)];
        return [.. typeof(Layer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && (bases.Any(b => b.IsAssignableFrom(t)) || typeof(ILearningRateSchedule).IsAssignableFrom(t) && t.IsPublic))
            .Append(typeof(AlphaConfig))
            .Where(t => t.IsPublic && t != typeof(OptimizerConfig))]; // the optimizers' base record, never an optimizer's config itself
    }

    /// <summary>The enum types a config's properties reach (through arrays, nullables and nested records of Strata's own).</summary>
    private static void CollectEnums(Type t, HashSet<Type> enums, HashSet<Type> seen)
    {
        t = Nullable.GetUnderlyingType(t) ?? (t.IsArray ? t.GetElementType()! : t);
        if (!seen.Add(t))
            return;
        if (t.IsEnum)
        {
            enums.Add(t);
            return;
        }
        if (t.Assembly != typeof(Layer).Assembly || typeof(Layer).IsAssignableFrom(t) || typeof(ActivationFunction).IsAssignableFrom(t) || t.IsInterface)
            return; // written by their own converters
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            CollectEnums(p.PropertyType, enums, seen);
    }

    [Fact]
    public void Every_built_in_config_has_a_generated_contract_and_its_enums_are_written_as_names()
    {
        var types = BuiltInConfigTypes();
        Assert.Contains(typeof(DenseConfig), types);
        Assert.Contains(typeof(CosineDecay), types);
        var enums = new HashSet<Type>();
        var seen = new HashSet<Type>();
        foreach (var t in types)
            CollectEnums(t, enums, seen);
        Assert.Contains(typeof(Padding), enums);
        Assert.Empty(types.Where(t => Record.Exception(() => ModelJson.Options.GetTypeInfo(t)) is not null).Select(t => $"{t.Name} is not in ModelJsonContext"));
        Assert.Empty(enums.Where(e => !ModelJson.Options.Converters.Any(c => c.CanConvert(e))).Select(e => $"the enum {e.Name} has no name converter in ModelJson.Options"));
        Assert.Equal("\"tf_idf\"", JsonSerializer.Serialize(TextOutputMode.TfIdf, ModelJson.Options.GetTypeInfo(typeof(TextOutputMode))));
    }

    [Fact]
    public void A_custom_layer_registered_with_its_own_json_context_round_trips_in_the_file_conventions()
    {
        TestShift.EnsureRegistered();
        var model = new Sequential([new Input([3]), new TestShift(0.5f, ActivationFunction.LeakyRelu(0.2f), Padding.Same), new Dense(2)], seed: 1);
        var x = Tensor.RandomUniform([4, 3], -1f, 1f, 1);
        model.Predict(x);
        string path = Path.Combine(_dir.FullName, "shift.strata");
        model.Save(path);

        using (var zip = ZipFile.OpenRead(path))
        using (var config = JsonDocument.Parse(zip.GetEntry(ModelFile.ConfigEntry)!.Open()))
        {
            var c = config.RootElement.GetProperty("layers")[1].GetProperty("config");
            Assert.Equal(0.5f, c.GetProperty("shift_by").GetSingle()); // snake_case, as every config
            Assert.Equal("leaky_relu", c.GetProperty("activation").GetProperty("name").GetString()); // through the activation registry
            Assert.Equal(0.2f, c.GetProperty("activation").GetProperty("alpha").GetSingle());
            Assert.Equal("same", c.GetProperty("mode").GetString()); // a built-in enum, by name
        }
        var loaded = Model.Load(path);
        var shift = Assert.IsType<TestShift>(loaded.Layers[1]);
        Assert.Equal((0.5f, "leaky_relu", Padding.Same), (shift.ShiftBy, shift.Activation.Name, shift.Mode));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void A_json_context_without_the_config_type_is_refused_at_registration()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            LayerRegistry.Register<TestScale, TestScaleConfig>("TestScaleWithoutContract", c => new TestScale(c.Factor, c.Name), TestJsonContext.Default));
        Assert.Contains("TestScaleConfig", e.Message);
        Assert.False(LayerRegistry.IsRegistered("TestScaleWithoutContract"));
        Assert.Throws<ArgumentException>(() => LossRegistry.Register<MeanSquaredError, TestShiftConfigLike>("x", _ => new MeanSquaredError(), TestJsonContext.Default));
    }
}

public sealed record TestShiftConfig(string Name, float ShiftBy, ActivationFunction Activation, Padding Mode) : LayerConfig(Name);

/// <summary>A loss config no context lists.</summary>
public sealed record TestShiftConfigLike(LossReduction Reduction) : LossConfig(Reduction);

/// <summary>The test's own generated contracts, as a custom layer under native AOT would bring them.</summary>
[JsonSerializable(typeof(TestShiftConfig))]
internal sealed partial class TestJsonContext : JsonSerializerContext;

/// <summary>A custom layer registered without reflection: adds a constant, then applies its activation.</summary>
public sealed class TestShift(float shiftBy, ActivationFunction activation, Padding mode, string? name = null) : Layer(name)
{
    public static void EnsureRegistered() =>
        LayerRegistry.Register<TestShift, TestShiftConfig>("TestShift", c => new TestShift(c.ShiftBy, c.Activation, c.Mode, c.Name), TestJsonContext.Default);

    public float ShiftBy { get; } = shiftBy;

    public ActivationFunction Activation { get; } = activation;

    public Padding Mode { get; } = mode;

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape;

    public override LayerConfig GetConfig() => new TestShiftConfig(Name, ShiftBy, Activation, Mode);

    protected override Tensor Call(Tensor x, bool training) => Activation.Apply(x + ShiftBy);
}

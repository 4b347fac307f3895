using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Serialization;

/// <summary>
/// The <c>.strata</c> model file: a zip of <c>config.json</c> (the architecture, every layer's
/// config, the compile settings), <c>metadata.json</c> (format and framework versions, creation
/// time) and <c>model.weights.safetensors</c>; a compiled model adds <c>optimizer.safetensors</c>
/// (the optimizer's state) and <c>training.json</c> (epochs completed, the layers' random streams),
/// so that training resumes exactly. The file is untrusted input when read: every entry name, size
/// and value is checked, nothing is extracted to disk, and memory stays bounded by the file's size.
/// </summary>
internal static class ModelFile
{
    public const string Format = "strata.model";
    public const int FormatVersion = 1;
    public const string ConfigEntry = "config.json";
    public const string MetadataEntry = "metadata.json";
    public const string WeightsEntry = "model.weights.safetensors";
    public const string OptimizerEntry = "optimizer.safetensors";
    public const string TrainingEntry = "training.json";

    /// <summary>The most a JSON entry may hold once inflated.</summary>
    public const int MaxJsonBytes = 16 << 20;

    private static readonly string[] s_known = [ConfigEntry, MetadataEntry, WeightsEntry, OptimizerEntry, TrainingEntry];

    /// <summary>Tests: called after each entry is written (on this thread), to make a save fail midway.</summary>
    [ThreadStatic]
    internal static Action<string>? EntryWritten;

    // ---------------------------------------------------------------- saving

    /// <param name="model">The model to save.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="compressWeights">Deflate the weights entry (a pruned model's zeros then cost almost nothing);
    /// the optimizer state is always stored.</param>
    public static void Save(Model model, string path, bool compressWeights = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        var config = Describe(model);
        var weights = model.WeightTensors("Save");
        // A compiled model's file is a checkpoint: its optimizer, loss and metrics are registered (or Describe threw).
        bool checkpoint = config["compile"] is not null;
        var metadata = new JsonObject
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion,
            ["framework"] = "Strata",
            ["framework_version"] = FrameworkVersion,
            ["created"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        if (model.ClassNames is { } classNames)
            metadata["class_names"] = new JsonArray([.. classNames.Select(c => (JsonNode)c)]);
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            WriteJson(zip, MetadataEntry, metadata);
            WriteJson(zip, ConfigEntry, config);
            // Tensors are stored, not deflated, unless asked: loading reads them straight into their arrays,
            // and a stored entry cannot inflate past the file's size (a deflated weights entry is bounded
            // by the size the architecture's weights need instead; see WeightsLimit).
            using (var s = zip.CreateEntry(WeightsEntry, compressWeights ? CompressionLevel.Optimal : CompressionLevel.NoCompression).Open())
                SafeTensors.Write(s, weights, new Dictionary<string, string> { ["format"] = "strata", ["model"] = model.Name }, model.Int8WeightKeys("Save"));
            EntryWritten?.Invoke(WeightsEntry);
            if (checkpoint)
            {
                var (tensors, state) = OptimizerState(model);
                using (var s = zip.CreateEntry(OptimizerEntry, CompressionLevel.NoCompression).Open())
                    SafeTensors.Write(s, tensors, state);
                EntryWritten?.Invoke(OptimizerEntry);
                WriteJson(zip, TrainingEntry, TrainingState(model));
            }
        });
    }

    private static string FrameworkVersion =>
        typeof(ModelFile).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    private static void WriteJson(ZipArchive zip, string name, JsonNode node)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
        using (var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true }))
            node.WriteTo(w);
        EntryWritten?.Invoke(name);
    }

    /// <summary>The architecture and compile settings as JSON.</summary>
    private static JsonObject Describe(Model model)
    {
        var root = Architecture(model);
        if (CompileJson(model) is { } compile)
            root["compile"] = compile;
        return root;
    }

    /// <summary>The architecture alone as config.json text (no compile section): what <see cref="FromConfig"/> rebuilds.</summary>
    /// <exception cref="InvalidOperationException">The model is a subclass or uses an unregistered layer type.</exception>
    public static string ArchitectureJson(Model model) => Architecture(model).ToJsonString();

    /// <summary>The architecture alone: a Sequential's layers, a functional model's layers and nodes, a GAN's two networks.</summary>
    private static JsonObject Architecture(Model model)
    {
        if (model is Gan gan)
        {
            return new JsonObject
            {
                ["name"] = gan.Name,
                ["class"] = gan is ConditionalGan ? "ConditionalGan" : "Gan",
                ["latent_dim"] = gan.LatentDim,
                ["classes"] = gan.Classes,
                ["generator"] = Architecture(gan.Generator),
                ["discriminator"] = Architecture(gan.Discriminator),
            };
        }
        var layers = model.Layers;
        if (layers.Count == 0)
            throw new InvalidOperationException($"Save: model '{model.Name}' has no layers");
        var root = new JsonObject { ["name"] = model.Name };
        var layerArray = new JsonArray();
        foreach (var l in layers)
            layerArray.Add((JsonNode)LayerRegistry.Describe(l)); // the node overload: Add<T> would serialize by reflection
        switch (model)
        {
            case Sequential:
                root["class"] = "Sequential";
                root["layers"] = layerArray;
                root["input_shape"] = ShapeJson(layers[0].InputShape);
                break;
            case { Graph: { } graph }:
                root["class"] = "Functional";
                root["layers"] = layerArray;
                var index = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
                for (int i = 0; i < layers.Count; i++)
                    index[layers[i]] = i;
                var nodes = new JsonArray();
                for (int i = 0; i < graph.Nodes.Length; i++)
                    nodes.Add((JsonNode)new JsonObject { ["layer"] = index[graph.Nodes[i].Layer], ["inputs"] = new JsonArray([.. graph.Args[i].Select(a => (JsonNode)a)]) });
                root["nodes"] = nodes;
                root["inputs"] = new JsonArray([.. Enumerable.Range(0, graph.Inputs.Length).Select(i => (JsonNode)i)]);
                root["output"] = graph.OutputIndex;
                break;
            default:
                throw new InvalidOperationException($"Save: model '{model.Name}' is a {model.GetType().Name}, a Model subclass, whose architecture is code, not config; " +
                    "save its weights with SaveWeights and rebuild it in code before LoadWeights");
        }
        return root;
    }

    private static JsonArray ShapeJson(Shape s) => new([.. s.ToArray().Select(d => (JsonNode)d)]);

    /// <summary>The optimizer, loss and metrics through their registries, or null when the model is not compiled.</summary>
    /// <exception cref="InvalidOperationException">One of them is not registered (the message names it).</exception>
    private static JsonObject? CompileJson(Model model)
    {
        if (model is Gan gan)
        {
            return gan.DiscriminatorOptimizer is null ? null : new JsonObject
            {
                ["discriminator_optimizer"] = OptimizerRegistry.ToJson(gan.DiscriminatorOptimizer),
                ["generator_optimizer"] = OptimizerRegistry.ToJson(gan.GeneratorOptimizer!),
                ["loss"] = LossRegistry.ToJson(gan.AdversarialLoss!),
                ["label_smoothing"] = gan.LabelSmoothing,
            };
        }
        if (model.Optimizer is not { } opt || model.Loss is not { } loss)
            return null;
        var metrics = new JsonArray();
        for (int i = 0; i < model.Metrics.Count; i++)
            metrics.Add(model.MetricNames[i] is { } name ? JsonValue.Create(name) : MetricRegistry.ToJson(model.Metrics[i]));
        return new JsonObject
        {
            ["optimizer"] = OptimizerRegistry.ToJson(opt),
            ["loss"] = LossRegistry.ToJson(loss),
            ["metrics"] = metrics,
        };
    }

    /// <summary>Every per-parameter state array under "position/layer/weight/slot name", plus the step count and rate.</summary>
    /// <remarks>
    /// A model with several optimizers (a GAN's two) writes each one's step count and rate under its
    /// prefix ("discriminator/iterations"); the slot keys need none, every weight having one optimizer.
    /// </remarks>
    private static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) OptimizerState(Model model)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>();
        var keys = model.WeightKeys("Save");
        foreach (var (prefix, opt, weights) in model.OptimizerGroups())
        {
            var mine = new HashSet<Weight>(weights, ReferenceEqualityComparer.Instance);
            var names = opt.SlotNames;
            if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
                throw new InvalidOperationException($"Model.Save: optimizer '{opt.Name}' ({opt.GetType().FullName}) names two state arrays alike: {string.Join(", ", names)}");
            foreach (var (key, w) in keys)
            {
                if (!mine.Contains(w) || opt.GetSlots(w.Value) is not { } slots)
                    continue;
                for (int s = 0; s < slots.Count; s++)
                    tensors[$"{key}/{names[s]}"] = new Tensor(slots[s], w.Value.Shape);
            }
            metadata[prefix + "optimizer"] = opt.Name;
            metadata[prefix + "iterations"] = opt.Iterations.ToString(CultureInfo.InvariantCulture);
            metadata[prefix + "learning_rate"] = opt.LearningRate.ToString("R", CultureInfo.InvariantCulture);
        }
        return (tensors, metadata);
    }

    private static JsonObject TrainingState(Model model)
    {
        var state = new JsonObject
        {
            ["epochs_completed"] = model.CompletedEpochs,
            ["layer_rng"] = new JsonArray([.. model.Layers.Select(l => RngJson(l.Rng))]),
        };
        if (model.CompletedBatches > 0)
        {
            // Saved mid-epoch (Fit was cancelled): where in the epoch, and its running figures so far.
            state["batches_completed"] = model.CompletedBatches;
            // A model loaded from such a checkpoint and saved again before training keeps the figures it was loaded with.
            state["epoch_metrics"] = new JsonObject((model.PendingEpochMetrics ?? model.EpochMetricState()).Select(kv =>
                KeyValuePair.Create(kv.Key, (JsonNode?)new JsonArray([.. kv.Value.Select(v => (JsonNode)v)]))));
        }
        if (model is Gan gan)
            state["noise_rng"] = RngJson(gan.Noise);
        return state;
    }

    private static JsonArray RngJson(Rng rng) => new([.. rng.GetState().Select(u => (JsonNode)u)]);

    // ---------------------------------------------------------------- loading

    /// <summary>
    /// A new model, its weights freshly initialized from <paramref name="seed"/>, from the JSON of a
    /// model file's config.json (a "spec"): the architecture only; a compile section is ignored.
    /// </summary>
    public static Model FromConfig(string json, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxJsonBytes)
            throw new InvalidDataException($"{ConfigEntry}: larger than {MaxJsonBytes >> 20} MB");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = ModelJson.MaxDepth });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{ConfigEntry}: not valid JSON ({e.Message})", e);
        }
        using (doc)
            return Build(doc.RootElement, seed);
    }

    public static Model Load(string path, bool compile)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            return Read(file, compile);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static Model Read(FileStream file, bool compile)
    {
        long fileLength = file.Length;
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"not a Strata model file (not a readable zip: {e.Message})", e);
        }
        using (zip)
        {
            var entries = Entries(zip, fileLength);
            using var metadata = ReadJson(entries, MetadataEntry, required: true)!;
            CheckMetadata(metadata.RootElement);
            var classNames = ClassNames(metadata.RootElement);
            using var config = ReadJson(entries, ConfigEntry, required: true)!;
            Model model;
            Layer.SkipInitialization = true; // every weight is loaded from the file next
            try
            {
                model = Build(config.RootElement);
            }
            finally
            {
                Layer.SkipInitialization = false;
            }
            if (!entries.TryGetValue(WeightsEntry, out var weightsEntry))
                throw new InvalidDataException($"the entry {WeightsEntry} is missing");
            model.AssignWeights(ReadTensors(weightsEntry, WeightsLimit(model)), WeightsEntry);
            if (classNames is not null)
                model.ClassNames = classNames;
            if (!compile || !config.RootElement.TryGetProperty("compile", out var compileJson) || compileJson.ValueKind == JsonValueKind.Null)
                return model;
            Compile(model, compileJson);
            using var training = ReadJson(entries, TrainingEntry, required: false);
            if (entries.TryGetValue(OptimizerEntry, out var optEntry) && training is not null)
            {
                RestoreOptimizer(model, ReadTensors(optEntry));
                RestoreTraining(model, training.RootElement);
            }
            return model;
        }
    }

    /// <summary>The entries by name, after checking names, count and sizes against the file.</summary>
    private static Dictionary<string, ZipArchiveEntry> Entries(ZipArchive zip, long fileLength)
    {
        var all = zip.Entries;
        var byName = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (var e in all)
        {
            // Only the exact known names are read; nothing is ever extracted to a path, so a name
            // like "../x" or "/etc/passwd" is simply not a model entry.
            if (!s_known.Contains(e.FullName))
                throw new InvalidDataException($"unexpected zip entry '{ModelJson.Quote(e.FullName)}'; a model file holds only {string.Join(", ", s_known)}");
            if (!byName.TryAdd(e.FullName, e))
                throw new InvalidDataException($"the zip entry '{e.FullName}' appears twice");
            if (e.Length < 0 || e.CompressedLength < 0 || e.CompressedLength > fileLength)
                throw new InvalidDataException($"the zip entry '{e.FullName}' claims {e.CompressedLength} compressed bytes in a {fileLength}-byte file");
        }
        return byName;
    }

    private static JsonDocument? ReadJson(Dictionary<string, ZipArchiveEntry> entries, string name, bool required)
    {
        if (!entries.TryGetValue(name, out var entry))
            return required ? throw new InvalidDataException($"the entry {name} is missing") : null;
        if (entry.Length > MaxJsonBytes)
            throw new InvalidDataException($"{name} claims {entry.Length} bytes, more than the {MaxJsonBytes}-byte limit for a JSON entry");
        var bytes = ReadEntry(entry, (int)entry.Length);
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = ModelJson.MaxDepth });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name} is not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Exactly <paramref name="length"/> bytes of an entry; the entry must end there (its data must match its declared size).</summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, int length)
    {
        var bytes = new byte[length];
        try
        {
            using var s = new CheckedEntryStream(entry);
            s.ReadExactly(bytes);
            s.CheckEnd();
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{entry.FullName} holds fewer bytes than its declared {length}", e);
        }
        return bytes;
    }

    /// <summary>
    /// The most a deflated weights entry may inflate to: the model's float32 weights (its architecture,
    /// already built, fixes how many) plus the safetensors length prefix and a header allowance — so a
    /// deflated entry can never make the reader allocate more than the model itself holds.
    /// </summary>
    private static long WeightsLimit(Model model)
    {
        long tensors = 0, values = 0;
        foreach (var w in model.Weights)
        {
            tensors++;
            values += w.Value.Size;
        }
        return 8 + 4 * values + (64 << 10) + 512 * tensors;
    }

    /// <param name="entry">A safetensors entry.</param>
    /// <param name="deflatedLimit">When given, the entry may be deflated and inflate to at most this many bytes; otherwise it must be stored.</param>
    private static SafeTensorsContent ReadTensors(ZipArchiveEntry entry, long? deflatedLimit = null)
    {
        // A stored entry cannot hold more than the file; a deflated one could inflate far past it, so only
        // the weights entry may be deflated, and only up to what the architecture's weights need.
        if (entry.Length != entry.CompressedLength && (deflatedLimit is not { } limit || entry.Length > limit))
            throw new InvalidDataException(deflatedLimit is { } l
                ? $"{entry.FullName} is compressed ({entry.CompressedLength} bytes inflating to {entry.Length}), more than the {l} bytes the model's weights can take"
                : $"{entry.FullName} is compressed ({entry.CompressedLength} bytes inflating to {entry.Length}); model files store this entry uncompressed");
        try
        {
            using var s = new CheckedEntryStream(entry);
            var content = SafeTensors.Read(s, entry.Length);
            s.CheckEnd();
            return content;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{entry.FullName}: {e.Message}", e);
        }
    }

    private static void CheckMetadata(JsonElement m)
    {
        if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("format", out var f) || f.ValueKind != JsonValueKind.String || f.GetString() != Format)
            throw new InvalidDataException($"{MetadataEntry} does not say format \"{Format}\"");
        if (!m.TryGetProperty("format_version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version) || version < 1)
            throw new InvalidDataException($"{MetadataEntry} has no valid format_version");
        if (version > FormatVersion)
            throw new InvalidDataException($"format version {version} is newer than this Strata reads ({FormatVersion}); update Strata");
    }

    /// <summary>metadata.json's optional class_names: an array of strings, or null when absent.</summary>
    private static string[]? ClassNames(JsonElement m)
    {
        if (!m.TryGetProperty("class_names", out var names) || names.ValueKind == JsonValueKind.Null)
            return null;
        if (names.ValueKind != JsonValueKind.Array || names.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
            throw new InvalidDataException($"{MetadataEntry}: class_names must be an array of strings");
        return [.. names.EnumerateArray().Select(n => n.GetString()!)];
    }

    /// <summary>The model described by config.json, built, with freshly initialized weights.</summary>
    private static Model Build(JsonElement root, ulong seed = 0)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{ConfigEntry} must be an object");
        string cls = Str(root, "class", ConfigEntry);
        string name = Str(root, "name", ConfigEntry);
        if (cls is "Gan" or "ConditionalGan")
            return BuildGan(root, cls, name, seed);
        var layersJson = Arr(root, "layers", ConfigEntry);
        if (layersJson.GetArrayLength() == 0)
            throw new InvalidDataException($"{ConfigEntry}: the model has no layers");
        var layers = new List<Layer>();
        int i = 0;
        foreach (var l in layersJson.EnumerateArray())
        {
            string where = $"{ConfigEntry}: layer {i++}";
            if (l.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{where} must be an object");
            if (!l.TryGetProperty("config", out var cfg))
                throw new InvalidDataException($"{where} has no config");
            layers.Add(LayerRegistry.Create(Str(l, "class", where), cfg, where));
        }
        try
        {
            return cls switch
            {
                "Sequential" => BuildSequential(root, name, layers, seed),
                "Functional" => BuildFunctional(root, name, layers, seed),
                _ => throw new InvalidDataException($"{ConfigEntry}: unknown model class '{ModelJson.Quote(cls)}' (expected Sequential, Functional, Gan or ConditionalGan)"),
            };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"{ConfigEntry}: the layers do not form a valid model ({e.Message})", e);
        }
    }

    private static Sequential BuildSequential(JsonElement root, string name, List<Layer> layers, ulong seed)
    {
        var shape = Ints(Arr(root, "input_shape", ConfigEntry), "input_shape");
        var model = new Sequential(layers, seed, name);
        model.Build(shape);
        return model;
    }

    private static Model BuildFunctional(JsonElement root, string name, List<Layer> layers, ulong seed)
    {
        var nodesJson = Arr(root, "nodes", ConfigEntry);
        var values = new List<SymbolicTensor>();
        foreach (var n in nodesJson.EnumerateArray())
        {
            string where = $"{ConfigEntry}: node {values.Count}";
            if (n.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{where} must be an object");
            int li = Int(n, "layer", where);
            if (li < 0 || li >= layers.Count)
                throw new InvalidDataException($"{where} names layer {li}; the model has {layers.Count}");
            // A node reads only nodes before it: no cycles, no forward references.
            var args = Ints(Arr(n, "inputs", where), where + " inputs");
            if (args.Any(a => a >= values.Count))
                throw new InvalidDataException($"{where} reads node(s) {string.Join(", ", args.Where(a => a >= values.Count))}, which do not come before it");
            var layer = layers[li];
            values.Add((layer, args.Length) switch
            {
                (Input input, 0) => input.Output,
                (Input, _) => throw new InvalidDataException($"{where}: input layer '{layer.Name}' cannot read other nodes"),
                (_, 0) => throw new InvalidDataException($"{where}: layer '{layer.Name}' reads no node"),
                (MergeLayer merge, _) => merge.Apply([.. args.Select(a => values[a])]),
                (_, 1) => layer.Apply(values[args[0]]),
                _ => throw new InvalidDataException($"{where}: layer '{layer.Name}' takes one input, the node gives it {args.Length}"),
            });
        }
        var inputs = Ints(Arr(root, "inputs", ConfigEntry), "inputs");
        int output = Int(root, "output", ConfigEntry);
        if (inputs.Length == 0 || inputs.Any(a => a >= values.Count) || output >= values.Count)
            throw new InvalidDataException($"{ConfigEntry}: inputs [{string.Join(", ", inputs)}] and output {output} must name some of the {values.Count} nodes");
        var model = new Model([.. inputs.Select(a => values[a])], values[output], seed, name);
        // Weights are matched by layer position: the rebuilt model must order its layers as the saved one did.
        if (model.Layers.Count != layers.Count || model.Layers.Where((l, k) => !ReferenceEquals(l, layers[k])).Any())
            throw new InvalidDataException($"{ConfigEntry}: the graph uses its layers in another order than the layer list (or leaves some out)");
        return model;
    }

    /// <summary>A GAN from its two networks' descriptions (each a Sequential or functional model).</summary>
    private static Gan BuildGan(JsonElement root, string cls, string name, ulong seed)
    {
        var generator = Build(Obj(root, "generator", ConfigEntry), seed);
        var discriminator = Build(Obj(root, "discriminator", ConfigEntry), seed + 1);
        if (generator is Gan || discriminator is Gan)
            throw new InvalidDataException($"{ConfigEntry}: a GAN's generator and discriminator are plain models, not GANs");
        int latent = Int(root, "latent_dim", ConfigEntry), classes = Int(root, "classes", ConfigEntry);
        try
        {
            return cls == "ConditionalGan"
                ? new ConditionalGan(generator, discriminator, classes, latent, seed, name)
                : classes == 0 ? new Gan(generator, discriminator, latent, seed, name)
                : throw new InvalidDataException($"{ConfigEntry}: a Gan has no classes (got {classes}); a ConditionalGan does");
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{ConfigEntry}: the networks do not form a GAN ({e.Message})", e);
        }
    }

    private static void Compile(Model model, JsonElement c)
    {
        const string where = ConfigEntry + ": compile";
        if (model is Gan gan)
        {
            var dOpt = OptimizerRegistry.FromJson(Obj(c, "discriminator_optimizer", where), where + ": discriminator_optimizer");
            var gOpt = OptimizerRegistry.FromJson(Obj(c, "generator_optimizer", where), where + ": generator_optimizer");
            var ganLoss = LossRegistry.FromJson(Obj(c, "loss", where), where + ": loss");
            float smoothing = Get(c, "label_smoothing", where, JsonValueKind.Number).GetSingle();
            try
            {
                gan.Compile(dOpt, gOpt, ganLoss, smoothing);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{where}: {e.Message}", e);
            }
            return;
        }
        var optimizer = OptimizerRegistry.FromJson(Obj(c, "optimizer", where), ConfigEntry + ": optimizer");
        var loss = LossRegistry.FromJson(Obj(c, "loss", where), ConfigEntry + ": loss");
        var metrics = Arr(c, "metrics", where).EnumerateArray().Select(m => m.ValueKind switch
        {
            JsonValueKind.String => (object)m.GetString()!,
            JsonValueKind.Object => MetricRegistry.FromJson(m, ConfigEntry + ": metric"),
            _ => throw new InvalidDataException($"{where}: a metric is a name or {{\"class\", \"config\"}}"),
        }).ToArray();
        try
        {
            model.Compile(optimizer, loss, metrics);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{where}: {e.Message}", e);
        }
    }

    private static void RestoreOptimizer(Model model, SafeTensorsContent content)
    {
        var remaining = new HashSet<string>(content.Tensors.Keys, StringComparer.Ordinal);
        var keys = model.WeightKeys("Load");
        var restores = new List<Action>();
        foreach (var (prefix, opt, weights) in model.OptimizerGroups())
            restores.Add(RestoreGroup(prefix, opt, weights, keys, content, remaining));
        if (remaining.Count > 0)
            throw new InvalidDataException($"{OptimizerEntry}: state for weights the model does not have: {string.Join(", ", remaining.Order().Take(5).Select(ModelJson.Quote))}");
        foreach (var restore in restores)
            restore();
    }

    /// <summary>Reads and checks one optimizer's state; the returned action applies it (after every group has been checked).</summary>
    private static Action RestoreGroup(string prefix, Optimizer opt, IReadOnlyList<Weight> weights, List<(string Key, Weight Weight)> keys,
        SafeTensorsContent content, HashSet<string> remaining)
    {
        var md = content.Metadata;
        if (!md.TryGetValue(prefix + "iterations", out var it) || !long.TryParse(it, NumberStyles.None, CultureInfo.InvariantCulture, out long iterations)
            || !md.TryGetValue(prefix + "learning_rate", out var lrText) || !float.TryParse(lrText, NumberStyles.Float, CultureInfo.InvariantCulture, out float lr))
            throw new InvalidDataException($"{OptimizerEntry}: the metadata needs {prefix}iterations and {prefix}learning_rate");
        var mine = new HashSet<Weight>(weights, ReferenceEqualityComparer.Instance);
        var slots = new List<(Tensor Parameter, float[][] Slots)>();
        foreach (var (key, w) in keys)
        {
            if (!mine.Contains(w))
                continue;
            var found = new List<float[]>();
            var names = opt.SlotNames;
            for (int s = 0; s < names.Count; s++)
            {
                // Files written before slots had names call them slot0, slot1, ...
                string name = names[s];
                string slotKey = content.Tensors.ContainsKey($"{key}/{name}") ? $"{key}/{name}" : $"{key}/slot{s}";
                if (!content.Tensors.TryGetValue(slotKey, out var t))
                    continue;
                if (t.Shape != w.Value.Shape)
                    throw new InvalidDataException($"{OptimizerEntry}: '{slotKey}' is {t.Shape}, the weight is {w.Value.Shape}");
                found.Add(t.ToArray());
                remaining.Remove(slotKey);
            }
            if (found.Count > 0)
                slots.Add((w.Value, [.. found]));
        }
        return () =>
        {
            try
            {
                opt.RestoreState(slots, iterations, lr);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{OptimizerEntry}: {e.Message}", e);
            }
        };
    }

    private static void RestoreTraining(Model model, JsonElement t)
    {
        const string where = TrainingEntry;
        if (t.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{where} must be an object");
        int epochs = Int(t, "epochs_completed", where);
        var rngs = Arr(t, "layer_rng", where);
        var layers = model.Layers;
        if (rngs.GetArrayLength() != layers.Count)
            throw new InvalidDataException($"{where}: {rngs.GetArrayLength()} random streams for {layers.Count} layers");
        var states = rngs.EnumerateArray().Select(r => RngState(r, where)).ToList();
        uint[]? noise = model is Gan ? RngState(Arr(t, "noise_rng", where), where) : null;
        for (int i = 0; i < layers.Count; i++)
            layers[i].Rng.SetState(states[i]);
        if (model is Gan gan)
            gan.Noise.SetState(noise!);
        model.CompletedEpochs = epochs;
        model.CompletedBatches = 0;
        model.PendingEpochMetrics = null;
        if (t.TryGetProperty("batches_completed", out var b))
        {
            if (b.ValueKind != JsonValueKind.Number || !b.TryGetInt32(out int batches) || batches < 0)
                throw new InvalidDataException($"{where}: batches_completed must be a non-negative integer, got {b.GetRawText()}");
            model.CompletedBatches = batches;
            model.PendingEpochMetrics = EpochMetrics(t, where);
        }
    }

    /// <summary>A mid-epoch checkpoint's epoch_metrics: an object of arrays of finite numbers (at most a few thousand each).</summary>
    private static Dictionary<string, double[]> EpochMetrics(JsonElement t, string where)
    {
        var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
        if (!t.TryGetProperty("epoch_metrics", out var m))
            return result;
        if (m.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{where}: epoch_metrics must be an object");
        foreach (var p in m.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() > 1 << 16)
                throw new InvalidDataException($"{where}: epoch_metrics '{p.Name}' must be an array of numbers");
            var values = new double[p.Value.GetArrayLength()];
            int k = 0;
            foreach (var v in p.Value.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out values[k]) || !double.IsFinite(values[k]))
                    throw new InvalidDataException($"{where}: epoch_metrics '{p.Name}' holds {v.GetRawText()}, not a finite number");
                k++;
            }
            result[p.Name] = values;
        }
        return result;
    }

    private static uint[] RngState(JsonElement r, string where)
    {
        if (r.ValueKind != JsonValueKind.Array || r.GetArrayLength() != 6)
            throw new InvalidDataException($"{where}: a random stream state is 6 numbers");
        var state = new uint[6];
        int k = 0;
        foreach (var v in r.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetUInt32(out state[k++]))
                throw new InvalidDataException($"{where}: a random stream state holds 32-bit unsigned numbers");
        }
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new InvalidDataException($"{where}: a random stream state cannot be all zeros");
        return state;
    }

    // ---------------------------------------------------------------- JSON field readers

    private static JsonElement Get(JsonElement o, string key, string where, JsonValueKind kind)
    {
        if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty(key, out var v) || v.ValueKind != kind)
            throw new InvalidDataException($"{where}: '{key}' must be a {kind.ToString().ToLowerInvariant()}");
        return v;
    }

    private static string Str(JsonElement o, string key, string where) => Get(o, key, where, JsonValueKind.String).GetString()!;

    private static JsonElement Arr(JsonElement o, string key, string where) => Get(o, key, where, JsonValueKind.Array);

    private static JsonElement Obj(JsonElement o, string key, string where, JsonValueKind kind = JsonValueKind.Object) => Get(o, key, where, kind);

    private static int Int(JsonElement o, string key, string where) =>
        Get(o, key, where, JsonValueKind.Number).TryGetInt32(out int v) && v >= 0 ? v : throw new InvalidDataException($"{where}: '{key}' must be a count");

    private static int[] Ints(JsonElement a, string where)
    {
        var r = new int[a.GetArrayLength()];
        int i = 0;
        foreach (var v in a.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out r[i]) || r[i] < 0)
                throw new InvalidDataException($"{where}: expected non-negative integers");
            i++;
        }
        return r;
    }
}

/// <summary>
/// Reads a zip entry while computing its CRC-32 (which <see cref="ZipArchive"/> does not check):
/// <see cref="CheckEnd"/> then confirms the entry ends at its declared size with the declared
/// checksum, so a flipped bit anywhere in a tensor fails the load instead of changing a weight.
/// </summary>
internal sealed class CheckedEntryStream(ZipArchiveEntry entry) : Stream
{
    private readonly Stream _inner = OpenEntry(entry);
    private readonly System.IO.Hashing.Crc32 _crc = new();
    private long _read;

    private static Stream OpenEntry(ZipArchiveEntry entry)
    {
        try
        {
            return entry.Open();
        }
        catch (Exception e) when (e is NotSupportedException or IOException)
        {
            throw new InvalidDataException($"{entry.FullName} cannot be read ({e.Message})", e);
        }
    }

    public override int Read(Span<byte> buffer)
    {
        // Never past the declared size: a lying header cannot make us inflate more than we allocated for.
        long left = entry.Length - _read;
        if (left <= 0)
            return 0;
        if (buffer.Length > left)
            buffer = buffer[..(int)left];
        int n;
        try
        {
            n = _inner.Read(buffer);
        }
        catch (IOException e) when (e is not EndOfStreamException)
        {
            throw new InvalidDataException($"{entry.FullName} cannot be read ({e.Message})", e);
        }
        _crc.Append(buffer[..n]);
        _read += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Throws unless exactly the declared bytes were read, no more follow, and the checksum matches.</summary>
    public void CheckEnd()
    {
        if (_read != entry.Length)
            throw new InvalidDataException($"{entry.FullName}: read {_read} of its declared {entry.Length} bytes");
        Span<byte> one = stackalloc byte[1];
        if (_inner.Read(one) != 0)
            throw new InvalidDataException($"{entry.FullName} holds more data than its declared {entry.Length} bytes");
        if (_crc.GetCurrentHashAsUInt32() != entry.Crc32)
            throw new InvalidDataException($"{entry.FullName} is corrupt (CRC-32 {_crc.GetCurrentHashAsUInt32():x8}, the zip says {entry.Crc32:x8})");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _inner.Dispose();
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => entry.Length;
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

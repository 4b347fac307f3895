using System.Globalization;
using System.Text;
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Metrics;
using Strata.Optimizers;
using Strata.Training;

namespace Strata.Models;

public partial class Model
{
    /// <summary>Copies of all weight values, in <see cref="Weights"/> order.</summary>
    public float[][] GetWeights() => Weights.Select(w => w.Value.ToArray()).ToArray();

    /// <summary>Overwrites all weight values (same order and sizes as <see cref="GetWeights"/>).</summary>
    public void SetWeights(float[][] values)
    {
        var weights = Weights.ToArray();
        if (values.Length != weights.Length)
            throw new ArgumentException($"SetWeights: model '{Name}' has {weights.Length} weights, got {values.Length}");
        for (int i = 0; i < weights.Length; i++)
        {
            if (values[i].Length != weights[i].Value.Size)
                throw new ArgumentException($"SetWeights: weight '{weights[i].Name}' has {weights[i].Value.Size} values, got {values[i].Length}");
            values[i].CopyTo(weights[i].Value.AsWritableSpan());
        }
    }

    /// <summary>
    /// Saves every weight to a safetensors file under "position/layer/weight" (for example
    /// "1/conv2d/kernel": layer 1 of the model), written to a temporary name and renamed (a failed
    /// save leaves any previous file as it was).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no weights yet (not built).</exception>
    public void SaveWeights(string path) =>
        Serialization.AtomicFile.Write(path, stream => Serialization.SafeTensors.Write(stream, WeightTensors("SaveWeights"),
            new Dictionary<string, string> { ["format"] = "strata", ["model"] = Name }, Int8WeightKeys("SaveWeights")));

    /// <summary>
    /// Loads weights saved by <see cref="SaveWeights"/> into this built model of the same
    /// architecture. Weights are matched by layer position and weight name (layer names may differ:
    /// automatic names count up across models) and must have the same shapes. Everything is
    /// checked before anything is copied: a file that does not fit leaves the model unchanged.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, or its weights do not match the model's.</exception>
    public void LoadWeights(string path)
    {
        WeightKeys("LoadWeights");
        var content = Serialization.SafeTensors.Load(path);
        AssignWeights(content, path);
    }

    /// <summary>
    /// Saves the whole model to a <c>.strata</c> file: architecture (every layer's config), weights and,
    /// when compiled with a built-in optimizer and loss, the compile settings, the optimizer's state and
    /// the training position (epochs completed, random streams) — a checkpoint that
    /// <see cref="Load"/> resumes exactly. Written to a temporary name and renamed: a failed save leaves
    /// any previous file as it was.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="compressWeights">Deflate the weights entry: the file of a pruned model then shrinks with
    /// its sparsity (its zeros cost almost nothing). <see cref="Load"/> reads both forms; a deflated entry
    /// may inflate only to the size the architecture's weights need.</param>
    /// <exception cref="InvalidOperationException">The model is not built, is a subclass (its architecture is code), or uses an unregistered layer type.</exception>
    public void Save(string path, bool compressWeights = false)
    {
        if (SaveRefusal is { } why)
            throw new InvalidOperationException(why);
        Serialization.ModelFile.Save(this, path, compressWeights);
    }

    /// <summary>Why a kind of model has no file of its own and what to save instead (null: it saves).</summary>
    private protected virtual string? SaveRefusal => null;

    /// <summary>
    /// Loads a model saved by <see cref="Save"/>: rebuilds the layers through the
    /// <see cref="Serialization.LayerRegistry"/>, loads the weights and, when the file holds them and
    /// <paramref name="compile"/> is true, compiles it and restores the optimizer state and training position.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a valid model file (the message says what is wrong).</exception>
    public static Model Load(string path, bool compile = true) => Serialization.ModelFile.Load(path, compile);

    /// <summary>
    /// A new, uncompiled model from a model file's architecture JSON (config.json, as <see cref="Save"/>
    /// writes it): the layers rebuilt through the <see cref="Serialization.LayerRegistry"/>, weights
    /// freshly initialized from <paramref name="seed"/>. A compile section in the JSON is ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">The JSON does not describe a valid model (the message says what is wrong).</exception>
    public static Model FromConfig(string json, ulong seed = 0) => Serialization.ModelFile.FromConfig(json, seed);

    /// <summary>
    /// The names of the classes the output scores, index by index (saved with the model, so that a
    /// loaded classifier can name its predictions); null when not set.
    /// </summary>
    public IReadOnlyList<string>? ClassNames { get; set; }

    /// <summary>
    /// Exports the inference graph as an ONNX model (IR version 8, opset 17) with a symbolic batch axis,
    /// for ONNX Runtime and every other ONNX consumer. Written to a temporary name and renamed.
    /// Token ids stay float inputs; masks (Embedding with mask_zero, Masking) are computed in the
    /// graph and reproduce Strata's masked outputs exactly, whatever the padding (recurrent layers
    /// become ONNX RNN / LSTM / GRU nodes with sequence_lens over each row's kept steps).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, or is a subclass (its forward pass is code).</exception>
    /// <exception cref="NotSupportedException">A layer or activation without an ONNX export; the message names it.</exception>
    /// <remarks>A <see cref="Gan"/> exports its generator (what its Predict runs).</remarks>
    public void ExportOnnx(string path)
    {
        var proto = Onnx.OnnxExporter.Build(this is Gan gan ? gan.Generator : this);
        Serialization.AtomicFile.Write(path, stream =>
        {
            using var coded = new Google.Protobuf.CodedOutputStream(stream, leaveOpen: true);
            proto.WriteTo(coded);
        });
    }

    /// <summary>Copies matching tensors into the weights after checking all of them (a mismatch changes nothing).</summary>
    internal void AssignWeights(Serialization.SafeTensorsContent content, string source)
    {
        var wanted = WeightKeys("LoadWeights");
        // File keys by (position, weight name), ignoring the layer name in the middle; inner layers' names
        // without their counters, unless that makes two keys alike.
        bool loose = Distinct(wanted.Select(k => PositionKey(k.Key, true))) && Distinct(content.Tensors.Keys.Select(k => PositionKey(k, true)));
        var byPosition = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in content.Tensors.Keys)
            byPosition[PositionKey(key, loose)] = key;
        var matched = new List<(Weight Weight, Tensor Value)>();
        foreach (var (key, w) in wanted)
        {
            if (!byPosition.Remove(PositionKey(key, loose), out var fileKey))
                throw new InvalidDataException($"{source}: no weight for '{key}' of model '{Name}' (the file has {string.Join(", ", content.Tensors.Keys.Order().Take(20).Select(Serialization.ModelJson.Quote))})");
            var t = content.Tensors[fileKey];
            if (t.Shape != w.Value.Shape)
                throw new InvalidDataException($"{source}: weight '{Serialization.ModelJson.Quote(fileKey)}' is {t.Shape} in the file, '{key}' is {w.Value.Shape} in model '{Name}'");
            matched.Add((w, t));
        }
        if (byPosition.Count > 0)
            throw new InvalidDataException($"{source}: weights that model '{Name}' does not have: {string.Join(", ", byPosition.Values.Order().Take(20).Select(Serialization.ModelJson.Quote))}");
        foreach (var (w, t) in matched)
            t.Span.CopyTo(w.Value.AsWritableSpan());
        InvalidatePlans();
    }

    /// <summary>Every weight under its "position/layer/weight" key.</summary>
    /// <summary>The keys of the weights files store as int8 (<see cref="Weight.StoredAsInt8"/>).</summary>
    internal HashSet<string> Int8WeightKeys(string op) =>
        new(WeightKeys(op).Where(p => p.Weight.StoredAsInt8).Select(p => p.Key), StringComparer.Ordinal);

    internal Dictionary<string, Tensor> WeightTensors(string op)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, w) in WeightKeys(op))
            tensors[key] = w.Value;
        return tensors;
    }

    // "position/layer/weight" → "position/weight": a layer's generated name may differ between processes.
    // A wrapper's inner weights ("position/layer/inner/weight") keep the inner names, which tell its inner
    // layers apart ("forward_lstm", "backward_lstm"); loosely, without a generated name's counter
    // ("forward_lstm_3" → "forward_lstm"), which differs when the model is rebuilt in another order.
    private static string PositionKey(string key, bool loose)
    {
        var parts = key.Split('/');
        if (parts.Length < 3)
            return key;
        var inner = parts[2..];
        if (loose)
        {
            for (int i = 0; i < inner.Length - 1; i++)
                inner[i] = System.Text.RegularExpressions.Regex.Replace(inner[i], "_[0-9]+$", "");
        }
        return $"{parts[0]}/{string.Join('/', inner)}";
    }

    private static bool Distinct(IEnumerable<string> keys)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return keys.All(seen.Add);
    }

    internal List<(string Key, Weight Weight)> WeightKeys(string op)
    {
        var list = new List<(string, Weight)>();
        var layers = Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            foreach (var w in layers[i].Weights)
                list.Add(($"{i}/{w.Name}", w));
        }
        if (list.Count == 0 || layers.Any(l => !l.Built))
            throw new InvalidOperationException($"{op}: model '{Name}' is not built yet; run it on a batch (or Fit) first, so that its weights exist");
        return list;
    }
}

using Strata.Layers;

namespace Strata.Models;

/// <summary>
/// A chain of layers prepared for one batch size: every activation and activation gradient has a
/// buffer allocated once, identity layers (Flatten, Reshape, Input, inactive Dropout) share their
/// input's buffer, and forward and backward run each layer's planned form directly on those
/// buffers. No autograd graph, no per-step tensors: the default training step and inference of a
/// <see cref="Sequential"/> model use it when every layer and the loss have a planned form.
/// </summary>
internal sealed class StepPlan
{
    // Inference runs a large batch in slices whose activations stay in cache (about 8 MB): every layer
    // on one slice, then the next. Measured with the seed CNN at batch 1,000 (`Strata.Benchmarks`,
    // Predict over the 10,000 test images, same session): 15,700–16,600 samples/s unsliced against
    // 18,700–19,700 sliced on 1 thread, 21,800–24,400 against 26,000–26,600 on 2. Training plans are
    // not sliced: a training step run in slices (gradients accumulated) measured no faster.
    private const long InferenceSliceBytes = 8L << 20;

    private readonly IPlannedLayer[] _layers;
    private readonly int[] _in, _out;
    private readonly int[] _perSample; // floats per sample of each buffer
    private readonly int _slice;       // samples per inference slice (Batch: not sliced)
    private readonly float[][] _values, _grads, _scratch;
    private readonly bool _training;
    private readonly Weight[] _weights;
    private readonly List<Tensor> _trainable = [];

    private StepPlan(IPlannedLayer[] layers, int batch, bool training, int[] inIdx, int[] outIdx, float[][] values,
        float[][] grads, float[][] scratch, Shape outputShape, Weight[] weights, int[] perSample)
    {
        _perSample = perSample;
        long bytesPerSample = 4L * perSample.Sum(v => (long)v);
        int maxSlice = training ? batch : (int)Math.Clamp(InferenceSliceBytes / Math.Max(1, bytesPerSample), 1, batch);
        int slices = (batch + maxSlice - 1) / maxSlice;
        _slice = (batch + slices - 1) / slices; // balanced slices
        _layers = layers;
        Batch = batch;
        _training = training;
        _in = inIdx;
        _out = outIdx;
        _values = values;
        _grads = grads;
        _scratch = scratch;
        Output = new Tensor(values[outIdx[^1]], new Shape([batch, .. outputShape.Dims]));
        _weights = weights;
    }

    public int Batch { get; }

    /// <summary>The output of the last <see cref="Forward"/>, in a buffer the plan owns (overwritten by the next call).</summary>
    public Tensor Output { get; }

    /// <summary>dL/d(output): the loss writes it before <see cref="Backward"/>.</summary>
    public Span<float> OutputGrad => _grads[_out[^1]].AsSpan(0, Output.Size);

    /// <summary>The parameters a training step updates now, in layer order (a list reused across calls).</summary>
    public List<Tensor> Trainable()
    {
        _trainable.Clear();
        foreach (var w in _weights)
        {
            if (w.Trainable)
                _trainable.Add(w.Value);
        }
        return _trainable;
    }

    /// <summary>A plan for these layers (all built) and batch size, or null when some layer has no planned form.</summary>
    public static StepPlan? TryCreate(IReadOnlyList<Layer> layers, int batch, bool training)
    {
        if (layers.Count == 0)
            return null;
        var planned = new IPlannedLayer[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is not IPlannedLayer p || !p.CanPlan || !layers[i].Built)
                return null;
            planned[i] = p;
        }
        var inIdx = new int[layers.Count];
        var outIdx = new int[layers.Count];
        var sizes = new List<int> { 0 }; // buffer 0 is the caller's input
        var scratch = new float[layers.Count][];
        int current = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            inIdx[i] = current;
            if (!planned[i].IsIdentity(training))
            {
                current = sizes.Count;
                sizes.Add(batch * layers[i].OutputShape.Size);
            }
            outIdx[i] = current;
            scratch[i] = training && planned[i].ScratchPerSample > 0 ? new float[batch * planned[i].ScratchPerSample] : [];
        }
        if (current == 0)
            return null; // nothing but identities: the graph path is as good
        var perSample = sizes.Select(n => n / batch).ToArray();
        perSample[0] = layers[0].InputShape.Size;
        var values = sizes.Select(n => n == 0 ? [] : new float[n]).ToArray();
        var grads = training ? sizes.Select(n => n == 0 ? [] : new float[n]).ToArray() : [];
        var weights = layers.SelectMany(l => l.Weights).ToArray();
        return new StepPlan(planned, batch, training, inIdx, outIdx, values, grads, scratch, layers[^1].OutputShape, weights, perSample);
    }

    /// <summary>Samples per slice of an inference pass (the batch size when it is not sliced).</summary>
    public int SliceSize => _slice;

    /// <summary>Runs every layer on a batch (its flat data), slice by slice for inference; the result is <see cref="Output"/>.</summary>
    public Tensor Forward(ReadOnlySpan<float> x)
    {
        for (int s0 = 0; s0 < Batch; s0 += _slice)
        {
            int s1 = Math.Min(Batch, s0 + _slice), n = s1 - s0;
            for (int i = 0; i < _layers.Length; i++)
            {
                if (_in[i] == _out[i])
                    continue;
                int pin = _perSample[_in[i]], pout = _perSample[_out[i]];
                var src = (_in[i] == 0 ? x : _values[_in[i]]).Slice(s0 * pin, n * pin);
                var scratch = _scratch[i].Length == 0 ? [] : _scratch[i].AsSpan(s0 * (_scratch[i].Length / Batch), n * (_scratch[i].Length / Batch));
                _layers[i].PlanForward(src, _values[_out[i]].AsSpan(s0 * pout, n * pout), n, _training, scratch);
            }
        }
        return Output;
    }

    /// <summary>Back from <see cref="OutputGrad"/> to the first layer, setting each trainable weight's Grad to its gradient.</summary>
    public void Backward(ReadOnlySpan<float> x)
    {
        if (!_training)
            throw new InvalidOperationException("StepPlan: an inference plan has no backward");
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            if (_in[i] == _out[i])
                continue;
            var src = _in[i] == 0 ? x : _values[_in[i]];
            var dx = _in[i] == 0 ? [] : _grads[_in[i]].AsSpan();
            _layers[i].PlanBackward(src, _values[_out[i]], _grads[_out[i]], dx, Batch, _scratch[i]);
        }
    }
}

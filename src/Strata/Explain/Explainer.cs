using Strata.Autograd;
using Strata.Layers;
using Strata.Models;

namespace Strata.Explain;

/// <summary>
/// Explains a trained model's outputs: attributions of a target output (by default the predicted
/// class) to the inputs — <see cref="Saliency"/>, <see cref="SmoothGrad"/>,
/// <see cref="IntegratedGradients"/>, <see cref="GradCam"/>, <see cref="Occlusion"/>, and
/// <see cref="TokenIntegratedGradients"/> for models that start with an <see cref="Embedding"/> — and
/// a layer's activations (<see cref="FeatureMaps"/>). Any single-input model works (Sequential,
/// functional, subclassed). The gradient passes run as a traced step of the model: the first two
/// batches of a shape run eagerly under a trace, later ones replay a compiled plan (forward, then
/// backward to the input only), so integrated gradients' many steps rebuild no graph.
/// </summary>
public sealed partial class Explainer
{
    private readonly Model _model;

    /// <param name="model">A trained model with one input and outputs [batch, outputs].</param>
    /// <exception cref="ArgumentException">The model has more than one input.</exception>
    public Explainer(Model model)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        if (model.InputCount != 1)
            throw new ArgumentException($"Explainer: model '{model.Name}' has {model.InputCount} inputs; attributions are computed for single-input models");
    }

    /// <summary>The model explained.</summary>
    public Model Model => _model;

    /// <summary>How many samples one gradient pass takes (larger batches are split); 100 by default.</summary>
    public int BatchSize
    {
        get => _batchSize;
        set
        {
            AtLeast("BatchSize", "value", value, 1);
            _batchSize = value;
        }
    }

    private int _batchSize = 100;

    /// <summary>
    /// The gradient of the target output with respect to the input (Simonyan et al., 2014), as the
    /// gradient, its magnitude or the gradient times the input.
    /// </summary>
    /// <param name="x">A batch [batch, ...input shape].</param>
    /// <param name="targets">The output index to explain per sample; null: each sample's predicted class.</param>
    /// <param name="mode">What the map holds.</param>
    public Attribution Saliency(Tensor x, int[]? targets = null, SaliencyMode mode = SaliencyMode.Gradient)
    {
        var t = Prepare("Saliency", x, ref targets);
        var map = new float[x.Size];
        var scores = new float[Rows(x)];
        ForChunks(x, (start, n, chunk) =>
        {
            var onehot = OneHot(t, start, n);
            var inputs = Wrapped(chunk);
            GradientPass("grad", inputs, onehot, null, null, true, (y, g, _) =>
            {
                ReadScores(y, onehot, scores, start);
                Combine(g.Span, chunk.Span, mode, map.AsSpan(start * RowSize(x), n * RowSize(x)), 1);
            });
        });
        return new Attribution($"saliency ({Describe(mode)})", Tensor.Wrap(map, x.Shape), t, scores, mode != SaliencyMode.AbsoluteGradient);
    }

    /// <summary>
    /// SmoothGrad (Smilkov et al., 2017): the mean of the saliency maps of <paramref name="samples"/>
    /// noisy copies of each input, the noise normal with σ = <paramref name="noiseLevel"/> · (max − min)
    /// of that sample's values.
    /// </summary>
    /// <param name="x">A batch [batch, ...input shape].</param>
    /// <param name="targets">The output index to explain per sample; null: each sample's predicted class (at the input without noise).</param>
    /// <param name="noiseLevel">σ as a fraction of each sample's value range (the paper finds 0.1–0.2 best).</param>
    /// <param name="samples">Noisy copies per input.</param>
    /// <param name="mode">The map averaged: the gradient, its magnitude, or the gradient times the (noisy) input.</param>
    /// <param name="seed">Seeds the noise (sample i draws from its own stream, so its map is the same in any batch).</param>
    public Attribution SmoothGrad(Tensor x, int[]? targets = null, float noiseLevel = 0.15f, int samples = 50,
        SaliencyMode mode = SaliencyMode.Gradient, ulong seed = 0)
    {
        if (!(noiseLevel >= 0) || float.IsInfinity(noiseLevel))
            throw new ArgumentOutOfRangeException(nameof(noiseLevel), $"SmoothGrad: the noise level must be a finite value ≥ 0, got {noiseLevel}");
        AtLeast("SmoothGrad", nameof(samples), samples, 1);
        var t = Prepare("SmoothGrad", x, ref targets);
        int row = RowSize(x);
        var map = new float[x.Size];
        var scores = new float[Rows(x)];
        ForChunks(x, (start, n, chunk) =>
        {
            var onehot = OneHot(t, start, n);
            var noisy = new float[n * row];
            var noisyTensor = Tensor.Wrap(noisy, chunk.Shape);
            var sigma = new float[n];
            var rngs = new Rng[n];
            var src = chunk.Span;
            for (int i = 0; i < n; i++)
            {
                var (lo, hi) = Views.FiniteRange(src.Slice(i * row, row));
                sigma[i] = hi >= lo ? noiseLevel * (hi - lo) : 0;
                rngs[i] = new Rng(seed * 0x9E3779B97F4A7C15UL + (ulong)(start + i) + 1); // each sample's own stream: its map does not depend on the batch
            }
            GradientPass("grad", Wrapped(chunk), onehot, null, null, true, (y, _, _) => ReadScores(y, onehot, scores, start));
            for (int s = 0; s < samples; s++)
            {
                for (int i = 0; i < n; i++)
                {
                    for (int k = 0; k < row; k++)
                        noisy[i * row + k] = src[i * row + k] + sigma[i] * rngs[i].NextNormal();
                }
                GradientPass("grad", noisyTensor, onehot, null, null, true, (_, g, _) =>
                    Combine(g.Span, noisy, mode, map.AsSpan(start * row, n * row), 1f / samples));
            }
        });
        return new Attribution($"SmoothGrad ({Describe(mode)}, {samples} samples, noise {noiseLevel})", Tensor.Wrap(map, x.Shape), t, scores,
            mode != SaliencyMode.AbsoluteGradient);
    }

    /// <summary>
    /// Integrated gradients (Sundararajan et al., 2017): (x − baseline) times the mean gradient along
    /// the straight path from the baseline to x, by the midpoint rule over <paramref name="steps"/>
    /// points. The attributions of a sample add up to f(x) − f(baseline) (completeness) up to the
    /// quadrature error, reported per sample in <see cref="Attribution.CompletenessError"/>.
    /// </summary>
    /// <param name="x">A batch [batch, ...input shape].</param>
    /// <param name="targets">The output index to explain per sample; null: each sample's predicted class.</param>
    /// <param name="baseline">The reference input: one sample [...input shape] for every row, or one per row (x's shape); null: zeros (a black image).</param>
    /// <param name="steps">Points on the path (each one forward and one backward pass).</param>
    public Attribution IntegratedGradients(Tensor x, int[]? targets = null, Tensor? baseline = null, int steps = 64)
    {
        AtLeast("IntegratedGradients", nameof(steps), steps, 1);
        var t = Prepare("IntegratedGradients", x, ref targets);
        int row = RowSize(x);
        var sample = new Shape(x.Shape.Dims[1..]);
        if (baseline is not null && baseline.Shape != sample && baseline.Shape != x.Shape)
            throw new ArgumentException($"IntegratedGradients: the baseline must be one sample {sample} or one per row {x.Shape}, got {baseline.Shape}");
        var map = new float[x.Size];
        int rows = Rows(x);
        var scores = new float[rows];
        var baseScores = new float[rows];
        var errors = new float[rows];
        ForChunks(x, (start, n, chunk) =>
        {
            var onehot = OneHot(t, start, n);
            var b = new float[n * row];
            if (baseline is not null)
            {
                for (int i = 0; i < n; i++)
                    baseline.Span.Slice(baseline.Shape == sample ? 0 : (start + i) * row, row).CopyTo(b.AsSpan(i * row, row));
            }
            var src = chunk.Span;
            var point = new float[n * row];
            var pointTensor = Tensor.Wrap(point, chunk.Shape);
            var sum = new float[n * row];
            GradientPass("grad", Tensor.Wrap(b, chunk.Shape), onehot, null, null, true, (y, _, _) => ReadScores(y, onehot, baseScores, start));
            GradientPass("grad", Wrapped(chunk), onehot, null, null, true, (y, _, _) => ReadScores(y, onehot, scores, start));
            for (int s = 0; s < steps; s++)
            {
                float alpha = (s + 0.5f) / steps;
                for (int k = 0; k < point.Length; k++)
                    point[k] = b[k] + alpha * (src[k] - b[k]);
                GradientPass("grad", pointTensor, onehot, null, null, true, (_, g, _) =>
                    System.Numerics.Tensors.TensorPrimitives.Add(sum, g.Span, sum));
            }
            var result = map.AsSpan(start * row, n * row);
            for (int k = 0; k < result.Length; k++)
                result[k] = (src[k] - b[k]) * sum[k] / steps;
            for (int i = 0; i < n; i++)
                errors[start + i] = CompletenessError(result.Slice(i * row, row), scores[start + i] - baseScores[start + i]);
        });
        return new Attribution($"integrated gradients ({steps} steps)", Tensor.Wrap(map, x.Shape), t, scores, true, baseScores, errors);
    }

    /// <summary>|Σ attributions − difference| relative to |difference| (absolute where the difference is below 1e-6).</summary>
    private static float CompletenessError(ReadOnlySpan<float> attributions, float difference)
    {
        double total = 0;
        foreach (float a in attributions)
            total += a;
        double error = Math.Abs(total - difference);
        return (float)(Math.Abs(difference) < 1e-6 ? error : error / Math.Abs(difference));
    }

    private static string Describe(SaliencyMode mode) => mode switch
    {
        SaliencyMode.Gradient => "gradient",
        SaliencyMode.AbsoluteGradient => "|gradient|",
        _ => "gradient × input",
    };

    /// <summary>Adds scale · (the mode's map of gradient g at input x) to target.</summary>
    private static void Combine(ReadOnlySpan<float> g, ReadOnlySpan<float> x, SaliencyMode mode, Span<float> target, float scale)
    {
        for (int k = 0; k < target.Length; k++)
        {
            target[k] += scale * mode switch
            {
                SaliencyMode.Gradient => g[k],
                SaliencyMode.AbsoluteGradient => MathF.Abs(g[k]),
                _ => g[k] * x[k],
            };
        }
    }

    private static int Rows(Tensor x) => x.Shape[0];

    private static int RowSize(Tensor x) => x.Size / x.Shape[0];

    /// <summary>Runs <paramref name="body"/> on row blocks of at most <see cref="BatchSize"/> (views over x's array).</summary>
    private void ForChunks(Tensor x, Action<int, int, Tensor> body)
    {
        int rows = Rows(x), row = RowSize(x);
        for (int start = 0; start < rows; start += _batchSize)
        {
            int n = Math.Min(_batchSize, rows - start);
            var chunk = n == rows ? x : new Tensor(x.Buffer, x.Start + start * row, new Shape([n, .. x.Shape.Dims[1..]]));
            body(start, n, chunk);
        }
    }

    /// <summary>A tensor of our own over the caller's data (the eager path marks it as requiring gradients, never the caller's).</summary>
    private static Tensor Wrapped(Tensor x) => new(x.Buffer, x.Start, x.Shape);

    private int _outputs = -1;

    /// <summary>An ArgumentOutOfRangeException naming the method unless value ≥ min.</summary>
    private static void AtLeast(string method, string name, int value, int min)
    {
        if (value < min)
            throw new ArgumentOutOfRangeException(name, $"{method}: {name} must be at least {min}, got {value}");
    }

    /// <summary>Checks a batch against the model's input shape.</summary>
    private void CheckBatch(string method, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2 || x.Shape[0] == 0)
            throw new ArgumentException($"{method}: expected a batch [batch, ...input shape], got {x.Shape}");
        if (_model.InputShapes is { } shapes && new Shape(x.Shape.Dims[1..]) != shapes[0])
            throw new ArgumentException($"{method}: model '{_model.Name}' takes inputs [batch, {string.Join(", ", shapes[0].ToArray())}], got {x.Shape}");
    }

    /// <summary>Checks the batch against the model and resolves the targets (the predicted classes when null).</summary>
    private int[] Prepare(string method, Tensor x, ref int[]? targets) => Prepare(method, x, ref targets, out _);

    /// <summary>
    /// As <see cref="Prepare(string, Tensor, ref int[])"/>, also giving the outputs for the whole batch when
    /// they were computed for the targets (null when the targets were given: then at most one row is run,
    /// to learn the number of outputs).
    /// </summary>
    private int[] Prepare(string method, Tensor x, ref int[]? targets, out Tensor? outputs)
    {
        CheckBatch(method, x);
        outputs = null;
        if (targets is null || _outputs < 0)
        {
            var y = _model.Predict(targets is null ? x : x.Slice(..1), Math.Min(_batchSize, 256));
            if (targets is null)
                outputs = y;
            if (y.Rank != 2)
                throw new ArgumentException($"{method}: model '{_model.Name}' gives outputs {y.Shape}; attributions need outputs [batch, outputs]");
            _outputs = y.Shape[1];
            if (targets is null)
                targets = [.. y.ArgMax(1).ToArray().Select(v => (int)v)];
        }
        if (targets.Length != x.Shape[0])
            throw new ArgumentException($"{method}: expected one target per sample ({x.Shape[0]}), got {targets.Length}");
        for (int i = 0; i < targets.Length; i++)
        {
            if (targets[i] < 0 || targets[i] >= _outputs)
                throw new ArgumentOutOfRangeException(nameof(targets), $"{method}: target {targets[i]} of sample {i} is outside the model's {_outputs} outputs (0–{_outputs - 1})");
        }
        return targets;
    }

    /// <summary>The one-hot selector [n, outputs] of rows [start, start + n) of the targets.</summary>
    private Tensor OneHot(int[] targets, int start, int n)
    {
        var onehot = new float[n * _outputs];
        for (int i = 0; i < n; i++)
            onehot[i * _outputs + targets[start + i]] = 1;
        return Tensor.Wrap(onehot, new Shape([n, _outputs]));
    }

    private void ReadScores(Tensor y, Tensor onehot, float[] scores, int start)
    {
        var ys = y.Span;
        var sel = onehot.Span;
        int n = y.Shape[0];
        for (int i = 0; i < n; i++)
        {
            float s = 0;
            for (int k = 0; k < _outputs; k++)
                s += ys[i * _outputs + k] * sel[i * _outputs + k];
            scores[start + i] = s;
        }
    }

    /// <summary>
    /// One forward and one backward pass of Σ_i f(x_i)[target_i] (rows are independent in inference, so
    /// row i's gradient is its own): <paramref name="read"/> gets the outputs, the gradient with respect
    /// to the input (when <paramref name="gradInput"/>) or to the tapped layer's output, and that layer's
    /// activations. With <paramref name="path"/> (α [1] and a baseline b broadcast to the tapped layer's
    /// output), that output o becomes b + α·(o − b): a point on integrated gradients' path in the layer's space. A traced step of the model, compiled once confirmed.
    /// </summary>
    private void GradientPass(string kind, Tensor x, Tensor onehot, (Tensor Alpha, Tensor Baseline)? path, Layer? layer, bool gradInput,
        Action<Tensor, Tensor, Tensor?> read)
    {
        Tensor[] inputs = path is { } p ? [x, onehot, p.Alpha, p.Baseline] : [x, onehot];
        string name = layer is null ? "explain:" + kind : $"explain:{kind}@{layer.Name}";
        _model.RunTraced(name, inputs, own =>
        {
            var xi = own[0];
            if (gradInput)
                xi.RequiresGrad = true;
            var tap = layer is null ? null : new ProbeTap(layer, path is null ? null : (own[2], own[3]));
            Tensor y;
            var scope = tap is null ? (LayerTap.Scope?)null : LayerTap.Begin(tap);
            try
            {
                y = _model.Forward([xi], training: false);
            }
            finally
            {
                scope?.Dispose();
            }
            if (y.Rank != 2 || y.Shape[1] != _outputs)
                throw new ArgumentException($"Explainer: model '{_model.Name}' gives outputs {y.Shape}; attributions need outputs [{y.Shape[0]}, {_outputs}]");
            var wanted = new List<Tensor>();
            if (gradInput)
                wanted.Add(xi);
            if (tap is not null)
                wanted.Add(tap.Probe ?? throw new InvalidOperationException($"Explainer: layer '{layer!.Name}' did not run in model '{_model.Name}''s forward pass"));
            var grads = Model.ComputeGradients((y * own[1]).Sum(), wanted);
            Tensor[] results = tap is null ? [y, .. grads] : [y, .. grads, tap.Activation!];
            return (null, results);
        }, (_, values) => read(values[0], values[1], values.Length > 2 ? values[2] : null));
    }

    /// <summary>
    /// Adds a zero probe (a leaf that requires gradients) to one layer's output, so the gradient with
    /// respect to that output is the probe's; optionally moves the output onto a path from a baseline first.
    /// </summary>
    private sealed class ProbeTap(Layer layer, (Tensor Alpha, Tensor Baseline)? path) : LayerTap
    {
        public Tensor? Activation { get; private set; }
        public Tensor? Probe { get; private set; }

        public override Tensor Visit(Layer visited, Tensor output)
        {
            if (!ReferenceEquals(visited, layer))
                return output;
            if (Activation is not null)
                throw new InvalidOperationException($"Explainer: layer '{layer.Name}' runs more than once in a forward pass (a shared layer); choose a layer that runs once");
            Activation = output;
            Probe = Tensor.Zeros(output.Shape.ToArray());
            Probe.RequiresGrad = true;
            var point = path is { } p ? p.Baseline + (output - p.Baseline) * p.Alpha : output;
            return point + Probe;
        }
    }
}

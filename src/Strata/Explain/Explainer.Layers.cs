using Strata.Autograd;
using Strata.Layers;

namespace Strata.Explain;

public sealed partial class Explainer
{
    /// <summary>
    /// Grad-CAM (Selvaraju et al., 2017): the activations A of a convolutional layer weighted per channel
    /// by the mean gradient of the target output over the positions, summed over channels and passed
    /// through ReLU — where in the layer's grid the evidence for the target lies. One forward and one
    /// backward pass per batch. The map is [batch, h, w] at the layer's resolution (a 1-D layer gives
    /// h = 1); <see cref="Attribution.Heatmap(int, int, int)"/> resizes it to the input.
    /// </summary>
    /// <param name="x">A batch [batch, ...input shape].</param>
    /// <param name="targets">The output index to explain per sample; null: each sample's predicted class.</param>
    /// <param name="layer">A convolutional layer's name (Conv2D, Conv1D, DepthwiseConv2D, Conv2DTranspose); null: the last one in the model.</param>
    /// <exception cref="ArgumentException">No layer has that name, or it is not convolutional, or the model has none.</exception>
    public Attribution GradCam(Tensor x, int[]? targets = null, string? layer = null)
    {
        var conv = ConvolutionalLayer(layer);
        var t = Prepare("GradCam", x, ref targets);
        int rows = Rows(x);
        var scores = new float[rows];
        float[]? map = null;
        int h = 0, w = 0;
        ForChunks(x, (start, n, chunk) =>
        {
            var onehot = OneHot(t, start, n);
            GradientPass("gradcam", Wrapped(chunk), onehot, null, conv, false, (y, g, a) =>
            {
                ReadScores(y, onehot, scores, start);
                var s = a!.Shape;
                (h, w) = s.Rank == 4 ? (s[1], s[2]) : (1, s[1]);
                int c = s[s.Rank - 1], cells = h * w;
                map ??= new float[rows * cells];
                var av = a.Span;
                var gv = g.Span;
                var weights = new float[c];
                for (int i = 0; i < n; i++)
                {
                    Array.Clear(weights);
                    for (int p = 0; p < cells; p++)
                    {
                        for (int k = 0; k < c; k++)
                            weights[k] += gv[(i * cells + p) * c + k];
                    }
                    for (int p = 0; p < cells; p++)
                    {
                        float sum = 0;
                        for (int k = 0; k < c; k++)
                            sum += weights[k] / cells * av[(i * cells + p) * c + k];
                        map[(start + i) * cells + p] = MathF.Max(0, sum);
                    }
                }
            });
        });
        return new Attribution($"Grad-CAM ({conv.Name})", Tensor.Wrap(map!, new Shape([rows, h, w])), t, scores, false);
    }

    /// <summary>
    /// Occlusion (Zeiler and Fergus, 2014): each window of the input, slid with a stride, is set to
    /// <paramref name="fill"/>, and the drop of the target output, f(x) − f(x occluded), is credited to the
    /// window's positions (averaged where windows overlap; all channels of a position at once). Forward
    /// passes only, batched through <see cref="Models.Model.Predict(Tensor, int)"/>. Images [batch, height,
    /// width(, channels)] are occluded in 2-D windows; rows of features [batch, features] in 1-D windows.
    /// </summary>
    /// <param name="x">A batch [batch, ...input shape].</param>
    /// <param name="targets">The output index to explain per sample; null: each sample's predicted class.</param>
    /// <param name="window">The window's side (a square window; its width for rows of features).</param>
    /// <param name="stride">The step between windows (windows at the edges are cut to fit).</param>
    /// <param name="fill">The value an occluded position takes.</param>
    public Attribution Occlusion(Tensor x, int[]? targets = null, int window = 4, int stride = 2, float fill = 0)
    {
        AtLeast("Occlusion", nameof(window), window, 1);
        AtLeast("Occlusion", nameof(stride), stride, 1);
        var t = Prepare("Occlusion", x, ref targets, out var predicted);
        var s = x.Shape;
        (int height, int width, int channels) = s.Rank switch
        {
            2 => (1, s[1], 1),
            3 => (s[1], s[2], 1),
            _ => (s[1], s[2], s.Size / (s[0] * s[1] * s[2])),
        };
        int wh = Math.Min(window, height), ww = Math.Min(window, width);
        var windows = new List<(int Top, int Left)>();
        for (int top = 0; top < height; top += stride)
        {
            for (int left = 0; left < width; left += stride)
            {
                windows.Add((top, left));
                if (left + ww >= width)
                    break;
            }
            if (top + wh >= height)
                break;
        }
        int row = RowSize(x), rows = Rows(x);
        var full = predicted ?? _model.Predict(x, Math.Min(_batchSize, 256));
        var scores = new float[rows];
        for (int i = 0; i < rows; i++)
            scores[i] = full.Span[i * _outputs + t[i]];
        var map = new float[x.Size];
        var count = new float[height * width];
        foreach (var (top, left) in windows)
        {
            for (int yy = top; yy < Math.Min(top + wh, height); yy++)
            {
                for (int xx = left; xx < Math.Min(left + ww, width); xx++)
                    count[yy * width + xx]++;
            }
        }
        int per = Math.Max(1, Math.Min(windows.Count, 4 * _batchSize));
        var batch = new float[per * row];
        var src = x.Span;
        for (int i = 0; i < rows; i++)
        {
            for (int w0 = 0; w0 < windows.Count; w0 += per)
            {
                int m = Math.Min(per, windows.Count - w0);
                for (int j = 0; j < m; j++)
                {
                    var dst = batch.AsSpan(j * row, row);
                    src.Slice(i * row, row).CopyTo(dst);
                    var (top, left) = windows[w0 + j];
                    for (int yy = top; yy < Math.Min(top + wh, height); yy++)
                        dst.Slice((yy * width + left) * channels, (Math.Min(left + ww, width) - left) * channels).Fill(fill);
                }
                var occluded = _model.Predict(Tensor.Wrap(batch, new Shape([per, .. s.Dims[1..]])), Math.Min(per, 256)).Span;
                for (int j = 0; j < m; j++)
                {
                    float drop = scores[i] - occluded[j * _outputs + t[i]];
                    var (top, left) = windows[w0 + j];
                    for (int yy = top; yy < Math.Min(top + wh, height); yy++)
                    {
                        for (int xx = left; xx < Math.Min(left + ww, width); xx++)
                        {
                            int p = yy * width + xx;
                            float share = drop / count[p];
                            for (int k = 0; k < channels; k++)
                                map[i * row + p * channels + k] += share;
                        }
                    }
                }
            }
        }
        return new Attribution($"occlusion (window {window}, stride {stride}, fill {fill})", Tensor.Wrap(map, x.Shape), t, scores, true);
    }

    /// <summary>
    /// Integrated gradients on the embeddings of a model that starts with an <see cref="Embedding"/>
    /// (ids as floats, [batch, steps]): the path runs from a baseline vector b at every step (zeros, or the
    /// embedding of <paramref name="baselineToken"/>) to each token's embedding e, and a token's attribution
    /// is (e − b) times the mean gradient along the path, summed over the vector. The attributions of a
    /// sample add up to f(x) − f(baseline) up to the quadrature error (<see cref="Attribution.CompletenessError"/>);
    /// the mask (from the ids) is the input's all along. The map is [batch, steps].
    /// </summary>
    /// <param name="ids">Token ids [batch, steps] (as the model takes them).</param>
    /// <param name="targets">The output index to explain per sample; null: each sample's predicted class.</param>
    /// <param name="steps">Points on the path.</param>
    /// <param name="layer">The Embedding layer's name; null: the first Embedding in the model.</param>
    /// <param name="baselineToken">A token id whose embedding is the baseline (a neutral word, the padding id); null: zero vectors.</param>
    /// <exception cref="ArgumentException">The model has no Embedding layer (or none of that name).</exception>
    public Attribution TokenIntegratedGradients(Tensor ids, int[]? targets = null, int steps = 64, string? layer = null, int? baselineToken = null)
    {
        AtLeast("TokenIntegratedGradients", nameof(steps), steps, 1);
        var embedding = FindLayer(layer, l => l is Embedding, "an Embedding layer", first: true);
        var t = Prepare("TokenIntegratedGradients", ids, ref targets);
        if (ids.Rank != 2)
            throw new ArgumentException($"TokenIntegratedGradients: expected token ids [batch, steps], got {ids.Shape}");
        int rows = Rows(ids), length = ids.Shape[1];
        var map = new float[rows * length];
        var scores = new float[rows];
        var baseScores = new float[rows];
        var errors = new float[rows];
        var table = ((Embedding)embedding).Embeddings.Value;
        int dim = table.Shape[1];
        var baseline = new float[dim];
        if (baselineToken is { } token)
        {
            if (token < 0 || token >= table.Shape[0])
                throw new ArgumentOutOfRangeException(nameof(baselineToken), $"TokenIntegratedGradients: baseline token {token} is outside embedding '{embedding.Name}''s {table.Shape[0]} ids");
            table.Span.Slice(token * dim, dim).CopyTo(baseline);
        }
        var alpha = new float[1];
        var path = (Tensor.Wrap(alpha, new Shape([1])), Tensor.Wrap(baseline, new Shape([dim])));
        ForChunks(ids, (start, n, chunk) =>
        {
            var onehot = OneHot(t, start, n);
            var input = Wrapped(chunk);
            float[]? sum = null, emb = null;
            void Run(float a, Action<Tensor, Tensor, Tensor?> read)
            {
                alpha[0] = a;
                GradientPass("tokens", input, onehot, path, embedding, false, read);
            }
            if (start == 0 && n > 1)
            {
                // A first trace on other ids (the rows turned by one), so the plan is confirmed by two
                // traces that differ in their ids, not only in α: a step that reads the ids outside ops stays eager.
                var turned = new float[chunk.Size];
                chunk.Span[length..].CopyTo(turned);
                chunk.Span[..length].CopyTo(turned.AsSpan(turned.Length - length));
                alpha[0] = 0;
                GradientPass("tokens", Tensor.Wrap(turned, chunk.Shape), onehot, path, embedding, false, (_, _, _) => { });
            }
            Run(0, (y, _, _) => ReadScores(y, onehot, baseScores, start));
            Run(1, (y, _, e) =>
            {
                ReadScores(y, onehot, scores, start);
                emb = e!.Span.ToArray();
            });
            for (int s = 0; s < steps; s++)
            {
                Run((s + 0.5f) / steps, (_, g, _) =>
                {
                    sum ??= new float[g.Size];
                    System.Numerics.Tensors.TensorPrimitives.Add(sum, g.Span, sum);
                });
            }
            for (int k = 0; k < emb!.Length; k++)
                emb[k] -= baseline[k % dim];
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < length; p++)
                {
                    int at = (i * length + p) * dim;
                    map[(start + i) * length + p] = System.Numerics.Tensors.TensorPrimitives.Dot(emb.AsSpan(at, dim), sum!.AsSpan(at, dim)) / steps;
                }
                errors[start + i] = CompletenessError(map.AsSpan((start + i) * length, length), scores[start + i] - baseScores[start + i]);
            }
        });
        return new Attribution($"integrated gradients on embeddings ({steps} steps)", Tensor.Wrap(map, new Shape([rows, length])), t, scores, true, baseScores, errors);
    }

    /// <summary>
    /// A layer's activations for a batch (inference mode): the named layer's output, [batch, ...its output
    /// shape] — for a convolutional layer, its feature maps ([batch, h, w, channels]).
    /// </summary>
    /// <exception cref="ArgumentException">No layer of the model has that name, or the batch does not fit the model.</exception>
    public Tensor FeatureMaps(Tensor x, string layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var target = FindLayer(layer, _ => true, "a layer", first: true);
        const string name = "FeatureMaps";
        CheckBatch(name, x);
        var tap = new CaptureTap(target);
        using (GradMode.Disable())
        using (LayerTap.Begin(tap))
            _model.Forward([x], training: false);
        return tap.Output ?? throw new InvalidOperationException($"{name}: layer '{layer}' did not run in model '{_model.Name}''s forward pass");
    }

    private sealed class CaptureTap(Layer layer) : LayerTap
    {
        public Tensor? Output { get; private set; }

        public override Tensor Visit(Layer visited, Tensor output)
        {
            if (ReferenceEquals(visited, layer))
                Output ??= output;
            return output;
        }
    }

    private static bool IsConvolutional(Layer l) => l is ConvolutionLayer or DepthwiseConv2D or Conv2DTranspose;

    private Layer ConvolutionalLayer(string? name) => FindLayer(name, IsConvolutional, "a convolutional layer (Conv2D, Conv1D, DepthwiseConv2D, Conv2DTranspose)", first: false);

    private Layer FindLayer(string? name, Func<Layer, bool> kind, string what, bool first) =>
        LayerLookup.Find("Explainer", _model, name, kind, what, first);
}

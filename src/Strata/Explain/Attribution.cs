namespace Strata.Explain;

/// <summary>What a saliency map is made of: the gradient, its magnitude, or the gradient times the input.</summary>
public enum SaliencyMode
{
    /// <summary>∂f/∂x, signed (Simonyan et al.'s gradient).</summary>
    Gradient,

    /// <summary>|∂f/∂x|: where a change of the input changes the output most, whatever the direction.</summary>
    AbsoluteGradient,

    /// <summary>x · ∂f/∂x, signed: a first-order estimate of each input's contribution.</summary>
    GradientTimesInput,
}

/// <summary>
/// The attribution of one target output to the inputs of each sample of a batch, from one of the
/// <see cref="Explainer"/>'s methods.
/// </summary>
public sealed class Attribution
{
    internal Attribution(string method, Tensor map, int[] targets, float[] scores, bool signed,
        float[]? baselineScores = null, float[]? completenessError = null)
    {
        Method = method;
        Map = map;
        Targets = targets;
        Scores = scores;
        Signed = signed;
        BaselineScores = baselineScores;
        CompletenessError = completenessError;
    }

    /// <summary>The method and its settings, e.g. "integrated gradients (64 steps)".</summary>
    public string Method { get; }

    /// <summary>
    /// The attributions: the input's shape for the gradient methods, integrated gradients and
    /// occlusion; [batch, height, width] at the layer's resolution for Grad-CAM (see <see cref="Heatmap(int, int, int)"/>);
    /// [batch, steps] for attributions per token.
    /// </summary>
    public Tensor Map { get; }

    /// <summary>The output index explained for each sample.</summary>
    public int[] Targets { get; }

    /// <summary>The target output of each sample at its input (the model's output as it is: a probability after a softmax).</summary>
    public float[] Scores { get; }

    /// <summary>Whether the sign of the map means something (gradients, integrated gradients, occlusion); false for magnitudes and Grad-CAM.</summary>
    public bool Signed { get; }

    /// <summary>Integrated gradients: the target output of each sample at the baseline; null for the other methods.</summary>
    public float[]? BaselineScores { get; }

    /// <summary>
    /// Integrated gradients: per sample, |Σ attributions − (f(x) − f(baseline))| / |f(x) − f(baseline)| (the
    /// absolute error where the difference is below 1e-6). Completeness says it is 0; what remains is the
    /// error of the path integral's quadrature, which falls with more steps. Null for the other methods.
    /// </summary>
    public float[]? CompletenessError { get; }

    /// <summary>The number of samples.</summary>
    public int Count => Targets.Length;

    /// <summary>
    /// Sample <paramref name="index"/>'s map as one value per pixel [height, width]: summed over the
    /// channels of an image input ([batch, height, width, channels]); the map itself for Grad-CAM
    /// ([batch, h, w]) and rank-3 inputs; [1, features] for a row of features or tokens.
    /// </summary>
    public Tensor Heatmap(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var s = Map.Shape;
        int row = s.Size / s[0];
        var values = Map.Span.Slice(index * row, row);
        if (s.Rank == 2)
            return Tensor.Wrap(values.ToArray(), new Shape([1, s[1]]));
        if (s.Rank == 3)
            return Tensor.Wrap(values.ToArray(), new Shape([s[1], s[2]]));
        int h = s[1], w = s[2];
        return Tensor.Wrap(values.ToArray(), new Shape([h, w, row / (h * w)])).Sum(2);
    }

    /// <summary>
    /// Sample <paramref name="index"/>'s <see cref="Heatmap(int)"/> resized bilinearly to
    /// [<paramref name="height"/>, <paramref name="width"/>] (a Grad-CAM map to its input's size, for an overlay).
    /// </summary>
    public Tensor Heatmap(int index, int height, int width)
    {
        var map = Heatmap(index);
        return map.Shape[0] == height && map.Shape[1] == width ? map : Views.Resize(map, height, width);
    }
}

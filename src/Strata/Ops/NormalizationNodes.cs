using Strata.Autograd;
using Strata.Kernels;

namespace Strata.Ops;

/// <summary>Batch normalization as one node; see <see cref="Tensor.BatchNorm"/>.</summary>
internal sealed class BatchNormNode : OpNode
{
    private readonly Tensor _movingMean, _movingVariance;
    private readonly float _momentum, _epsilon;
    private readonly bool _training;
    private readonly int _gamma, _beta, _channels;

    public BatchNormNode(Tensor x, Tensor? gamma, Tensor? beta, Tensor movingMean, Tensor movingVariance, float momentum, float epsilon, bool training)
        : base(training ? "batch_norm" : "batch_norm_inference", InputList(x, gamma, beta), x.Shape)
    {
        if (x.Rank < 1 || x.Shape[-1] == 0)
            throw new ArgumentException($"batch_norm: expected an input [..., channels] with channels > 0, got {x.Shape}");
        int c = x.Shape[-1];
        foreach (var (t, what) in new[] { (gamma, "gamma"), (beta, "beta"), (movingMean, "moving mean"), (movingVariance, "moving variance") })
        {
            if (t is not null && t.Shape != new Shape([c]))
                throw new ArgumentException($"batch_norm: {what} has shape {t.Shape}, expected [{c}] for input {x.Shape}");
        }
        _movingMean = movingMean;
        _movingVariance = movingVariance;
        _momentum = momentum;
        _epsilon = epsilon;
        _training = training;
        _channels = c;
        _gamma = gamma is null ? -1 : 1;
        _beta = beta is null ? -1 : gamma is null ? 1 : 2;
    }

    private static Tensor[] InputList(Tensor x, Tensor? gamma, Tensor? beta) =>
        gamma is null ? beta is null ? [x] : [x, beta] : beta is null ? [x, gamma] : [x, gamma, beta];

    public override string Attributes => $"{_momentum};{_epsilon};{_gamma};{_beta};{_movingMean.Name}";

    public override object? State => _movingMean;

    // x and gamma; the statistics are the node's own (scratch), beta and the output are not read.
    public override bool BackwardReadsInput(int i, bool[] wants) => i != _beta;

    public override bool BackwardReadsOutput(bool[] wants) => false;

    private int Rows => Inputs[0].Size / _channels;

    public override void Forward()
    {
        int c = _channels, rows = Rows;
        var stats = Scratch(0, 2 * c); // μ, 1/σ̂ as used, kept for backward
        var mean = stats[..c];
        var invStd = stats[c..];
        var x = Inputs[0].Span;
        if (_training && rows == 0)
        {
            mean.Clear(); // nothing to normalize; the moving statistics stay as they are
            invStd.Fill(1f);
        }
        else if (_training)
        {
            NormalizationKernels.MeanVariance(x, rows, c, mean, invStd);
            var mm = _movingMean.Data;
            var mv = _movingVariance.Data;
            for (int i = 0; i < c; i++)
            {
                mm[i] = _momentum * mm[i] + (1 - _momentum) * mean[i];
                mv[i] = _momentum * mv[i] + (1 - _momentum) * invStd[i];
            }
        }
        else
        {
            _movingMean.Span.CopyTo(mean);
            _movingVariance.Span.CopyTo(invStd);
        }
        for (int i = 0; i < c; i++)
            invStd[i] = 1f / MathF.Sqrt(invStd[i] + _epsilon);

        var coef = Scratch(1, 2 * c);
        var scale = coef[..c];
        var shift = coef[c..];
        for (int i = 0; i < c; i++)
        {
            scale[i] = invStd[i] * (_gamma < 0 ? 1f : Inputs[_gamma].Span[i]);
            shift[i] = (_beta < 0 ? 0f : Inputs[_beta].Span[i]) - mean[i] * scale[i];
        }
        NormalizationKernels.ScaleShift(x, scale, shift, Output.Data, rows, c);
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        int c = _channels, rows = Rows;
        var stats = Scratch(0, 2 * c);
        var mean = stats[..c];
        var invStd = stats[c..];
        var x = Inputs[0].Span;
        var tmp = Scratch(1, 5 * c);
        var sumDy = tmp[..c];
        var sumDyCentered = tmp[c..(2 * c)];
        var a = tmp[(2 * c)..(3 * c)];
        var b = tmp[(3 * c)..(4 * c)];
        var k = tmp[(4 * c)..];
        NormalizationKernels.GradientSums(gy, x, mean, rows, c, sumDy, sumDyCentered);

        var dx = BeginWrite(grads, 0, 2, out var target, out bool add);
        if (!dx.IsEmpty)
        {
            float invRows = rows == 0 ? 0 : 1f / rows;
            for (int i = 0; i < c; i++)
            {
                float g = _gamma < 0 ? 1f : Inputs[_gamma].Span[i];
                a[i] = g * invStd[i];
                if (_training)
                {
                    // ∂x = a·g − a·Σg/M − a·σ̂⁻²·(x − μ)·Σg(x − μ)/M, as ∂x = a·g + b·x + k.
                    b[i] = -a[i] * invStd[i] * invStd[i] * sumDyCentered[i] * invRows;
                    k[i] = -a[i] * sumDy[i] * invRows - b[i] * mean[i];
                }
                else
                {
                    b[i] = 0;
                    k[i] = 0;
                }
            }
            NormalizationKernels.Combine(gy, a, x, b, k, dx, rows, c);
            EndWrite(dx, target, add);
        }
        if (_gamma >= 0)
        {
            for (int i = 0; i < c; i++)
                b[i] = sumDyCentered[i] * invStd[i]; // Σ g·x̂
            Put(grads, _gamma, b);
        }
        if (_beta >= 0)
            Put(grads, _beta, sumDy);
    }
}

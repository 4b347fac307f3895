using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Layers;

/// <summary>
/// A layer that can also run inside a <see cref="Models.StepPlan"/>: forward and backward on flat,
/// preallocated row-major buffers [batch, features], without building an autograd graph. The
/// results are the same math as <see cref="Layer.Forward"/> and its recorded backward.
/// </summary>
internal interface IPlannedLayer
{
    /// <summary>Whether this instance has a planned form (some configurations, such as weight penalties, do not).</summary>
    bool CanPlan { get; }

    /// <summary>Whether the layer only reinterprets its input's shape, so its output shares the input's buffer.</summary>
    bool IsIdentity(bool training);

    /// <summary>Floats of per-step state the layer keeps between forward and backward (a dropout mask), per sample.</summary>
    int ScratchPerSample { get; }

    /// <summary>y = layer(x) for a batch of <paramref name="batch"/> rows.</summary>
    void PlanForward(ReadOnlySpan<float> x, Span<float> y, int batch, bool training, Span<float> scratch);

    /// <summary>
    /// Given dL/dy in <paramref name="dy"/> (which it may overwrite), sets its trainable weights'
    /// <see cref="Tensor.Grad"/> to their gradients (overwriting: a plan's step is the only contribution)
    /// and writes dL/dx into <paramref name="dx"/> unless that is empty.
    /// </summary>
    void PlanBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy, Span<float> dx, int batch, ReadOnlySpan<float> scratch);
}

/// <summary>
/// A layer that only reinterprets its input's shape (Flatten, Reshape, Input): in a plan its output
/// is its input's buffer, so its forward and backward never run (their copies are the fallback).
/// </summary>
internal interface IShapeOnlyLayer : IPlannedLayer
{
    bool IPlannedLayer.CanPlan => true;

    bool IPlannedLayer.IsIdentity(bool training) => true;

    int IPlannedLayer.ScratchPerSample => 0;

    void IPlannedLayer.PlanForward(ReadOnlySpan<float> x, Span<float> y, int batch, bool training, Span<float> scratch) =>
        x[..y.Length].CopyTo(y);

    void IPlannedLayer.PlanBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy, Span<float> dx, int batch, ReadOnlySpan<float> scratch) =>
        dy[..dx.Length].CopyTo(dx);
}

/// <summary>
/// A pooling layer (max or average over the windows of one geometry; the 1-D, 2-D and global ones):
/// its planned form is the pooling kernels.
/// </summary>
internal interface IPoolingLayer : IPlannedLayer
{
    /// <summary>Max (true) or average (false) pooling.</summary>
    bool PoolsMax { get; }

    /// <summary>The windows over one sample (set at build).</summary>
    Conv2DGeometry PoolGeometry { get; }

    bool IPlannedLayer.CanPlan => true;

    bool IPlannedLayer.IsIdentity(bool training) => false;

    int IPlannedLayer.ScratchPerSample => 0;

    void IPlannedLayer.PlanForward(ReadOnlySpan<float> x, Span<float> y, int batch, bool training, Span<float> scratch) =>
        PoolKernels.Forward(PoolsMax, x, y, PoolGeometry, 0, batch);

    void IPlannedLayer.PlanBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy, Span<float> dx, int batch, ReadOnlySpan<float> scratch)
    {
        if (!dx.IsEmpty)
            PoolKernels.Backward(PoolsMax, x, y, dy, dx, PoolGeometry, 0, batch);
    }
}

/// <summary>Activations in planned form: applied in place on [rows, width] buffers, differentiated from their output.</summary>
internal static class PlannedActivation
{
    /// <summary>Whether <paramref name="f"/> has a planned form (its derivative follows from its output).</summary>
    public static bool Supports(ActivationFunction f) => f.Name switch
    {
        "linear" or "relu" or "sigmoid" or "tanh" or "softmax" => true,
        "leaky_relu" => f.Alpha >= 0,
        _ => false,
    };

    public static void Forward(ActivationFunction f, Span<float> z, int rows, int width)
    {
        switch (f.Name)
        {
            case "linear":
                break;
            case "relu":
                TensorPrimitives.Max(z, 0f, z);
                break;
            case "leaky_relu":
                ActivationKernels.LeakyRelu(z, f.Alpha, z);
                break;
            case "sigmoid":
                TensorPrimitives.Sigmoid(z, z);
                break;
            case "tanh":
                TensorPrimitives.Tanh(z, z);
                break;
            case "softmax":
                Tensor.SoftmaxRows(z, z, rows, width);
                break;
            default:
                throw new InvalidOperationException($"Activation '{f.Name}' has no planned form");
        }
    }

    /// <summary>dy ← dy ⊙ f′, from the output y (in place).</summary>
    public static void Backward(ActivationFunction f, ReadOnlySpan<float> y, Span<float> dy, int rows, int width)
    {
        switch (f.Name)
        {
            case "linear":
                break;
            case "relu":
                ActivationKernels.ReluBackward(y, dy, dy); // y > 0 exactly where the input was > 0
                break;
            case "leaky_relu":
                ActivationKernels.LeakyReluBackward(y, dy, f.Alpha, dy); // alpha ≥ 0 keeps the sign of the input
                break;
            case "sigmoid":
                ActivationKernels.SigmoidBackward(y, dy, dy);
                break;
            case "tanh":
                ActivationKernels.TanhBackward(y, dy, dy);
                break;
            case "softmax":
                for (int r = 0; r < rows; r++)
                {
                    var yr = y.Slice(r * width, width);
                    var gr = dy.Slice(r * width, width);
                    float dot = TensorPrimitives.Dot(yr, gr);
                    TensorPrimitives.Subtract(gr, dot, gr);
                    TensorPrimitives.Multiply(gr, yr, gr);
                }
                break;
            default:
                throw new InvalidOperationException($"Activation '{f.Name}' has no planned form");
        }
    }
}

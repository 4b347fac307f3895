using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Kernels;
using Strata.Layers;

namespace Strata.Ops;

/// <summary>
/// Convolution (NHWC, kernel [KH, KW, C, F]) with an optional bias and a fused activation, on the
/// <see cref="ConvolutionEngine"/>: forward im2col + GEMM (or direct) with bias and activation applied to
/// each chunk of rows; backward from the output (the activation's derivative applied to dy first).
/// </summary>
internal sealed class Conv2DNode : OpNode
{
    private readonly Conv2DGeometry _g;
    private readonly ActivationFunction _activation;
    private readonly int _f;
    private ConvolutionEngine.RowsEpilogue? _epilogue;
    private ConvolutionEngine.RowsPrologue? _prologue;

    public Conv2DNode(Tensor x, Tensor kernel, Tensor? bias, Conv2DGeometry g, ActivationFunction activation)
        : base(activation.IsLinear ? "conv2d" : $"conv2d+{activation.Name}", bias is null ? [x, kernel] : [x, kernel, bias],
            new Shape(x.Shape[0], g.OH, g.OW, kernel.Shape[kernel.Rank - 1]))
    {
        if (!activation.FusesFromOutput)
            throw new ArgumentException($"conv2d: the activation '{activation.Name}' cannot be fused (its derivative needs the input)");
        _g = g;
        _f = kernel.Shape[kernel.Rank - 1];
        _activation = activation;
        if (!activation.IsLinear)
        {
            _epilogue = (y, rows) => activation.ForwardInPlace(y, rows, _f);
            _prologue = (y, dy, rows) => activation.BackwardFromOutput(y, dy, rows, _f);
        }
    }

    public override string Attributes => $"{_g};{_activation}";

    // dx needs the kernel, the kernel gradient needs x, db neither; the activation's derivative comes from the output.
    public override bool BackwardReadsInput(int i, bool[] wants) => i < 2 && wants[1 - i];

    public override bool BackwardReadsOutput(bool[] wants) => !_activation.IsLinear;

    private ReadOnlySpan<float> BiasSpan => Inputs.Length > 2 ? Inputs[2].Span : [];

    public override void Forward() =>
        Tensor.ConvEngine.Forward(Inputs[0].Span, Inputs[1].Span, BiasSpan, Output.Data, Inputs[0].Shape[0], _g, _f, _epilogue);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        var dx = BeginWrite(grads, 0, 0, out var tx, out bool ax);
        var dk = BeginWrite(grads, 1, 1, out var tk, out bool ak);
        Span<float> db = [], tb = [];
        bool ab = false;
        if (Inputs.Length > 2)
            db = BeginWrite(grads, 2, 2, out tb, out ab);
        Tensor.ConvEngine.Backward(Inputs[0].Span, Inputs[1].Span, Output.Span, gy, dk, db, dx, Inputs[0].Shape[0], _g, _f, _prologue);
        EndWrite(dx, tx, ax);
        EndWrite(dk, tk, ak);
        EndWrite(db, tb, ab);
    }
}

/// <summary>
/// Transposed convolution: the input gradient of the convolution of geometry g, run forward (x plays
/// dy); its gradients are that convolution's forward (for x) and kernel gradient (for the kernel).
/// </summary>
internal sealed class Conv2DTransposeNode(Tensor x, Tensor kernel, Conv2DGeometry g, Shape outShape)
    : OpNode("conv2d_transpose", [x, kernel], outShape)
{
    public override string Attributes => g.ToString();

    // The kernel gradient needs x; the kernel is read either way.
    public override bool BackwardReadsInput(int i, bool[] wants) => i == 1 || wants[1];

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward() =>
        Tensor.ConvEngine.Backward([], Inputs[1].Span, [], Inputs[0].Data, [], [], Output.Data, Inputs[0].Shape[0], g, Inputs[0].Shape[3], null);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        Tensor x = Inputs[0], kernel = Inputs[1];
        int n = x.Shape[0], c = x.Shape[3];
        if (grads.Wants(this, 0))
        {
            var dx = Scratch(0, x.Size);
            Tensor.ConvEngine.Forward(gy, kernel.Span, [], dx, n, g, c, null);
            Put(grads, 0, dx);
        }
        if (grads.Wants(this, 1))
        {
            var dk = Scratch(1, kernel.Size);
            Tensor.ConvEngine.Backward(gy, kernel.Span, [], x.Data, dk, [], [], n, g, c, null);
            Put(grads, 1, dk);
        }
    }
}

/// <summary>Depthwise convolution (kernel [KH, KW, C, M]) on <see cref="DepthwiseKernels"/>.</summary>
internal sealed class DepthwiseNode(Tensor x, Tensor kernel, Conv2DGeometry g, int m, Shape outShape)
    : OpNode("depthwise_conv2d", [x, kernel], outShape)
{
    public override string Attributes => g.ToString();

    public override bool BackwardReadsOutput(bool[] wants) => false;

    public override void Forward() => DepthwiseKernels.Forward(Inputs[0].Span, Inputs[1].Span, Output.Data, Inputs[0].Shape[0], g, m);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        var dx = BeginWrite(grads, 0, 0, out var tx, out bool ax);
        var dk = BeginWrite(grads, 1, 1, out var tk, out bool ak);
        DepthwiseKernels.Backward(Inputs[0].Span, Inputs[1].Span, gy, dk, dx, Inputs[0].Shape[0], g, m);
        EndWrite(dx, tx, ax);
        EndWrite(dk, tk, ak);
    }
}

/// <summary>Max or average pooling over NHWC windows (the 1-D, 2-D and global pooling layers); max's gradient goes to the first maximum.</summary>
internal sealed class PoolNode(Tensor x, Conv2DGeometry g, bool max)
    : OpNode(max ? "max_pool2d" : "avg_pool2d", [x], new Shape(x.Shape[0], g.OH, g.OW, g.C))
{
    public override string Attributes => g.ToString();

    // Max finds each window's winner again (the input equal to the output); average reads neither.
    public override bool BackwardReadsInput(int i, bool[] wants) => max;

    public override bool BackwardReadsOutput(bool[] wants) => max;

    public override void Forward() => PoolKernels.Forward(max, Inputs[0].Span, Output.Data, g, 0, Inputs[0].Shape[0]);

    public override void Backward(Span<float> gy, GradSink grads)
    {
        if (!grads.Wants(this, 0))
            return;
        var target = grads.Target(this, 0, out bool add);
        if (!add)
        {
            PoolKernels.Backward(max, Inputs[0].Span, Output.Span, gy, target, g, 0, Inputs[0].Shape[0]);
            return;
        }
        var dx = Scratch(0, Inputs[0].Size);
        PoolKernels.Backward(max, Inputs[0].Span, Output.Span, gy, dx, g, 0, Inputs[0].Shape[0]);
        TensorPrimitives.Add(target, dx, target);
    }
}

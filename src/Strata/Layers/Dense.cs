using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Layers;

/// <summary>The configuration of a <see cref="Dense"/> layer.</summary>
public sealed record DenseConfig(string Name, int Units, ActivationFunction Activation, bool UseBias, string KernelInitializer,
    string BiasInitializer, Regularizer? KernelRegularizer, Regularizer? BiasRegularizer) : LayerConfig(Name);

/// <summary>
/// A fully connected layer: y = activation(x·W + b), W: [in, units], b: [units]. Applies to the last
/// axis, so [batch, ..., in] → [batch, ..., units].
/// </summary>
public sealed class Dense : Layer, IPlannedLayer
{
    private Weight? _kernel, _bias;

    /// <param name="units">Output size (≥ 1).</param>
    /// <param name="activation">The activation (default linear).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Default Glorot uniform.</param>
    /// <param name="biasInitializer">Default zeros.</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="name">Layer name.</param>
    public Dense(int units, ActivationFunction? activation = null, bool useBias = true, IInitializer? kernelInitializer = null,
        IInitializer? biasInitializer = null, Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        string? name = null) : base(name)
    {
        if (units < 1)
            throw new ArgumentOutOfRangeException(nameof(units), $"Dense: units must be at least 1, got {units}");
        Units = units;
        Activation = activation ?? ActivationFunction.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? Initializers.GlorotUniform;
        BiasInitializer = biasInitializer ?? Initializers.Zeros;
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
    }

    public int Units { get; }
    public ActivationFunction Activation { get; }
    public bool UseBias { get; }
    public IInitializer KernelInitializer { get; }
    public IInitializer BiasInitializer { get; }
    public Regularizer? KernelRegularizer { get; }
    public Regularizer? BiasRegularizer { get; }

    /// <summary>W [in, units] (after build).</summary>
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"Dense '{Name}' is not built yet");

    /// <summary>b [units], or null without bias.</summary>
    public Weight? Bias => _bias;

    public override Shape ComputeOutputShape(Shape inputShape) => new([.. inputShape.Dims[..^1], Units]);

    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank < 1 || inputShape[-1] < 1)
            throw new ArgumentException($"Dense '{Name}': expected input with a non-empty last axis, got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    protected override void OnBuild(Shape inputShape)
    {
        _kernel = AddWeight("kernel", [inputShape[-1], Units], KernelInitializer, KernelRegularizer);
        if (UseBias)
            _bias = AddWeight("bias", [Units], BiasInitializer, BiasRegularizer);
    }

    protected override Tensor Call(Tensor x, bool training)
    {
        var y = Tensor.MatMul(x, _kernel!.Value);
        if (_bias is not null)
            y = y + _bias.Value;
        return Activation.Apply(y);
    }

    bool IPlannedLayer.CanPlan => PlannedActivation.Supports(Activation);

    bool IPlannedLayer.IsIdentity(bool training) => false;

    int IPlannedLayer.ScratchPerSample => 0;

    void IPlannedLayer.PlanForward(ReadOnlySpan<float> x, Span<float> y, int batch, bool training, Span<float> scratch)
    {
        int k = InputShape[-1], n = Units, rows = batch * (InputShape.Size / k);
        Gemm.Sgemm(false, false, rows, n, k, 1f, x, k, _kernel!.Value.Span, n, 0f, y, n);
        if (_bias is not null)
        {
            var b = _bias.Value.Span;
            for (int r = 0; r < rows; r++)
                TensorPrimitives.Add(y.Slice(r * n, n), b, y.Slice(r * n, n));
        }
        PlannedActivation.Forward(Activation, y[..(rows * n)], rows, n);
    }

    void IPlannedLayer.PlanBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy, Span<float> dx, int batch, ReadOnlySpan<float> scratch)
    {
        // Writes (not adds) the weights' gradients: the plan's step is their only contribution.
        int k = InputShape[-1], n = Units, rows = batch * (InputShape.Size / k);
        PlannedActivation.Backward(Activation, y, dy, rows, n);
        var kernel = _kernel!;
        if (kernel.Trainable)
        {
            // dW = xᵀ·dz, straight into the gradient buffer (a plan's step is the only contribution).
            Gemm.Sgemm(true, false, k, n, rows, 1f, x, k, dy, n, 0f, kernel.Value.EnsureGrad(), n);
            KernelRegularizer?.AddGradient(kernel.Value.Span, kernel.Value.Grad!.Data);
        }
        if (_bias is { Trainable: true } bias)
        {
            var db = bias.Value.EnsureGrad();
            dy[..n].CopyTo(db);
            for (int r = 1; r < rows; r++)
                TensorPrimitives.Add(db, dy.Slice(r * n, n), db);
            BiasRegularizer?.AddGradient(bias.Value.Span, db);
        }
        if (!dx.IsEmpty) // dx = dz·Wᵀ
            Gemm.Sgemm(false, true, rows, k, n, 1f, dy, n, kernel.Value.Span, n, 0f, dx, k);
    }

    public override LayerConfig GetConfig() => new DenseConfig(Name, Units, Activation, UseBias, KernelInitializer.Name,
        BiasInitializer.Name, KernelRegularizer, BiasRegularizer);
}

using Strata.Autograd;
using Strata.Kernels;
using Strata.Layers;
using Strata.Ops;

namespace Strata;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product op(a)·op(b) over the last two axes: [..., m, k] · [..., k, n] → [..., m, n], with
    /// the batch axes broadcast. A transposed operand is handed to the GEMM kernel as such (no copy).
    /// ∂/∂a = g·op(b)ᵀ, ∂/∂b = op(a)ᵀ·g (each transposed back when the operand was).
    /// </summary>
    /// <exception cref="ArgumentException">A rank below 2, inner sizes that differ, or batch axes that do not broadcast.</exception>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"matmul: both operands need rank ≥ 2, got {a.Shape} and {b.Shape}");
        int m = a.Shape[transposeA ? -1 : -2], ka = a.Shape[transposeA ? -2 : -1];
        int kb = b.Shape[transposeB ? -1 : -2], n = b.Shape[transposeB ? -2 : -1];
        if (ka != kb)
            throw new ArgumentException($"matmul: inner sizes differ: {a.Shape}{(transposeA ? "ᵀ" : "")} · {b.Shape}{(transposeB ? "ᵀ" : "")} ({ka} vs {kb})");
        int k = ka;
        var aBatch = new Shape(a.Shape.Dims[..^2]);
        var bBatch = new Shape(b.Shape.Dims[..^2]);
        var batch = Shape.Broadcast(aBatch, bBatch, "matmul");
        return Run(new MatMulNode(a, b, transposeA, transposeB, m, n, k, batch, aBatch, bBatch));
    }

    /// <summary>
    /// The fused dense op: activation(x·W + b) over the last axis of x, W [k, n], b [n] (optional),
    /// the bias and an elementwise activation applied by the GEMM to each block of the output as it is finished
    /// (<see cref="Kernels.GemmEpilogue"/>); softmax runs after the GEMM, over whole rows.
    /// ∂/∂z = g ⊙ f′(y) from the output; then ∂/∂W = xᵀ·∂z, ∂/∂b = Σ ∂z rows, ∂/∂x = ∂z·Wᵀ.
    /// </summary>
    internal static Tensor Linear(Tensor x, Tensor w, Tensor? b, ActivationFunction activation) =>
        Run(new LinearNode(x, w, b, activation));
}

using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Kernels;
using Strata.Layers;

namespace Strata.Ops;

/// <summary>
/// op(a)·op(b) over the last two axes with broadcast batch axes, on the GEMM kernel (transposes are
/// flags, never copies). ∂/∂a = g·op(b)ᵀ, ∂/∂b = op(a)ᵀ·g, each transposed back when its operand was.
/// </summary>
internal sealed class MatMulNode(Tensor a, Tensor b, bool ta, bool tb, int m, int n, int k, Shape batch, Shape aBatch, Shape bBatch)
    : OpNode("matmul", [a, b], new Shape([.. batch.Dims, m, n]))
{
    public override string Attributes => $"{ta},{tb}";

    // ∂a needs b and ∂b needs a.
    public override bool BackwardReadsInput(int i, bool[] wants) => wants[1 - i];

    public override bool BackwardReadsOutput(bool[] wants) => false;

    /// <summary>[..., m, k] · [k, n]: one GEMM with the batch folded into the rows.</summary>
    private bool Folded => Inputs[1].Rank == 2 && !ta;

    public override void Forward()
    {
        Tensor a = Inputs[0], b = Inputs[1];
        var r = Output.Data;
        if (Folded)
        {
            Gemm.Sgemm(false, tb, aBatch.Size * m, n, k, 1f, a.Span, k, b.Span, tb ? k : n, 0f, r, n);
            return;
        }
        for (int bi = 0; bi < batch.Size; bi++)
        {
            var (ai, bj) = Operands(bi);
            Gemm.Sgemm(ta, tb, m, n, k, 1f, a.Span.Slice(ai * m * k, m * k), ta ? m : k,
                b.Span.Slice(bj * k * n, k * n), tb ? k : n, 0f, r.Slice(bi * m * n, m * n), n);
        }
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        Tensor a = Inputs[0], b = Inputs[1];
        if (Folded)
        {
            int rows = aBatch.Size * m;
            var da = BeginWrite(grads, 0, 0, out var ta0, out bool aa);
            if (!da.IsEmpty) // dA[rows×k] = g[rows×n] · op(B)ᵀ
                Gemm.Sgemm(false, !tb, rows, k, n, 1f, gy, n, b.Span, tb ? k : n, 0f, da, k);
            EndWrite(da, ta0, aa);
            var db = BeginWrite(grads, 1, 1, out var tb1, out bool ab);
            if (!db.IsEmpty)
            {
                if (!tb) // dB[k×n] = Aᵀ · g
                    Gemm.Sgemm(true, false, k, n, rows, 1f, a.Span, k, gy, n, 0f, db, n);
                else // B is n×k: dB = gᵀ · A
                    Gemm.Sgemm(true, false, n, k, rows, 1f, gy, n, a.Span, k, 0f, db, k);
            }
            EndWrite(db, tb1, ab);
            return;
        }
        // General batched case: per-batch gradients at the broadcast batch shape, then summed down.
        var s = OutputShape;
        if (grads.Wants(this, 0))
        {
            var full = Scratch(0, batch.Size * m * k);
            for (int bi = 0; bi < batch.Size; bi++)
            {
                var (_, bj) = Operands(bi);
                var gs = gy.Slice(bi * m * n, m * n);
                var bS = b.Span.Slice(bj * k * n, k * n);
                var d = full.Slice(bi * m * k, m * k);
                if (!ta) // dA (m×k) = g · op(B)ᵀ
                    Gemm.Sgemm(false, !tb, m, k, n, 1f, gs, n, bS, tb ? k : n, 0f, d, k);
                else // A stored k×m: dA = op(B) · gᵀ
                    Gemm.Sgemm(tb, true, k, m, n, 1f, bS, tb ? k : n, gs, n, 0f, d, m);
            }
            PutReduced(grads, 0, full, new Shape([.. batch.Dims, .. a.Shape.Dims[^2..]]));
        }
        if (grads.Wants(this, 1))
        {
            var full = Scratch(1, batch.Size * k * n);
            for (int bi = 0; bi < batch.Size; bi++)
            {
                var (ai, _) = Operands(bi);
                var gs = gy.Slice(bi * m * n, m * n);
                var aS = a.Span.Slice(ai * m * k, m * k);
                var d = full.Slice(bi * k * n, k * n);
                if (!tb) // dB (k×n) = op(A)ᵀ · g
                    Gemm.Sgemm(!ta, false, k, n, m, 1f, aS, ta ? m : k, gs, n, 0f, d, n);
                else // B stored n×k: dB = gᵀ · op(A)
                    Gemm.Sgemm(true, ta, n, k, m, 1f, gs, n, aS, ta ? m : k, 0f, d, k);
            }
            PutReduced(grads, 1, full, new Shape([.. batch.Dims, .. b.Shape.Dims[^2..]]));
        }
    }

    /// <summary>The flattened batch index of each operand for output batch index bi (broadcast axes repeat).</summary>
    private (int A, int B) Operands(int bi)
    {
        int rank = batch.Rank, rem = bi, ai = 0, bj = 0, strideA = 1, strideB = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int idx = rem % batch.Dims[i];
            rem /= batch.Dims[i];
            int ia = i - (rank - aBatch.Rank), ib = i - (rank - bBatch.Rank);
            if (ia >= 0)
            {
                int da = aBatch.Dims[ia];
                ai += (da == 1 ? 0 : idx) * strideA;
                strideA *= da;
            }
            if (ib >= 0)
            {
                int db = bBatch.Dims[ib];
                bj += (db == 1 ? 0 : idx) * strideB;
                strideB *= db;
            }
        }
        return (ai, bj);
    }
}

/// <summary>The fused dense op activation(x·W + b) (see <see cref="Tensor.Linear"/>).</summary>
internal sealed class LinearNode : OpNode
{
    private readonly ActivationFunction _activation;
    private readonly int _k, _n;

    public LinearNode(Tensor x, Tensor w, Tensor? b, ActivationFunction activation)
        : base(activation.IsLinear ? "dense" : $"dense+{activation.Name}", b is null ? [x, w] : [x, w, b],
            new Shape([.. x.Shape.Dims[..^1], w.Shape[1]]))
    {
        if (w.Rank != 2 || x.Rank < 1 || x.Shape[-1] != w.Shape[0])
            throw new ArgumentException($"dense: input {x.Shape} does not fit the kernel {w.Shape} (last axis must be {(w.Rank == 2 ? w.Shape[0] : -1)})");
        if (b is not null && (b.Rank != 1 || b.Shape[0] != w.Shape[1]))
            throw new ArgumentException($"dense: bias {b.Shape} does not fit the kernel {w.Shape} (expected [{w.Shape[1]}])");
        if (!activation.FusesFromOutput)
            throw new ArgumentException($"dense: the activation '{activation.Name}' cannot be fused (its derivative needs the input)");
        _activation = activation;
        _k = w.Shape[0];
        _n = w.Shape[1];
    }

    public override string Attributes => _activation.ToString();

    // dx needs W, dW needs x, db neither; the activation's derivative comes from the output.
    public override bool BackwardReadsInput(int i, bool[] wants) => i < 2 && wants[1 - i];

    public override bool BackwardReadsOutput(bool[] wants) => !_activation.IsLinear;

    private int Rows => _n == 0 ? 0 : Output.Size / _n;

    public override void Forward()
    {
        int rows = Rows, n = _n;
        var y = Output.Data;
        bool bias = Inputs.Length > 2;
        if (_activation.IsElementwise)
        {
            // Bias and activation on each block of y as the GEMM finishes it, while it is in cache.
            var epilogue = bias || !_activation.IsLinear ? _epilogue ??= new Epilogue(this) : null;
            if (epilogue is not null)
                Interlocked.Increment(ref s_fusedCalls);
            Gemm.Sgemm(false, false, rows, n, _k, 1f, Inputs[0].Span, _k, Inputs[1].Span, n, 0f, y, n, epilogue: epilogue);
            return;
        }
        Gemm.Sgemm(false, false, rows, n, _k, 1f, Inputs[0].Span, _k, Inputs[1].Span, n, 0f, y, n);
        if (bias)
            AddBias(y, n, rows, 0, n);
        _activation.ForwardInPlace(y, rows, n); // softmax: whole rows
    }

    private Epilogue? _epilogue;
    private static long s_fusedCalls;

    /// <summary>How many forwards have run their bias and activation inside the GEMM (tests check the path).</summary>
    internal static long FusedCalls => Interlocked.Read(ref s_fusedCalls);

    // y[r, col0 + j] += b[col0 + j] over a block of y.
    private void AddBias(Span<float> y, int ldy, int rows, int col0, int cols)
    {
        var b = Inputs[2].Span.Slice(col0, cols);
        for (int r = 0; r < rows; r++)
            TensorPrimitives.Add(y.Slice(r * ldy, cols), b, y.Slice(r * ldy, cols));
    }

    private sealed class Epilogue(LinearNode node) : GemmEpilogue
    {
        public override void Apply(Span<float> block, int ldc, int row0, int rows, int col0, int cols)
        {
            if (node.Inputs.Length > 2)
                node.AddBias(block, ldc, rows, col0, cols);
            if (node._activation.IsLinear)
                return;
            if (cols == ldc)
            {
                node._activation.ForwardInPlace(block[..(rows * cols)], rows, cols); // whole rows: one call
                return;
            }
            for (int r = 0; r < rows; r++)
                node._activation.ForwardInPlace(block.Slice(r * ldc, cols), 1, cols);
        }
    }

    public override void Backward(Span<float> gy, GradSink grads)
    {
        int rows = Rows, n = _n, k = _k;
        _activation.BackwardFromOutput(Output.Span, gy, rows, n); // gy ← ∂z, in place
        var dx = BeginWrite(grads, 0, 0, out var tx, out bool ax);
        if (!dx.IsEmpty) // dx = dz·Wᵀ
            Gemm.Sgemm(false, true, rows, k, n, 1f, gy, n, Inputs[1].Span, n, 0f, dx, k);
        EndWrite(dx, tx, ax);
        if (grads.Wants(this, 1))
        {
            // dW = xᵀ·dz, straight into the gradient (beta = 1 adds to an earlier contribution).
            var dw = grads.Target(this, 1, out bool add);
            Gemm.Sgemm(true, false, k, n, rows, 1f, Inputs[0].Span, k, gy, n, add ? 1f : 0f, dw, n);
        }
        if (Inputs.Length > 2 && grads.Wants(this, 2))
        {
            var db = grads.Target(this, 2, out bool add);
            Summation.ColumnSums(gy[..(rows * n)], rows, n, db, add); // db = Σ over rows of dz, pairwise
        }
    }
}

using Strata.Kernels;

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
        var r = Empty(new Shape([.. batch.Dims, m, n]));

        if (b.Rank == 2 && !transposeA)
        {
            // [..., m, k] · [k, n]: one GEMM with the batch folded into the rows.
            Gemm.Sgemm(false, transposeB, aBatch.Size * m, n, k, 1f, a.Span, k, b.Span, transposeB ? k : n, 0f, r.Data, n);
        }
        else
        {
            ForEachBatch(batch, aBatch, bBatch, (bi, ai, bj) =>
                Gemm.Sgemm(transposeA, transposeB, m, n, k, 1f, a.Span.Slice(ai * m * k, m * k), transposeA ? m : k,
                    b.Span.Slice(bj * k * n, k * n), transposeB ? k : n, 0f, r.Data.Slice(bi * m * n, m * n), n));
        }

        if (NeedsGrad(a, b))
            r.Record("matmul", g => MatMulBackward(a, b, g, transposeA, transposeB, m, n, k, batch, aBatch, bBatch), a, b);
        return r;
    }

    private static void MatMulBackward(Tensor a, Tensor b, Tensor g, bool ta, bool tb, int m, int n, int k,
        Shape batch, Shape aBatch, Shape bBatch)
    {
        if (b.Rank == 2 && !ta && bBatch.Rank == 0)
        {
            int rows = aBatch.Size * m;
            if (a.RequiresGrad)
            {
                // dA[rows×k] = g[rows×n] · op(B)ᵀ
                var da = Empty(a.Shape);
                Gemm.Sgemm(false, !tb, rows, k, n, 1f, g.Span, n, b.Span, tb ? k : n, 0f, da.Data, k);
                a.Flow(da, true);
            }
            if (b.RequiresGrad)
            {
                var db = Empty(b.Shape);
                if (!tb) // dB[k×n] = Aᵀ · g
                    Gemm.Sgemm(true, false, k, n, rows, 1f, a.Span, k, g.Span, n, 0f, db.Data, n);
                else // B is n×k: dB = gᵀ · A
                    Gemm.Sgemm(true, false, n, k, rows, 1f, g.Span, n, a.Span, k, 0f, db.Data, k);
                b.Flow(db, true);
            }
            return;
        }

        // General batched case: per-batch gradients at the broadcast batch shape, then summed down.
        Tensor? daFull = a.RequiresGrad ? Zeros([.. batch.Dims, .. a.Shape.Dims[^2..]]) : null;
        Tensor? dbFull = b.RequiresGrad ? Zeros([.. batch.Dims, .. b.Shape.Dims[^2..]]) : null;
        ForEachBatch(batch, aBatch, bBatch, (bi, ai, bj) =>
        {
            var gs = g.Span.Slice(bi * m * n, m * n);
            var aS = a.Span.Slice(ai * m * k, m * k);
            var bS = b.Span.Slice(bj * k * n, k * n);
            if (daFull is not null)
            {
                var d = daFull.Data.Slice(bi * m * k, m * k);
                if (!ta) // dA (m×k) = g · op(B)ᵀ
                    Gemm.Sgemm(false, !tb, m, k, n, 1f, gs, n, bS, tb ? k : n, 0f, d, k);
                else // A stored k×m: dA = op(B) · gᵀ
                    Gemm.Sgemm(tb, true, k, m, n, 1f, bS, tb ? k : n, gs, n, 0f, d, m);
            }
            if (dbFull is not null)
            {
                var d = dbFull.Data.Slice(bi * k * n, k * n);
                if (!tb) // dB (k×n) = op(A)ᵀ · g
                    Gemm.Sgemm(!ta, false, k, n, m, 1f, aS, ta ? m : k, gs, n, 0f, d, n);
                else // B stored n×k: dB = gᵀ · op(A)
                    Gemm.Sgemm(true, ta, n, k, m, 1f, gs, n, aS, ta ? m : k, 0f, d, k);
            }
        });
        if (daFull is not null)
            a.Flow(daFull.SumTo(a.Shape), true);
        if (dbFull is not null)
            b.Flow(dbFull.SumTo(b.Shape), true);
    }

    private delegate void BatchBody(int outIndex, int aIndex, int bIndex);

    /// <summary>Visits each broadcast batch index with the matching (flattened) batch index of each operand.</summary>
    private static void ForEachBatch(Shape batch, Shape aBatch, Shape bBatch, BatchBody body)
    {
        int rank = batch.Rank;
        var idx = new int[rank];
        for (int bi = 0; bi < batch.Size; bi++)
        {
            int rem = bi;
            for (int i = rank - 1; i >= 0; i--)
            {
                idx[i] = rem % batch.Dims[i];
                rem /= batch.Dims[i];
            }
            body(bi, Flatten(idx, aBatch), Flatten(idx, bBatch));
        }
    }

    private static int Flatten(int[] outIdx, Shape s)
    {
        int offset = 0, lead = outIdx.Length - s.Rank;
        for (int i = 0; i < s.Rank; i++)
            offset = offset * s.Dims[i] + (s.Dims[i] == 1 ? 0 : outIdx[i + lead]);
        return offset;
    }
}

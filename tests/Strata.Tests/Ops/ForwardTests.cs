namespace Strata.Tests.Ops;

/// <summary>Op results against hand-computed values and the naive reference.</summary>
public sealed class ForwardTests
{
    private static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tol = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i]))))
                Assert.Fail($"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    public static TheoryData<int[], int[]> BroadcastPairs() => new()
    {
        { [3, 4], [3, 4] }, { [3, 4], [4] }, { [3, 4], [3, 1] }, { [2, 3, 4], [1] }, { [1], [2, 3] },
        { [2, 1, 4], [3, 1] }, { [5, 1, 3, 1], [4, 1, 2] }, { [1, 1], [1] }, { [2, 3, 1], [2, 1, 5] }, { [0, 3], [3] },
    };

    [Theory]
    [MemberData(nameof(BroadcastPairs))]
    public void Binary_ops_broadcast_like_numpy(int[] sa, int[] sb)
    {
        var a = TestData.Tensor(1, sa);
        var b = Tensor.RandomUniform(sb, 0.5f, 2f, 2);
        var outShape = Shape.Broadcast(a.Shape, b.Shape, "test").ToArray();
        Close(NaiveReference.Binary(a, b, outShape, (x, y) => x + y), (a + b).Span);
        Close(NaiveReference.Binary(a, b, outShape, (x, y) => x - y), (a - b).Span);
        Close(NaiveReference.Binary(b, a, outShape, (x, y) => x - y), (b - a).Span);
        Close(NaiveReference.Binary(a, b, outShape, (x, y) => x * y), (a * b).Span);
        Close(NaiveReference.Binary(a, b, outShape, (x, y) => x / y), (a / b).Span);
        Close(NaiveReference.Binary(b, a, outShape, MathF.Pow), Tensor.Pow(b, a).Span);
        Close(NaiveReference.Binary(a, b, outShape, MathF.Min), Tensor.Minimum(a, b).Span);
        Close(NaiveReference.Binary(a, b, outShape, MathF.Max), Tensor.Maximum(a, b).Span);
        Close(NaiveReference.Binary(a, b, outShape, (x, y) => x > y ? 1 : 0), Tensor.Greater(a, b).Span);
        Assert.Equal(outShape, (a + b).Shape.ToArray());
    }

    [Fact]
    public void Broadcast_error_names_the_op_and_both_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Contains("add", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4]", ex.Message);
    }

    [Fact]
    public void Unary_ops_match_math()
    {
        float[] v = [-2.5f, -1, -0.1f, 0, 0.3f, 1, 4];
        var x = Tensor.FromArray(v);
        Close(v.Select(MathF.Exp).ToArray(), x.Exp().Span);
        Close(v.Select(MathF.Abs).ToArray(), x.Abs().Span);
        Close(v.Select(t => -t).ToArray(), (-x).Span);
        Close(v.Select(t => Math.Clamp(t, -1f, 0.5f)).ToArray(), x.Clamp(-1, 0.5f).Span);
        Close(v.Select(t => MathF.Max(t, 0)).ToArray(), x.Relu().Span);
        Close(v.Select(t => t > 0 ? t : 0.1f * t).ToArray(), x.LeakyRelu(0.1f).Span);
        Close(v.Select(t => 1f / (1 + MathF.Exp(-t))).ToArray(), x.Sigmoid().Span);
        Close(v.Select(MathF.Tanh).ToArray(), x.Tanh().Span);
        var p = Tensor.FromArray([0.25f, 1, 9]);
        Close([MathF.Log(0.25f), 0, MathF.Log(9)], p.Log().Span);
        Close([0.5f, 1, 3], p.Sqrt().Span);
        Close([0.125f, 1, 27], p.Pow(1.5f).Span);
    }

    [Fact]
    public void Sigmoid_and_softmax_are_stable_for_huge_inputs()
    {
        var x = Tensor.FromArray([-1000f, 0, 1000f]);
        Close([0, 0.5f, 1], x.Sigmoid().Span);
        var sm = Tensor.FromArray([1000f, 1001f, 1002f]).Softmax();
        // Same as softmax([0, 1, 2]).
        double z = 1 + Math.E + Math.E * Math.E;
        Close([(float)(1 / z), (float)(Math.E / z), (float)(Math.E * Math.E / z)], sm.Span);
        var lsm = Tensor.FromArray([-1000f, 0f]).LogSoftmax();
        Close([-1000f, 0f], lsm.Span);
        Assert.All(lsm.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Softmax_rows_of_every_width_match_reference_and_keep_nan_to_its_row()
    {
        // Widths on both sides of the narrow rows' loops (up to 16), in place and not.
        for (int n = 1; n <= 40; n++)
        {
            int rows = 37;
            var v = TestData.Random(rows * n, (ulong)n, -30, 30);
            v[5 * n + n / 2] = float.NaN; // row 5
            if (n > 1)
                v[7 * n] = float.NegativeInfinity; // row 7: a class that can never be chosen
            var y = new float[v.Length];
            Tensor.SoftmaxRows(v, y, rows, n);
            var inPlace = (float[])v.Clone();
            Tensor.SoftmaxRows(inPlace, inPlace, rows, n);
            Assert.Equal(y, inPlace);
            for (int r = 0; r < rows; r++)
            {
                var row = v.AsSpan(r * n, n).ToArray();
                if (r == 5)
                {
                    Assert.All(y.AsSpan(r * n, n).ToArray(), p => Assert.True(float.IsNaN(p), $"width {n}: a NaN input makes its row NaN"));
                    continue;
                }
                double max = row.Max(), sum = row.Sum(t => Math.Exp(t - max));
                for (int j = 0; j < n; j++)
                {
                    double want = Math.Exp(row[j] - max) / sum;
                    double tol = want == 0 ? 0 : want * (2e-6 + Math.Abs(row[j] - max) * 1.2e-7) + 1e-37; // float rounding of the shift x − max, then of exp and the scale
                    Assert.True(Math.Abs(y[r * n + j] - want) <= tol, $"width {n}, row {r}, class {j}: {y[r * n + j]} against {want}");
                }
            }
        }
    }

    [Fact]
    public void A_softmax_row_gets_the_same_bits_alone_and_inside_a_batch()
    {
        foreach (bool log in new[] { false, true })
        {
            for (int n = 1; n <= 40; n++)
            {
                int rows = 37;
                var v = TestData.Random(rows * n, (ulong)(100 + n), -8, 8);
                var batch = new float[v.Length];
                Tensor.SoftmaxRows(v, batch, rows, n, log);
                foreach (int r in new[] { 0, 17, rows - 1 })
                {
                    var alone = new float[n];
                    Tensor.SoftmaxRows(v.AsSpan(r * n, n), alone, 1, n, log);
                    Assert.True(alone.AsSpan().SequenceEqual(batch.AsSpan(r * n, n)), $"width {n}, log {log}: row {r} alone differs from the row in a batch of {rows}");
                }
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Softmax_along_any_axis_matches_reference(int axis)
    {
        var x = TestData.Tensor(3, 2, 3, 4);
        var y = x.Softmax(axis);
        var lsm = x.LogSoftmax(axis);
        var dims = x.Shape.ToArray();
        for (int i = 0; i < x.Size; i++)
        {
            var idx = NaiveReference.Unravel(i, dims);
            double sum = 0;
            for (int k = 0; k < dims[axis]; k++)
            {
                var j = (int[])idx.Clone();
                j[axis] = k;
                sum += Math.Exp(x[j]);
            }
            Assert.Equal(Math.Exp(x.Span[i]) / sum, y.Span[i], 5);
            Assert.Equal(x.Span[i] - Math.Log(sum), lsm.Span[i], 5);
        }
    }

    public static TheoryData<int[], int[]> ReductionCases() => new()
    {
        { [5], [0] }, { [3, 4], [0] }, { [3, 4], [1] }, { [3, 4], [0, 1] }, { [2, 3, 4], [1] },
        { [2, 3, 4], [0, 2] }, { [2, 3, 4, 5], [1, 3] }, { [2, 1, 4], [1] }, { [4, 3, 2], [2, 0] }, { [3, 70], [1] },
        // Past the 32-row block of the column sums, and two or three collapsing stages.
        { [70, 3, 40], [0, 2] }, { [3, 100, 5, 7], [1, 3] }, { [50, 3, 45, 2], [0, 2] }, { [33, 2, 3, 40, 2], [0, 2, 4] },
    };

    [Theory]
    [MemberData(nameof(ReductionCases))]
    public void Reductions_match_reference(int[] shape, int[] axes)
    {
        var x = TestData.Tensor(5, shape);
        var sum = NaiveReference.Reduce(x, axes, g => g.Sum(), out var kept);
        Close(sum, x.Sum(axes, keepDims: true).Span, 1e-4f);
        Assert.Equal(kept, x.Sum(axes, keepDims: true).Shape.ToArray());
        Assert.Equal(kept.Where((_, i) => !axes.Contains(i)).ToArray(), x.Sum(axes).Shape.ToArray());
        Close(NaiveReference.Reduce(x, axes, g => g.Max(), out _), x.Max(axes).Span);
        Close(NaiveReference.Reduce(x, axes, g => g.Min(), out _), x.Min(axes).Span);
        Close(NaiveReference.Reduce(x, axes, g => g.Average(), out _), x.Mean(axes).Span, 1e-4f);
        Close(NaiveReference.Reduce(x, axes, g => { var m = g.Average(); return g.Select(v => (v - m) * (v - m)).Average(); }, out _),
            x.Variance(axes).Span, 1e-4f);
    }

    [Fact]
    public void ArgMax_takes_the_first_maximum()
    {
        var x = Tensor.FromArray([1, 5, 5, 2, 9, 0], 2, 3);
        Assert.Equal([1f, 1f], x.ArgMax(1).ToArray());
        Assert.Equal([1f, 1f, 0f], x.ArgMax(0).ToArray());
        Assert.Equal([2, 1], x.ArgMax(1, keepDims: true).Shape.ToArray());
    }

    [Fact]
    public void Matmul_matches_hand_values_and_batches()
    {
        var a = Tensor.FromArray(new float[,] { { 1, 2 }, { 3, 4 } });
        var b = Tensor.FromArray(new float[,] { { 5, 6 }, { 7, 8 } });
        Assert.Equal([19f, 22f, 43f, 50f], Tensor.MatMul(a, b).ToArray());
        Assert.Equal([26f, 30f, 38f, 44f], Tensor.MatMul(a, b, transposeA: true).ToArray());
        Assert.Equal([17f, 23f, 39f, 53f], Tensor.MatMul(a, b, transposeB: true).ToArray());
        var batch = TestData.Tensor(1, 3, 2, 4, 5);
        var rhs = TestData.Tensor(2, 2, 5, 3);
        var r = Tensor.MatMul(batch, rhs);
        Assert.Equal([3, 2, 4, 3], r.Shape.ToArray());
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                var expected = Tensor.MatMul(batch.Slice(i..(i + 1), j..(j + 1)).Reshape(4, 5), rhs.Slice(j..(j + 1)).Reshape(5, 3));
                Close(expected.Span, r.Slice(i..(i + 1), j..(j + 1)).Span);
            }
        }
        var ex = Assert.Throws<ArgumentException>(() => Tensor.MatMul(Tensor.Zeros(2, 3), Tensor.Zeros(4, 5)));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4, 5]", ex.Message);
    }

    [Fact]
    public void Movement_ops_place_elements()
    {
        var x = Tensor.Arange(0, 6).Reshape(2, 3);
        Assert.Equal([0f, 3, 1, 4, 2, 5], x.T.ToArray());
        Assert.Equal([3, 2], x.T.Shape.ToArray());
        var p = Tensor.Arange(0, 24).Reshape(2, 3, 4).Permute(2, 0, 1);
        Assert.Equal([4, 2, 3], p.Shape.ToArray());
        Assert.Equal(13f, p[1, 1, 0]); // original [1, 0, 1] = 12 + 1
        Assert.Equal([1f, 2, 4, 5], x.Slice(.., 1..).ToArray());
        Assert.Equal([3f, 4, 5], x.Slice(^1..).ToArray());
        Assert.Equal([0f, 1, 2, 0, 1, 3, 4, 5, 3, 4], Tensor.Concat([x, x.Slice(.., ..2)], 1).ToArray());
        Assert.Equal([2, 2, 3], Tensor.Stack([x, x]).Shape.ToArray());
        Assert.Equal([0f, 3, 1, 4, 2, 5], Tensor.Stack([x.Slice(0, 0, 1).Reshape(3), x.Slice(0, 1, 1).Reshape(3)], 1).ToArray());
        Assert.Equal([9f, 9, 9, 9, 9, 0, 1, 2, 9, 3, 4, 5], x.Pad([(1, 0), (1, 0)], 9).ToArray());
        Assert.Equal([2f, 0, 2, 5, 3, 5], x.IndexSelect(1, [2, 0, 2]).ToArray());
        var table = Tensor.Arange(0, 8).Reshape(4, 2);
        var emb = table.Gather(Tensor.FromArray([3, 0, 3], 1, 3));
        Assert.Equal([1, 3, 2], emb.Shape.ToArray());
        Assert.Equal([6f, 7, 0, 1, 6, 7], emb.ToArray());
        Assert.Equal([0f, 1, 0, 1, 0, 0], Tensor.OneHot([1, 0], 3).ToArray());
        Assert.Equal([4, 3], x.Reshape(-1, 3).BroadcastTo(2, 2, 3).Reshape(4, 3).Shape.ToArray());
        Assert.Equal([5f, 0, 2, 0], Tensor.Where(Tensor.FromArray([1, 0, 1, 0]), Tensor.FromArray([5, 6, 2, 8]), 0f).ToArray());
    }

    [Fact]
    public void Bad_movement_arguments_are_explained()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Contains("[2, 3]", Assert.Throws<ArgumentException>(() => x.Reshape(4, 2)).Message);
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => x.Reshape(-1, -1)).Message);
        Assert.Contains("permutation", Assert.Throws<ArgumentException>(() => x.Permute(0, 0)).Message);
        Assert.Contains("outside axis 1", Assert.Throws<ArgumentException>(() => x.Slice(.., 2..5)).Message);
        Assert.Contains("differ off axis", Assert.Throws<ArgumentException>(() => Tensor.Concat([x, Tensor.Zeros(2, 4)], 0)).Message);
        Assert.Contains("index 3", Assert.Throws<ArgumentException>(() => x.IndexSelect(0, [3])).Message);
        Assert.Contains("label 5", Assert.Throws<ArgumentException>(() => Tensor.OneHot([5], 3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Sum(2));
    }
}

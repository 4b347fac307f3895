using Strata.Autograd;
using Strata.Layers;
using Strata.Ops;

namespace Strata.Tests.Ops;

/// <summary>
/// The fused recurrent op against plain loops written from the published equations (Keras' gate
/// orders), and its backward pass against central differences through time.
/// </summary>
public class RecurrentOpTests
{
    private static int Gates(RecurrentCell c) => c switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>The reference: one step at a time in float64, h after each processed step (plus the final c).</summary>
    internal static double[] Reference(RecurrentCell cell, float[] x, int b, int t, int d, float[] w, float[] u, float[]? bias, int h,
        float[]? h0, float[]? c0, float[]? mask, bool reverse, float[]? recMask, bool exportCell)
    {
        int g = Gates(cell), gh = g * h, steps = t + (exportCell ? 1 : 0);
        var y = new double[b * steps * h];
        for (int r = 0; r < b; r++)
        {
            var hp = new double[h];
            var cp = new double[h];
            for (int j = 0; j < h; j++)
            {
                hp[j] = h0?[r * h + j] ?? 0;
                cp[j] = c0?[r * h + j] ?? 0;
            }
            for (int k = 0; k < t; k++)
            {
                int ti = reverse ? t - 1 - k : k;
                var xz = new double[gh];
                var hz = new double[gh];
                for (int col = 0; col < gh; col++)
                {
                    double s = 0, q = 0;
                    for (int i = 0; i < d; i++)
                        s += x[(r * t + ti) * d + i] * w[i * gh + col];
                    for (int i = 0; i < h; i++)
                        q += hp[i] * (recMask?[r * h + i] ?? 1) * u[i * gh + col];
                    if (bias is not null)
                    {
                        s += bias[col];
                        if (cell == RecurrentCell.Gru)
                            q += bias[gh + col];
                    }
                    xz[col] = s;
                    hz[col] = q;
                }
                var hn = new double[h];
                var cn = new double[h];
                for (int j = 0; j < h; j++)
                {
                    switch (cell)
                    {
                        case RecurrentCell.SimpleRnn:
                            hn[j] = Math.Tanh(xz[j] + hz[j]);
                            break;
                        case RecurrentCell.Lstm:
                        {
                            double i = Sig(xz[j] + hz[j]), f = Sig(xz[h + j] + hz[h + j]);
                            double c = Math.Tanh(xz[2 * h + j] + hz[2 * h + j]), o = Sig(xz[3 * h + j] + hz[3 * h + j]);
                            cn[j] = f * cp[j] + i * c;
                            hn[j] = o * Math.Tanh(cn[j]);
                            break;
                        }
                        case RecurrentCell.Gru:
                        {
                            double z = Sig(xz[j] + hz[j]), rr = Sig(xz[h + j] + hz[h + j]);
                            double hh = Math.Tanh(xz[2 * h + j] + rr * hz[2 * h + j]);
                            hn[j] = z * hp[j] + (1 - z) * hh;
                            break;
                        }
                    }
                }
                bool valid = mask is null || mask[r * t + ti] != 0;
                if (valid)
                {
                    hp = hn;
                    cp = cn;
                }
                for (int j = 0; j < h; j++)
                    y[(r * steps + k) * h + j] = hp[j];
            }
            if (exportCell)
                for (int j = 0; j < h; j++)
                    y[(r * steps + t) * h + j] = cp[j];
        }
        return y;
    }

    public static TheoryData<RecurrentCell, bool, bool, bool> Cases()
    {
        var data = new TheoryData<RecurrentCell, bool, bool, bool>();
        foreach (var cell in new[] { RecurrentCell.SimpleRnn, RecurrentCell.Lstm, RecurrentCell.Gru })
            foreach (bool reverse in new[] { false, true })
                foreach (bool masked in new[] { false, true })
                    foreach (bool state in new[] { false, true })
                        data.Add(cell, reverse, masked, state);
        return data;
    }

    private static float[] Mask(int b, int t) // row 0 all valid; row 1 post-padded; row 2 with a hole
    {
        var m = new float[b * t];
        for (int r = 0; r < b; r++)
            for (int k = 0; k < t; k++)
                m[r * t + k] = r switch { 0 => 1, 1 => k < t - 2 ? 1 : 0, _ => k == 1 ? 0 : 1 };
        return m;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_matches_the_step_by_step_equations(RecurrentCell cell, bool reverse, bool masked, bool state)
    {
        int b = 3, t = 5, d = 4, h = 3, gh = Gates(cell) * h;
        var x = TestData.Tensor(1, b, t, d);
        var w = TestData.Tensor(2, d, gh);
        var u = TestData.Tensor(3, h, gh);
        var bias = TestData.Tensor(4, cell == RecurrentCell.Gru ? [2, gh] : [gh]);
        var h0 = state ? TestData.Tensor(5, b, h) : null;
        var c0 = state && cell == RecurrentCell.Lstm ? TestData.Tensor(6, b, h) : null;
        var mask = masked ? Tensor.FromArray(Mask(b, t), b, t) : null;
        var recMask = state ? Tensor.FromArray([.. TestData.Random(b * h, 7, 0, 2)], b, h) : null;
        bool export = cell == RecurrentCell.Lstm && state;
        var y = Tensor.Recurrent(cell, x, w, u, bias, h0, c0, mask, reverse, returnCellState: export, recurrentDropoutMask: recMask);
        var expected = Reference(cell, x.ToArray(), b, t, d, w.ToArray(), u.ToArray(), bias.ToArray(), h, h0?.ToArray(), c0?.ToArray(),
            mask?.ToArray(), reverse, recMask?.ToArray(), export);
        Assert.Equal(new Shape(b, t + (export ? 1 : 0), h), y.Shape);
        var got = y.ToArray();
        for (int i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(got[i] - expected[i]) < 1e-5, $"{cell} element {i}: {got[i]} vs {expected[i]}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_matches_central_differences_through_time(RecurrentCell cell, bool reverse, bool masked, bool state)
    {
        int b = 3, t = 4, d = 3, h = 2, gh = Gates(cell) * h;
        var x = TestData.Param(11, b, t, d);
        var w = TestData.Param(12, d, gh);
        var u = TestData.Param(13, h, gh);
        var bias = TestData.Param(14, cell == RecurrentCell.Gru ? [2, gh] : [gh]);
        var h0 = TestData.Param(15, b, h);
        var c0 = TestData.Param(16, b, h);
        var mask = masked ? Tensor.FromArray(Mask(b, t), b, t) : null;
        var recMask = state ? Tensor.FromArray([.. TestData.Random(b * h, 17, 0, 2)], b, h) : null;
        bool lstm = cell == RecurrentCell.Lstm;
        Tensor[] inputs = state ? (lstm ? [x, w, u, bias, h0, c0] : [x, w, u, bias, h0]) : [x, w, u, bias];
        var check = GradientChecker.Check(p => Tensor.Recurrent(cell, p[0], p[1], p[2], p[3], state ? p[4] : null,
            state && lstm ? p[5] : null, mask, reverse, returnCellState: state && lstm, recurrentDropoutMask: recMask), inputs);
        Assert.True(check.Passed, $"{cell} reverse={reverse} masked={masked} state={state}: {check}");
    }

    [Fact]
    public void Backward_twice_on_one_graph_gives_the_same_gradients()
    {
        var x = TestData.Param(21, 2, 3, 2);
        var w = TestData.Param(22, 2, 8);
        var u = TestData.Param(23, 2, 8);
        var y = Tensor.Recurrent(RecurrentCell.Lstm, x, w, u).Sum();
        var first = Strata.Models.Model.ComputeGradients(y, [w, u, x]);
        var second = Strata.Models.Model.ComputeGradients(y, [w, u, x]);
        for (int i = 0; i < 3; i++)
            Assert.Equal(first[i].ToArray(), second[i].ToArray());
    }

    [Fact]
    public void A_long_sequence_runs_and_back_propagates()
    {
        // 2,000 steps: one node, so no recursion depth grows with the sequence.
        var x = TestData.Param(31, 2, 2000, 3);
        var w = TestData.Param(32, 3, 9);
        var u = TestData.Param(33, 3, 9);
        var loss = Tensor.Recurrent(RecurrentCell.Gru, x, w, u, TestData.Param(34, 2, 9)).Sum();
        loss.Backward();
        Assert.True(float.IsFinite(x.Grad!.Sum().ToScalar()));
        Assert.NotEqual(0f, u.Grad!.Abs().Sum().ToScalar());
    }

    [Fact]
    public void Bad_shapes_are_named_with_both_shapes()
    {
        var x = Tensor.Zeros(2, 3, 4);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Recurrent(RecurrentCell.Lstm, x, Tensor.Zeros(4, 6), Tensor.Zeros(2, 8)));
        Assert.Contains("[4, 8]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Recurrent(RecurrentCell.Gru, x, Tensor.Zeros(4, 6), Tensor.Zeros(2, 6), Tensor.Zeros(6)));
        Assert.Contains("[2, 6]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Recurrent(RecurrentCell.SimpleRnn, Tensor.Zeros(2, 4), Tensor.Zeros(4, 2), Tensor.Zeros(2, 2)));
        Assert.Contains("[batch, steps, features]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Recurrent(RecurrentCell.SimpleRnn, x, Tensor.Zeros(4, 2), Tensor.Zeros(2, 2), mask: Tensor.Zeros(2, 4)));
        Assert.Contains("[2, 3]", e.Message);
    }
}

/// <summary>The batch split into strips over threads gives the single-thread results bit for bit.</summary>
[Collection(ProcessWideSettingsCollection.Name)]
public class RecurrentThreadingTests
{
    [Theory]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.SimpleRnn)]
    public void Two_threads_equal_one(RecurrentCell cell)
    {
        int g = cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
        float[][] Run(int threads)
        {
            int before = Strata.Kernels.KernelSettings.MaxThreads;
            Strata.Kernels.KernelSettings.MaxThreads = threads;
            try
            {
                var x = TestData.Param(41, 20, 6, 5);
                var w = TestData.Param(42, 5, g * 7);
                var u = TestData.Param(43, 7, g * 7);
                var b = TestData.Param(44, cell == RecurrentCell.Gru ? [2, g * 7] : [g * 7]);
                var m = Tensor.FromArray(Enumerable.Range(0, 120).Select(i => i % 7 == 3 ? 0f : 1f).ToArray(), 20, 6);
                var y = Tensor.Recurrent(cell, x, w, u, b, mask: m, goBackwards: true);
                (y * TestData.Tensor(45, 20, 6, 7)).Sum().Backward();
                return [y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), u.Grad!.ToArray(), b.Grad!.ToArray()];
            }
            finally
            {
                Strata.Kernels.KernelSettings.MaxThreads = before;
            }
        }
        var one = Run(1);
        var two = Run(2);
        for (int i = 0; i < one.Length; i++)
            Assert.Equal(one[i], two[i]);
    }
}

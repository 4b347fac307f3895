namespace Strata.Tests.Autograd;

/// <summary>A finite-difference gradient check for every differentiable op, including broadcasting.</summary>
public sealed class GradientCheckTests
{
    private static Tensor P(ulong seed, params int[] shape) => TestData.Param(seed, shape);

    /// <summary>Strictly positive parameter (for log, sqrt, pow bases, divisors).</summary>
    private static Tensor Pos(ulong seed, params int[] shape)
    {
        var t = Tensor.RandomUniform(shape, 0.5f, 2f, seed);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Values kept away from 0 and from each other, so that kinks and ties are not hit.</summary>
    private static Tensor Spread(ulong seed, params int[] shape)
    {
        int n = new Shape(shape).Size;
        var values = Enumerable.Range(0, n).Select(i => (i - n / 2f + 0.37f) * 0.23f).ToArray();
        new Rng(seed).Shuffle(values.AsSpan());
        var t = Tensor.FromArray(values, shape);
        t.RequiresGrad = true;
        return t;
    }

    public static TheoryData<string> Cases() => new(CaseTable.Keys);

    private static readonly Dictionary<string, Func<(Func<Tensor[], Tensor> F, Tensor[] Inputs)>> CaseTable = new()
    {
        ["add"] = () => (x => x[0] + x[1], [P(1, 3, 4), P(2, 3, 4)]),
        ["add broadcast row"] = () => (x => x[0] + x[1], [P(1, 3, 4), P(2, 4)]),
        ["add broadcast both"] = () => (x => x[0] + x[1], [P(1, 3, 1, 5), P(2, 4, 1)]),
        ["add scalar tensor"] = () => (x => x[0] + x[1], [P(1, 2, 3), P(2, 1)]),
        ["sub broadcast"] = () => (x => x[0] - x[1], [P(1, 2, 3), P(2, 2, 1)]),
        ["mul broadcast"] = () => (x => x[0] * x[1], [P(1, 2, 3, 4), P(2, 3, 1)]),
        ["div broadcast"] = () => (x => x[0] / x[1], [P(1, 3, 4), Pos(2, 1, 4)]),
        ["neg"] = () => (x => -x[0], [P(1, 5)]),
        ["pow tensor"] = () => (x => Tensor.Pow(x[0], x[1]), [Pos(1, 2, 3), P(2, 3)]),
        ["pow scalar"] = () => (x => x[0].Pow(3f), [P(1, 2, 3)]),
        ["pow fractional"] = () => (x => x[0].Pow(1.5f), [Pos(1, 4)]),
        ["minimum broadcast"] = () => (x => Tensor.Minimum(x[0], x[1]), [Spread(1, 3, 4), Spread(2, 4)]),
        ["maximum"] = () => (x => Tensor.Maximum(x[0], x[1]), [Spread(1, 3, 4), Spread(2, 3, 4)]),
        ["exp"] = () => (x => x[0].Exp(), [P(1, 2, 5)]),
        ["log"] = () => (x => x[0].Log(), [Pos(1, 2, 5)]),
        ["sqrt"] = () => (x => x[0].Sqrt(), [Pos(1, 2, 5)]),
        ["abs"] = () => (x => x[0].Abs(), [Spread(1, 2, 5)]),
        ["square"] = () => (x => x[0].Square(), [P(1, 7)]),
        ["clamp"] = () => (x => x[0].Clamp(-0.5f, 0.6f), [Spread(1, 4, 5)]),
        ["relu"] = () => (x => x[0].Relu(), [Spread(1, 4, 5)]),
        ["leaky relu"] = () => (x => x[0].LeakyRelu(0.2f), [Spread(1, 4, 5)]),
        ["sigmoid"] = () => (x => x[0].Sigmoid(), [P(1, 3, 6)]),
        ["tanh"] = () => (x => x[0].Tanh(), [P(1, 3, 6)]),
        ["softmax last"] = () => (x => x[0].Softmax(), [P(1, 3, 5)]),
        ["softmax middle"] = () => (x => x[0].Softmax(1), [P(1, 2, 4, 3)]),
        ["log softmax last"] = () => (x => x[0].LogSoftmax(), [P(1, 3, 5)]),
        ["log softmax first"] = () => (x => x[0].LogSoftmax(0), [P(1, 4, 3)]),
        ["sum all"] = () => (x => x[0].Sum(), [P(1, 3, 4)]),
        ["sum axes keepdims"] = () => (x => x[0].Sum([0, 2], keepDims: true), [P(1, 2, 3, 4)]),
        ["sum middle"] = () => (x => x[0].Sum(1), [P(1, 2, 3, 4)]),
        ["mean"] = () => (x => x[0].Mean([-1]), [P(1, 3, 4)]),
        ["max axis"] = () => (x => x[0].Max(1), [Spread(1, 3, 4)]),
        ["max all"] = () => (x => x[0].Max(), [Spread(1, 3, 4)]),
        ["min axes"] = () => (x => x[0].Min([0, 2], keepDims: true), [Spread(1, 2, 3, 4)]),
        ["variance"] = () => (x => x[0].Variance([1]), [P(1, 3, 5)]),
        ["variance unbiased"] = () => (x => x[0].Variance([0, 1], unbiased: true), [P(1, 3, 5)]),
        ["matmul"] = () => (x => Tensor.MatMul(x[0], x[1]), [P(1, 3, 4), P(2, 4, 5)]),
        ["matmul transpose a"] = () => (x => Tensor.MatMul(x[0], x[1], transposeA: true), [P(1, 4, 3), P(2, 4, 5)]),
        ["matmul transpose b"] = () => (x => Tensor.MatMul(x[0], x[1], transposeB: true), [P(1, 3, 4), P(2, 5, 4)]),
        ["matmul transpose both"] = () => (x => Tensor.MatMul(x[0], x[1], true, true), [P(1, 4, 3), P(2, 5, 4)]),
        ["matmul batched"] = () => (x => Tensor.MatMul(x[0], x[1]), [P(1, 2, 3, 4), P(2, 2, 4, 5)]),
        ["matmul batched broadcast"] = () => (x => Tensor.MatMul(x[0], x[1], transposeB: true), [P(1, 2, 1, 3, 4), P(2, 3, 5, 4)]),
        ["matmul batched transposed a"] = () => (x => Tensor.MatMul(x[0], x[1], transposeA: true), [P(1, 2, 4, 3), P(2, 2, 4, 5)]),
        ["matmul 3d by 2d"] = () => (x => Tensor.MatMul(x[0], x[1]), [P(1, 2, 3, 4), P(2, 4, 5)]),
        ["matmul 3d by 2d transposed"] = () => (x => Tensor.MatMul(x[0], x[1], transposeB: true), [P(1, 2, 3, 4), P(2, 5, 4)]),
        ["reshape"] = () => (x => x[0].Reshape(4, -1) * x[0].Reshape(4, 3), [P(1, 2, 6)]),
        ["flatten"] = () => (x => x[0].Flatten(), [P(1, 2, 3, 2)]),
        ["unsqueeze squeeze"] = () => (x => x[0].Unsqueeze(1).Squeeze(1), [P(1, 2, 3)]),
        ["broadcast to"] = () => (x => x[0].BroadcastTo(2, 3, 4), [P(1, 3, 1)]),
        ["permute"] = () => (x => x[0].Permute(2, 0, 1), [P(1, 2, 3, 4)]),
        ["transpose 2d"] = () => (x => x[0].T, [P(1, 3, 5)]),
        ["slice"] = () => (x => x[0].Slice(.., 1..3), [P(1, 3, 5)]),
        ["slice axis"] = () => (x => x[0].Slice(2, 1, 2), [P(1, 2, 3, 4)]),
        ["concat"] = () => (x => Tensor.Concat([x[0], x[1]], 1), [P(1, 2, 3), P(2, 2, 2)]),
        ["stack"] = () => (x => Tensor.Stack([x[0], x[1], x[0]], 1), [P(1, 2, 3), P(2, 2, 3)]),
        ["pad"] = () => (x => x[0].Pad([(1, 0), (2, 1)], 0.5f), [P(1, 2, 3)]),
        ["index select repeats"] = () => (x => x[0].IndexSelect(1, [2, 0, 2]), [P(1, 2, 3, 2)]),
        ["gather (embedding)"] = () => (x => x[0].Gather(Tensor.FromArray([1, 3, 1, 0], 2, 2)), [P(1, 4, 3)]),
        ["where"] = () => (x => Tensor.Where(Tensor.FromArray([1, 0, 1], 3), x[0], x[1]), [P(1, 2, 3), P(2, 2, 1)]),
        ["composite mlp"] = () => (x => Tensor.MatMul(Tensor.MatMul(x[0], x[1]).Add(x[2]).Tanh(), x[3]).LogSoftmax(),
            [P(1, 4, 3), P(2, 3, 5), P(3, 5), P(4, 5, 2)]),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Analytic_gradient_matches_finite_differences(string name)
    {
        var (f, inputs) = CaseTable[name]();
        var result = GradientChecker.Check(f, inputs);
        Assert.True(result.Passed, $"{name}: {result.Worst} (error ratio {result.MaxError:G3})");
    }

    [Fact]
    public void Checker_detects_a_wrong_gradient()
    {
        // A deliberately wrong op: forward x², backward claims 3x.
        var x = P(1, 5);
        var result = GradientChecker.Check(t => Tensor.Run(new BadSquare(t[0])), [x]);
        Assert.False(result.Passed);
    }

    private sealed class BadSquare(Tensor x) : Strata.Autograd.OpNode("bad_square", [x], x.Shape)
    {
        public override void Forward()
        {
            var d = Output.AsWritableSpan();
            var s = Inputs[0].Span;
            for (int i = 0; i < d.Length; i++)
                d[i] = s[i] * s[i];
        }

        public override void Backward(Span<float> gy, Strata.Autograd.GradSink grads)
        {
            var s = Inputs[0].Span;
            for (int i = 0; i < gy.Length; i++)
                gy[i] *= 3f * s[i]; // wrong on purpose: the derivative is 2x
            Put(grads, 0, gy);
        }
    }
}

namespace Strata.Tests.Tensors;

public sealed class TensorTests
{
    [Fact]
    public void Creation_functions_fill_as_named()
    {
        Assert.All(Tensor.Zeros(2, 3).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(Tensor.Ones(4).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Tensor.Full(2.5f, 2, 2).ToArray(), v => Assert.Equal(2.5f, v));
        Assert.Equal([0f, 0.5f, 1f, 1.5f], Tensor.Arange(0, 2, 0.5f).ToArray());
        Assert.Equal([3f, 2f], Tensor.Arange(3, 1, -1).ToArray());
        Assert.Equal(Shape.Scalar, Tensor.Scalar(3).Shape);
        Assert.Equal(3f, Tensor.Scalar(3).ToScalar());
        var src = new float[] { 1, 2, 3, 4, 5, 6 };
        var t = Tensor.FromArray(src, 3, 2);
        src[0] = 100; // the tensor copied
        Assert.Equal(1f, t[0, 0]);
        Assert.Equal(6f, t[2, 1]);
        Assert.Equal(5f, t[-1, 0]);
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(src, 4, 2));
        Assert.Throws<ArgumentException>(() => new Shape(2, -1));
    }

    [Fact]
    public void Random_tensors_are_seeded_and_have_the_right_moments()
    {
        var a = Tensor.RandomNormal([100_000], 1f, 2f, seed: 42);
        var b = Tensor.RandomNormal([100_000], 1f, 2f, seed: 42);
        var c = Tensor.RandomNormal([100_000], 1f, 2f, seed: 43);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
        Assert.Equal(1.0, a.Mean().ToScalar(), 1);
        Assert.Equal(4.0, a.Variance().ToScalar(), 0);
        Assert.InRange(a.Variance().ToScalar(), 3.9f, 4.1f);
        var u = Tensor.RandomUniform([100_000], -2f, 3f, seed: 1);
        Assert.InRange(u.Min().ToScalar(), -2f, -1.99f);
        Assert.InRange(u.Max().ToScalar(), 2.99f, 3f);
        Assert.InRange(u.Mean().ToScalar(), 0.47f, 0.53f);
    }

    [Fact]
    public void Rng_state_round_trips()
    {
        var rng = new Rng(5);
        rng.NextNormal();
        var state = rng.GetState();
        var expected = Enumerable.Range(0, 10).Select(_ => rng.NextNormal()).ToArray();
        var restored = new Rng(0);
        restored.SetState(state);
        Assert.Equal(expected, Enumerable.Range(0, 10).Select(_ => restored.NextNormal()).ToArray());
    }

    [Fact]
    public void FillUniform_gives_the_stream_of_NextFloat_and_leaves_the_same_state()
    {
        var a = new Rng(11);
        var b = new Rng(11);
        var bulk = new float[1001];
        a.FillUniform(bulk);
        var single = Enumerable.Range(0, 1001).Select(_ => b.NextFloat()).ToArray();
        Assert.Equal(single, bulk);
        Assert.Equal(b.NextUInt(), a.NextUInt());
        Assert.All(bulk, v => Assert.InRange(v, 0f, 0.99999994f));
    }

    [Fact]
    public void ToString_shows_shape_and_a_preview()
    {
        var small = Tensor.FromArray([1, 2.5f, -3, 4], 2, 2);
        Assert.Equal("Tensor [2, 2]\n[[1, 2.5],\n [-3, 4]]", small.ToString());
        var big = Tensor.Arange(0, 100);
        Assert.Equal("Tensor [100]\n[0, 1, 2, ..., 97, 98, 99]", big.ToString());
        var w = Tensor.Zeros(1);
        w.RequiresGrad = true;
        w.Name = "w";
        Assert.StartsWith("Tensor 'w' [1] (requires grad)", w.ToString());
        Assert.Contains("(grad fn: mul)", (w * 2f).ToString());
        Assert.Equal("Tensor []\n7", Tensor.Scalar(7).ToString());
    }

    [Fact]
    public void Shapes_compare_by_value_and_broadcast()
    {
        Assert.Equal(new Shape(2, 3), new Shape(2, 3));
        Assert.NotEqual(new Shape(2, 3), new Shape(3, 2));
        Assert.Equal(new Shape(4, 2, 3), Shape.Broadcast(new Shape(4, 1, 3), new Shape(2, 1), "t"));
        Assert.Equal("[4, 1, 3]", new Shape(4, 1, 3).ToString());
        Assert.Equal(6, new Shape(2, 3).Size);
        Assert.Equal(3, new Shape(2, 3)[-1]);
    }
}

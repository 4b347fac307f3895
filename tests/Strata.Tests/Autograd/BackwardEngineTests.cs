namespace Strata.Tests.Autograd;

public sealed class BackwardEngineTests
{
    [Fact]
    public void A_100000_node_chain_does_not_overflow_the_stack()
    {
        var x = Tensor.FromArray([1f]);
        x.RequiresGrad = true;
        var y = x;
        for (int i = 0; i < 100_000; i++)
            y = y * 1.00001f + 0f;
        y.Sum().Backward();
        // d/dx of x·c^n is c^n.
        Assert.Equal(MathF.Pow(1.00001f, 100_000), x.Grad!.ToScalar(), 2);
    }

    [Fact]
    public void Gradients_accumulate_over_uses_and_over_calls()
    {
        var x = Tensor.FromArray([3f]);
        x.RequiresGrad = true;
        var y = x * x + x; // dy/dx = 2x + 1 = 7
        y.Sum().Backward();
        Assert.Equal(7f, x.Grad!.ToScalar());
        (x * 2f).Sum().Backward();
        Assert.Equal(9f, x.Grad!.ToScalar());
        x.ZeroGrad();
        Assert.Equal(0f, x.Grad!.ToScalar());
        (x * 5f).Sum().Backward();
        Assert.Equal(5f, x.Grad!.ToScalar());
    }

    [Fact]
    public void Shared_gradient_tensors_are_not_aliased_between_inputs()
    {
        var a = Tensor.FromArray([1f, 2f]);
        var b = Tensor.FromArray([3f, 4f]);
        a.RequiresGrad = b.RequiresGrad = true;
        (a + b).Sum().Backward();
        (a * 3f).Sum().Backward(); // must not change b.Grad
        Assert.Equal([4f, 4f], a.Grad!.ToArray());
        Assert.Equal([1f, 1f], b.Grad!.ToArray());
    }

    [Fact]
    public void No_grad_scope_records_nothing()
    {
        var w = Tensor.Ones(2);
        w.RequiresGrad = true;
        Tensor y;
        using (GradMode.Disable())
        {
            Assert.False(GradMode.IsEnabled);
            y = w * 2f;
        }
        Assert.True(GradMode.IsEnabled);
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        Assert.Contains("does not require gradients", Assert.Throws<InvalidOperationException>(() => y.Sum().Backward()).Message);
    }

    [Fact]
    public void Detach_stops_the_gradient()
    {
        var x = Tensor.FromArray([2f]);
        x.RequiresGrad = true;
        var y = x * x.Detach(); // d/dx = x.Detach() = 2
        y.Sum().Backward();
        Assert.Equal(2f, x.Grad!.ToScalar());
    }

    [Fact]
    public void The_graph_is_released_after_backward_unless_retained()
    {
        var x = Tensor.FromArray([2f]);
        x.RequiresGrad = true;
        var h = (x * 3f).RetainGrad();
        var y = (h * h).Sum();
        y.Backward(retainGraph: true);
        Assert.Equal(12f, h.Grad!.ToScalar()); // dy/dh = 2h = 12
        Assert.Equal(36f, x.Grad!.ToScalar()); // dy/dx = 2h·3
        y.Backward();
        Assert.Equal(72f, x.Grad!.ToScalar());
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("already released", ex.Message);

        var z = x * 4f;
        var w = (z * z).Sum();
        w.Backward();
        Assert.Null(z.Grad); // intermediates do not keep gradients by default
    }

    [Fact]
    public void Backward_validates_its_seed()
    {
        var x = Tensor.Ones(2, 2);
        x.RequiresGrad = true;
        var y = x * 2f;
        Assert.Contains("[2, 2]", Assert.Throws<InvalidOperationException>(() => y.Backward()).Message);
        Assert.Contains("[3]", Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Ones(3))).Message);
        y.Backward(Tensor.FromArray([1, 2, 3, 4], 2, 2));
        Assert.Equal([2f, 4, 6, 8], x.Grad!.ToArray());
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
    }
}

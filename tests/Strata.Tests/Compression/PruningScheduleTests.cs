using Strata.Compression;

namespace Strata.Tests.Compression;

public sealed class PruningScheduleTests
{
    [Fact]
    public void PolynomialDecay_follows_the_tf_mot_formula()
    {
        var s = new PolynomialDecay(0.1f, 0.9f, beginStep: 100, endStep: 1100, power: 3, frequency: 50);
        // s(t) = 0.9 + (0.1 − 0.9)·(1 − p)³, p = (t − 100)/1000 clamped to [0, 1]
        Assert.Equal(0.1f, s.SparsityAt(0), 6);          // before the start: p = 0
        Assert.Equal(0.1f, s.SparsityAt(100), 6);
        Assert.Equal(0.9f - 0.8f * 0.421875f, s.SparsityAt(350), 6); // p = 0.25: (0.75)³ = 0.421875
        Assert.Equal(0.8f, s.SparsityAt(600), 6);         // p = 0.5: 0.9 − 0.8·0.125
        Assert.Equal(0.9f - 0.8f * 0.001f, s.SparsityAt(1000), 6);   // p = 0.9: 0.1³
        Assert.Equal(0.9f, s.SparsityAt(1100), 6);
        Assert.Equal(0.9f, s.SparsityAt(5000), 6);
        var linear = new PolynomialDecay(0f, 0.5f, 0, 10, power: 1, frequency: 1);
        Assert.Equal(0.15f, linear.SparsityAt(3), 6);     // 0.5 − 0.5·0.7
    }

    [Fact]
    public void Masks_update_every_frequency_steps_within_begin_and_end()
    {
        var s = new PolynomialDecay(0f, 0.8f, beginStep: 10, endStep: 40, frequency: 10);
        var updates = Enumerable.Range(0, 60).Where(t => s.ShouldUpdate(t)).ToArray();
        Assert.Equal([10, 20, 30, 40], updates);
        var open = new ConstantSparsity(0.5f, beginStep: 3, frequency: 4);
        Assert.Equal([3, 7, 11, 15, 19], Enumerable.Range(0, 20).Where(t => open.ShouldUpdate(t)).ToArray());
        Assert.True(open.ShouldUpdate(3 + 4 * 1_000_000L)); // no end
        Assert.Equal(0.5f, open.SparsityAt(0));
        Assert.Equal(0.5f, open.SparsityAt(1_000_000));
        var ended = new ConstantSparsity(0.5f, beginStep: 0, endStep: 8, frequency: 4);
        Assert.Equal([0, 4, 8], Enumerable.Range(0, 20).Where(t => ended.ShouldUpdate(t)).ToArray());
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    [InlineData(1.5f)]
    public void A_sparsity_outside_0_to_1_is_refused_with_its_value(float sparsity)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(sparsity));
        Assert.Contains($"sparsity must be in [0, 1), got {sparsity}", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0, sparsity, 0, 100));
        Assert.Contains($"finalSparsity must be in [0, 1), got {sparsity}", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(sparsity, 0.5f, 0, 100));
        Assert.Contains($"initialSparsity must be in [0, 1), got {sparsity}", e.Message);
    }

    [Fact]
    public void Bad_steps_are_refused_naming_the_schedule_and_the_value()
    {
        Assert.Contains("ConstantSparsity: beginStep must be at least 0, got -1",
            Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(0.5f, beginStep: -1)).Message);
        Assert.Contains("ConstantSparsity: frequency must be at least 1, got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(0.5f, frequency: 0)).Message);
        Assert.Contains("endStep must be at least beginStep = 10 (or −1 for no end), got 5",
            Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(0.5f, beginStep: 10, endStep: 5)).Message);
        Assert.Contains("PolynomialDecay: endStep must be at least beginStep = 0, got -1",
            Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0, 0.5f, 0, -1)).Message);
        Assert.Contains("PolynomialDecay: endStep must be after beginStep = 7, got 7",
            Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0, 0.5f, 7, 7)).Message);
        Assert.Contains("PolynomialDecay: power must be positive and finite, got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0, 0.5f, 0, 10, power: 0)).Message);
    }
}

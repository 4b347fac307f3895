using Strata.Data;

namespace Strata.Tests.Data;

/// <summary>DataLoader.Sharded: the data-parallel split of every epoch's seeded order.</summary>
public sealed class DataLoaderShardTests
{
    /// <summary>Samples whose one feature is their index, so that a batch says which samples it holds.</summary>
    private static Dataset Indexed(int n) =>
        Dataset.FromTensors(Tensor.FromArray([.. Enumerable.Range(0, n).Select(i => (float)i)], n, 1), Tensor.Zeros([n]));

    private static List<int[]> Batches(DataLoader loader, int epoch) =>
        [.. loader.Epoch(epoch).Select(b => b.X.ToArray().Select(v => (int)v).ToArray())];

    [Theory]
    [InlineData(36, 2, 4)]
    [InlineData(48, 3, 4)]
    [InlineData(160, 2, 8)]
    public void Shards_of_batch_B_read_the_batches_of_one_loader_of_batch_N_times_B(int n, int shards, int batch)
    {
        var whole = new DataLoader(Indexed(n), shards * batch, shuffle: true, seed: 5);
        var parts = Enumerable.Range(0, shards).Select(r => new DataLoader(Indexed(n), batch, shuffle: true, seed: 5).Sharded(r, shards)).ToArray();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var expected = Batches(whole, epoch);
            var got = parts.Select(p => Batches(p, epoch)).ToArray();
            Assert.All(got, g => Assert.Equal(expected.Count, g.Count));
            for (int b = 0; b < expected.Count; b++)
                Assert.Equal(expected[b], got.SelectMany(g => g[b]).ToArray());
        }
        Assert.All(parts, p => Assert.Equal(whole.BatchCount, p.BatchCount));
        Assert.Equal(n, parts.Sum(p => p.SampleCount));
    }

    [Fact]
    public void Padding_gives_every_shard_the_same_batches_and_covers_every_sample()
    {
        // 37 samples over 2 shards: the order wraps around by one sample, so each shard reads 19.
        var parts = Enumerable.Range(0, 2).Select(r => new DataLoader(Indexed(37), 4, seed: 3).Sharded(r, 2)).ToArray();
        var a = Batches(parts[0], 1);
        var b = Batches(parts[1], 1);
        Assert.Equal(a.Select(x => x.Length), b.Select(x => x.Length));
        Assert.Equal(19, parts[0].SampleCount);
        var all = a.Concat(b).SelectMany(x => x).ToArray();
        Assert.Equal(38, all.Length);
        Assert.Equal(37, all.Distinct().Count());
        Assert.Equal(parts[0].Order(1)[0], new DataLoader(Indexed(37), 4, seed: 3).Order(1)[0]); // the unsharded order, split
    }

    [Fact]
    public void Evaluation_shards_are_disjoint_and_not_padded()
    {
        var parts = Enumerable.Range(0, 3).Select(r => new DataLoader(Indexed(10), 4, shuffle: false).Sharded(r, 3, pad: false)).ToArray();
        Assert.Equal([3, 3, 4], parts.Select(p => p.SampleCount));
        Assert.Equal(Enumerable.Range(0, 10), parts.SelectMany(p => Batches(p, 0).SelectMany(x => x)));
        Assert.Equal((2, 3), parts[2].Shard);
    }

    [Fact]
    public void A_shard_out_of_range_is_refused_with_the_values()
    {
        var loader = new DataLoader(Indexed(4), 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => loader.Sharded(2, 2));
        Assert.Contains("expected 0 ≤ rank < count with count ≥ 1, got rank 2 of 2", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => loader.Sharded(0, 5, pad: false));
        Assert.Contains("4 sample(s) cannot be split over 5 shards without padding", e.Message, StringComparison.Ordinal);
    }
}

using Strata.Data;

namespace Strata.Tests.Data;

public sealed class IdxTests
{
    [Fact]
    public void Reads_the_real_mnist_test_split()
    {
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: false);
        Assert.Equal([10_000, 28, 28], images.Shape.ToArray());
        // The published per-class counts of the test labels.
        int[] expected = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
        Assert.Equal(expected, Enumerable.Range(0, 10).Select(c => labels.Count(l => l == c)).ToArray());
        Assert.InRange(images.Min().ToScalar(), 0f, 0f);
        Assert.InRange(images.Max().ToScalar(), 1f, 1f);
    }

    [Fact]
    public void Reads_the_real_mnist_training_split()
    {
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: true);
        Assert.Equal(60_000, labels.Length);
        Assert.Equal([60_000, 28, 28], images.Shape.ToArray());
        // Published: the mean training pixel is 0.1307 (of 1).
        Assert.Equal(0.1307, images.Mean().ToScalar(), 3);
    }

    [Fact]
    public void Round_trips_a_written_file_and_rejects_damaged_ones()
    {
        byte[] file = [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
        var (dims, data) = Idx.Read(new MemoryStream(file));
        Assert.Equal([2, 3], dims);
        Assert.Equal([1, 2, 3, 4, 5, 6], data);

        var truncated = file[..^2];
        Assert.Contains("ends after 4", Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(truncated))).Message);
        var badMagic = (byte[])file.Clone();
        badMagic[0] = 7;
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(badMagic))).Message);
        var floats = (byte[])file.Clone();
        floats[2] = 0x0D;
        Assert.Contains("0x0d", Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(floats))).Message);
        // A header claiming 2^31-1 × 1 bytes with 6 bytes of data fails cleanly, without allocating 2 GB.
        byte[] liar = [0, 0, 0x08, 2, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6];
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(liar)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20);
        Assert.Contains("header", Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(file[..5]))).Message);
    }
}

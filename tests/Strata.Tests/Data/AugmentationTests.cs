using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

namespace Strata.Tests.Data;

public sealed class AugmentationTests
{
    private static Tensor Digits(int n)
    {
        var (images, _) = Mnist.Load(RepoPaths.Mnist, train: false);
        return images.Slice(..n).Reshape([n, 28, 28, 1]);
    }

    [Fact]
    public void Flips_give_each_image_or_its_mirror_and_rescale_brightness_multiply_exactly()
    {
        var x = TestData.Tensor(3, 40, 5, 6, 2);
        var gen = new ImageDataGenerator { HorizontalFlip = true, Rescale = 0.5f };
        var loader = gen.Flow(x, Tensor.Arange(0, 40), batchSize: 40, shuffle: false, seed: 1);
        var batch = loader.Epoch(0).Single().X;
        int mirrored = 0;
        for (int b = 0; b < 40; b++)
        {
            var src = x.Slice(b..(b + 1)).ToArray();
            var got = batch.Slice(b..(b + 1)).ToArray();
            bool same = true, mirror = true;
            for (int r = 0; r < 5; r++)
                for (int c = 0; c < 6; c++)
                    for (int k = 0; k < 2; k++)
                    {
                        float v = got[(r * 6 + c) * 2 + k];
                        same &= v == src[(r * 6 + c) * 2 + k] * 0.5f;
                        mirror &= v == src[(r * 6 + 5 - c) * 2 + k] * 0.5f;
                    }
            Assert.True(same || mirror, $"image {b}");
            mirrored += mirror ? 1 : 0;
        }
        Assert.InRange(mirrored, 8, 32);

        var bright = new ImageDataGenerator { BrightnessRange = (0.5f, 1.5f) };
        var ones = Tensor.Ones(50, 2, 2);
        var factors = bright.Flow(ones, Tensor.Zeros(50), batchSize: 50).Epoch(0).Single().X.Reshape([50, 4]);
        for (int i = 0; i < 50; i++)
        {
            var row = factors.Slice(i..(i + 1)).ToArray();
            Assert.All(row, v => Assert.Equal(row[0], v)); // one factor per image
            Assert.InRange(row[0], 0.5f, 1.5f);
        }
    }

    [Fact]
    public void Random_maps_stay_within_the_ranges()
    {
        var gen = new ImageDataGenerator { RotationRange = 20, WidthShiftRange = 0.1f, HeightShiftRange = 3, ZoomBounds = (0.9f, 1.2f) };
        var rng = new Rng(1);
        double maxAngle = 0, maxShiftX = 0, maxShiftY = 0;
        for (int i = 0; i < 500; i++)
        {
            var m = gen.RandomMap(28, 40, rng);
            // Rotation · diag(zx, zy): the columns' lengths are the zooms, the first column's angle the rotation.
            double zx = Math.Sqrt(m.A * m.A + m.D * m.D), zy = Math.Sqrt(m.B * m.B + m.E * m.E);
            Assert.InRange(zx, 0.9 - 1e-6, 1.2 + 1e-6);
            Assert.InRange(zy, 0.9 - 1e-6, 1.2 + 1e-6);
            double angle = Math.Abs(Math.Atan2(m.D, m.A)) * 180 / Math.PI;
            maxAngle = Math.Max(maxAngle, angle);
            // The centre's source is the centre moved back by the shift.
            double cx = 19.5, cy = 13.5;
            maxShiftX = Math.Max(maxShiftX, Math.Abs(m.A * cx + m.B * cy + m.C - cx));
            maxShiftY = Math.Max(maxShiftY, Math.Abs(m.D * cx + m.E * cy + m.F - cy));
        }
        Assert.InRange(maxAngle, 18, 20 + 1e-6);
        Assert.InRange(maxShiftX, 3.6, 4.0 + 1e-6); // 0.1 of 40 pixels
        Assert.InRange(maxShiftY, 2.7, 3.0 + 1e-6); // 3 pixels
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataGenerator { ZoomRange = 1.5f }.RandomMap(4, 4, rng));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataGenerator { RotationRange = -1 }.RandomMap(4, 4, rng));
    }

    [Fact]
    public void Augmented_mnist_digits_are_reproducible_and_drawn_as_a_grid_png()
    {
        var x = Digits(32);
        var gen = new ImageDataGenerator { RotationRange = 15, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ShearRange = 10, ZoomRange = 0.1f };
        var a = gen.Flow(x, Tensor.Zeros(32), batchSize: 32, seed: 3, workers: 2).Epoch(1).Single().X;
        var b = gen.Flow(x, Tensor.Zeros(32), batchSize: 32, seed: 3, workers: 0).Epoch(1).Single().X;
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), gen.Flow(x, Tensor.Zeros(32), batchSize: 32, seed: 3).Epoch(2).Single().X.ToArray());
        // The digits keep their ink: a small transform moves pixels, it does not erase them.
        Assert.InRange(a.Sum().ToScalar() / x.Sum().ToScalar(), 0.85, 1.15);

        string path = Path.Combine(Path.GetTempPath(), $"strata-grid-{Guid.NewGuid():N}.png");
        try
        {
            Images.SavePng(path, Images.Grid(a.Reshape([32, 28, 28]), columns: 8));
            var png = StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(path), StbImageSharp.ColorComponents.Grey);
            Assert.Equal((8 * 30 - 2, 4 * 30 - 2), (png.Width, png.Height));
            Assert.Equal(Images.Grid(a.Reshape([32, 28, 28]), 8).ToArray().Select(v => (byte)Math.Clamp(MathF.Round(v * 255), 0, 255)), png.Data);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Flow_from_directory_reads_class_folders_through_the_generator()
    {
        string root = Directory.CreateTempSubdirectory("strata-flow-").FullName;
        try
        {
            var x = Digits(6);
            for (int i = 0; i < 6; i++)
            {
                string folder = Path.Combine(root, i % 2 == 0 ? "even" : "odd");
                Directory.CreateDirectory(folder);
                Images.SavePng(Path.Combine(folder, $"{i}.png"), x.Slice(i..(i + 1)).Reshape([28, 28, 1]));
            }
            var loader = new ImageDataGenerator { Rescale = 1 / 255f }.FlowFromDirectory(root, (28, 28), ColorMode.Grayscale,
                LabelMode.Categorical, batchSize: 6, shuffle: false);
            Assert.Equal(["even", "odd"], loader.Dataset.ClassNames!);
            var (bx, by) = loader.Epoch(0).Single();
            Assert.Equal([6, 28, 28, 1], bx.Shape.ToArray());
            Assert.Equal([1f, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1], by.ToArray());
            // Even files 0, 2, 4 then odd 1, 3, 5; PNG keeps the bytes, so the digits come back to within rounding.
            int[] order = [0, 2, 4, 1, 3, 5];
            for (int i = 0; i < 6; i++)
            {
                var want = x.Slice(order[i]..(order[i] + 1)).ToArray();
                var got = bx.Slice(i..(i + 1)).ToArray();
                Assert.True(want.Zip(got).All(p => Math.Abs(p.First - p.Second) <= 0.5f / 255 + 1e-6f), $"image {i}");
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void The_seed_cnn_learns_mnist_with_augmentation_and_prefetch()
    {
        // CI-sized (10,000 training images, two epochs); the full-data figure is in docs/PERFORMANCE.md.
        var (images, labels) = Mnist.Load(RepoPaths.Mnist, train: true);
        var train = Dataset.FromTensors(images.Slice(..10_000).Reshape([10_000, 28, 28, 1]),
            Tensor.FromArray(labels[..10_000].Select(v => (float)v).ToArray()));
        var test = Mnist.LoadDataset(RepoPaths.Mnist, train: false).Subset([.. Enumerable.Range(0, 2000)]);
        var model = Presets.Cnn([28, 28, 1], seed: 1);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
        var augment = new ImageDataGenerator { RotationRange = 10, WidthShiftRange = 0.1f, HeightShiftRange = 0.1f, ZoomRange = 0.1f };
        model.Fit(new DataLoader(train, batchSize: 32, seed: 1, transform: augment, workers: 1), epochs: 2);
        var result = model.Evaluate(test, batchSize: 500);
        Assert.True(result["accuracy"] >= 0.95f, $"test accuracy {result["accuracy"]:P2}");
    }
}

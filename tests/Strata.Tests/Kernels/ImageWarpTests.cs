using Strata.Kernels;

namespace Strata.Tests.Kernels;

public sealed class ImageWarpTests
{
    /// <summary>An h×w×c image whose every value is distinct: 100·row + 10·column + channel.</summary>
    private static float[] Ramp(int h, int w, int c)
    {
        var x = new float[h * w * c];
        for (int y = 0; y < h; y++)
            for (int i = 0; i < w; i++)
                for (int k = 0; k < c; k++)
                    x[(y * w + i) * c + k] = 100 * y + 10 * i + k;
        return x;
    }

    private static float[] Warp(float[] src, int h, int w, int c, AffineMap map, Interpolation interpolation = Interpolation.Bilinear,
        FillMode fill = FillMode.Constant, float fillValue = -1)
    {
        var dst = new float[h * w * c];
        ImageWarp.Forward(src, h, w, c, dst, h, w, map, interpolation, fill, fillValue);
        return dst;
    }

    [Theory]
    [InlineData(3, Interpolation.Bilinear)]
    [InlineData(4, Interpolation.Bilinear)]
    [InlineData(5, Interpolation.Nearest)]
    public void A_quarter_turn_is_numpy_rot90_exactly(int n, Interpolation interpolation)
    {
        var src = Ramp(n, n, 2);
        var dst = Warp(src, n, n, 2, ImageTransform.Map(n, n, rotation: Math.PI / 2), interpolation);
        // np.rot90 (counter-clockwise): out[i, j] = in[j, n − 1 − i].
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < 2; k++)
                    Assert.Equal(src[(j * n + (n - 1 - i)) * 2 + k], dst[(i * n + j) * 2 + k]);
        // Four quarter turns give the image back; a half turn reverses both axes.
        var half = Warp(src, n, n, 2, ImageTransform.Map(n, n, rotation: Math.PI), interpolation);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                Assert.Equal(src[((n - 1 - i) * n + (n - 1 - j)) * 2], half[(i * n + j) * 2]);
    }

    [Theory]
    [InlineData(FillMode.Constant)]
    [InlineData(FillMode.Nearest)]
    [InlineData(FillMode.Reflect)]
    [InlineData(FillMode.Wrap)]
    public void A_shift_by_whole_pixels_moves_the_content_and_fills_the_edge(FillMode fill)
    {
        const int h = 4, w = 5;
        var src = Ramp(h, w, 1);
        var dst = Warp(src, h, w, 1, ImageTransform.Map(h, w, shiftX: 2, shiftY: -1), Interpolation.Bilinear, fill, fillValue: -7);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int sx = x - 2, sy = y + 1; // content moved right by 2 and up by 1
                float expected = fill switch
                {
                    FillMode.Constant => sx < 0 || sy >= h ? -7 : src[sy * w + sx],
                    FillMode.Nearest => src[Math.Min(sy, h - 1) * w + Math.Max(sx, 0)],
                    FillMode.Reflect => src[(sy >= h ? 2 * h - 1 - sy : sy) * w + (sx < 0 ? -1 - sx : sx)],
                    _ => src[(sy % h) * w + (sx + w) % w],
                };
                Assert.Equal(expected, dst[y * w + x]);
            }
    }

    [Fact]
    public void Flips_mirror_the_axes_exactly()
    {
        const int h = 3, w = 4, c = 3;
        var src = Ramp(h, w, c);
        var lr = Warp(src, h, w, c, ImageTransform.Map(h, w, flipHorizontal: true));
        var ud = Warp(src, h, w, c, ImageTransform.Map(h, w, flipVertical: true), Interpolation.Nearest);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                {
                    Assert.Equal(src[(y * w + (w - 1 - x)) * c + k], lr[(y * w + x) * c + k]);
                    Assert.Equal(src[((h - 1 - y) * w + x) * c + k], ud[(y * w + x) * c + k]);
                }
    }

    [Fact]
    public void Fill_modes_map_indices_as_keras_documents()
    {
        // Row a b c d (0..3): reflect d c b a | a b c d | d c b a; wrap a b c d | a b c d | a b c d.
        int[] at = [-5, -4, -1, 0, 3, 4, 7, 8, 12];
        Assert.Equal([3, 3, 0, 0, 3, 3, 0, 0, 3], at.Select(i => ImageWarp.Index(i, 4, FillMode.Reflect)));
        Assert.Equal([3, 0, 3, 0, 3, 0, 3, 0, 0], at.Select(i => ImageWarp.Index(i, 4, FillMode.Wrap)));
        Assert.Equal([0, 0, 0, 0, 3, 3, 3, 3, 3], at.Select(i => ImageWarp.Index(i, 4, FillMode.Nearest)));
        Assert.Equal([-1, -1, -1, 0, 3, -1, -1, -1, -1], at.Select(i => ImageWarp.Index(i, 4, FillMode.Constant)));
    }

    /// <summary>Bilinear sampling written the long way: four neighbours, their weights, the fill rule per neighbour.</summary>
    private static float Reference(float[] src, int h, int w, int c, int k, double xs, double ys, FillMode fill, float fillValue)
    {
        int x0 = (int)Math.Floor(xs), y0 = (int)Math.Floor(ys);
        double fx = xs - x0, fy = ys - y0, sum = 0;
        foreach (var (dx, dy, weight) in new[] { (0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy) })
        {
            int ix = ImageWarp.Index(x0 + dx, w, fill), iy = ImageWarp.Index(y0 + dy, h, fill);
            sum += weight * (ix < 0 || iy < 0 ? fillValue : src[(iy * w + ix) * c + k]);
        }
        return (float)sum;
    }

    [Theory]
    [InlineData(FillMode.Constant)]
    [InlineData(FillMode.Nearest)]
    [InlineData(FillMode.Reflect)]
    [InlineData(FillMode.Wrap)]
    public void Bilinear_sampling_matches_the_reference_for_random_transforms(FillMode fill)
    {
        const int h = 7, w = 9, c = 3;
        var src = TestData.Random(h * w * c, 3);
        var rng = new Rng(5);
        for (int trial = 0; trial < 20; trial++)
        {
            var map = ImageTransform.Map(h, w, rotation: rng.NextFloat() * 6, shear: rng.NextFloat() - 0.5, zoomX: 0.6 + rng.NextFloat(),
                zoomY: 0.6 + rng.NextFloat(), shiftX: 6 * rng.NextFloat() - 3, shiftY: 6 * rng.NextFloat() - 3, flipHorizontal: trial % 2 == 0);
            var dst = Warp(src, h, w, c, map, Interpolation.Bilinear, fill, 0.25f);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double xs = map.A * x + map.B * y + map.C, ys = map.D * x + map.E * y + map.F;
                    for (int k = 0; k < c; k++)
                        Assert.Equal(Reference(src, h, w, c, k, xs, ys, fill, 0.25f), dst[(y * w + x) * c + k], 1e-5f);
                }
        }
    }

    [Theory]
    [InlineData(Interpolation.Bilinear, FillMode.Constant)]
    [InlineData(Interpolation.Bilinear, FillMode.Nearest)]
    [InlineData(Interpolation.Bilinear, FillMode.Reflect)]
    [InlineData(Interpolation.Bilinear, FillMode.Wrap)]
    [InlineData(Interpolation.Nearest, FillMode.Reflect)]
    [InlineData(Interpolation.Nearest, FillMode.Constant)]
    public void Backward_is_the_adjoint_of_forward(Interpolation interpolation, FillMode fill)
    {
        // ⟨W x, g⟩ = ⟨x, Wᵀ g⟩ for the linear part (fill value 0), for random maps and resizes.
        const int h = 6, w = 5, c = 2, oh = 8, ow = 7;
        var rng = new Rng(11);
        for (int trial = 0; trial < 10; trial++)
        {
            var x = TestData.Random(h * w * c, (ulong)(100 + trial));
            var g = TestData.Random(oh * ow * c, (ulong)(200 + trial));
            var map = trial == 0 ? AffineMap.Resize(h, w, oh, ow)
                : ImageTransform.Map(h, w, rotation: rng.NextFloat() * 6, zoomX: 0.5 + rng.NextFloat(), zoomY: 0.5 + rng.NextFloat(), shiftX: rng.NextFloat() * 4 - 2);
            var y = new float[oh * ow * c];
            ImageWarp.Forward(x, h, w, c, y, oh, ow, map, interpolation, fill, 0);
            var dx = new float[h * w * c];
            ImageWarp.Backward(g, h, w, c, dx, oh, ow, map, interpolation, fill);
            double lhs = y.Zip(g, (a, b) => (double)a * b).Sum(), rhs = x.Zip(dx, (a, b) => (double)a * b).Sum();
            Assert.Equal(lhs, rhs, 4);
        }
    }

    [Fact]
    public void Resizing_keeps_a_constant_image_and_the_identity_keeps_any()
    {
        var flat = Enumerable.Repeat(3.5f, 5 * 7).ToArray();
        var up = new float[11 * 13];
        ImageWarp.Forward(flat, 5, 7, 1, up, 11, 13, AffineMap.Resize(5, 7, 11, 13), Interpolation.Bilinear, FillMode.Nearest, 0);
        Assert.All(up, v => Assert.Equal(3.5f, v, 1e-6f));
        var src = TestData.Random(4 * 6 * 3, 9);
        Assert.Equal(src, Warp(src, 4, 6, 3, AffineMap.Resize(4, 6, 4, 6)));
        // Halving a 4×4 ramp averages 2×2 blocks (centres aligned).
        var ramp = Ramp(4, 4, 1);
        var half = new float[4];
        ImageWarp.Forward(ramp, 4, 4, 1, half, 2, 2, AffineMap.Resize(4, 4, 2, 2), Interpolation.Bilinear, FillMode.Nearest, 0);
        Assert.Equal([55f, 75f, 255f, 275f], half);
    }
}

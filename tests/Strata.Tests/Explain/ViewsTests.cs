using Strata.Explain;

namespace Strata.Tests.Explain;

public sealed class ViewsTests
{
    private static (float R, float G, float B) Pixel(Tensor rgb, int y, int x) => (rgb[y, x, 0], rgb[y, x, 1], rgb[y, x, 2]);

    [Fact]
    public void Colorize_of_a_ramp_rises_in_lightness_and_normalizes_unsigned_and_signed_maps()
    {
        // A ramp from −3 to 5 across 40 columns (two identical rows): after min–max normalization, column x is at t = x / 39.
        var ramp = Tensor.Zeros(2, 40);
        var r = ramp.AsWritableSpan();
        for (int i = 0; i < r.Length; i++)
            r[i] = -3 + 8 * (i % 40) / 39f;
        var rgb = Views.Colorize(ramp);
        Assert.Equal(new Shape(2, 40, 3), rgb.Shape);
        float previous = float.NegativeInfinity;
        for (int x = 0; x < 40; x++)
        {
            var c = Pixel(rgb, 1, x);
            float l = ColorMap.ToOklab(c.R, c.G, c.B).L;
            Assert.True(l > previous, $"lightness at column {x} ({l}) does not exceed the column before ({previous})");
            previous = l;
            Assert.Equal(c, Pixel(rgb, 0, x));
        }
        Assert.Equal(ColorMap.Sequential(0), Pixel(rgb, 0, 0));
        Assert.Equal(ColorMap.Sequential(1), Pixel(rgb, 0, 39));
        // [H, W, 1] is the same map.
        Assert.Equal(rgb.ToArray(), Views.Colorize(ramp.Reshape(2, 40, 1)).ToArray());

        // A constant map is all t = 0, without NaN.
        var flat = Views.Colorize(Tensor.Full(7f, 3, 3));
        Assert.All(Enumerable.Range(0, 9), p => Assert.Equal(ColorMap.Sequential(0), Pixel(flat, p / 3, p % 3)));

        // Signed: divided by max |v| = 4, so −4 → −1 (blue end), 2 → 0.5, 0 → white; NaN gets the NaN colour.
        var signedMap = Tensor.FromArray([-4f, 2f, 0f, float.NaN], 2, 2);
        var s = Views.Colorize(signedMap, signed: true);
        Assert.Equal(ColorMap.Diverging(-1), Pixel(s, 0, 0));
        Assert.Equal(ColorMap.Diverging(0.5f), Pixel(s, 0, 1));
        Assert.Equal(ColorMap.Diverging(0), Pixel(s, 1, 0));
        Assert.Equal(ColorMap.NaNColor, Pixel(s, 1, 1));
        Assert.All(Views.Colorize(Tensor.Zeros(2, 2), signed: true).ToArray().Chunk(3), c => Assert.Equal(ColorMap.Diverging(0), (c[0], c[1], c[2])));

        var e = Assert.Throws<ArgumentException>(() => Views.Colorize(Tensor.Zeros(2, 2, 3)));
        Assert.Contains("Views.Colorize", e.Message);
        Assert.Contains("[2, 2, 3]", e.Message);
    }

    [Fact]
    public void Resize_interpolates_bilinearly_with_pixel_centres_aligned()
    {
        // f(x, y) = x + 2y on a 3×4 grid; bilinear interpolation reproduces a linear function exactly, so output pixel
        // (x, y) of a 6×8 resize reads f at the source coordinates (x + 0.5)/2 − 0.5, (y + 0.5)/2 − 0.5, clamped to the edges.
        var map = Tensor.Zeros(3, 4);
        var m = map.AsWritableSpan();
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
                m[y * 4 + x] = x + 2 * y;
        var big = Views.Resize(map, 6, 8);
        Assert.Equal(new Shape(6, 8), big.Shape);
        for (int y = 0; y < 6; y++)
        {
            for (int x = 0; x < 8; x++)
            {
                double xs = Math.Clamp((x + 0.5) / 2 - 0.5, 0, 3), ys = Math.Clamp((y + 0.5) / 2 - 0.5, 0, 2);
                Assert.Equal(xs + 2 * ys, big[y, x], 1e-5);
            }
        }
        Assert.Equal(map.ToArray(), Views.Resize(map, 3, 4).ToArray());
        Assert.Equal(new Shape(6, 8, 1), Views.Resize(map.Reshape(3, 4, 1), 6, 8).Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => Views.Resize(map, 0, 4));
    }

    [Fact]
    public void Overlay_lays_out_image_colour_and_blend_with_white_gaps()
    {
        const int h = 5, w = 6;
        var image = Tensor.RandomUniform([h, w, 3], 0, 1, seed: 4);
        var map = TestData.Tensor(5, 3, 4);
        const float alpha = 0.3f;
        var view = Views.Overlay(image, map, alpha);
        Assert.Equal(new Shape(h, 3 * w + 2 * Views.PanelPad, 3), view.Shape);
        var colour = Views.Colorize(Views.Resize(map, h, w));
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                for (int k = 0; k < 3; k++)
                {
                    Assert.Equal(image[y, x, k], view[y, x, k]);
                    Assert.Equal(colour[y, x, k], view[y, w + Views.PanelPad + x, k]);
                }
            }
            for (int x = 0; x < Views.PanelPad; x++)
            {
                Assert.Equal((1f, 1f, 1f), Pixel(view, y, w + x));
                Assert.Equal((1f, 1f, 1f), Pixel(view, y, 2 * w + Views.PanelPad + x));
            }
        }
        foreach (var (y, x) in new[] { (0, 0), (2, 3), (4, 5), (1, 4) })
        {
            for (int k = 0; k < 3; k++)
                Assert.Equal((1 - alpha) * image[y, x, k] + alpha * colour[y, x, k], view[y, 2 * (w + Views.PanelPad) + x, k], 1e-6f);
        }

        // A grey image is shown as RGB; a map of the image's size is not resized; signed maps use the diverging colours.
        var grey = Tensor.RandomUniform([h, w, 1], 0, 1, seed: 6);
        var same = TestData.Tensor(7, h, w);
        var g = Views.Overlay(grey, same, alpha: 1, signed: true);
        var signedColour = Views.Colorize(same, signed: true);
        Assert.Equal((grey[2, 3, 0], grey[2, 3, 0], grey[2, 3, 0]), Pixel(g, 2, 3));
        Assert.Equal(Pixel(signedColour, 2, 3), Pixel(g, 2, w + Views.PanelPad + 3));
        Assert.Equal(Pixel(signedColour, 2, 3), Pixel(g, 2, 2 * (w + Views.PanelPad) + 3));

        var e = Assert.Throws<ArgumentException>(() => Views.Overlay(image * 255f, map));
        Assert.Contains("Views.Overlay", e.Message);
        Assert.Contains("[0, 1]", e.Message);
        Assert.Contains("[5, 6, 2]", Assert.Throws<ArgumentException>(() => Views.Overlay(Tensor.Zeros(5, 6, 2), map)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Views.Overlay(image, map, alpha: 1.5f));
    }

    [Fact]
    public void Panels_stack_rows_with_white_gaps_and_insist_on_one_shape()
    {
        var a = Views.Overlay(Tensor.Zeros(4, 4, 3), TestData.Tensor(1, 4, 4));
        var b = Views.Overlay(Tensor.Ones(4, 4, 3), TestData.Tensor(2, 2, 2));
        var p = Views.Panels([a, b]);
        Assert.Equal(new Shape(2 * 4 + Views.PanelPad, a.Shape[1], 3), p.Shape);
        int rowFloats = a.Shape[1] * 3;
        Assert.Equal(a.ToArray(), p.ToArray()[..(4 * rowFloats)]);
        Assert.Equal(b.ToArray(), p.ToArray()[((4 + Views.PanelPad) * rowFloats)..]);
        Assert.All(p.ToArray()[(4 * rowFloats)..((4 + Views.PanelPad) * rowFloats)], v => Assert.Equal(1f, v));

        var e = Assert.Throws<ArgumentException>(() => Views.Panels([a, Tensor.Zeros(4, 5, 3)]));
        Assert.Contains(a.Shape.ToString(), e.Message);
        Assert.Contains("[4, 5, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => Views.Panels([]));
    }
}

using Strata.Explain;

namespace Strata.Tests.Explain;

public sealed class ColorMapTests
{
    private static (float L, float A, float B) Lab((float R, float G, float B) c) => ColorMap.ToOklab(c.R, c.G, c.B);

    private static double Distance((float L, float A, float B) p, (float L, float A, float B) q) =>
        Math.Sqrt((p.L - q.L) * (p.L - q.L) + (p.A - q.A) * (p.A - q.A) + (p.B - q.B) * (p.B - q.B));

    private static double Chroma((float L, float A, float B) p) => Math.Sqrt(p.A * p.A + p.B * p.B);

    private static double HueDegrees((float L, float A, float B) p) => (Math.Atan2(p.B, p.A) * 180 / Math.PI + 360) % 360;

    [Fact]
    public void Oklab_matches_published_values_and_round_trips()
    {
        // White is (1, 0, 0) by construction of Ottosson's matrices; CSS Color 4 lists sRGB red as
        // oklab(0.62796 0.22486 0.12585) and sRGB blue as oklab(0.45201 −0.03246 −0.31153).
        var white = ColorMap.ToOklab(1, 1, 1);
        Assert.Equal(1, white.L, 1e-4);
        Assert.Equal(0, white.A, 1e-4);
        Assert.Equal(0, white.B, 1e-4);
        var red = ColorMap.ToOklab(1, 0, 0);
        Assert.Equal(0.62796, red.L, 1e-4);
        Assert.Equal(0.22486, red.A, 1e-4);
        Assert.Equal(0.12585, red.B, 1e-4);
        var blue = ColorMap.ToOklab(0, 0, 1);
        Assert.Equal(0.45201, blue.L, 1e-4);
        Assert.Equal(-0.03246, blue.A, 1e-4);
        Assert.Equal(-0.31153, blue.B, 1e-4);

        var rng = new Rng(3);
        for (int i = 0; i < 200; i++)
        {
            float r = rng.NextFloat(), g = rng.NextFloat(), b = rng.NextFloat();
            var lab = ColorMap.ToOklab(r, g, b);
            var back = ColorMap.FromOklab(lab.L, lab.A, lab.B);
            Assert.Equal(r, back.R, 1e-4f);
            Assert.Equal(g, back.G, 1e-4f);
            Assert.Equal(b, back.B, 1e-4f);
        }
    }

    [Fact]
    public void Sequential_lightness_rises_strictly_and_its_steps_are_near_uniform()
    {
        const int n = 64;
        var lab = Enumerable.Range(0, n).Select(i => Lab(ColorMap.Sequential(i / (float)(n - 1)))).ToArray();
        for (int i = 1; i < n; i++)
            Assert.True(lab[i].L > lab[i - 1].L, $"L at sample {i} ({lab[i].L}) does not exceed sample {i - 1} ({lab[i - 1].L})");
        var steps = Enumerable.Range(1, n - 1).Select(i => Distance(lab[i], lab[i - 1])).ToArray();
        double mean = steps.Average();
        Assert.All(steps, d => Assert.InRange(d, 0.85 * mean, 1.15 * mean));
        // Lightness itself is linear in t (the design), so each step's ΔL is (0.93 − 0.25) / 63 within table rounding.
        Assert.All(Enumerable.Range(1, n - 1), i => Assert.InRange(lab[i].L - lab[i - 1].L, 0.0098, 0.0118));
    }

    [Fact]
    public void Sequential_endpoints_are_the_designed_colours()
    {
        // Designed: t = 0 at Oklab L 0.25, chroma 0.11, hue 300° (blue-purple); t = 1 at L 0.93, chroma 0.18, hue 105° (yellow).
        var dark = Lab(ColorMap.Sequential(0));
        Assert.Equal(0.25, dark.L, 1e-3);
        Assert.Equal(0.11, Chroma(dark), 1e-3);
        Assert.Equal(300, HueDegrees(dark), 0.5);
        var light = Lab(ColorMap.Sequential(1));
        Assert.Equal(0.93, light.L, 1e-3);
        Assert.Equal(0.18, Chroma(light), 1e-3);
        Assert.Equal(105, HueDegrees(light), 0.5);
        // The same points as sRGB bytes (that Oklab point through Ottosson's matrices and the sRGB curve): #2b0c4d, #faee40.
        Assert.Equal([0x2b, 0x0c, 0x4d], Bytes(ColorMap.Sequential(0)));
        Assert.Equal([0xfa, 0xee, 0x40], Bytes(ColorMap.Sequential(1)));
        // Hue passes teal/green in the middle: at t = 0.5 green exceeds red and blue is well above red.
        var mid = ColorMap.Sequential(0.5f);
        Assert.True(mid.G > mid.R && mid.B > mid.R, $"t = 0.5 gives {mid}");
        // Clamping and NaN.
        Assert.Equal(ColorMap.Sequential(0), ColorMap.Sequential(-3));
        Assert.Equal(ColorMap.Sequential(1), ColorMap.Sequential(float.PositiveInfinity));
        Assert.Equal((1f, 0f, 1f), ColorMap.Sequential(float.NaN));
    }

    [Fact]
    public void Both_maps_stay_in_range_and_on_their_designed_lightness()
    {
        // The designed points lie inside the sRGB gamut, so the stored colours convert back to the designed L and chroma.
        var points = Enumerable.Range(0, ColorMap.SequentialEntries)
            .Select(i => (ColorMap.Sequential(i / 255f), ColorMap.SequentialDesign(i / 255.0)))
            .Concat(Enumerable.Range(0, ColorMap.DivergingEntries)
                .Select(i => (ColorMap.Diverging(i / 128f - 1), ColorMap.DivergingDesign(i / 128.0 - 1))));
        foreach (var (c, design) in points)
        {
            Assert.InRange(c.R, 0f, 1f);
            Assert.InRange(c.G, 0f, 1f);
            Assert.InRange(c.B, 0f, 1f);
            var lab = Lab(c);
            Assert.Equal(design.L, lab.L, 1e-3);
            Assert.Equal(design.C, Chroma(lab), 1e-3);
        }
    }

    [Fact]
    public void Diverging_is_symmetric_in_lightness_white_at_zero_blue_below_red_above()
    {
        for (int i = 0; i <= 200; i++)
        {
            float t = i / 200f;
            var pos = Lab(ColorMap.Diverging(t));
            var neg = Lab(ColorMap.Diverging(-t));
            Assert.Equal(pos.L, neg.L, 1e-4f);
            Assert.Equal(Chroma(pos), Chroma(neg), 1e-4);
            if (i > 0)
                Assert.True(pos.L < Lab(ColorMap.Diverging((i - 1) / 200f)).L, $"L does not fall at t = {t}");
        }
        var white = ColorMap.Diverging(0);
        Assert.Equal(0.97, Lab(white).L, 1e-3);
        Assert.True(Chroma(Lab(white)) < 1e-3);
        var (r, g, b) = ColorMap.Diverging(1);
        Assert.True(r > 0.6f && g < 0.3f && b < 0.3f, $"+1 gives ({r}, {g}, {b})");
        (r, g, b) = ColorMap.Diverging(-1);
        Assert.True(b > 0.6f && r < 0.2f && g < 0.5f, $"−1 gives ({r}, {g}, {b})");
        Assert.Equal(ColorMap.Diverging(1), ColorMap.Diverging(5));
        Assert.Equal(ColorMap.Diverging(-1), ColorMap.Diverging(float.NegativeInfinity));
        Assert.Equal(ColorMap.NaNColor, ColorMap.Diverging(float.NaN));
    }

    private static byte[] Bytes((float R, float G, float B) c) =>
        [(byte)MathF.Round(c.R * 255), (byte)MathF.Round(c.G * 255), (byte)MathF.Round(c.B * 255)];
}

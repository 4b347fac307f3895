namespace Strata.Explain;

/// <summary>
/// Colour maps for attribution and activation maps, computed from formulas in the Oklab colour space
/// (Björn Ottosson, 2020), where Euclidean distance approximates perceived colour difference.
/// <see cref="Sequential"/> is a viridis-like map for unsigned values (dark blue-purple through teal and
/// green to yellow, lightness rising linearly); <see cref="Diverging"/> a blue–white–red map for signed
/// ones. Both return sRGB-encoded channels in [0, 1] (the values a PNG stores, divided by 255) and interpolate
/// in precomputed tables, so they are cheap enough to call per pixel.
/// </summary>
public static class ColorMap
{
    /// <summary>Entries in the <see cref="Sequential"/> table: the colours at 256 evenly spaced t, interpolated linearly between.</summary>
    public const int SequentialEntries = 256;

    /// <summary>
    /// Entries in the <see cref="Diverging"/> table: the colours at 257 evenly spaced t, interpolated linearly between;
    /// an odd count, so that 0 has an entry of its own and t and −t read mirrored entries.
    /// </summary>
    public const int DivergingEntries = 257;

    // The sequential path: L(t) = L0 + (L1 − L0)·t; chroma C(t) = c0 + c1·t + c2·t², which dips to ≈ 0.085 where
    // the sRGB gamut is narrowest (teal at L ≈ 0.5 holds little more than 0.09) and rises to 0.18 at the yellow
    // end; hue from H0 to H1 at a rate proportional to 1/C(t), so the hue term C·dh of every step is the same
    // and the Oklab steps stay near uniform although the chroma varies.
    private const double SeqL0 = 0.25, SeqL1 = 0.93;
    private const double SeqC0 = 0.11, SeqC1 = -0.146, SeqC2 = 0.216;
    private const double SeqH0 = 300, SeqH1 = 105; // degrees: blue-purple → yellow, turning through blue, teal, green

    // The diverging path: from near-white (L = 0.97, no chroma) along straight lines in Oklab to blue (t = −1)
    // and red (t = +1), both at L = 0.5 and chroma 0.17, so lightness and chroma depend on |t| only.
    private const double DivLCentre = 0.97, DivLEnd = 0.5, DivCEnd = 0.17;
    private const double DivHueNegative = 258, DivHuePositive = 27; // degrees: blue, red

    private static readonly float[] SequentialTable = BuildTable(SequentialEntries, i => SequentialDesign((double)i / (SequentialEntries - 1)));
    private static readonly float[] DivergingTable = BuildTable(DivergingEntries, i => DivergingDesign(2.0 * i / (DivergingEntries - 1) - 1));

    /// <summary>The colour both maps give NaN: magenta (1, 0, 1), which neither map contains.</summary>
    public static (float R, float G, float B) NaNColor => (1f, 0f, 1f);

    /// <summary>
    /// The sequential map at <paramref name="t"/> in [0, 1] (clamped outside; NaN gives <see cref="NaNColor"/>):
    /// Oklab lightness 0.25 + 0.68·t, hue from blue-purple (300°) through teal and green to yellow (105°),
    /// chroma kept inside the sRGB gamut. Interpolated in a table of <see cref="SequentialEntries"/> entries.
    /// </summary>
    /// <returns>sRGB-encoded red, green and blue in [0, 1].</returns>
    public static (float R, float G, float B) Sequential(float t)
    {
        if (float.IsNaN(t))
            return NaNColor;
        return Lookup(SequentialTable, Math.Clamp(t, 0f, 1f) * (SequentialEntries - 1));
    }

    /// <summary>
    /// The diverging map at <paramref name="t"/> in [−1, 1] (clamped outside; NaN gives <see cref="NaNColor"/>):
    /// blue at −1, near-white (Oklab L = 0.97) at 0, red at +1, with lightness 0.97 − 0.47·|t| and chroma
    /// 0.17·|t| on both sides. Interpolated in a table of <see cref="DivergingEntries"/> entries.
    /// </summary>
    /// <returns>sRGB-encoded red, green and blue in [0, 1].</returns>
    public static (float R, float G, float B) Diverging(float t)
    {
        if (float.IsNaN(t))
            return NaNColor;
        return Lookup(DivergingTable, (Math.Clamp(t, -1f, 1f) + 1) * ((DivergingEntries - 1) / 2));
    }

    /// <summary>
    /// Converts an sRGB-encoded colour (channels in [0, 1]) to Oklab: the sRGB transfer function undone,
    /// then Ottosson's linear sRGB → LMS matrix, cube roots, and the LMS′ → Lab matrix. White gives (1, 0, 0).
    /// </summary>
    public static (float L, float A, float B) ToOklab(float r, float g, float b)
    {
        var (l, a, bb) = LinearToOklab(Decode(r), Decode(g), Decode(b));
        return ((float)l, (float)a, (float)bb);
    }

    /// <summary>
    /// Converts an Oklab colour to sRGB-encoded channels, each clamped to [0, 1] (colours outside the sRGB
    /// gamut are clipped per channel): Ottosson's Lab → LMS′ matrix, cubes, LMS → linear sRGB, then the
    /// sRGB transfer function.
    /// </summary>
    public static (float R, float G, float B) FromOklab(float l, float a, float b)
    {
        var (r, g, bl) = OklabToLinear(l, a, b);
        return ((float)Encode(Math.Clamp(r, 0, 1)), (float)Encode(Math.Clamp(g, 0, 1)), (float)Encode(Math.Clamp(bl, 0, 1)));
    }

    /// <summary>The sequential map's designed Oklab point at t (before any gamut check).</summary>
    internal static (double L, double C, double HueDegrees) SequentialDesign(double t)
    {
        double chroma = SeqC0 + SeqC1 * t + SeqC2 * t * t;
        return (SeqL0 + (SeqL1 - SeqL0) * t, chroma, SeqH0 + (SeqH1 - SeqH0) * InverseChromaIntegral(t) / InverseChromaIntegral(1));
    }

    /// <summary>The diverging map's designed Oklab point at t (before any gamut check).</summary>
    internal static (double L, double C, double HueDegrees) DivergingDesign(double t)
    {
        double u = Math.Abs(t);
        return (DivLCentre - (DivLCentre - DivLEnd) * u, DivCEnd * u, t < 0 ? DivHueNegative : DivHuePositive);
    }

    // ∫₀ᵗ ds / C(s) for the quadratic C (no real roots: 4·c0·c2 > c1²), in closed form through atan.
    private static double InverseChromaIntegral(double t)
    {
        double d = Math.Sqrt(4 * SeqC0 * SeqC2 - SeqC1 * SeqC1);
        return 2 / d * (Math.Atan((2 * SeqC2 * t + SeqC1) / d) - Math.Atan(SeqC1 / d));
    }

    private static float[] BuildTable(int entries, Func<int, (double L, double C, double HueDegrees)> point)
    {
        var table = new float[entries * 3];
        for (int i = 0; i < entries; i++)
        {
            var (l, c, hue) = point(i);
            var (r, g, b) = InGamut(l, c, hue * Math.PI / 180);
            table[3 * i] = (float)Encode(r);
            table[3 * i + 1] = (float)Encode(g);
            table[3 * i + 2] = (float)Encode(b);
        }
        return table;
    }

    /// <summary>
    /// The linear sRGB colour of (L, C, h), with the chroma reduced (bisection, lightness and hue kept) when the
    /// point lies outside the gamut. The designed paths stay inside, so this is a guard, not a shaping step.
    /// </summary>
    private static (double R, double G, double B) InGamut(double l, double c, double hue)
    {
        var rgb = OklabToLinear(l, c * Math.Cos(hue), c * Math.Sin(hue));
        if (!Inside(rgb))
        {
            double lo = 0, hi = c;
            for (int k = 0; k < 40; k++)
            {
                double mid = 0.5 * (lo + hi);
                if (Inside(OklabToLinear(l, mid * Math.Cos(hue), mid * Math.Sin(hue))))
                    lo = mid;
                else
                    hi = mid;
            }
            rgb = OklabToLinear(l, lo * Math.Cos(hue), lo * Math.Sin(hue));
        }
        return (Math.Clamp(rgb.R, 0, 1), Math.Clamp(rgb.G, 0, 1), Math.Clamp(rgb.B, 0, 1));
    }

    private static bool Inside((double R, double G, double B) c) =>
        c.R is >= 0 and <= 1 && c.G is >= 0 and <= 1 && c.B is >= 0 and <= 1;

    /// <summary>The table read at a fractional entry: linear interpolation between the two entries around it (exact at whole positions).</summary>
    private static (float R, float G, float B) Lookup(float[] table, float position)
    {
        int i = Math.Min((int)position, table.Length / 3 - 2);
        float f = position - i, e = 1 - f;
        int j = 3 * i;
        return (e * table[j] + f * table[j + 3], e * table[j + 1] + f * table[j + 4], e * table[j + 2] + f * table[j + 5]);
    }

    // Ottosson's matrices (https://bottosson.github.io/posts/oklab/), linear sRGB ↔ Oklab.
    private static (double L, double A, double B) LinearToOklab(double r, double g, double b)
    {
        double l = Math.Cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
        double m = Math.Cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
        double s = Math.Cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
        return (0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
            1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
            0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s);
    }

    private static (double R, double G, double B) OklabToLinear(double lightness, double a, double b)
    {
        double l = lightness + 0.3963377774 * a + 0.2158037573 * b;
        double m = lightness - 0.1055613458 * a - 0.0638541728 * b;
        double s = lightness - 0.0894841775 * a - 1.2914855480 * b;
        l = l * l * l;
        m = m * m * m;
        s = s * s * s;
        return (4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
            -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
            -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s);
    }

    // The sRGB transfer function (IEC 61966-2-1): linear light → encoded value, and back.
    private static double Encode(double x) => x <= 0.0031308 ? 12.92 * x : 1.055 * Math.Pow(x, 1 / 2.4) - 0.055;

    private static double Decode(double x) => x <= 0.04045 ? x / 12.92 : Math.Pow((x + 0.055) / 1.055, 2.4);
}

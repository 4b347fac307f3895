using Strata.Data;
using Strata.Kernels;

namespace Strata.Explain;

/// <summary>
/// Pictures of what a network sees and computes, as image tensors ready for
/// <see cref="Images.SavePng"/>: attribution maps coloured and laid over their image
/// (<see cref="Colorize"/>, <see cref="Overlay"/>, <see cref="Panels"/>), a layer's activations
/// (<see cref="FeatureMaps"/>) and a convolution's kernels (<see cref="Filters(Tensor, int, int)"/>).
/// Images are float HWC (channels last) with values in [0, 1]; maps are [height, width].
/// </summary>
public static partial class Views
{
    /// <summary>The white pixels between the panels of <see cref="Overlay"/>, the rows of <see cref="Panels"/> and the tiles of a grid.</summary>
    public const int PanelPad = 2;

    /// <summary>
    /// Colours a map [height, width] (or [height, width, 1]) as an RGB image [height, width, 3].
    /// Unsigned: min–max normalized to [0, 1] through <see cref="ColorMap.Sequential"/> (a constant map is all 0).
    /// Signed: divided by the largest |value| through <see cref="ColorMap.Diverging"/>, so 0 stays white and the
    /// sign shows as red (positive) or blue (negative); an all-zero map is all white.
    /// Only finite values set the scale: +∞ and −∞ take the map's ends, NaN gets <see cref="ColorMap.NaNColor"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The map is not [height, width] or [height, width, 1].</exception>
    public static Tensor Colorize(Tensor map, bool signed = false)
    {
        ArgumentNullException.ThrowIfNull(map);
        var (h, w) = MapSize(map, nameof(Colorize));
        var v = map.Span;
        var result = Tensor.Zeros(h, w, 3);
        var rgb = result.AsWritableSpan();
        if (signed)
        {
            float scale = MaxAbs(v);
            for (int i = 0; i < v.Length; i++)
                Put(rgb, i, ColorMap.Diverging(scale > 0 ? v[i] / scale : float.IsNaN(v[i]) ? v[i] : MathF.Sign(v[i])));
        }
        else
        {
            var (min, max) = FiniteRange(v);
            double range = (double)max - min; // in double: the difference of two finite floats can overflow float
            for (int i = 0; i < v.Length; i++)
            {
                float x = v[i];
                Put(rgb, i, ColorMap.Sequential(float.IsNaN(x) ? x : range > 0 ? (float)((x - (double)min) / range) : x > max ? 1 : 0));
            }
        }
        return result;
    }

    /// <summary>
    /// Resizes a map [h, w] (or an image [h, w, channels]) to [height, width] (with the same channels) by bilinear
    /// interpolation with pixel centres aligned, through the warp kernel <see cref="Images.Load"/> resizes with.
    /// Shrinking does not low-pass first, so it samples rather than averages.
    /// </summary>
    /// <exception cref="ArgumentException">The map has rank other than 2 or 3, or is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Height or width is below 1.</exception>
    public static Tensor Resize(Tensor map, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Rank is not (2 or 3) || map.Size == 0)
            throw new ArgumentException($"Views.Resize: expected a map [h, w] or an image [h, w, channels], got {map.Shape}", nameof(map));
        if (height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(height < 1 ? nameof(height) : nameof(width), $"Views.Resize: expected a size of at least 1×1, got {height}×{width}");
        int h = map.Shape[0], w = map.Shape[1], c = map.Rank == 3 ? map.Shape[2] : 1;
        var result = Tensor.Zeros(map.Rank == 3 ? [height, width, c] : [height, width]);
        if (h == height && w == width)
            map.Span.CopyTo(result.AsWritableSpan());
        else
            ImageWarp.Forward(map.Span, h, w, c, result.AsWritableSpan(), height, width, AffineMap.Resize(h, w, height, width),
                Interpolation.Bilinear, FillMode.Nearest, 0);
        return result;
    }

    /// <summary>
    /// Three panels side by side, <see cref="PanelPad"/> white pixels apart: the image, the coloured map
    /// (<see cref="Colorize"/> of the map, resized bilinearly to the image's size when it differs), and the blend
    /// (1 − <paramref name="alpha"/>)·image + <paramref name="alpha"/>·colour. A grey image is shown as RGB.
    /// </summary>
    /// <param name="image">[H, W], [H, W, 1] or [H, W, 3], values in [0, 1].</param>
    /// <param name="map">[h, w] or [h, w, 1], any values (an attribution or activation map).</param>
    /// <param name="alpha">The map's weight in the blend, in [0, 1].</param>
    /// <param name="signed">Colour the map with the diverging map (for signed attributions) instead of the sequential one.</param>
    /// <returns>An RGB image [H, 3·W + 2·<see cref="PanelPad"/>, 3].</returns>
    /// <exception cref="ArgumentException">A shape is not one of those above, or an image value lies outside [0, 1].</exception>
    /// <exception cref="ArgumentOutOfRangeException">Alpha is outside [0, 1].</exception>
    public static Tensor Overlay(Tensor image, Tensor map, float alpha = 0.5f, bool signed = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(map);
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), $"Views.Overlay: expected alpha in [0, 1], got {alpha}");
        int c = image.Rank == 2 ? 1 : image.Rank == 3 ? image.Shape[2] : 0;
        if (c is not (1 or 3) || image.Size == 0)
            throw new ArgumentException($"Views.Overlay: expected an image [H, W], [H, W, 1] or [H, W, 3], got {image.Shape}", nameof(image));
        int h = image.Shape[0], w = image.Shape[1];
        var px = image.Span;
        for (int i = 0; i < px.Length; i++)
        {
            if (!(px[i] >= 0 && px[i] <= 1))
                throw new ArgumentException($"Views.Overlay: expected image values in [0, 1] (divide 0–255 images by 255), got {px[i]} at element {i} of {image.Shape}", nameof(image));
        }
        var (mh, mw) = MapSize(map, nameof(Overlay));
        var colour = Colorize(mh == h && mw == w ? map : Resize(map, h, w), signed).Span;

        // Panels [3, H, W, 3]: image, colour, blend; Images.Grid lays them out with the white gaps.
        int n = h * w * 3;
        var panels = new float[3 * n];
        for (int p = 0; p < h * w; p++)
        {
            for (int k = 0; k < 3; k++)
            {
                float x = px[p * c + (c == 3 ? k : 0)], y = colour[p * 3 + k];
                panels[p * 3 + k] = x;
                panels[n + p * 3 + k] = y;
                panels[2 * n + p * 3 + k] = (1 - alpha) * x + alpha * y;
            }
        }
        return Images.Grid(new Tensor(panels, new Shape(3, h, w, 3)), columns: 3, pad: PanelPad, padValue: 1);
    }

    /// <summary>
    /// Stacks images of one shape (such as <see cref="Overlay"/> rows for several examples) top to bottom,
    /// <see cref="PanelPad"/> white pixels apart, through <see cref="Images.Grid"/>.
    /// </summary>
    /// <param name="rows">Images [H, W] or [H, W, channels], all of the same shape.</param>
    /// <returns>[n·(H + pad) − pad, W(, channels)].</returns>
    /// <exception cref="ArgumentException">No rows, a row that is not an image, or rows of different shapes.</exception>
    public static Tensor Panels(IReadOnlyList<Tensor> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
            throw new ArgumentException("Views.Panels: expected at least one row, got none", nameof(rows));
        var shape = rows[0].Shape;
        if (shape.Rank is not (2 or 3) || shape.Size == 0)
            throw new ArgumentException($"Views.Panels: expected rows [H, W] or [H, W, channels], got {shape} at row 0", nameof(rows));
        var all = new float[rows.Count * shape.Size];
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Shape != shape)
                throw new ArgumentException($"Views.Panels: expected every row to be {shape} like row 0, got {rows[i].Shape} at row {i}", nameof(rows));
            rows[i].Span.CopyTo(all.AsSpan(i * shape.Size));
        }
        return Images.Grid(new Tensor(all, new Shape([rows.Count, .. shape.Dims])), columns: 1, pad: PanelPad, padValue: 1);
    }

    /// <summary>The height and width of a map [h, w] or [h, w, 1]; throws naming the calling method otherwise.</summary>
    private static (int Height, int Width) MapSize(Tensor map, string method)
    {
        if (map.Rank is not (2 or 3) || (map.Rank == 3 && map.Shape[2] != 1) || map.Size == 0)
            throw new ArgumentException($"Views.{method}: expected a map [H, W] or [H, W, 1], got {map.Shape}", nameof(map));
        return (map.Shape[0], map.Shape[1]);
    }

    private static void Put(Span<float> rgb, int pixel, (float R, float G, float B) c)
    {
        rgb[3 * pixel] = c.R;
        rgb[3 * pixel + 1] = c.G;
        rgb[3 * pixel + 2] = c.B;
    }

    /// <summary>The smallest and largest finite value (+∞ and −∞ when there is none).</summary>
    internal static (float Min, float Max) FiniteRange(ReadOnlySpan<float> v)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float x in v)
        {
            if (float.IsFinite(x))
            {
                min = Math.Min(min, x);
                max = Math.Max(max, x);
            }
        }
        return (min, max);
    }

    /// <summary>The largest finite |value| (0 when there is none).</summary>
    internal static float MaxAbs(ReadOnlySpan<float> v)
    {
        float m = 0;
        foreach (float x in v)
        {
            if (float.IsFinite(x))
                m = Math.Max(m, Math.Abs(x));
        }
        return m;
    }
}

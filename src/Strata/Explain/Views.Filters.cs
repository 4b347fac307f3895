using Strata.Data;
using Strata.Kernels;
using Strata.Layers;
using Strata.Models;

namespace Strata.Explain;

public static partial class Views
{
    /// <summary>
    /// The channels of one sample's activations [h, w, c] (a convolution's output; [1, h, w, c] is taken too)
    /// as a grey grid of c tiles, channel k at row k / columns, column k % columns, <see cref="PanelPad"/> white
    /// pixels apart (<see cref="Images.Grid"/>). Each channel is min–max normalized on its own over its finite
    /// values (a constant channel is all 0; +∞ shows as 1, −∞ and NaN as 0), then enlarged
    /// <paramref name="scale"/> times by repeating pixels.
    /// </summary>
    /// <returns>A grey image [rows·(h·scale + pad) − pad, columns·(w·scale + pad) − pad, 1].</returns>
    /// <exception cref="ArgumentException">The activations are not [h, w, c] or [1, h, w, c].</exception>
    /// <exception cref="ArgumentOutOfRangeException">Columns or scale is below 1.</exception>
    public static Tensor FeatureMaps(Tensor activations, int columns = 8, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(activations);
        bool batchOfOne = activations.Rank == 4 && activations.Shape[0] == 1;
        if ((activations.Rank != 3 && !batchOfOne) || activations.Size == 0)
            throw new ArgumentException($"Views.FeatureMaps: expected one sample's activations [h, w, c] or [1, h, w, c], got {activations.Shape}", nameof(activations));
        CheckGrid(nameof(FeatureMaps), columns, scale);
        var dims = activations.Shape.Dims[^3..];
        int h = dims[0], w = dims[1], c = dims[2];
        var a = activations.Span;
        var tiles = new float[c * h * w];
        var channel = new float[h * w];
        for (int k = 0; k < c; k++)
        {
            for (int p = 0; p < h * w; p++)
                channel[p] = a[p * c + k];
            var (min, max) = FiniteRange(channel);
            double range = (double)max - min;
            var tile = tiles.AsSpan(k * h * w, h * w);
            for (int p = 0; p < h * w; p++)
            {
                float x = channel[p];
                tile[p] = float.IsNaN(x) ? 0 : range > 0 ? (float)Math.Clamp((x - (double)min) / range, 0, 1) : x > max ? 1 : 0;
            }
        }
        return GridOf(tiles, c, h, w, 1, columns, scale);
    }

    /// <summary>
    /// The kernels of a convolution [kh, kw, cin, cout] (<see cref="Conv2D"/>'s layout) as a grid of cout tiles in
    /// output-channel order, <see cref="PanelPad"/> white pixels apart: RGB when cin = 3 (input channel i as colour
    /// i), grey when cin = 1, otherwise grey of the mean over the input channels. Each tile is scaled symmetrically,
    /// 0.5 + 0.5·w / max|w| over the tile, so a zero weight is mid-grey, positive weights brighter and negative
    /// darker (an all-zero tile is mid-grey; NaN shows as 0), then enlarged <paramref name="scale"/> times by
    /// repeating pixels.
    /// </summary>
    /// <returns>[rows·(kh·scale + pad) − pad, columns·(kw·scale + pad) − pad, 3 when cin = 3 else 1].</returns>
    /// <exception cref="ArgumentException">The kernel is not of rank 4 or is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Columns or scale is below 1.</exception>
    public static Tensor Filters(Tensor kernel, int columns = 8, int scale = 8)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.Rank != 4 || kernel.Size == 0)
            throw new ArgumentException($"Views.Filters: expected a Conv2D kernel [kh, kw, cin, cout], got {kernel.Shape}", nameof(kernel));
        CheckGrid(nameof(Filters), columns, scale);
        int kh = kernel.Shape[0], kw = kernel.Shape[1], cin = kernel.Shape[2], cout = kernel.Shape[3];
        int c = cin == 3 ? 3 : 1, taps = kh * kw;
        var k = kernel.Span;
        var tiles = new float[cout * taps * c];
        for (int o = 0; o < cout; o++)
        {
            var tile = tiles.AsSpan(o * taps * c, taps * c);
            for (int p = 0; p < taps; p++)
            {
                if (c == 3)
                {
                    for (int i = 0; i < 3; i++)
                        tile[p * 3 + i] = k[(p * cin + i) * cout + o];
                }
                else
                {
                    double sum = 0;
                    for (int i = 0; i < cin; i++)
                        sum += k[(p * cin + i) * cout + o];
                    tile[p] = (float)(sum / cin);
                }
            }
            float m = MaxAbs(tile);
            for (int j = 0; j < tile.Length; j++)
                tile[j] = float.IsNaN(tile[j]) ? 0 : m > 0 ? Math.Clamp(0.5f + 0.5f * (tile[j] / m), 0, 1) : tile[j] > 0 ? 1 : tile[j] < 0 ? 0 : 0.5f;
        }
        return GridOf(tiles, cout, kh, kw, c, columns, scale);
    }

    /// <summary>
    /// <see cref="Filters(Tensor, int, int)"/> of a model's <see cref="Conv2D"/> layer: the one named
    /// <paramref name="layerName"/>, or the first Conv2D in <see cref="Model.Layers"/> when it is null.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// No layer has that name, it is not a Conv2D, or the model has no Conv2D (the message lists the Conv2D layers there are).
    /// </exception>
    /// <exception cref="InvalidOperationException">The layer is not built yet.</exception>
    public static Tensor Filters(Model model, string? layerName = null, int columns = 8, int scale = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layer = (Conv2D)LayerLookup.Find("Views.Filters", model, layerName, l => l is Conv2D, "a Conv2D layer", first: true);
        return Filters(layer.Kernel.Value, columns, scale);
    }

    private static void CheckGrid(string method, int columns, int scale)
    {
        if (columns < 1)
            throw new ArgumentOutOfRangeException(nameof(columns), $"Views.{method}: expected at least 1 column, got {columns}");
        if (scale < 1)
            throw new ArgumentOutOfRangeException(nameof(scale), $"Views.{method}: expected a scale of at least 1, got {scale}");
    }

    /// <summary>Tiles [n, h, w, c] enlarged by <paramref name="scale"/> (nearest, through the warp kernel) and laid out by Images.Grid, as [H, W, c].</summary>
    private static Tensor GridOf(float[] tiles, int n, int h, int w, int c, int columns, int scale)
    {
        if (scale > 1)
        {
            int sh = h * scale, sw = w * scale;
            var big = new float[n * sh * sw * c];
            // NOTE: at an integer scale the nearest source of output x is floor((x + 0.5) / scale) = x / scale: exact pixel repetition.
            var map = AffineMap.Resize(h, w, sh, sw);
            for (int i = 0; i < n; i++)
                ImageWarp.Forward(tiles.AsSpan(i * h * w * c, h * w * c), h, w, c, big.AsSpan(i * sh * sw * c, sh * sw * c), sh, sw, map,
                    Interpolation.Nearest, FillMode.Nearest, 0);
            (tiles, h, w) = (big, sh, sw);
        }
        var grid = Images.Grid(new Tensor(tiles, new Shape(n, h, w, c)), columns, PanelPad, padValue: 1);
        return grid;
    }
}

using Strata.Explain;
using Strata.Layers;
using Strata.Models;

namespace Strata.Tests.Explain;

public sealed class ViewsFiltersTests
{
    [Fact]
    public void FeatureMaps_tile_k_is_channel_k_normalized_on_its_own()
    {
        const int h = 3, w = 4, c = 5, columns = 3;
        var act = TestData.Tensor(8, h, w, c) * 10f;
        var a = act.AsWritableSpan();
        for (int p = 0; p < h * w; p++)
            a[p * c + 2] = 1.5f; // channel 2 constant → all 0
        var grid = Views.FeatureMaps(act, columns);
        // 5 tiles in 3 columns: 2 rows; [2·(3 + 2) − 2, 3·(4 + 2) − 2, 1].
        Assert.Equal(new Shape(8, 16, 1), grid.Shape);
        for (int k = 0; k < c; k++)
        {
            var channel = Enumerable.Range(0, h * w).Select(p => act.Span[p * c + k]).ToArray();
            float min = channel.Min(), max = channel.Max();
            int top = k / columns * (h + Views.PanelPad), left = k % columns * (w + Views.PanelPad);
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    float expected = k == 2 ? 0 : (channel[y * w + x] - min) / (max - min);
                    Assert.Equal(expected, grid[top + y, left + x, 0], 1e-6f);
                }
            }
        }
        Assert.Equal(1f, grid[0, w, 0]); // the gap between tiles is white
        Assert.Equal(grid.ToArray(), Views.FeatureMaps(act.Reshape(1, h, w, c), columns).ToArray());

        // scale 2 repeats each pixel in a 2×2 block.
        var big = Views.FeatureMaps(act, columns, scale: 2);
        Assert.Equal(new Shape(2 * (2 * h + 2) - 2, 3 * (2 * w + 2) - 2, 1), big.Shape);
        for (int y = 0; y < 2 * h; y++)
            for (int x = 0; x < 2 * w; x++)
                Assert.Equal(grid[y / 2, x / 2, 0], big[y, x, 0]);

        Assert.Contains("[2, 3, 4, 5]", Assert.Throws<ArgumentException>(() => Views.FeatureMaps(Tensor.Zeros(2, 3, 4, 5))).Message);
    }

    [Fact]
    public void Filters_show_the_sign_around_mid_grey_in_output_channel_order()
    {
        // Kernel [2, 2, 1, 3]: filter 0 = [[2, 0], [0, −1]], filter 1 = 0, filter 2 = [[−4, 0], [1, 0]].
        var kernel = Tensor.Zeros(2, 2, 1, 3);
        var k = kernel.AsWritableSpan();
        k[0 * 3 + 0] = 2;
        k[3 * 3 + 0] = -1;
        k[0 * 3 + 2] = -4;
        k[2 * 3 + 2] = 1;
        var grid = Views.Filters(kernel, columns: 8, scale: 1);
        Assert.Equal(new Shape(2, 3 * 2 + 2 * Views.PanelPad, 1), grid.Shape);
        float Tile(int o, int y, int x) => grid[y, o * (2 + Views.PanelPad) + x, 0];
        // Each tile is 0.5 + 0.5·w / max|w| of its own weights.
        Assert.Equal(1f, Tile(0, 0, 0));
        Assert.Equal(0.5f, Tile(0, 0, 1));
        Assert.Equal(0.25f, Tile(0, 1, 1));
        Assert.All(new[] { Tile(1, 0, 0), Tile(1, 0, 1), Tile(1, 1, 0), Tile(1, 1, 1) }, v => Assert.Equal(0.5f, v));
        Assert.Equal(0f, Tile(2, 0, 0));
        Assert.Equal(0.625f, Tile(2, 1, 0));
        Assert.True(Tile(0, 0, 0) > 0.5f && Tile(0, 1, 1) < 0.5f && Tile(2, 1, 0) > 0.5f && Tile(2, 0, 0) < 0.5f);

        // scale 3: each weight a 3×3 block.
        var big = Views.Filters(kernel, columns: 2, scale: 3);
        Assert.Equal(new Shape(2 * 6 + Views.PanelPad, 2 * 6 + Views.PanelPad, 1), big.Shape);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++)
                Assert.Equal(Tile(0, y / 3, x / 3), big[y, x, 0]);
        Assert.Equal(Tile(2, 1, 0), big[6 + Views.PanelPad + 4, 1, 0]); // filter 2 starts the second row

        // Three input channels give RGB tiles (input channel i in colour i); other counts the mean, in grey.
        var rgbKernel = Tensor.Zeros(1, 1, 3, 1);
        rgbKernel.AsWritableSpan()[0] = 1;
        rgbKernel.AsWritableSpan()[2] = -1;
        var rgb = Views.Filters(rgbKernel, scale: 1);
        Assert.Equal(new Shape(1, 1, 3), rgb.Shape);
        Assert.Equal([1f, 0.5f, 0f], rgb.ToArray());
        var two = Tensor.FromArray([3f, 1f, -1f, -1f], 1, 2, 2, 1); // taps (0, 0): mean 2, (0, 1): mean −1
        Assert.Equal([1f, 0.25f], Views.Filters(two, scale: 1).ToArray());

        Assert.Contains("[3, 3, 4]", Assert.Throws<ArgumentException>(() => Views.Filters(Tensor.Zeros(3, 3, 4))).Message);
    }

    [Fact]
    public void Filters_of_a_model_pick_the_first_Conv2D_or_the_named_one_and_explain_a_wrong_name()
    {
        var model = new Sequential(
        [
            new Dense(3, name: "embed"),
            new Conv2D(4, 3, name: "first"),
            new Conv2D(2, 3, name: "second"),
            new Flatten(),
            new Dense(3, name: "head"),
        ], seed: 2);
        model.Build(8, 8, 1);
        var first = (Conv2D)model.Layers[1];
        var second = (Conv2D)model.Layers[2];
        Assert.Equal(Views.Filters(first.Kernel.Value, columns: 4, scale: 2).ToArray(), Views.Filters(model, columns: 4, scale: 2).ToArray());
        var named = Views.Filters(model, "second");
        Assert.Equal(Views.Filters(second.Kernel.Value).ToArray(), named.ToArray());
        Assert.Equal(Views.Filters(second.Kernel.Value).Shape, new Shape(3 * 8, 2 * 3 * 8 + Views.PanelPad, 1));

        var dense = Assert.Throws<ArgumentException>(() => Views.Filters(model, "head"));
        Assert.Contains("'head'", dense.Message);
        Assert.Contains("Dense", dense.Message);
        Assert.Contains("first, second", dense.Message);
        var missing = Assert.Throws<ArgumentException>(() => Views.Filters(model, "third"));
        Assert.Contains("'third'", missing.Message);
        Assert.Contains("first, second", missing.Message);

        var noConv = new Sequential([new Dense(2, name: "only")], seed: 1);
        noConv.Build(3);
        Assert.Contains("no Conv2D", Assert.Throws<ArgumentException>(() => Views.Filters(noConv)).Message);
    }
}

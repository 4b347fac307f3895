using Strata.Kernels;

namespace Strata.Tests.Kernels;

/// <summary>The convolution engine and the pooling kernels against plain loops, on every code path.</summary>
[Collection(ProcessWideSettingsCollection.Name)] // switches ConvolutionEngine.Force
public sealed class ConvolutionKernelTests
{
    // (n, h, w, c, kh, kw, f, stride h, stride w, dilation h, dilation w, same)
    public static TheoryData<int[], bool> Geometries => new()
    {
        { [3, 7, 7, 1, 3, 3, 4, 1, 1, 1, 1], false },   // one channel: runs of KW floats
        { [5, 6, 5, 3, 3, 3, 5, 1, 1, 1, 1], true },    // padding on every side
        { [3, 8, 9, 2, 3, 2, 3, 2, 2, 1, 1], true },    // stride 2, extra padding bottom/right
        { [4, 10, 10, 3, 3, 3, 4, 1, 1, 2, 2], true },  // dilation with padding
        { [3, 6, 6, 5, 1, 1, 7, 1, 1, 1, 1], false },   // pointwise: the images multiplied in place
        { [2, 6, 6, 5, 1, 1, 3, 2, 2, 1, 1], false },   // 1×1 with stride 2: not pointwise
        { [7, 30, 30, 16, 3, 3, 8, 1, 1, 1, 1], true }, // several chunks per strip
        { [3, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1], true },   // one filter (a generator's last layer): the narrow kernel by default
        { [3, 8, 11, 5, 3, 3, 3, 2, 1, 2, 1], true },   // three filters, stride 2 down, dilation 2 across
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Engine_forward_and_backward_match_the_loops_on_1_2_and_3_threads_with_every_kernel(int[] d, bool same)
    {
        try
        {
            foreach (ConvKernel? kernel in new ConvKernel?[] { null, ConvKernel.Direct, ConvKernel.Gemm, ConvKernel.Narrow })
            {
                ConvolutionEngine.Force = kernel;
                CheckEngine(d, same, kernel);
            }
        }
        finally
        {
            ConvolutionEngine.Force = null;
        }
    }

    private static void CheckEngine(int[] d, bool same, ConvKernel? kernel)
    {
        int n = d[0], f = d[6];
        var g = Conv2DGeometry.Create(d[1], d[2], d[3], d[4], d[5], d[7], d[8], d[9], d[10], same);
        var x = TestData.Tensor(1, n, g.H, g.W, g.C).ToArray();
        var w = TestData.Tensor(2, g.KH, g.KW, g.C, f).ToArray();
        var bias = TestData.Tensor(3, f).ToArray();
        var dy = TestData.Tensor(4, n, g.OH, g.OW, f).ToArray();
        var expectedY = ConvReference.Conv2D(x, n, w, f, g);
        for (int i = 0; i < expectedY.Length; i++)
            expectedY[i] += bias[i % f];
        var (expectedDw, expectedDx) = ConvReference.Conv2DBackward(x, n, w, f, g, dy);
        var expectedDb = new float[f];
        for (int i = 0; i < dy.Length; i++)
            expectedDb[i % f] += dy[i];

        foreach (int threads in new[] { 1, 2, 3 })
        {
            var engine = new ConvolutionEngine();
            var y = new float[expectedY.Length];
            engine.Forward(x, w, bias, y, n, g, f, null, threads);
            string how = $"{threads} threads, kernel {kernel?.ToString() ?? "auto"}";
            AssertClose(expectedY, y, $"y, {how}");
            var dw = Fill(w.Length);
            var db = Fill(f);
            var dx = Fill(x.Length);
            engine.Backward(x, w, [], (float[])dy.Clone(), dw, db, dx, n, g, f, null, threads);
            AssertClose(expectedDw, dw, $"dw, {how}");
            AssertClose(expectedDb, db, $"db, {how}");
            AssertClose(expectedDx, dx, $"dx, {how}");
        }
    }

    // (h, w, c, kh, kw, stride, dilation, same) for the direct forward's paths; "tiles" are its 6-pixel register
    // tiles over the interior columns (every tap inside the image), the other pixels go one by one.
    private static readonly (int[] D, bool Same)[] DirectShapes =
    [
        ([28, 28, 1, 3, 3, 1, 1], false), // MNIST, valid: 26 interior columns, 4 tiles and an overlapping last one
        ([28, 28, 1, 5, 5, 1, 1], true),  // same: 2 border pixels each side, rows whose window leaves the image
        ([6, 8, 1, 3, 3, 1, 1], false),   // 6 columns: exactly one tile
        ([7, 7, 3, 3, 3, 1, 1], true),    // 3 channels; 5 interior columns: one pixel at a time throughout
        ([9, 19, 1, 3, 3, 2, 1], true),   // stride 2: 8 interior columns (tile + overlap), a border pixel each side
        ([10, 17, 3, 3, 3, 1, 2], true),  // dilation 2: 13 interior columns, 2 border pixels each side
        ([13, 17, 2, 3, 3, 2, 2], true),  // stride and dilation, 2 channels
        ([4, 3, 1, 5, 5, 1, 1], true),    // window larger than the image: no interior pixel at all
        ([10, 20, 1, 2, 4, 1, 1], true),  // even window: one more padding column on the right than the left
    ];

    // Channel counts for every tile shape at every width: 1, the scalar tail alone; 5, a 128-bit vector and a
    // scalar lane; 8 and 13, an odd vector (13: 256 + 128 bits + a scalar lane); 32 and 64, pairs of vectors;
    // 40, pairs and an odd (narrower) vector.
    public static TheoryData<int, int> DirectCases()
    {
        var data = new TheoryData<int, int>();
        for (int s = 0; s < DirectShapes.Length; s++)
            foreach (int f in new[] { 1, 5, 8, 13, 32, 40, 64 })
                data.Add(s, f);
        return data;
    }

    [Theory]
    [MemberData(nameof(DirectCases))]
    public void Direct_forward_matches_the_loops_on_tiles_borders_and_channel_tails_with_the_same_bits_on_any_thread_count(int shape, int f)
    {
        var (d, same) = DirectShapes[shape];
        var g = Conv2DGeometry.Create(d[0], d[1], d[2], d[3], d[4], d[5], d[5], d[6], d[6], same);
        int n = 3, size = n * g.OH * g.OW * f, sentinels = 17;
        var x = TestData.Tensor(11, n, g.H, g.W, g.C).ToArray();
        var w = TestData.Tensor(12, g.KH, g.KW, g.C, f).ToArray();
        var bias = TestData.Tensor(13, f).ToArray();
        var plain = ConvReference.Conv2D(x, n, w, f, g);
        try
        {
            ConvolutionEngine.Force = ConvKernel.Direct;
            foreach (bool withBias in new[] { true, false })
            {
                var expected = plain.Select((v, i) => withBias ? v + bias[i % f] : v).ToArray();
                float[]? first = null;
                foreach (int threads in new[] { 1, 3 })
                {
                    // NaN before: every output must be written (not accumulated into); sentinels after: no overrun.
                    var y = Fill(size + sentinels);
                    Array.Fill(y, 12345f, size, sentinels);
                    new ConvolutionEngine().Forward(x, w, withBias ? bias : [], y, n, g, f, null, threads);
                    string how = $"{g.OH}×{g.OW}×{f}, bias {withBias}, {threads} threads";
                    Assert.All(y[size..], v => Assert.Equal(12345f, v));
                    AssertClose(expected, y[..size], how);
                    first ??= y;
                    Assert.True(first.AsSpan().SequenceEqual(y), $"{how}: other bits than on 1 thread");
                }
            }
        }
        finally
        {
            ConvolutionEngine.Force = null;
        }
    }

    // (h, w, kh, kw, stride, dilation, same) for the narrow kernel: groups of 4 interior pixels and the 1..3 left
    // over, border pixels, windows wider than the image, dilated runs of C floats.
    private static readonly (int[] D, bool Same)[] NarrowShapes =
    [
        ([28, 28, 3, 3, 1, 1], true),  // a generator's last layer: 26 interior columns (6 groups and 2 alone), a border pixel each side
        ([7, 9, 3, 3, 2, 1], true),    // stride 2: 4 interior columns, one group
        ([10, 13, 3, 3, 1, 2], true),  // dilation 2: runs of C, 2 border pixels each side
        ([5, 4, 5, 5, 1, 1], true),    // window wider than the image: border pixels only
        ([6, 7, 1, 1, 1, 1], false),   // pointwise
        ([9, 10, 2, 4, 1, 1], true),   // even window: one more padding column on the right
    ];

    // Channel counts: 1 and 3, scalar runs at every width (3·KW floats a window row); 5, 13 and 40, a vector and a
    // scalar tail; 32, whole pairs of vectors. Filters 1 (the kernel itself) to NarrowMaxFilters (transposed).
    public static TheoryData<int, int, int> NarrowCases()
    {
        var data = new TheoryData<int, int, int>();
        for (int s = 0; s < NarrowShapes.Length; s++)
            foreach (int c in new[] { 1, 3, 5, 13, 32, 40 })
                foreach (int f in new[] { 1, 2, ConvolutionEngine.NarrowMaxFilters })
                    data.Add(s, c, f);
        return data;
    }

    [Theory]
    [MemberData(nameof(NarrowCases))]
    public void Narrow_kernel_matches_the_loops_forward_and_backward_writing_every_output_and_nothing_beyond(int shape, int c, int f)
    {
        var (d, same) = NarrowShapes[shape];
        var g = Conv2DGeometry.Create(d[0], d[1], c, d[2], d[3], d[4], d[4], d[5], d[5], same);
        int n = 3, size = n * g.OH * g.OW * f, sentinels = 17;
        var x = TestData.Tensor(31, n, g.H, g.W, g.C).ToArray();
        var w = TestData.Tensor(32, g.KH, g.KW, g.C, f).ToArray();
        var bias = TestData.Tensor(33, f).ToArray();
        var dy = TestData.Tensor(34, n, g.OH, g.OW, f).ToArray();
        var plain = ConvReference.Conv2D(x, n, w, f, g);
        var (expectedDw, expectedDx) = ConvReference.Conv2DBackward(x, n, w, f, g, dy);
        var expectedDb = new float[f];
        for (int i = 0; i < dy.Length; i++)
            expectedDb[i % f] += dy[i];
        Assert.Equal(ConvKernel.Narrow, ConvolutionEngine.DefaultKernel(g, f));
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            string how = $"{g.H}×{g.W}×{c} {g.KH}×{g.KW} → {f}, {threads} threads";
            var engine = new ConvolutionEngine();
            // NaN before: every output must be written (not accumulated into); sentinels after: no overrun.
            var y = WithSentinels(size, sentinels);
            engine.Forward(x, w, bias, y, n, g, f, null, threads);
            AssertSentinels(y, size, how + ", y");
            AssertClose(plain.Select((v, i) => v + bias[i % f]).ToArray(), y[..size], how + ", y");
            first ??= y;
            Assert.True(first.AsSpan().SequenceEqual(y), $"{how}: other forward bits than on 1 thread");

            var dw = WithSentinels(w.Length, sentinels);
            var db = WithSentinels(f, sentinels);
            var dx = WithSentinels(x.Length, sentinels);
            engine.Backward(x, w, [], (float[])dy.Clone(), dw, db, dx, n, g, f, null, threads);
            AssertSentinels(dw, w.Length, how + ", dw");
            AssertSentinels(db, f, how + ", db");
            AssertSentinels(dx, x.Length, how + ", dx");
            AssertClose(expectedDw, dw[..w.Length], how + ", dw");
            AssertClose(expectedDb, db[..f], how + ", db");
            AssertClose(expectedDx, dx[..x.Length], how + ", dx");

            // dx alone (a transposed convolution's forward), then the kernel gradient alone.
            var dxOnly = Fill(x.Length);
            engine.Backward([], w, [], (float[])dy.Clone(), [], [], dxOnly, n, g, f, null, threads);
            Assert.True(dx.AsSpan(0, x.Length).SequenceEqual(dxOnly), $"{how}: dx alone differs");
            var dwOnly = Fill(w.Length);
            engine.Backward(x, w, [], (float[])dy.Clone(), dwOnly, [], [], n, g, f, null, threads);
            Assert.True(dw.AsSpan(0, w.Length).SequenceEqual(dwOnly), $"{how}: dw alone differs");
        }
    }

    private static float[] WithSentinels(int size, int sentinels)
    {
        var a = Fill(size + sentinels);
        Array.Fill(a, 12345f, size, sentinels);
        return a;
    }

    private static void AssertSentinels(float[] a, int size, string what) =>
        Assert.True(a.AsSpan(size).ToArray().All(v => v == 12345f), $"{what}: written beyond its end");

    [Fact]
    public void Engine_applies_the_epilogue_and_prologue_and_skips_empty_outputs()
    {
        var g = Conv2DGeometry.Create(5, 5, 2, 3, 3, 1, 1, 1, 1, same: true);
        int n = 3, f = 4;
        var x = TestData.Tensor(5, n, 5, 5, 2).ToArray();
        var w = TestData.Tensor(6, 3, 3, 2, f).ToArray();
        var engine = new ConvolutionEngine();
        var y = new float[n * 25 * f];
        engine.Forward(x, w, [], y, n, g, f, (rows, count) => System.Numerics.Tensors.TensorPrimitives.Max(rows, 0f, rows), 2);
        var expected = ConvReference.Conv2D(x, n, w, f, g).Select(v => Math.Max(v, 0f)).ToArray();
        AssertClose(expected, y, "relu epilogue");

        // The prologue masks dy where y = 0 (the ReLU derivative); dx alone is requested.
        var dy = TestData.Tensor(7, n, 5, 5, f).ToArray();
        var masked = dy.Select((v, i) => y[i] > 0 ? v : 0f).ToArray();
        var dx = Fill(x.Length);
        engine.Backward(x, w, y, dy, [], [], dx, n, g, f, (yy, gg, count) => Strata.Kernels.ActivationKernels.ReluBackward(yy, gg, gg), 2);
        AssertClose(ConvReference.Conv2DBackward(x, n, w, f, g, masked).Dx, dx, "dx after the prologue");
        Assert.Equal(masked, dy); // the prologue worked in place
    }

    [Fact]
    public void Engine_rejects_buffers_that_are_too_small()
    {
        var g = Conv2DGeometry.Create(4, 4, 2, 3, 3, 1, 1, 1, 1, same: false);
        var ex = Assert.Throws<ArgumentException>(() => new ConvolutionEngine().Forward(new float[31], new float[18 * 3], [], new float[2 * 4 * 3], 1, g, 3, null));
        Assert.Contains("4×4×2", ex.Message);
    }

    private static float[] Fill(int length) => Enumerable.Repeat(float.NaN, length).ToArray(); // outputs must be overwritten

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"{what} [{i}]: {actual[i]} vs {expected[i]}");
    }

    private static (float[] Y, float[] Dx) PoolLoops(bool max, float[] x, float[] dy, int n, in Conv2DGeometry g)
    {
        var y = new float[n * g.OH * g.OW * g.C];
        var dx = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    for (int c = 0; c < g.C; c++)
                    {
                        var taps = new List<int>();
                        for (int i = 0; i < g.KH; i++)
                            for (int j = 0; j < g.KW; j++)
                            {
                                int ih = oh * g.SH - g.PadTop + i, iw = ow * g.SW - g.PadLeft + j;
                                if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                                    taps.Add(((b * g.H + ih) * g.W + iw) * g.C + c);
                            }
                        int o = ((b * g.OH + oh) * g.OW + ow) * g.C + c;
                        if (max)
                        {
                            int best = taps[0];
                            foreach (int t in taps)
                                if (x[t] > x[best])
                                    best = t; // strictly greater: the first maximum wins
                            y[o] = x[best];
                            dx[best] += dy[o];
                        }
                        else
                        {
                            y[o] = taps.Sum(t => x[t]) / taps.Count;
                            foreach (int t in taps)
                                dx[t] += dy[o] / taps.Count;
                        }
                    }
        return (y, dx);
    }

    [Theory]
    [InlineData(2, 2, 2, 2, false)]
    [InlineData(3, 3, 2, 2, true)]   // overlapping windows, padding
    [InlineData(3, 2, 1, 2, false)]
    [InlineData(5, 6, 1, 1, false)]  // one window over the whole image (global pooling)
    [InlineData(5, 3, 5, 3, false)]  // windows that tile the image exactly: nothing to clear
    [InlineData(2, 2, 3, 3, false)]  // stride beyond the window: positions no window sees
    public void Pool_kernels_match_the_loops_on_every_vector_width(int ph, int pw, int sh, int sw, bool same)
    {
        // 27 channels: one 16-wide block, one 8-wide block and three scalar lanes per pixel.
        int n = 2, h = 5, w = 6, c = 27;
        var g = Conv2DGeometry.Create(h, w, c, ph, pw, sh, sw, 1, 1, same);
        var x = TestData.Tensor(8, n, h, w, c).ToArray();
        // Ties: in the first image every value of channel 0..19 is rounded to one decimal, so windows share maxima.
        for (int i = 0; i < h * w * c; i++)
            if (i % c < 20)
                x[i] = MathF.Round(x[i], 1);
        var dy = TestData.Tensor(9, n, g.OH, g.OW, c).ToArray();
        foreach (bool max in new[] { true, false })
        {
            var (ey, edx) = PoolLoops(max, x, dy, n, g);
            var y = new float[ey.Length];
            PoolKernels.Forward(max, x, y, g, 0, n);
            AssertClose(ey, y, max ? "max y" : "avg y");
            var dx = Fill(x.Length);
            PoolKernels.Backward(max, x, y, dy, dx, g, 0, n);
            AssertClose(edx, dx, max ? "max dx" : "avg dx");
        }
    }

    [Fact]
    public void Max_pooling_gives_NaN_for_a_window_with_NaN_at_any_position_on_every_vector_width()
    {
        // 27 channels: a vector block of each width and scalar lanes; a NaN first, in the middle and last in a window.
        int h = 4, w = 4, c = 27;
        var g = Conv2DGeometry.Create(h, w, c, 2, 2, 2, 2, 1, 1, same: false);
        foreach (int position in new[] { 0, 1, 2, 3 })
        {
            var x = TestData.Tensor(21, 1, h, w, c).ToArray();
            int ih = position / 2, iw = position % 2;
            for (int ch = 0; ch < c; ch += 2) // window (0, 0), even channels
                x[(ih * w + iw) * c + ch] = float.NaN;
            var y = new float[g.OH * g.OW * c];
            PoolKernels.Forward(true, x, y, g, 0, 1);
            for (int ch = 0; ch < c; ch++)
            {
                Assert.Equal(ch % 2 == 0, float.IsNaN(y[ch]));
                Assert.False(float.IsNaN(y[c + ch]), $"window (0, 1), channel {ch}: no NaN in it");
            }
        }
    }
}

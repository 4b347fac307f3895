using System.Numerics.Tensors;

namespace Strata.Kernels;

/// <summary>The kernels a convolution runs on (<see cref="ConvolutionEngine.KernelFor"/>).</summary>
internal enum ConvKernel
{
    /// <summary>im2col + GEMM (the GEMM packs the columns from the images; pointwise: the images themselves).</summary>
    Gemm,

    /// <summary>The register-tiled direct kernel for few input channels (<see cref="DirectConvolution"/>).</summary>
    Direct,

    /// <summary>Window · filter dot products for few filters (<see cref="NarrowConvolution"/>).</summary>
    Narrow,
}

/// <summary>
/// Forward and backward of a 2-D convolution over a batch of NHWC images, as im2col + GEMM: the
/// batch is split into one strip of whole images per thread, and each strip works through its
/// images in chunks (multiply, add the bias, apply the epilogue while the rows are still hot); the
/// forward's GEMM packs the im2col columns from the images itself (<see cref="Gemm.SgemmIm2Col"/>).
/// A 1×1 convolution with stride 1 and no padding multiplies the images in place; a first layer
/// (up to <see cref="DirectMaxChannels"/> channels and <see cref="DirectMaxK"/> inputs per output:
/// grayscale or RGB) uses <see cref="DirectConvolution"/> for the forward and the kernel gradient instead,
/// and a layer with up to <see cref="NarrowMaxFilters"/> filters <see cref="NarrowConvolution"/> for all three
/// (no columns at all). Backward recomputes each chunk's columns (cheaper than
/// keeping them), accumulates the kernel and bias gradients per strip, and adds the strips'
/// partial sums in strip order, so a given thread count always gives the same bits.
/// </summary>
/// <remarks>
/// An engine owns its per-strip column buffers and partial sums (allocated on first use, then
/// reused), so one instance serves one caller at a time: each planned layer has its own.
/// </remarks>
internal sealed unsafe class ConvolutionEngine : WorkerPool.Work
{
    /// <summary>Applied to each chunk of finished output rows [rows, F] (bias added), in place.</summary>
    public delegate void RowsEpilogue(Span<float> y, int rows);

    /// <summary>Applied to each chunk of output gradient rows before use: dy ← dy ⊙ f′ from the output y.</summary>
    public delegate void RowsPrologue(ReadOnlySpan<float> y, Span<float> dy, int rows);

    // Floats of im2col columns per chunk: 512 KB, half of a Zen 4/5 core's L2. The backward writes the columns out;
    // the forward packs them inside the GEMM, and a chunk is the rows of one GEMM call and of its bias / epilogue pass.
    internal const int ChunkFloats = 1 << 17;

    // The register-tiled direct kernel beats im2col + GEMM on first layers of up to three channels and up to
    // this many inputs per output (KH·KW·C): measured with `Strata.Benchmarks convshapes` on an AVX2 Zen 3 core
    // (docs/PERFORMANCE.md): 28×28×1 3×3 and 5×5, 28×28×2 3×3, 32×32×3 3×3 and 5×5 forward 1.3–2.5× the GEMM;
    // 16 channels (K = 144) and more: the GEMM ahead.
    internal const int DirectMaxK = 75;

    // ... and up to this many input channels.
    internal const int DirectMaxChannels = 3;

    // Up to this many filters (output channels) the narrow kernel's window · filter dot products beat a GEMM
    // whose register tile is 16 columns wide (measured with `Strata.Benchmarks convshapes --only narrow`).
    internal const int NarrowMaxFilters = 4;

    /// <summary>For tests and benchmarks: the forward writes im2col columns out and multiplies them (the way before the GEMM packed them from the images).</summary>
    internal static bool ExplicitColumns { get; set; }

    /// <summary>For tests and benchmarks: one kernel for every shape (null: each shape's own, <see cref="DefaultKernel"/>).</summary>
    internal static ConvKernel? Force { get; set; }

    /// <summary>The kernel that runs the forward and the gradients of this shape with <paramref name="f"/> filters.</summary>
    public static ConvKernel KernelFor(in Conv2DGeometry g, int f) => Force ?? DefaultKernel(g, f);

    /// <summary>
    /// The shape rule alone (without <see cref="Force"/>): few filters, the narrow kernel; a first layer on
    /// few channels, the direct one; else im2col + GEMM (a pointwise convolution: the GEMM on the images).
    /// </summary>
    internal static ConvKernel DefaultKernel(in Conv2DGeometry g, int f) =>
        f <= NarrowMaxFilters ? ConvKernel.Narrow
        : g.C <= DirectMaxChannels && g.K <= DirectMaxK && !IsPointwise(g) ? ConvKernel.Direct
        : ConvKernel.Gemm;

    private float[][] _columns = [];
    private float[][] _partials = [];
    private float[][] _filterGradients = []; // per strip, the narrow kernel's [f, K] kernel gradient (f > 1)
    private float[] _filters = []; // the narrow kernel's filters [f, K], the kernel transposed (f > 1)

    // The current call (set by Forward/Backward, read by the strips).
    private Conv2DGeometry _g;
    private int _n, _f, _strips;
    private bool _backward;
    private ConvKernel _kernel;
    private float* _x, _w, _bias, _y, _dy, _dw, _db, _dx, _wt;
    private RowsEpilogue? _epilogue;
    private RowsPrologue? _prologue;

    /// <summary>Whether the convolution is a plain product of each pixel's channels with the kernel (1×1, stride 1, no padding).</summary>
    public static bool IsPointwise(in Conv2DGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadTop == 0 && g.PadLeft == 0;

    /// <summary>y [n, OH, OW, f] = conv(x [n, H, W, C], w [KH, KW, C, f]) + bias, then the epilogue; <paramref name="maxThreads"/> 0 means <see cref="KernelSettings.MaxThreads"/>.</summary>
    public void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, int n, in Conv2DGeometry g,
        int f, RowsEpilogue? epilogue, int maxThreads = 0)
    {
        CheckLengths(x.Length, w.Length, y.Length, n, g, f);
        fixed (float* px = x)
        fixed (float* pw = w)
        fixed (float* pb = bias)
        fixed (float* py = y)
        {
            Begin(n, g, f, backward: false, maxThreads);
            _x = px;
            _w = pw;
            _bias = bias.IsEmpty ? null : pb;
            _y = py;
            _epilogue = epilogue;
            try
            {
                fixed (float* pt = Filters(w))
                {
                    _wt = f == 1 ? pw : pt;
                    WorkerPool.Run(this, _strips);
                }
            }
            finally
            {
                End();
            }
        }
    }

    /// <summary>
    /// Given dL/dy in <paramref name="dy"/> (first passed through the prologue, in place): dw = Σ colᵀ·dy,
    /// db = Σ dy rows, dx = col2im(dy·wᵀ). Each output is skipped when its span is empty; dw, db and dx
    /// are overwritten.
    /// </summary>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> y, Span<float> dy, Span<float> dw,
        Span<float> db, Span<float> dx, int n, in Conv2DGeometry g, int f, RowsPrologue? prologue, int maxThreads = 0)
    {
        // x is read for the kernel gradient only (a transposed convolution's forward passes none).
        CheckLengths(dw.IsEmpty ? int.MaxValue : x.Length, w.Length, dy.Length, n, g, f);
        if (!dx.IsEmpty && dx.Length < (long)n * g.H * g.W * g.C)
            throw new ArgumentException($"conv2d backward: dx has {dx.Length} floats, {n} images {g.H}×{g.W}×{g.C} need {(long)n * g.H * g.W * g.C}");
        if (!dw.IsEmpty && dw.Length < w.Length)
            throw new ArgumentException($"conv2d backward: dw has {dw.Length} floats, the kernel has {w.Length}");
        if (!db.IsEmpty && db.Length < f)
            throw new ArgumentException($"conv2d backward: db has {db.Length} floats, expected {f}");
        fixed (float* px = x)
        fixed (float* pw = w)
        fixed (float* py = y)
        fixed (float* pdy = dy)
        fixed (float* pdw = dw)
        fixed (float* pdb = db)
        fixed (float* pdx = dx)
        {
            Begin(n, g, f, backward: true, maxThreads);
            _x = px;
            _w = pw;
            _y = y.IsEmpty ? null : py;
            _dy = pdy;
            _dw = dw.IsEmpty ? null : pdw;
            _db = db.IsEmpty ? null : pdb;
            _dx = dx.IsEmpty ? null : pdx;
            _prologue = prologue;
            try
            {
                fixed (float* pt = Filters(w))
                {
                    _wt = f == 1 ? pw : pt;
                    WorkerPool.Run(this, _strips);
                }
                int k = g.K;
                for (int s = 1; s < _strips; s++) // strip 0 wrote the outputs; the others' partial sums follow in order
                {
                    var part = _partials[s];
                    if (_dw is not null)
                        TensorPrimitives.Add(dw[..(k * f)], part.AsSpan(0, k * f), dw[..(k * f)]);
                    if (_db is not null)
                        TensorPrimitives.Add(db[..f], part.AsSpan(k * f, f), db[..f]);
                }
            }
            finally
            {
                End();
            }
        }
    }

    private static void CheckLengths(int xLength, int wLength, int yLength, int n, in Conv2DGeometry g, int f)
    {
        if (xLength < (long)n * g.H * g.W * g.C || wLength < (long)g.K * f || yLength < (long)n * g.OH * g.OW * f)
            throw new ArgumentException($"conv2d: buffers too small for {n} images {g.H}×{g.W}×{g.C} → {g.OH}×{g.OW}×{f} " +
                $"(input {xLength}, kernel {wLength}, output {yLength} floats)");
    }

    private void Begin(int n, in Conv2DGeometry g, int f, bool backward, int maxThreads)
    {
        _g = g;
        _n = n;
        _f = f;
        _backward = backward;
        _kernel = KernelFor(g, f);
        _strips = Math.Max(1, Math.Min(maxThreads > 0 ? maxThreads : KernelSettings.MaxThreads, n));
        if (_columns.Length < _strips)
            Array.Resize(ref _columns, _strips);
        if (_partials.Length < _strips)
            Array.Resize(ref _partials, _strips);
        if (_filterGradients.Length < _strips)
            Array.Resize(ref _filterGradients, _strips);
    }

    /// <summary>For the narrow kernel with several filters: the kernel [K, f] transposed to filters [f, K] (else nothing).</summary>
    private Span<float> Filters(ReadOnlySpan<float> w)
    {
        int k = _g.K, f = _f;
        if (_kernel != ConvKernel.Narrow || f == 1)
            return default;
        if (_filters.Length < k * f)
            _filters = new float[k * f];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < f; j++)
                _filters[j * k + i] = w[i * f + j];
        return _filters.AsSpan(0, k * f);
    }

    private void End()
    {
        _x = _w = _bias = _y = _dy = _dw = _db = _dx = _wt = null;
        _epilogue = null;
        _prologue = null;
    }

    private int ImagesPerChunk(int count) => Math.Clamp(ChunkFloats / Math.Max(1, _g.OH * _g.OW * _g.K), 1, Math.Max(1, count));

    private float[] Columns(int strip, int floats)
    {
        var c = _columns[strip];
        if (c is null || c.Length < floats)
            _columns[strip] = c = new float[floats];
        return c;
    }

    public override void Run(int strip)
    {
        int i0 = (int)((long)_n * strip / _strips), i1 = (int)((long)_n * (strip + 1) / _strips);
        if (i0 >= i1)
            return;
        if (_backward)
            BackwardStrip(strip, i0, i1);
        else
            ForwardStrip(strip, i0, i1);
    }

    private void ForwardStrip(int strip, int i0, int i1)
    {
        var g = _g;
        int f = _f, k = g.K, perImage = g.OH * g.OW, image = g.H * g.W * g.C;
        if (_kernel != ConvKernel.Gemm)
        {
            for (int n = i0; n < i1; n++)
            {
                // Both row kernels start from the bias and write every output: no clearing or bias pass first.
                float* image0 = _x + (long)n * image, y0 = _y + (long)n * perImage * f;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    if (_kernel == ConvKernel.Narrow)
                        NarrowConvolution.ForwardRow(image0, _wt, _bias, y0 + (long)oh * g.OW * f, g, f, oh);
                    else
                        DirectConvolution.ForwardRow(image0, _w, _bias, y0 + (long)oh * g.OW * f, g, f, oh);
                }
                _epilogue?.Invoke(new Span<float>(y0, perImage * f), perImage);
            }
            return;
        }
        bool pointwise = IsPointwise(g), explicitColumns = !pointwise && ExplicitColumns; // the GEMM from here on
        int chunk = pointwise ? i1 - i0 : ImagesPerChunk(i1 - i0);
        var col = explicitColumns ? Columns(strip, chunk * perImage * k) : null;
        var w = new ReadOnlySpan<float>(_w, k * f);
        for (int n0 = i0; n0 < i1; n0 += chunk)
        {
            int n1 = Math.Min(i1, n0 + chunk), rows = (n1 - n0) * perImage;
            var y = new Span<float>(_y + (long)n0 * perImage * f, rows * f);
            if (pointwise)
            {
                Gemm.Sgemm(false, false, rows, f, k, 1f, new ReadOnlySpan<float>(_x + (long)n0 * image, rows * k), k, w, f, 0f, y, f, maxThreads: 1);
            }
            else if (explicitColumns)
            {
                Im2Col.Expand(new ReadOnlySpan<float>(_x, _n * image), col, g, n0, n1);
                Gemm.Sgemm(false, false, rows, f, k, 1f, col.AsSpan(0, rows * k), k, w, f, 0f, y, f, maxThreads: 1);
            }
            else
            {
                // The columns packed from the images inside the GEMM (same bits as the two steps above).
                Gemm.SgemmIm2Col(g, _x, n0 * perImage, rows, f, _w, f, _y + (long)n0 * perImage * f, f);
            }
            if (_bias is not null)
                DirectConvolution.BroadcastRows(_y + (long)n0 * perImage * f, rows, f, _bias, add: true);
            _epilogue?.Invoke(y, rows);
        }
    }

    private void BackwardStrip(int strip, int i0, int i1)
    {
        var g = _g;
        int f = _f, k = g.K;
        bool pointwise = IsPointwise(g) && _kernel == ConvKernel.Gemm;
        // The direct and narrow kernels go image by image, so that dy stays in L1/L2 from the prologue to the
        // bias and kernel gradients (the direct input gradient is the GEMM's, on columns).
        bool byImage = _kernel == ConvKernel.Narrow || _kernel == ConvKernel.Direct && _dx is null;
        int chunk = byImage ? 1 : ImagesPerChunk(i1 - i0);
        // Columns are needed for the GEMM kernel gradient, and for the GEMM dx unless pointwise.
        var col = pointwise || byImage ? null : Columns(strip, chunk * g.OH * g.OW * k);
        float* dw = _dw, db = _db;
        if (strip > 0 && (dw is not null || db is not null))
        {
            var part = _partials[strip];
            if (part is null || part.Length < k * f + f)
                _partials[strip] = part = new float[k * f + f];
            fixed (float* pp = part)
            {
                dw = dw is null ? null : pp;
                db = db is null ? null : pp + k * f;
                BackwardChunks(strip, i0, i1, chunk, col, pointwise, dw, db);
            }
            return;
        }
        BackwardChunks(strip, i0, i1, chunk, col, pointwise, dw, db);
    }

    private void BackwardChunks(int strip, int i0, int i1, int chunk, float[]? col, bool pointwise, float* dw, float* db)
    {
        var g = _g;
        int f = _f, k = g.K, perImage = g.OH * g.OW, image = g.H * g.W * g.C;
        var w = new ReadOnlySpan<float>(_w, k * f);
        var dbSpan = db is null ? default : new Span<float>(db, f);
        dbSpan.Clear();
        // The narrow kernel accumulates filter gradients [f, K]: into dw itself for one filter, else into a
        // strip buffer transposed into dw at the end.
        float[]? filterGradients = null;
        if (_kernel == ConvKernel.Narrow && dw is not null && f > 1)
        {
            filterGradients = _filterGradients[strip];
            if (filterGradients is null || filterGradients.Length < k * f)
                _filterGradients[strip] = filterGradients = new float[k * f];
            filterGradients.AsSpan(0, k * f).Clear();
        }
        else if (_kernel != ConvKernel.Gemm && dw is not null)
            new Span<float>(dw, k * f).Clear();
        fixed (float* pg = filterGradients)
        {
            float* gradients = pg is null ? dw : pg;
            for (int n0 = i0; n0 < i1; n0 += chunk)
            {
                int n1 = Math.Min(i1, n0 + chunk), rows = (n1 - n0) * perImage;
                var dy = new Span<float>(_dy + (long)n0 * perImage * f, rows * f);
                if (_prologue is not null)
                    _prologue(new ReadOnlySpan<float>(_y + (long)n0 * perImage * f, rows * f), dy, rows);
                if (db is not null)
                    Summation.ColumnSums(dy, rows, f, dbSpan, add: true);
                if (_kernel == ConvKernel.Narrow)
                {
                    for (int n = n0; n < n1; n++)
                    {
                        float* dyImage = _dy + (long)n * perImage * f;
                        if (dw is not null)
                        {
                            for (int oh = 0; oh < g.OH; oh++)
                                NarrowConvolution.KernelGradientRow(_x + (long)n * image, dyImage + (long)oh * g.OW * f, gradients, g, f, oh);
                        }
                        if (_dx is not null)
                        {
                            new Span<float>(_dx + (long)n * image, image).Clear();
                            for (int oh = 0; oh < g.OH; oh++)
                                NarrowConvolution.InputGradientRow(_dx + (long)n * image, dyImage + (long)oh * g.OW * f, _wt, g, f, oh);
                        }
                    }
                    continue;
                }
                if (dw is not null && _kernel == ConvKernel.Direct)
                {
                    for (int n = n0; n < n1; n++)
                        for (int oh = 0; oh < g.OH; oh++)
                            DirectConvolution.KernelGradientRow(_x + (long)n * image, _dy + ((long)n * perImage + oh * g.OW) * f, dw, g, f, oh);
                }
                else if (dw is not null)
                {
                    ReadOnlySpan<float> a;
                    if (pointwise)
                    {
                        a = new ReadOnlySpan<float>(_x + (long)n0 * image, rows * k);
                    }
                    else
                    {
                        Im2Col.Expand(new ReadOnlySpan<float>(_x, _n * image), col, g, n0, n1);
                        a = col.AsSpan(0, rows * k);
                    }
                    Gemm.Sgemm(true, false, k, f, rows, 1f, a, k, dy, f, n0 == i0 ? 0f : 1f, new Span<float>(dw, k * f), f, maxThreads: 1);
                }
                if (_dx is not null)
                {
                    var dx = new Span<float>(_dx + (long)n0 * image, (n1 - n0) * image);
                    if (pointwise)
                    {
                        Gemm.Sgemm(false, true, rows, k, f, 1f, dy, f, w, f, 0f, dx, k, maxThreads: 1);
                    }
                    else
                    {
                        Gemm.Sgemm(false, true, rows, k, f, 1f, dy, f, w, f, 0f, col, k, maxThreads: 1);
                        Im2Col.Fold(col, new Span<float>(_dx, _n * image), g, n0, n1);
                    }
                }
            }
            if (pg is not null) // the filter gradients [f, K] into dw [K, f]
            {
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < f; j++)
                        dw[i * f + j] = pg[j * k + i];
            }
        }
    }
}

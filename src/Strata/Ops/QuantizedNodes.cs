using Strata.Autograd;
using Strata.Kernels;

namespace Strata.Ops;

/// <summary>
/// A quantized layer's integer weights packed for <see cref="Int8Gemm"/>, repacked only when the
/// weight tensor's values change (a load or <c>SetWeights</c>): a call compares the values with the
/// copy it packed from — inside a <see cref="Trust"/> pass (a <c>Predict</c> or <c>Evaluate</c> call)
/// once per pass, otherwise on every call. Safe to share between threads.
/// </summary>
/// <remarks>
/// The comparison reads the whole kernel, which costs as much as a small batch's product: inference
/// runs a large batch in cache-sized slices (a few images of the seed CNN each), and its first Dense
/// layer's 1600 × 64 kernel took 16 % of the int8 CNN's time being compared once per slice. A pass is
/// one call of the model's own; user code can still run inside it — a custom layer's <c>Call</c>, a
/// metric or loss during <c>Evaluate</c>, a dataset's reads — and a quantized kernel written from there
/// after its layer has run once in the pass goes unseen until the pass ends (the next call sees it).
/// Nothing Strata runs in a pass writes weights. A pass belongs to the thread that opened it and to the threads its work is handed to
/// (<see cref="Join"/>): a call elsewhere compares as before. A write made on another thread while a
/// pass is open is a race, as with any weights.
/// </remarks>
internal sealed class Int8WeightCache
{
    private static long s_passes;         // passes opened so far (a pass's id is its number, from 1)
    [ThreadStatic] private static long t_pass; // the pass open on this thread (0: none)
    private readonly object _lock = new();
    private float[] _from = [];
    private object? _value; // the packed matrix or the codes, made from _from
    private long _confirmed; // the pass in which _value was last found to match the kernel (0: none)

    /// <summary>
    /// Opens a pass on this thread in which each cache compares its kernel once; dispose to close it. Inside
    /// an open pass it opens nothing (the outer pass goes on).
    /// </summary>
    public static TrustedPass Trust() =>
        t_pass != 0 ? default : Enter(Interlocked.Increment(ref s_passes));

    /// <summary>The pass open on this thread (0: none), for work handed to other threads to <see cref="Join"/>.</summary>
    public static long Current => t_pass;

    /// <summary>Takes part, on this thread, in a pass opened on another (0, or a pass already open here: nothing).</summary>
    public static TrustedPass Join(long pass) => pass == 0 || t_pass != 0 ? default : Enter(pass);

    private static TrustedPass Enter(long pass)
    {
        t_pass = pass;
        return new TrustedPass(true);
    }

    /// <summary>A pass opened by <see cref="Trust"/> or <see cref="Join"/> (the default value holds none).</summary>
    public readonly struct TrustedPass(bool open) : IDisposable
    {
        public void Dispose()
        {
            if (open)
                t_pass = 0;
        }
    }

    /// <summary>The kernel [k, n] packed for the GEMM.</summary>
    public PackedInt8Matrix Get(ReadOnlySpan<float> kernel, int k, int n)
    {
        long pass = t_pass;
        lock (_lock)
        {
            if (_value is PackedInt8Matrix p && p.K == k && p.N == n && Matches(kernel, pass))
                return p;
            var packed = new PackedInt8Matrix(ToCodes(kernel), k, n);
            Keep(kernel, packed, pass);
            return packed;
        }
    }

    /// <summary>The kernel's codes as they lie (the depthwise kernel's layout).</summary>
    public sbyte[] Codes(ReadOnlySpan<float> kernel)
    {
        long pass = t_pass;
        lock (_lock)
        {
            if (_value is sbyte[] c && c.Length == kernel.Length && Matches(kernel, pass))
                return c;
            var codes = ToCodes(kernel);
            Keep(kernel, codes, pass);
            return codes;
        }
    }

    // Whether the kept value was made from these values: confirmed already in this pass, or compared now.
    private bool Matches(ReadOnlySpan<float> kernel, long pass)
    {
        if (pass != 0 && _confirmed == pass && kernel.Length == _from.Length)
            return true;
        if (!kernel.SequenceEqual(_from))
            return false;
        _confirmed = pass;
        return true;
    }

    private void Keep(ReadOnlySpan<float> kernel, object value, long pass)
    {
        _value = value;
        _from = kernel.ToArray();
        _confirmed = pass;
    }

    private static sbyte[] ToCodes(ReadOnlySpan<float> kernel)
    {
        var q = new sbyte[kernel.Length];
        for (int i = 0; i < q.Length; i++)
        {
            float v = kernel[i];
            if (!QuantizeKernels.IsInt8(v))
                throw new InvalidOperationException($"quantized layer: kernel element {i} is {v}, not an integer in [-128, 127]");
            q[i] = (sbyte)v;
        }
        return q;
    }
}

/// <summary>
/// The one op of the quantized Dense and convolution layers: the input quantized to 7-bit codes
/// (per tensor: calibrated, or from the batch's own range when dynamic), im2col for a convolution,
/// the u8 × s8 → s32 GEMM, then per row the zero-point correction, the per-channel scales, the bias,
/// ReLU and the output grid (<see cref="QuantizeKernels.Requantize"/>). Inputs: x, the integer kernel
/// [K, N] (as floats), the kernel scales [N], the activation parameters [input scale, input zero
/// point, output scale, output zero point] (input scale 0: dynamic; output scale 0: float output) and
/// the bias [N] when there is one. Inference only: it has no gradient.
/// </summary>
internal sealed class QuantizedMatMulNode : OpNode
{
    /// <summary>Whether a convolution's GEMM reads the windows in place (false: through im2col rows; for tests, which compare the two).</summary>
    internal static bool ReadWindowsInPlace { get; set; } = true;


    private readonly Conv2DGeometry? _g;
    private readonly bool _relu;
    private readonly int _k, _n;
    private readonly Int8WeightCache _cache;
    private readonly Strips _work;

    public QuantizedMatMulNode(Tensor x, Tensor kernel, Tensor scales, Tensor quant, Tensor? bias, Conv2DGeometry? g, bool relu,
        Int8WeightCache cache, string op)
        : base(op, bias is null ? [x, kernel, scales, quant] : [x, kernel, scales, quant, bias], OutputShapeOf(op, x, kernel, g))
    {
        _k = kernel.Shape[0];
        _n = kernel.Shape[1];
        if (scales.Shape.Size != _n || quant.Shape.Size != 4 || (bias is not null && bias.Shape.Size != _n))
            throw new ArgumentException($"{op}: scales {scales.Shape} and bias {bias?.Shape} must have {_n} values, the activation parameters 4 (got {quant.Shape})");
        _g = g;
        _relu = relu;
        _cache = cache;
        _work = new Strips(this);
    }

    private static Shape OutputShapeOf(string op, Tensor x, Tensor kernel, Conv2DGeometry? g)
    {
        if (kernel.Rank != 2)
            throw new ArgumentException($"{op}: the kernel must be [K, N], got {kernel.Shape}");
        if (g is { } geo)
        {
            if (x.Rank != 4 || x.Shape[1] != geo.H || x.Shape[2] != geo.W || x.Shape[3] != geo.C || geo.K != kernel.Shape[0])
                throw new ArgumentException($"{op}: input {x.Shape} does not fit [batch, {geo.H}, {geo.W}, {geo.C}] with a kernel of {geo.K} rows, got {kernel.Shape}");
            return new Shape(x.Shape[0], geo.OH, geo.OW, kernel.Shape[1]);
        }
        if (x.Rank < 1 || x.Shape[-1] != kernel.Shape[0])
            throw new ArgumentException($"{op}: input {x.Shape} does not fit the kernel {kernel.Shape} (last axis must be {kernel.Shape[0]})");
        return new Shape([.. x.Shape.Dims[..^1], kernel.Shape[1]]);
    }

    public override string Attributes => $"{_g};{_relu}";

    public override object? State => _cache;

    public override void Forward()
    {
        var x = Inputs[0].Span;
        var q = Inputs[3].Span;
        _work.Input = q[0] == 0 ? QuantizeKernels.OfBatch(x) : new QuantParams(q[0], (int)q[1]);
        _work.Output = q[2] == 0 ? null : new QuantParams(q[2], (int)q[3]);
        _work.Packed = _cache.Get(Inputs[1].Span, _k, _n);
        var scales = Inputs[2].Span;
        _work.Multiplier = _work.Multiplier.Length == _n ? _work.Multiplier : new float[_n];
        for (int j = 0; j < _n; j++)
            _work.Multiplier[j] = _work.Input.Scale * scales[j];
        int units = _g is null ? (_k == 0 ? 0 : Inputs[0].Size / _k) : Inputs[0].Shape[0]; // rows, or images
        long macs = (long)Output.Size * _k;
        int strips = Math.Max(1, Math.Min(Math.Min(KernelSettings.MaxThreads, units), (int)Math.Min(int.MaxValue, macs >> 21)));
        _work.Units = units;
        _work.Prepare(strips);
        WorkerPool.Run(_work, strips);
    }

    public override void Backward(Span<float> gy, GradSink grads) =>
        throw new InvalidOperationException($"{Op}: a quantized layer has no gradient (quantize a trained model; fine-tune the float one)");

    private sealed class Strips(QuantizedMatMulNode node) : WorkerPool.Work
    {
        public QuantParams Input;
        public QuantParams? Output;
        public PackedInt8Matrix Packed = null!;
        public float[] Multiplier = [];
        public int Units, Count;
        private byte[][] _codes = [];
        private byte[][] _cols = [];
        private int[][] _acc = [];

        /// <summary>A slot per strip for each buffer; called before the strips run.</summary>
        public void Prepare(int strips)
        {
            Count = strips;
            StripSlots.Grow(ref _codes, strips);
            StripSlots.Grow(ref _cols, strips);
            StripSlots.Grow(ref _acc, strips);
        }

        // Rows (Dense) or images (convolution) [u0, u1) of this strip, in chunks whose codes and
        // products stay in L2.
        public override void Run(int strip)
        {
            int u0 = (int)((long)Units * strip / Count), u1 = (int)((long)Units * (strip + 1) / Count);
            var n = node;
            int k = n._k, f = n._n;
            var x = n.Inputs[0].Span;
            var y = n.Output.Data;
            var bias = n.Inputs.Length > 4 ? n.Inputs[4].Span : [];
            if (n._g is not { } g)
            {
                int chunk = Math.Max(4, Math.Min(256, 128 * 1024 / Math.Max(k, 1)));
                for (int r0 = u0; r0 < u1; r0 += chunk)
                {
                    int rows = Math.Min(chunk, u1 - r0);
                    var codes = StripSlots.Buffer(ref _codes[strip], rows * k + 4);
                    QuantizeKernels.Quantize(x.Slice(r0 * k, rows * k), codes, Input);
                    var acc = StripSlots.Buffer(ref _acc[strip], rows * f);
                    Int8Gemm.Multiply(rows, codes, k, Packed, acc, f);
                    Finish(acc, rows, y.Slice(r0 * f, rows * f), bias);
                }
                return;
            }
            int image = g.H * g.W * g.C, pixels = g.OH * g.OW;
            bool pointwise = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadTop == 0 && g.PadLeft == 0;
            // The GEMM reads each window where it lies, in the codes of the image framed by its padding
            // (the zero point): no im2col copy, nine times the image for a 3 × 3 kernel.
            var frame = g.Framed();
            bool windows = ReadWindowsInPlace && !pointwise && pixels > 0 && Int8Gemm.TakesWindows(frame);
            int framed = frame.H * frame.W * g.C;
            int per = Math.Max(1, Math.Min(u1 - u0, 1024 / Math.Max(pixels, 1)));
            for (int i0 = u0; i0 < u1; i0 += per)
            {
                int images = Math.Min(per, u1 - i0), rows = images * pixels;
                var acc = StripSlots.Buffer(ref _acc[strip], rows * f);
                if (windows)
                {
                    var frames = StripSlots.Buffer(ref _codes[strip], images * framed);
                    if (frame == g)
                        QuantizeKernels.Quantize(x.Slice(i0 * image, images * image), frames, Input);
                    else
                        Frame(x, i0, images, g, frame, frames);
                    Int8Gemm.MultiplyWindows(frame, images, frames, Packed, acc, f);
                    Finish(acc, rows, y.Slice(i0 * pixels * f, rows * f), bias);
                    continue;
                }
                var codes = StripSlots.Buffer(ref _codes[strip], images * image + 4);
                QuantizeKernels.Quantize(x.Slice(i0 * image, images * image), codes, Input);
                if (pointwise)
                    Int8Gemm.Multiply(rows, codes, g.K, Packed, acc, f);
                else
                {
                    var cols = StripSlots.Buffer(ref _cols[strip], rows * g.K + 4);
                    Im2Col.Expand<byte>(codes, cols, g, 0, images, (byte)Input.ZeroPoint);
                    Int8Gemm.Multiply(rows, cols, g.K, Packed, acc, f);
                }
                Finish(acc, rows, y.Slice(i0 * pixels * f, rows * f), bias);
            }
        }

        // Images [i0, i0 + images) of x quantized into their frames: the zero point where a window hangs over the padding.
        private void Frame(ReadOnlySpan<float> x, int i0, int images, in Conv2DGeometry g, in Conv2DGeometry frame, Span<byte> frames)
        {
            int image = g.H * g.W * g.C, line = frame.W * g.C, framed = frame.H * line;
            int cols = Math.Clamp(frame.W - g.PadLeft, 0, g.W); // the input columns a window reaches
            frames[..(images * framed)].Fill((byte)Input.ZeroPoint);
            for (int n = 0; n < images; n++)
            {
                for (int ih = 0; ih < g.H && ih + g.PadTop < frame.H; ih++)
                {
                    QuantizeKernels.Quantize(x.Slice((i0 + n) * image + ih * g.W * g.C, cols * g.C),
                        frames.Slice(n * framed + (ih + g.PadTop) * line + g.PadLeft * g.C, cols * g.C), Input);
                }
            }
        }

        // The products [rows, N] to outputs: zero-point correction, scales, bias, ReLU, the output grid.
        private void Finish(int[] acc, int rows, Span<float> y, ReadOnlySpan<float> bias)
        {
            int f = Packed.N;
            for (int r = 0; r < rows; r++)
                QuantizeKernels.Requantize(acc.AsSpan(r * f, f), Input.ZeroPoint, Packed.ColumnSums, Multiplier, bias, node._relu, Output, y.Slice(r * f, f));
        }
    }
}

/// <summary>
/// The op of the quantized depthwise convolution: the input quantized per tensor with calibrated
/// parameters, <see cref="Int8Depthwise"/> over each output pixel's window, then per pixel the
/// per-channel scales, the bias, ReLU and the output grid (<see cref="QuantizeKernels.Requantize"/>;
/// the sums are already centred, so no zero-point correction). Inputs: x [n, H, W, C], the integer
/// kernel [KH, KW, C, M] (as floats), the scales [C·M], the activation parameters [input scale, input
/// zero point, output scale, output zero point] (output scale 0: float output) and the bias [C·M]
/// when there is one. Inference only.
/// </summary>
internal sealed class QuantizedDepthwiseNode : OpNode
{
    private readonly Conv2DGeometry _g;
    private readonly int _m;
    private readonly bool _relu;
    private readonly Int8WeightCache _cache;
    private readonly Images _work;

    public QuantizedDepthwiseNode(Tensor x, Tensor kernel, Tensor scales, Tensor quant, Tensor? bias, Conv2DGeometry g, bool relu,
        Int8WeightCache cache, string op)
        : base(op, bias is null ? [x, kernel, scales, quant] : [x, kernel, scales, quant, bias], OutputShapeOf(op, x, kernel, g))
    {
        _m = kernel.Shape[3];
        int cm = g.C * _m;
        if (scales.Shape.Size != cm || quant.Shape.Size != 4 || (bias is not null && bias.Shape.Size != cm))
            throw new ArgumentException($"{op}: scales {scales.Shape} and bias {bias?.Shape} must have {cm} values, the activation parameters 4 (got {quant.Shape})");
        if (quant.Span[0] <= 0)
            throw new ArgumentException($"{op}: the input scale must be positive (a depthwise layer is quantized statically), got {quant.Span[0]}");
        _g = g;
        _relu = relu;
        _cache = cache;
        _work = new Images(this);
    }

    private static Shape OutputShapeOf(string op, Tensor x, Tensor kernel, Conv2DGeometry g)
    {
        if (kernel.Rank != 4 || kernel.Shape[0] != g.KH || kernel.Shape[1] != g.KW || kernel.Shape[2] != g.C)
            throw new ArgumentException($"{op}: the kernel must be [{g.KH}, {g.KW}, {g.C}, multiplier], got {kernel.Shape}");
        if (x.Rank != 4 || x.Shape[1] != g.H || x.Shape[2] != g.W || x.Shape[3] != g.C)
            throw new ArgumentException($"{op}: input {x.Shape} does not fit [batch, {g.H}, {g.W}, {g.C}]");
        return new Shape(x.Shape[0], g.OH, g.OW, g.C * kernel.Shape[3]);
    }

    public override string Attributes => $"{_g};{_relu}";

    public override object? State => _cache;

    public override void Forward()
    {
        var q = Inputs[3].Span;
        _work.Input = new QuantParams(q[0], (int)q[1]);
        _work.Output = q[2] == 0 ? null : new QuantParams(q[2], (int)q[3]);
        _work.Codes = _cache.Codes(Inputs[1].Span);
        var scales = Inputs[2].Span;
        int cm = scales.Length;
        if (_work.Multiplier.Length != cm)
        {
            _work.Multiplier = new float[cm];
            _work.Zeros = new int[cm];
        }
        for (int j = 0; j < cm; j++)
            _work.Multiplier[j] = _work.Input.Scale * scales[j];
        int images = Inputs[0].Shape[0];
        long macs = (long)Output.Size * _g.KH * _g.KW;
        int strips = Math.Max(1, Math.Min(Math.Min(KernelSettings.MaxThreads, images), (int)Math.Min(int.MaxValue, macs >> 21)));
        _work.Units = images;
        _work.Prepare(strips);
        WorkerPool.Run(_work, strips);
    }

    public override void Backward(Span<float> gy, GradSink grads) =>
        throw new InvalidOperationException($"{Op}: a quantized layer has no gradient (quantize a trained model; fine-tune the float one)");

    private sealed class Images(QuantizedDepthwiseNode node) : WorkerPool.Work
    {
        public QuantParams Input;
        public QuantParams? Output;
        public sbyte[] Codes = [];
        public float[] Multiplier = [];
        public int[] Zeros = [];
        public int Units, Count;
        private byte[][] _codes = [];
        private int[][] _acc = [];

        /// <summary>A slot per strip for each buffer; called before the strips run.</summary>
        public void Prepare(int strips)
        {
            Count = strips;
            StripSlots.Grow(ref _codes, strips);
            StripSlots.Grow(ref _acc, strips);
        }

        public override void Run(int strip)
        {
            int u0 = (int)((long)Units * strip / Count), u1 = (int)((long)Units * (strip + 1) / Count);
            var n = node;
            var g = n._g;
            int image = g.H * g.W * g.C, cm = g.C * n._m, pixels = g.OH * g.OW;
            var x = n.Inputs[0].Span;
            var y = n.Output.Data;
            var bias = n.Inputs.Length > 4 ? n.Inputs[4].Span : [];
            var codes = StripSlots.Buffer(ref _codes[strip], image).AsSpan(0, image);
            var acc = StripSlots.Buffer(ref _acc[strip], cm).AsSpan(0, cm);
            for (int b = u0; b < u1; b++)
            {
                QuantizeKernels.Quantize(x.Slice(b * image, image), codes, Input);
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        Int8Depthwise.Pixel(codes, Input.ZeroPoint, Codes, n._m, g, oh, ow, acc);
                        QuantizeKernels.Requantize(acc, 0, Zeros, Multiplier, bias, n._relu, Output,
                            y.Slice(((b * pixels) + oh * g.OW + ow) * cm, cm));
                    }
            }
        }
    }
}

/// <summary>Per-strip buffer slots of the quantized ops, grown on the calling thread before the strips run (so the strips never resize them).</summary>
internal static class StripSlots
{
    public static void Grow<T>(ref T[][] slots, int strips)
    {
        if (slots.Length < strips)
            Array.Resize(ref slots, strips);
    }

    /// <summary>A strip's buffer of at least <paramref name="size"/> values, made or enlarged when needed.</summary>
    public static T[] Buffer<T>(ref T[] b, int size)
    {
        if (b is null || b.Length < size)
            b = new T[size];
        return b;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Strata.Kernels;

/// <summary>
/// Max and average pooling over NHWC windows, forward and backward, vectorized across the
/// channels of each pixel (the widest accelerated vectors, then narrower, then one at a time).
/// Windows only see real positions: with "same" padding an average is over the positions inside
/// the image, as in Keras. The max backward recomputes each window's winner from the input and the
/// output (the first position, in row-major window order, that equals the maximum), so the forward
/// keeps no argmax. Each window is clipped to the image once and then walked by pointer; the kind of
/// pooling is a type parameter (<see cref="MaxWindow"/>, <see cref="MeanWindow"/>), so the per-window
/// loops carry no test of it.
/// </summary>
internal static unsafe class PoolKernels
{
    /// <summary>y = max or mean of each window, for images [n0, n1) (x and y index whole batches).</summary>
    public static void Forward(bool max, ReadOnlySpan<float> x, Span<float> y, in Conv2DGeometry g, int n0, int n1)
    {
        CheckLengths("forward", x.Length, y.Length, g, n1);
        fixed (float* px = x)
        fixed (float* py = y)
        {
            if (max)
                Forward<MaxWindow>(px, py, g, n0, n1);
            else
                Forward<MeanWindow>(px, py, g, n0, n1);
        }
    }

    /// <summary>
    /// dx for images [n0, n1) (overwritten): each window's gradient goes to its first maximum (max)
    /// or is shared equally by its positions (average). <paramref name="y"/> is the forward output
    /// (read for max only).
    /// </summary>
    public static void Backward(bool max, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx,
        in Conv2DGeometry g, int n0, int n1)
    {
        CheckLengths("backward", dx.Length, dy.Length, g, n1);
        if (max)
            CheckLengths("backward", x.Length, y.Length, g, n1);
        int image = g.H * g.W * g.C;
        // Disjoint windows (stride ≥ window) write each position at most once: stores, not read-add-writes;
        // when they also tile the image exactly, nothing is left to clear.
        bool disjoint = g.SH >= g.KH && g.SW >= g.KW;
        bool tiles = disjoint && g.SH == g.KH && g.SW == g.KW && g.PadTop == 0 && g.PadLeft == 0 && g.OH * g.SH == g.H && g.OW * g.SW == g.W;
        if (!tiles)
            dx.Slice(n0 * image, (n1 - n0) * image).Clear();
        fixed (float* px = x)
        fixed (float* py = y)
        fixed (float* pg = dy)
        fixed (float* pd = dx)
        {
            if (max)
                Backward<MaxWindow>(px, py, pg, pd, g, n0, n1, disjoint);
            else
                Backward<MeanWindow>(px, py, pg, pd, g, n0, n1, disjoint);
        }
    }

    private static void CheckLengths(string what, int input, int output, in Conv2DGeometry g, int n1)
    {
        if (input < (long)n1 * g.H * g.W * g.C || output < (long)n1 * g.OH * g.OW * g.C)
            throw new ArgumentException($"pooling {what}: buffers too small for {n1} images {g.H}×{g.W}×{g.C} → {g.OH}×{g.OW}×{g.C} " +
                $"(input {input}, output {output} floats)");
    }

    /// <summary>What a pooling window computes: its start value, how it takes in one position, whether the result is scaled by 1 / count.</summary>
    private interface IWindow
    {
        static abstract bool IsMax { get; }
        static abstract float Start { get; }
        static abstract float Combine(float acc, float v);
        static abstract TV Combine<TV, TS>(TV acc, TV v) where TV : struct where TS : struct, ISimd<TV>;
    }

    // The maximum is taken with one instruction per position (the IEEE form of Max costs five more, all on the
    // window's dependency chain: measured 2.5× slower pooling); a NaN anywhere in the window is tracked beside it
    // and gives NaN, as in PyTorch and Keras.
    private readonly struct MaxWindow : IWindow
    {
        public static bool IsMax => true;
        public static float Start => float.NegativeInfinity;
        public static float Combine(float acc, float v) => v > acc ? v : acc;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Combine<TV, TS>(TV acc, TV v) where TV : struct where TS : struct, ISimd<TV> => TS.MaxNative(v, acc);
    }

    private readonly struct MeanWindow : IWindow
    {
        public static bool IsMax => false;
        public static float Start => 0f;
        public static float Combine(float acc, float v) => acc + v;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Combine<TV, TS>(TV acc, TV v) where TV : struct where TS : struct, ISimd<TV> => TS.Add(acc, v);
    }

    /// <summary>One output pixel's window clipped to the image: its first input position, rows and columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint Window(in Conv2DGeometry g, int n, int oh, int ow, out int rows, out int cols)
    {
        int h0 = Math.Max(0, oh * g.SH - g.PadTop), h1 = Math.Min(g.H, oh * g.SH - g.PadTop + g.KH);
        int w0 = Math.Max(0, ow * g.SW - g.PadLeft), w1 = Math.Min(g.W, ow * g.SW - g.PadLeft + g.KW);
        rows = h1 - h0;
        cols = w1 - w0;
        return (((nint)n * g.H + h0) * g.W + w0) * g.C;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<TW>(float* x, float* y, in Conv2DGeometry g, int n0, int n1) where TW : struct, IWindow
    {
        int c = g.C;
        nint line = (nint)g.W * c;
        for (int n = n0; n < n1; n++)
        {
            for (int oh = 0; oh < g.OH; oh++)
            {
                float* o = y + (((nint)n * g.OH + oh) * g.OW) * c;
                for (int ow = 0; ow < g.OW; ow++, o += c)
                {
                    float* top = x + Window(g, n, oh, ow, out int rows, out int cols);
                    float scale = 1f / (rows * cols);
                    int ch = 0;
                    if (V512.IsAccelerated)
                        ch = ForwardVectors<Vector512<float>, V512, TW>(top, rows, cols, line, c, o, scale, ch);
                    if (V256.IsAccelerated)
                        ch = ForwardVectors<Vector256<float>, V256, TW>(top, rows, cols, line, c, o, scale, ch);
                    if (V128.IsAccelerated)
                        ch = ForwardVectors<Vector128<float>, V128, TW>(top, rows, cols, line, c, o, scale, ch);
                    for (; ch < c; ch++)
                    {
                        float acc = TW.Start;
                        bool nan = false;
                        for (int r = 0; r < rows; r++)
                            for (int q = 0; q < cols; q++)
                            {
                                float v = top[r * line + q * c + ch];
                                acc = TW.Combine(acc, v);
                                nan |= float.IsNaN(v);
                            }
                        o[ch] = !TW.IsMax ? acc * scale : nan ? float.NaN : acc;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward<TW>(float* x, float* y, float* dy, float* dx, in Conv2DGeometry g, int n0, int n1, bool disjoint)
        where TW : struct, IWindow
    {
        int c = g.C;
        nint line = (nint)g.W * c;
        for (int n = n0; n < n1; n++)
        {
            for (int oh = 0; oh < g.OH; oh++)
            {
                nint o = (((nint)n * g.OH + oh) * g.OW) * c;
                for (int ow = 0; ow < g.OW; ow++, o += c)
                {
                    nint at = Window(g, n, oh, ow, out int rows, out int cols);
                    float* xs = x + at, ds = dx + at, best = y + o, grad = dy + o;
                    float scale = 1f / (rows * cols);
                    int ch = 0;
                    if (V512.IsAccelerated)
                        ch = BackwardVectors<Vector512<float>, V512, TW>(xs, ds, rows, cols, line, c, best, grad, scale, disjoint, ch);
                    if (V256.IsAccelerated)
                        ch = BackwardVectors<Vector256<float>, V256, TW>(xs, ds, rows, cols, line, c, best, grad, scale, disjoint, ch);
                    if (V128.IsAccelerated)
                        ch = BackwardVectors<Vector128<float>, V128, TW>(xs, ds, rows, cols, line, c, best, grad, scale, disjoint, ch);
                    for (; ch < c; ch++)
                    {
                        float gv = TW.IsMax ? grad[ch] : grad[ch] * scale;
                        bool taken = false;
                        for (int r = 0; r < rows; r++)
                            for (int q = 0; q < cols; q++)
                            {
                                nint i = r * line + q * c + ch;
                                float share = gv;
                                if (TW.IsMax)
                                {
                                    bool wins = !taken && xs[i] == best[ch];
                                    share = wins ? gv : 0f;
                                    taken |= wins;
                                }
                                ds[i] = disjoint ? share : ds[i] + share;
                            }
                    }
                }
            }
        }
    }

    // The vector loops over one window's channels, written once over the width: each covers whole
    // vectors of channels from ch and returns where it stopped.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardVectors<TV, TS, TW>(float* top, int rows, int cols, nint line, int c, float* o, float scale, int ch)
        where TV : struct where TS : struct, ISimd<TV> where TW : struct, IWindow
    {
        for (; ch <= c - TS.Count; ch += TS.Count)
        {
            var acc = TS.Create(TW.Start);
            var nan = TS.Zero;
            float* row = top + ch;
            for (int r = 0; r < rows; r++, row += line)
            {
                float* p = row;
                for (int q = 0; q < cols; q++, p += c)
                {
                    var v = TS.Load(p);
                    acc = TW.Combine<TV, TS>(acc, v);
                    if (TW.IsMax)
                        nan = TS.Or(nan, TS.IsNaN(v));
                }
            }
            TS.Store(TW.IsMax ? TS.ConditionalSelect(nan, TS.Create(float.NaN), acc) : TS.Multiply(acc, scale), o + ch);
        }
        return ch;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardVectors<TV, TS, TW>(float* xs, float* ds, int rows, int cols, nint line, int c, float* best, float* grad,
        float scale, bool disjoint, int ch)
        where TV : struct where TS : struct, ISimd<TV> where TW : struct, IWindow
    {
        for (; ch <= c - TS.Count; ch += TS.Count)
        {
            var gv = TS.Load(grad + ch);
            var top = TW.IsMax ? TS.Load(best + ch) : TS.Zero;
            var taken = TS.Zero; // lanes whose winner has been found (all bits set)
            if (!TW.IsMax)
                gv = TS.Multiply(gv, scale);
            nint rowStart = ch;
            for (int r = 0; r < rows; r++, rowStart += line)
            {
                nint i = rowStart;
                for (int q = 0; q < cols; q++, i += c)
                {
                    var share = gv;
                    if (TW.IsMax)
                    {
                        var wins = TS.AndNot(TS.Equal(TS.Load(xs + i), top), taken);
                        share = TS.And(gv, wins);
                        taken = TS.Or(taken, wins);
                    }
                    TS.Store(disjoint ? share : TS.Add(TS.Load(ds + i), share), ds + i);
                }
            }
        }
        return ch;
    }
}

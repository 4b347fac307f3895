using System.Numerics.Tensors;
using Strata.Autograd;
using Strata.Kernels;
using Strata.Layers;

namespace Strata.Ops;

/// <summary>The cell a <see cref="RecurrentNode"/> runs at every step.</summary>
public enum RecurrentCell
{
    /// <summary>h = act(x·W + h₋₁·U + b): one gate.</summary>
    SimpleRnn,

    /// <summary>Keras' LSTM: gates i, f, c, o in that column order; c = f⊙c₋₁ + i⊙act(c̃), h = o⊙act(c).</summary>
    Lstm,

    /// <summary>
    /// Keras' GRU with reset_after: gates z, r, h; bias [2, 3·units] (input, recurrent);
    /// h̃ = act(x·W_h + b_h + r⊙(h₋₁·U_h + b′_h)), h = z⊙h₋₁ + (1 − z)⊙h̃.
    /// </summary>
    Gru,
}

/// <summary>
/// A whole recurrent layer's pass over a sequence as one op, written once for eager execution and
/// compiled plans: the input projection of every step is one GEMM (x [B·T, D] · W [D, G·H]); each
/// step adds one recurrent GEMM (h₋₁ [B, H] · U [H, G·H]) and the cell's gate math, row by row over
/// the batch while it is in cache. Back-propagation through time walks the steps backwards with
/// one GEMM per step for ∂h₋₁ and one for ∂U, then ∂x and ∂W are one GEMM each over all steps.
/// The workspace (the activated gates, the cell states) belongs to the node: a plan's node allocates
/// it once. Inputs: x, W, U, then (each optional, in this order) the bias, h₀, c₀ (LSTM), the mask
/// [B, T] (a step whose mask is 0 carries the state and the previous output on unchanged) and the
/// recurrent dropout mask [B, H] (multiplies h₋₁ before U). The output [B, T, H] holds h after each
/// processed step (in processing order: reversed when going backwards); with the cell state exported
/// (LSTM) it is [B, T + 1, H] and its last step is the final c.
/// </summary>
internal sealed class RecurrentNode : OpNode
{
    private readonly RecurrentCell _cell;
    private readonly ActivationFunction _act, _recAct;
    private readonly bool _reverse, _exportCell;
    private readonly int _b, _t, _d, _h, _g;
    private readonly int _bias, _h0, _c0, _mask, _recMask; // input indices, −1 when absent
    private float[]? _gates, _dGates, _dRec, _hPrev, _uT, _cells, _rh, _work;
    private int _strips = 1;
    private int[]? _active;
    private float[]? _compactH, _compactG;
    private StepWork? _stepWork;

    public RecurrentNode(RecurrentCell cell, string owner, Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? bias,
        Tensor? h0, Tensor? c0, Tensor? mask, Tensor? recurrentMask, ActivationFunction activation,
        ActivationFunction recurrentActivation, bool reverse, bool exportCell)
        : base(OpName(cell), Collect(x, kernel, recurrentKernel, bias, h0, c0, mask, recurrentMask, out var idx),
            OutShape(cell, owner, x, recurrentKernel, exportCell))
    {
        _cell = cell;
        _g = cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
        _b = x.Shape[0];
        _t = x.Shape[1];
        _d = x.Shape[2];
        _h = recurrentKernel.Shape[0];
        int gh = _g * _h;
        if (kernel.Rank != 2 || kernel.Shape[0] != _d || kernel.Shape[1] != gh)
            throw new ArgumentException($"{owner}: kernel must be [{_d}, {gh}] for input {x.Shape} and {_h} units, got {kernel.Shape}");
        if (recurrentKernel.Shape[1] != gh)
            throw new ArgumentException($"{owner}: recurrent kernel must be [{_h}, {gh}], got {recurrentKernel.Shape}");
        int[] biasShape = cell == RecurrentCell.Gru ? [2, gh] : [gh];
        if (bias is not null && bias.Shape != new Shape(biasShape))
            throw new ArgumentException($"{owner}: bias must be [{string.Join(", ", biasShape)}], got {bias.Shape}");
        CheckState(owner, "initial state h", h0);
        CheckState(owner, "initial cell state c", c0);
        if (c0 is not null && cell != RecurrentCell.Lstm)
            throw new ArgumentException($"{owner}: only an LSTM has a cell state; got an initial c for a {OpName(cell)}");
        if (exportCell && cell != RecurrentCell.Lstm)
            throw new ArgumentException($"{owner}: only an LSTM has a cell state to return");
        if (mask is not null && mask.Shape != new Shape(_b, _t))
            throw new ArgumentException($"{owner}: mask must be [batch, steps] = [{_b}, {_t}], got {mask.Shape}");
        CheckState(owner, "recurrent dropout mask", recurrentMask);
        if (!activation.FusesFromOutput || !recurrentActivation.FusesFromOutput)
            throw new ArgumentException($"{owner}: activations must be differentiable from their output (linear, relu, sigmoid, tanh, leaky_relu, ...); got '{activation.Name}' and '{recurrentActivation.Name}'");
        _act = activation;
        _recAct = recurrentActivation;
        _reverse = reverse;
        _exportCell = exportCell;
        (_bias, _h0, _c0, _mask, _recMask) = idx;

        void CheckState(string who, string what, Tensor? s)
        {
            if (s is not null && s.Shape != new Shape(_b, _h))
                throw new ArgumentException($"{who}: {what} must be [batch, units] = [{_b}, {_h}], got {s.Shape}");
        }
    }

    public override string Attributes => $"{_act},{_recAct},{(_reverse ? "reverse" : "forward")}{(_exportCell ? ",cell" : "")}";

    private static string OpName(RecurrentCell cell) => cell switch
    {
        RecurrentCell.Lstm => "lstm",
        RecurrentCell.Gru => "gru",
        _ => "simple_rnn",
    };

    private static Tensor[] Collect(Tensor x, Tensor w, Tensor u, Tensor? b, Tensor? h0, Tensor? c0, Tensor? mask, Tensor? rm,
        out (int, int, int, int, int) idx)
    {
        var list = new List<Tensor> { x, w, u };
        int Add(Tensor? t)
        {
            if (t is null)
                return -1;
            list.Add(t);
            return list.Count - 1;
        }
        idx = (Add(b), Add(h0), Add(c0), Add(mask), Add(rm));
        return [.. list];
    }

    private static Shape OutShape(RecurrentCell cell, string owner, Tensor x, Tensor u, bool exportCell)
    {
        if (x.Rank != 3)
            throw new ArgumentException($"{owner}: input must be [batch, steps, features], got {x.Shape}");
        if (x.Shape[1] < 1)
            throw new ArgumentException($"{owner}: a sequence needs at least one step, got {x.Shape}");
        if (u.Rank != 2 || u.Shape[0] < 1)
            throw new ArgumentException($"{owner}: recurrent kernel must be [units, gates·units], got {u.Shape}");
        return new Shape(x.Shape[0], x.Shape[1] + (exportCell ? 1 : 0), u.Shape[0]);
    }

    private int Steps => _t + (_exportCell ? 1 : 0); // the output's time extent

    private void EnsureWorkspace()
    {
        int bt = _b * _t;
        if (_gates is null || _gates.Length != bt * _g * _h)
        {
            _gates = new float[bt * _g * _h];
            _cells = _cell == RecurrentCell.Lstm ? new float[bt * _h] : null;
            _rh = _cell == RecurrentCell.Gru ? new float[bt * _h] : null;
            _hPrev = new float[bt * _h];
            if (_mask >= 0)
            {
                _active = new int[_b];
                _compactH = new float[_b * _h];
                _compactG = new float[_b * _g * _h];
            } // h₋₁ of every step (after recurrent dropout), by input step: ∂U in one GEMM
            // [B, G·H] (a step's recurrent product), three [B, H] (∂h, ∂c, dropped h₋₁) and a [2H] row per strip.
            _work = new float[_b * _g * _h + 3 * _b * _h + 2 * _h * MaxStrips];
        }
    }

    private Span<float> Work(int part) => part == 0
        ? _work.AsSpan(0, _b * _g * _h)
        : _work.AsSpan(_b * _g * _h + (part - 1) * _b * _h, _b * _h);

    /// <summary>The rows of r0..r1 whose step ti is kept, listed in _active[r0..]; their count (all of them without a mask).</summary>
    private int CompactRows(ReadOnlySpan<float> mask, int r0, int r1, int ti)
    {
        if (_mask < 0)
            return r1 - r0;
        int na = 0;
        for (int r = r0; r < r1; r++)
        {
            if (mask[r * _t + ti] != 0)
                _active![r0 + na++] = r;
        }
        return na;
    }

    // Strips of at least 8 rows, one per thread.
    private int MaxStrips => Math.Max(1, _b / 8);

    private Span<float> RowScratch(int strip) => _work.AsSpan(_b * _g * _h + 3 * _b * _h + 2 * _h * strip, 2 * _h);

    private bool Valid(ReadOnlySpan<float> mask, int b, int t) => _mask < 0 || mask[b * _t + t] != 0;

    public override unsafe void Forward()
    {
        EnsureWorkspace();
        // A step is split over threads only when its recurrent product is large enough to pay for the hand-off
        // (a few microseconds per step): 2^17 multiply-adds, e.g. a batch of 32 with 32 LSTM units.
        _strips = (long)_b * _h * _g * _h >= 1L << 17 ? Math.Clamp(KernelSettings.MaxThreads, 1, MaxStrips) : 1;
        int b = _b, t = _t, d = _d, h = _h, gh = _g * h;
        var gates = _gates.AsSpan();
        // Every step's input projection (and input bias) in one GEMM.
        Gemm.Sgemm(false, false, b * t, gh, d, 1f, Inputs[0].Span, d, Inputs[1].Span, gh, 0f, gates, gh);
        if (_bias >= 0)
        {
            var bias = Inputs[_bias].Span[..gh];
            for (int r = 0; r < b * t; r++)
                TensorPrimitives.Add(gates.Slice(r * gh, gh), bias, gates.Slice(r * gh, gh));
        }
        Work(1).Clear(); // the zero state when no h₀ / c₀ is given
        for (int k = 0; k < t; k++)
            RunStep(k, backward: false, null);
        if (_exportCell)
        {
            var y = Output.Data;
            for (int r = 0; r < b; r++)
                _cells.AsSpan((r * t + t - 1) * h, h).CopyTo(y.Slice((r * Steps + t) * h, h));
        }
    }

    // The rows of the batch in strips, one per thread, each running its own GEMM rows and cell math.
    private unsafe void RunStep(int k, bool backward, float* gy)
    {
        _stepWork ??= new StepWork(this);
        _stepWork.K = k;
        _stepWork.Backward = backward;
        _stepWork.Gy = gy;
        WorkerPool.Run(_stepWork, _strips);
        _stepWork.Gy = null;
    }

    private sealed unsafe class StepWork(RecurrentNode node) : WorkerPool.Work
    {
        public int K;
        public bool Backward;
        public float* Gy;

        public override void Run(int strip)
        {
            int per = (node._b + node._strips - 1) / node._strips;
            int r0 = strip * per, r1 = Math.Min(node._b, r0 + per);
            if (r0 >= r1)
                return;
            if (Backward)
                node.BackwardStep(K, r0, r1, new Span<float>(Gy, node._b * node.Steps * node._h), strip);
            else
                node.ForwardStep(K, r0, r1);
        }
    }

    private void ForwardStep(int k, int r0, int r1)
    {
        int t = _t, h = _h, gh = _g * h, steps = Steps, n = r1 - r0;
        int threads = _strips > 1 ? 1 : 0;
        var gates = _gates.AsSpan();
        var u = Inputs[2].Span;
        var y = Output.Data;
        var mask = _mask >= 0 ? Inputs[_mask].Span : default;
        var rec = Work(0);
        var zeros = Work(1);
        var h0 = _h0 >= 0 ? Inputs[_h0].Span : zeros;
        var c0 = _c0 >= 0 ? Inputs[_c0].Span : zeros;
        int ti = _reverse ? t - 1 - k : k;
        // h₋₁ of rows r0..r1: h₀, or the previous output step (rows steps·H apart in y).
        ReadOnlySpan<float> hp = k == 0 ? h0[(r0 * h)..] : y[((r0 * steps + k - 1) * h)..];
        int ldh = k == 0 ? h : steps * h;
        if (_recMask >= 0)
        {
            var recMask = Inputs[_recMask].Span;
            var dropped = Work(3);
            for (int r = 0; r < n; r++)
                TensorPrimitives.Multiply(hp.Slice(r * ldh, h), recMask.Slice((r0 + r) * h, h), dropped.Slice((r0 + r) * h, h));
            hp = dropped[(r0 * h)..];
            ldh = h;
        }
        bool hpZero = k == 0 && _h0 < 0;
        for (int r = 0; r < n; r++)
            hp.Slice(r * ldh, h).CopyTo(_hPrev.AsSpan(((r0 + r) * t + ti) * h, h));
        // With a mask, only the rows that take this step go through the recurrent GEMM (gathered, multiplied,
        // scattered): padded steps cost no multiply-adds.
        int active = CompactRows(mask, r0, r1, ti);
        bool compact = active < n;
        if (compact && !hpZero)
        {
            var ch = _compactH.AsSpan(r0 * h, active * h);
            for (int j = 0; j < active; j++)
                hp.Slice((_active![r0 + j] - r0) * ldh, h).CopyTo(ch.Slice(j * h, h));
            hp = ch;
            ldh = h;
        }
        if (_cell == RecurrentCell.Gru)
        {
            // The recurrent part is kept apart: the reset gate multiplies its candidate third.
            var recRows = rec.Slice(r0 * gh, n * gh);
            var product = compact ? _compactG.AsSpan(r0 * gh, active * gh) : recRows;
            if (hpZero)
                product.Clear();
            else
                Gemm.Sgemm(false, false, active, gh, h, 1f, hp, ldh, u, gh, 0f, product, gh, threads);
            if (compact)
                for (int j = 0; j < active; j++)
                    product.Slice(j * gh, gh).CopyTo(rec.Slice(_active![r0 + j] * gh, gh));
            if (_bias >= 0)
            {
                var rb = Inputs[_bias].Span.Slice(gh, gh);
                for (int r = 0; r < n; r++)
                    TensorPrimitives.Add(recRows.Slice(r * gh, gh), rb, recRows.Slice(r * gh, gh));
            }
        }
        else if (!hpZero && !compact) // z += h₋₁·U, straight into this step's gate rows
            Gemm.Sgemm(false, false, n, gh, h, 1f, hp, ldh, u, gh, 1f, gates[((r0 * t + ti) * gh)..], t * gh, threads);
        else if (!hpZero && active > 0)
        {
            var product = _compactG.AsSpan(r0 * gh, active * gh);
            Gemm.Sgemm(false, false, active, gh, h, 1f, hp, ldh, u, gh, 0f, product, gh, threads);
            for (int j = 0; j < active; j++)
            {
                var g = gates.Slice((_active![r0 + j] * t + ti) * gh, gh);
                TensorPrimitives.Add(g, product.Slice(j * gh, gh), g);
            }
        }

        for (int r = r0; r < r1; r++)
        {
            var g = gates.Slice((r * t + ti) * gh, gh);
            var hOut = y.Slice((r * steps + k) * h, h);
            ReadOnlySpan<float> hPrev = k == 0 ? h0.Slice(r * h, h) : y.Slice((r * steps + k - 1) * h, h);
            if (!Valid(mask, r, ti))
            {
                // A padded step: the state and the output stay as they were.
                hPrev.CopyTo(hOut);
                if (_cell == RecurrentCell.Lstm)
                    (k == 0 ? c0.Slice(r * h, h) : _cells.AsSpan((r * t + k - 1) * h, h)).CopyTo(_cells.AsSpan((r * t + k) * h, h));
                continue;
            }
            switch (_cell)
            {
                case RecurrentCell.SimpleRnn:
                    _act.ForwardInPlace(g, 1, h);
                    g.CopyTo(hOut);
                    break;
                case RecurrentCell.Lstm:
                {
                    var c = _cells.AsSpan((r * t + k) * h, h);
                    ReadOnlySpan<float> cPrev = k == 0 ? c0.Slice(r * h, h) : _cells.AsSpan((r * t + k - 1) * h, h);
                    _recAct.ForwardInPlace(g[..(2 * h)], 1, 2 * h); // i, f
                    _act.ForwardInPlace(g.Slice(2 * h, h), 1, h);    // c̃
                    _recAct.ForwardInPlace(g.Slice(3 * h, h), 1, h); // o
                    TensorPrimitives.Multiply(g.Slice(h, h), cPrev, c);               // f⊙c₋₁
                    TensorPrimitives.MultiplyAdd(g[..h], g.Slice(2 * h, h), c, c);    // + i⊙c̃
                    c.CopyTo(hOut);
                    _act.ForwardInPlace(hOut, 1, h);                                  // act(c)
                    TensorPrimitives.Multiply(hOut, g.Slice(3 * h, h), hOut);         // ⊙ o
                    break;
                }
                case RecurrentCell.Gru:
                {
                    var rr = rec.Slice(r * gh, gh);
                    var rh = _rh.AsSpan((r * t + k) * h, h);
                    TensorPrimitives.Add(g[..(2 * h)], rr[..(2 * h)], g[..(2 * h)]);
                    _recAct.ForwardInPlace(g[..(2 * h)], 1, 2 * h);                   // z, r
                    rr.Slice(2 * h, h).CopyTo(rh);
                    var cand = g.Slice(2 * h, h);
                    TensorPrimitives.MultiplyAdd(g.Slice(h, h), rh, cand, cand);      // x_h + r⊙(h₋₁·U_h + b′)
                    _act.ForwardInPlace(cand, 1, h);                                  // h̃
                    // h = h̃ + z⊙(h₋₁ − h̃)
                    TensorPrimitives.Subtract(hPrev, cand, hOut);
                    TensorPrimitives.MultiplyAdd(g[..h], hOut, cand, hOut);
                    break;
                }
            }
        }
    }

    public override unsafe void Backward(Span<float> gy, GradSink grads)
    {
        int b = _b, t = _t, d = _d, h = _h, gh = _g * h, steps = Steps;
        // The gate gradients get their own buffer: a graph may be differentiated more than once.
        if (_dGates is null || _dGates.Length != _gates!.Length)
            _dGates = new float[_gates!.Length];
        var dGates = _dGates.AsSpan();
        // GRU: the recurrent side's gradients differ from the input side's (∂h̃ ⊙ r): their own buffer.
        if (_cell == RecurrentCell.Gru && (_dRec is null || _dRec.Length != _gates.Length))
            _dRec = new float[_gates.Length];
        var dRec = _cell == RecurrentCell.Gru ? _dRec.AsSpan() : dGates;
        // Uᵀ [G·H, H], once per pass: each step's ∂h₋₁ = ∂z·Uᵀ then reads it in place.
        if (_uT is null || _uT.Length != h * gh)
            _uT = new float[h * gh];
        TransposeInto(Inputs[2].Span, h, gh, _uT);
        var dh = Work(1);
        var dc = Work(2);
        dh.Clear();
        if (_exportCell)
        {
            for (int r = 0; r < b; r++)
                gy.Slice((r * steps + t) * h, h).CopyTo(dc.Slice(r * h, h));
        }
        else
            dc.Clear();

        fixed (float* pgy = gy)
        {
            for (int k = t - 1; k >= 0; k--)
                RunStep(k, backward: true, pgy);
        }

        // ∂U = Σ over steps of h₋₁ᵀ·∂z: one GEMM over the h₋₁ rows kept by the forward pass.
        if (grads.Wants(this, 2))
        {
            var dU = grads.Target(this, 2, out bool add);
            Gemm.Sgemm(true, false, h, gh, b * t, 1f, _hPrev, h, dRec, gh, add ? 1f : 0f, dU, gh);
        }

        // ∂h₀, ∂c₀: what reached step 0.
        if (_h0 >= 0)
            Put(grads, _h0, dh);
        if (_c0 >= 0)
            Put(grads, _c0, dc);

        // All steps at once: ∂x = ∂gates·Wᵀ, ∂W = xᵀ·∂gates, ∂b = Σ rows of ∂gates.
        var dx = BeginWrite(grads, 0, 0, out var tx, out bool ax);
        if (!dx.IsEmpty)
            Gemm.Sgemm(false, true, b * t, d, gh, 1f, dGates, gh, Inputs[1].Span, gh, 0f, dx, d);
        EndWrite(dx, tx, ax);
        if (grads.Wants(this, 1))
        {
            var dw = grads.Target(this, 1, out bool add);
            Gemm.Sgemm(true, false, d, gh, b * t, 1f, Inputs[0].Span, d, dGates, gh, add ? 1f : 0f, dw, gh);
        }
        if (_bias >= 0 && grads.Wants(this, _bias))
        {
            var dBias = grads.Target(this, _bias, out bool add);
            Summation.ColumnSums(dGates, b * t, gh, dBias[..gh], add);
            if (_cell == RecurrentCell.Gru)
                Summation.ColumnSums(dRec, b * t, gh, dBias.Slice(gh, gh), add);
        }
    }

    private void BackwardStep(int k, int r0, int r1, Span<float> gy, int strip)
    {
        int t = _t, h = _h, gh = _g * h, steps = Steps, n = r1 - r0;
        int threads = _strips > 1 ? 1 : 0;
        var gates = _gates.AsSpan();
        var dGates = _dGates.AsSpan();
        var dRec = _cell == RecurrentCell.Gru ? _dRec.AsSpan() : dGates;
        var y = Output.Span;
        var mask = _mask >= 0 ? Inputs[_mask].Span : default;
        var dh = Work(1);
        var dc = Work(2);
        var tmp = Work(3);
        var row = RowScratch(strip);
        var h0 = _h0 >= 0 ? Inputs[_h0].Span : default;
        var c0 = _c0 >= 0 ? Inputs[_c0].Span : default;
        int ti = _reverse ? t - 1 - k : k;
        for (int r = r0; r < r1; r++)
        {
            var dhr = dh.Slice(r * h, h);
            TensorPrimitives.Add(dhr, gy.Slice((r * steps + k) * h, h), dhr); // ∂h: from the output and from step k + 1
            var g = gates.Slice((r * t + ti) * gh, gh);
            var dg = dGates.Slice((r * t + ti) * gh, gh);
            ReadOnlySpan<float> hPrev = k > 0 ? y.Slice((r * steps + k - 1) * h, h) : _h0 >= 0 ? h0.Slice(r * h, h) : default;
            if (!Valid(mask, r, ti))
            {
                dg.Clear(); // no gate gradient; ∂h and ∂c carry on to step k − 1 as they are
                if (_cell == RecurrentCell.Gru)
                    dRec.Slice((r * t + ti) * gh, gh).Clear();
                continue;
            }
            switch (_cell)
            {
                case RecurrentCell.SimpleRnn: // g holds h: ∂z = ∂h ⊙ act′
                    dhr.CopyTo(dg);
                    _act.BackwardFromOutput(g, dg, 1, h);
                    break;
                case RecurrentCell.Lstm:
                {
                    var dcr = dc.Slice(r * h, h);
                    ReadOnlySpan<float> cPrev = k > 0 ? _cells.AsSpan((r * t + k - 1) * h, h) : _c0 >= 0 ? c0.Slice(r * h, h) : default;
                    var ac = row[..h];
                    _cells.AsSpan((r * t + k) * h, h).CopyTo(ac);
                    _act.ForwardInPlace(ac, 1, h);                               // act(c), recomputed
                    var dac = row.Slice(h, h);
                    TensorPrimitives.Multiply(dhr, g.Slice(3 * h, h), dac);      // ∂act(c) = ∂h ⊙ o
                    _act.BackwardFromOutput(ac, dac, 1, h);
                    TensorPrimitives.Add(dcr, dac, dcr);                         // ∂c
                    var dO = dg.Slice(3 * h, h);
                    TensorPrimitives.Multiply(dhr, ac, dO);                      // ∂o = ∂h ⊙ act(c)
                    _recAct.BackwardFromOutput(g.Slice(3 * h, h), dO, 1, h);
                    var dC = dg.Slice(2 * h, h);
                    TensorPrimitives.Multiply(dcr, g[..h], dC);                  // ∂c̃ = ∂c ⊙ i
                    _act.BackwardFromOutput(g.Slice(2 * h, h), dC, 1, h);
                    TensorPrimitives.Multiply(dcr, g.Slice(2 * h, h), dg[..h]);  // ∂i = ∂c ⊙ c̃
                    _recAct.BackwardFromOutput(g[..h], dg[..h], 1, h);
                    var dF = dg.Slice(h, h);
                    if (cPrev.IsEmpty)
                        dF.Clear();
                    else
                        TensorPrimitives.Multiply(dcr, cPrev, dF);               // ∂f = ∂c ⊙ c₋₁
                    _recAct.BackwardFromOutput(g.Slice(h, h), dF, 1, h);
                    TensorPrimitives.Multiply(dcr, g.Slice(h, h), dcr);          // ∂c₋₁ = ∂c ⊙ f
                    break;
                }
                case RecurrentCell.Gru:
                {
                    var z = g[..h];
                    var cand = g.Slice(2 * h, h);
                    var rh = _rh.AsSpan((r * t + k) * h, h);
                    var ds = dRec.Slice((r * t + ti) * gh, gh);
                    var dz = dg[..h];
                    if (hPrev.IsEmpty)                                           // ∂z = ∂h ⊙ (h₋₁ − h̃)
                        TensorPrimitives.Negate(cand, dz);
                    else
                        TensorPrimitives.Subtract(hPrev, cand, dz);
                    TensorPrimitives.Multiply(dz, dhr, dz);
                    var dCand = dg.Slice(2 * h, h);                              // ∂h̃ = ∂h ⊙ (1 − z)
                    TensorPrimitives.Multiply(dhr, z, dCand);
                    TensorPrimitives.Subtract(dhr, dCand, dCand);
                    _act.BackwardFromOutput(cand, dCand, 1, h);
                    TensorPrimitives.Multiply(dCand, rh, dg.Slice(h, h));        // ∂r = ∂h̃ ⊙ (h₋₁·U_h + b′_h)
                    _recAct.BackwardFromOutput(g[..(2 * h)], dg[..(2 * h)], 1, 2 * h);
                    dg[..(2 * h)].CopyTo(ds[..(2 * h)]);                         // recurrent side: ∂z, ∂r,
                    TensorPrimitives.Multiply(dCand, g.Slice(h, h), ds.Slice(2 * h, h)); // ∂h̃ ⊙ r
                    TensorPrimitives.Multiply(dhr, z, dhr);                      // ∂h₋₁, direct part: ∂h ⊙ z
                    break;
                }
            }
        }

        // ∂h₋₁ (+)= ∂z·Uᵀ for these rows in one GEMM (∂U waits for the end: one GEMM over all steps).
        int active = CompactRows(mask, r0, r1, ti);
        if (active == n)
            Gemm.Sgemm(false, false, n, h, gh, 1f, dRec[((r0 * t + ti) * gh)..], t * gh, _uT, h, 0f, tmp.Slice(r0 * h, n * h), h, threads);
        else if (active > 0)
        {
            // Only the rows that took this step: gathered, multiplied, scattered.
            var cg = _compactG.AsSpan(r0 * gh, active * gh);
            var ch = _compactH.AsSpan(r0 * h, active * h);
            for (int j = 0; j < active; j++)
                dRec.Slice((_active![r0 + j] * t + ti) * gh, gh).CopyTo(cg.Slice(j * gh, gh));
            Gemm.Sgemm(false, false, active, h, gh, 1f, cg, gh, _uT, h, 0f, ch, h, threads);
            for (int j = 0; j < active; j++)
                ch.Slice(j * h, h).CopyTo(tmp.Slice(_active![r0 + j] * h, h));
        }
        for (int r = r0; r < r1; r++)
        {
            if (!Valid(mask, r, ti))
                continue; // ∂h carries over unchanged
            var pr = tmp.Slice(r * h, h);
            var dhr = dh.Slice(r * h, h);
            if (_recMask >= 0)
                TensorPrimitives.Multiply(pr, Inputs[_recMask].Span.Slice(r * h, h), pr);
            if (_cell == RecurrentCell.Gru)
                TensorPrimitives.Add(dhr, pr, dhr);
            else
                pr.CopyTo(dhr);
        }
    }

    private static unsafe void TransposeInto(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        fixed (float* ps = src, pd = dst)
            Transpose.Block(ps, cols, pd, rows, rows, cols);
    }
}

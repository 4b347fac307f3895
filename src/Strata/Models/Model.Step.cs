using System.Text;
using Strata.Autograd;
using Strata.Training;

namespace Strata.Models;

public partial class Model
{
    /// <summary>One optimization step on a batch of a single-input model; see <see cref="TrainStep(Tensor[], Tensor, Tensor?)"/>.</summary>
    public Logs TrainStep(Tensor x, Tensor y, Tensor? sampleWeight = null) => TrainStep([x], y, sampleWeight);

    /// <summary>
    /// One optimization step on a batch (one tensor per input): forward in training mode, loss (plus
    /// weight penalties), backward, optimizer update, metric update. Returns the running loss and
    /// metric values. The first two calls of a batch signature run eagerly under a trace; once both
    /// traces agree, later calls replay the compiled plan (the same ops on buffers allocated once).
    /// Override it for custom training; <see cref="ComputeGradients"/> and
    /// <see cref="Optimizers.Optimizer.ApplyGradients"/> are the building blocks.
    /// </summary>
    public virtual Logs TrainStep(Tensor[] x, Tensor y, Tensor? sampleWeight = null)
    {
        // A model builds on its first call: its signature (which weights train) is known from the next one.
        var entry = PlansEnabled && IsBuilt() ? EntryFor(ref _lastTrainKey, "train", x, y, sampleWeight, training: true) : null;
        if (entry is { Confirmed: true } && entry.Pool.TryTake(out var plan))
        {
            try
            {
                BindAll(plan, x, y, sampleWeight);
                plan.Forward();
                float stepLoss = plan.Outputs[1].ToScalar();
                if (plan.Root is not null)
                {
                    plan.Backward(DataParallel); // the hook hears of each gradient as it becomes final
                    stepLoss = ReduceGradients(entry.Trainable!, stepLoss);
                    Optimizer!.Apply(entry.Trainable!);
                }
                FinishStep(stepLoss, y, plan.Outputs[0], sampleWeight);
            }
            finally
            {
                entry.Pool.Add(plan);
            }
            return CurrentLogs();
        }

        // Eager, and traced while the signature may still become a plan.
        bool trace = entry is not null && entry.EagerReason is null;
        var inputs = trace ? OwnInputs(x, y, sampleWeight) : null;
        var xs = inputs is null ? x : inputs[..x.Length];
        var ys = inputs is null ? y : inputs[x.Length];
        var ws = inputs is null || sampleWeight is null ? sampleWeight : inputs[^1];
        var trainable = TrainableWeights.Select(w => w.Value).ToList();
        foreach (var p in trainable)
            p.ZeroGrad();
        Tensor yPred, loss, total;
        Trace? recorder = trace ? Trace.Begin() : null;
        try
        {
            yPred = Forward(xs, training: true);
            loss = Loss!.Compute(ys, yPred, ws);
            total = AddRegularization(loss);
        }
        finally
        {
            recorder?.Dispose();
        }
        Plan? compiled = null;
        string? why = null;
        if (recorder is not null)
        {
            compiled = Plan.Compile(recorder, inputs!, [yPred, loss, total], total, out why);
            if (compiled is not null)
                compiled.PoisonDeadActivations = PoisonPlanActivations;
        }
        float eagerLoss = loss.ToScalar();
        if (total.RequiresGrad) // false for a model without trainable weights: nothing to update
        {
            if (compiled?.Root is not null)
                compiled.Backward(DataParallel); // the same node backwards the eager engine would run
            else
                total.Backward();
            eagerLoss = ReduceGradients(trainable, eagerLoss);
            Optimizer!.Apply(trainable);
        }
        FinishStep(eagerLoss, y, yPred.Detach(), sampleWeight);
        if (entry is not null && recorder is not null)
        {
            entry.Trainable ??= trainable;
            if (PlanCache.Admit(entry, compiled, why))
                entry.Pool.Add(compiled!);
        }
        return CurrentLogs();
    }

    /// <summary>
    /// Runs a custom step compiled, as a traced function does in TensorFlow: the first two calls of an
    /// input signature run <paramref name="step"/> eagerly under a trace — every op, each
    /// <see cref="ComputeGradients"/>, each optimizer update (<see cref="Optimizers.Optimizer.Apply"/>,
    /// <see cref="Optimizers.Optimizer.ApplyGradients"/>) — and once both traces agree, later calls
    /// replay the recorded program on buffers allocated once, without calling <paramref name="step"/>.
    /// The step returns named scalar tensors (losses); the result holds their running means since the
    /// epoch began. Random draws inside the step must be ops (<see cref="Tensor.RandomNormal(int[], Rng, float, float)"/>
    /// with an <see cref="Rng"/>) to be drawn afresh on each replay; a step whose ops depend on values
    /// (branches on <see cref="Tensor.ToScalar"/>) is detected by the second trace and stays eager.
    /// <see cref="ExecutionPath"/> shows which path runs.
    /// </summary>
    /// <param name="name">Names the step in <see cref="ExecutionPath"/> (a model may have several).</param>
    /// <param name="inputs">The batch tensors the step reads (bound afresh on every call).</param>
    /// <param name="step">The step, written with ops on the tensors it is given.</param>
    protected Logs TracedStep(string name, Tensor[] inputs, Func<Tensor[], IReadOnlyDictionary<string, Tensor>> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int rows = inputs is { Length: > 0 } && inputs[0] is { Rank: > 0 } first ? first.Shape[0] : 1;
        string[]? names = null;
        RunTraced(name, inputs, own =>
        {
            var results = step(own) ?? throw new InvalidOperationException($"TracedStep '{name}': the step returned null; return its named scalar results");
            foreach (var (k, v) in results)
            {
                if (v is null || v.Size != 1)
                    throw new InvalidOperationException($"TracedStep '{name}': result '{k}' must be a scalar, got {(v is null ? "null" : $"shape {v.Shape}")}");
            }
            names = [.. results.Keys];
            return (names, [.. results.Values]);
        }, (outputNames, values) =>
        {
            for (int i = 0; i < values.Length; i++)
                StepMean(outputNames![i]).Add(values[i].ToScalar(), rows);
        });
        return StepLogs();
    }

    /// <summary>
    /// The engine of <see cref="TracedStep"/> and of the explanation methods: a function of batch tensors
    /// (ops, gradient computations, optimizer updates) traced on its first two calls of a signature and
    /// replayed as a compiled program once both traces agree. <paramref name="read"/> sees the results
    /// (on a replay, buffers the plan owns: read or copy them there, do not keep them) with the names
    /// the step gave (null when it gave none; then only the values are compared between traces).
    /// </summary>
    internal void RunTraced(string name, Tensor[] inputs, Func<Tensor[], (string[]? Names, Tensor[] Values)> step, Action<string[]?, Tensor[]> read)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(step);
        if (inputs.Length == 0 || inputs.Any(t => t is null))
            throw new ArgumentException($"TracedStep '{name}': expected one or more input tensors, got {(inputs.Length == 0 ? "none" : "a null one")}");
        CustomStep? slot;
        lock (_customSteps)
        {
            if (!_customSteps.TryGetValue(name, out slot))
                _customSteps[name] = slot = new CustomStep(string.Intern("step:" + name));
        }
        var entry = PlansEnabled && IsBuilt() ? EntryFor(ref slot.Last, slot.Kind, inputs, null, null, training: true) : null;
        if (entry is { Confirmed: true } && entry.Pool.TryTake(out var plan))
        {
            try
            {
                for (int i = 0; i < inputs.Length; i++)
                    plan.Bind(i, inputs[i]);
                plan.Run();
                read(entry.OutputNames, plan.Outputs);
            }
            finally
            {
                entry.Pool.Add(plan);
            }
            return;
        }

        bool trace = entry is not null && entry.EagerReason is null;
        var own = trace ? OwnInputs(inputs, null, null) : inputs;
        var recorder = trace ? Trace.Begin() : null;
        string[]? names;
        Tensor[] values;
        try
        {
            (names, values) = step(own);
        }
        finally
        {
            recorder?.Dispose();
        }
        read(names, values);
        if (entry is not null && recorder is not null)
        {
            var compiled = Plan.CompileProgram(recorder, own, values, out var why);
            if (compiled is not null)
                compiled.PoisonDeadActivations = PoisonPlanActivations;
            lock (entry)
                entry.OutputNames ??= names;
            if (compiled is not null && names is not null && !entry.OutputNames!.SequenceEqual(names))
                (compiled, why) = (null, "the step's results changed between two calls");
            if (PlanCache.Admit(entry, compiled, why))
                entry.Pool.Add(compiled!);
        }
    }

    private readonly Dictionary<string, Metrics.Mean> _stepMeans = new(StringComparer.Ordinal);

    /// <summary>The running mean of a custom step's named result since the epoch began (created on first use; reset with the metrics).</summary>
    private protected Metrics.Mean StepMean(string name)
    {
        if (!_stepMeans.TryGetValue(name, out var m))
            _stepMeans[name] = m = new Metrics.Mean(name);
        return m;
    }

    private Logs StepLogs()
    {
        var logs = new Logs();
        foreach (var (k, m) in _stepMeans)
            logs[k] = m.Result();
        return logs;
    }

    /// <summary>
    /// Data-parallel training's hook (null: this process trains alone). Set by a distribution strategy
    /// (Strata.Distributed) for the length of a Fit; the default step then averages the gradients over
    /// the replicas between the backward pass and the optimizer update, and Fit reduces the epoch's figures.
    /// A model with its own <see cref="TrainStep(Tensor[], Tensor, Tensor?)"/> is not covered.
    /// </summary>
    public IDataParallel? DataParallel { get; set; }

    /// <summary>The gradients averaged over the replicas (data-parallel training), and the step's loss with them.</summary>
    private float ReduceGradients(IReadOnlyList<Tensor> trainable, float loss) =>
        DataParallel is { } dp ? dp.ReduceGradients(trainable, loss) : loss;

    private void FinishStep(float loss, Tensor y, Tensor yPred, Tensor? sampleWeight)
    {
        _lossTracker.Add(loss, y.Shape[0]);
        foreach (var m in _metrics)
            m.Update(y, yPred, sampleWeight);
    }

    /// <summary>The inference output for one batch (a tensor the caller owns), on a compiled plan once the signature is confirmed.</summary>
    private Tensor InferBatch(Tensor[] x, int start, int len)
    {
        bool whole = start == 0 && len == x[0].Shape[0];
        var entry = PlansEnabled && IsBuilt() ? EntryFor(ref _lastPredictKey, "predict", x, null, null, training: false, rows: len) : null;
        if (entry is { Confirmed: true } && entry.Pool.TryTake(out var plan))
        {
            try
            {
                for (int i = 0; i < x.Length; i++)
                {
                    int row = x[i].Size / x[i].Shape[0];
                    plan.Bind(i, x[i].Buffer, x[i].Start + start * row); // the rows in place: no copy
                }
                plan.Forward();
                return plan.Outputs[0].Clone();
            }
            finally
            {
                entry.Pool.Add(plan);
            }
        }
        var batch = whole ? x : x.Select(t => RowsView(t, start, len)).ToArray();
        if (entry is null || entry.EagerReason is not null)
            return Forward(batch, training: false);
        var inputs = OwnInputs(batch, null, null);
        Tensor output;
        var recorder = Trace.Begin();
        try
        {
            output = Forward(inputs, training: false);
        }
        finally
        {
            recorder.Dispose();
        }
        var compiled = Plan.Compile(recorder, inputs, [output], null, out var why);
        if (compiled is not null)
            compiled.PoisonDeadActivations = PoisonPlanActivations;
        if (compiled is not null && _inferenceBytesPerSample == 0)
            _inferenceBytesPerSample = Math.Max(1, compiled.BufferBytes / len);
        var result = output.Clone();
        if (PlanCache.Admit(entry, compiled, why))
            entry.Pool.Add(compiled!);
        return result;
    }

    /// <summary>Rows [start, start + len) of a batch as a tensor over the same array (no copy).</summary>
    private static Tensor RowsView(Tensor t, int start, int len)
    {
        int row = t.Size / t.Shape[0];
        return new Tensor(t.Buffer, t.Start + start * row, new Shape([len, .. t.Shape.Dims[1..]]));
    }

    /// <summary>Tensors the plan owns (and rebinds on later calls), over the caller's arrays.</summary>
    private static Tensor[] OwnInputs(Tensor[] x, Tensor? y, Tensor? w)
    {
        var list = x.Select(t => new Tensor(t.Buffer, t.Start, t.Shape)).ToList();
        if (y is not null)
            list.Add(new Tensor(y.Buffer, y.Start, y.Shape));
        if (w is not null)
            list.Add(new Tensor(w.Buffer, w.Start, w.Shape));
        return [.. list];
    }

    private static void BindAll(Plan plan, Tensor[] x, Tensor y, Tensor? w)
    {
        for (int i = 0; i < x.Length; i++)
            plan.Bind(i, x[i]);
        plan.Bind(x.Length, y);
        if (w is not null)
            plan.Bind(x.Length + 1, w);
    }

    private bool IsBuilt()
    {
        var layers = Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            if (!layers[i].Built)
                return false;
        }
        return layers.Count > 0;
    }

    /// <summary>The last signature looked up per kind: a repeated call finds its entry without building the key.</summary>
    private sealed class LastKey(string kind, Shape[] x, Shape? y, Shape? w, bool[] trainable, int rows, PlanCache.Entry entry, int generation)
    {
        public readonly string Kind = kind;
        public readonly PlanCache.Entry Entry = entry;
        public readonly int Generation = generation;

        public bool Matches(Tensor[] xs, Tensor? ys, Tensor? ws, int rowsNow, IReadOnlyList<Layers.Layer> layers)
        {
            if (rowsNow != rows || xs.Length != x.Length || ys is null != y is null || ws is null != w is null)
                return false;
            for (int i = 0; i < xs.Length; i++)
            {
                if (!SameShape(xs[i].Shape, x[i], rows))
                    return false;
            }
            if ((ys is not null && ys.Shape != y!.Value) || (ws is not null && ws.Shape != w!.Value))
                return false;
            int k = 0;
            for (int i = 0; i < layers.Count; i++)
            {
                var lw = layers[i].Weights;
                for (int j = 0; j < lw.Count; j++, k++)
                {
                    if (k >= trainable.Length || lw[j].Trainable != trainable[k])
                        return false;
                }
            }
            return k == trainable.Length;
        }

        /// <summary>Equal shapes, the leading (row) axis taken as <paramref name="rows"/> when that is given.</summary>
        private static bool SameShape(Shape now, Shape then, int rows)
        {
            if (rows < 0)
                return now == then;
            if (now.Rank != then.Rank)
                return false;
            for (int d = 1; d < now.Rank; d++)
            {
                if (now.Dims[d] != then.Dims[d])
                    return false;
            }
            return true;
        }
    }

    private LastKey? _lastTrainKey, _lastPredictKey;

    /// <summary>A traced custom step's plan-cache kind and its last signature.</summary>
    private sealed class CustomStep(string kind)
    {
        public readonly string Kind = kind;
        public LastKey? Last;
    }

    private readonly Dictionary<string, CustomStep> _customSteps = new(StringComparer.Ordinal);

    /// <summary>The plan-cache entry of a call's signature (see <see cref="StepKey"/>); allocation-free when the signature repeats.</summary>
    private PlanCache.Entry EntryFor(ref LastKey? last, string kind, Tensor[] x, Tensor? y, Tensor? w, bool training, int rows = -1)
    {
        var layers = Layers;
        var seen = Volatile.Read(ref last);
        if (seen is not null && seen.Generation == _plans.Generation && ReferenceEquals(seen.Kind, kind) && seen.Matches(x, y, w, rows, layers))
            return seen.Entry;
        int generation = _plans.Generation;
        var entry = _plans.Get(StepKey(kind, x, y, w, training, rows));
        var flags = new List<bool>();
        foreach (var l in layers)
        {
            foreach (var wt in l.Weights)
                flags.Add(wt.Trainable);
        }
        Volatile.Write(ref last, new LastKey(kind, [.. x.Select(t => t.Shape)], y?.Shape, w?.Shape, [.. flags], rows, entry, generation));
        return entry;
    }

    /// <summary>The signature a plan is cached under: kind, shapes and (for training) which weights train.</summary>
    private string StepKey(string kind, Tensor[] x, Tensor? y, Tensor? w, bool training, int rows = -1)
    {
        var sb = new StringBuilder(kind);
        foreach (var t in x)
            sb.Append(rows >= 0 ? new Shape([rows, .. t.Shape.Dims[1..]]) : t.Shape);
        if (y is not null)
            sb.Append(" y").Append(y.Shape);
        if (w is not null)
            sb.Append(" w").Append(w.Shape);
        if (training)
        {
            // Which weights train (freezing a layer changes the step).
            sb.Append(' ');
            var layers = Layers;
            for (int i = 0; i < layers.Count; i++)
            {
                var ws = layers[i].Weights;
                for (int k = 0; k < ws.Count; k++)
                    sb.Append(ws[k].Trainable ? '1' : '0');
            }
        }
        return sb.ToString();
    }

    /// <summary>Whether the compiled paths may run; tests turn them off to compare with eager execution.</summary>
    internal bool PlansEnabled { get; set; } = true;

    /// <summary>
    /// A check for tests: the plans compiled from now on fill each shared activation with NaN when its
    /// lifetime ends (see <see cref="Plan.PoisonDeadActivations"/>), so a wrong lifetime shows in the results.
    /// </summary>
    internal bool PoisonPlanActivations { get; set; }

    /// <summary>Whether some call signature of this kind ("train", "predict") runs on a confirmed plan.</summary>
    internal bool HasCompiledPlan(string kind) => _plans.Describe().Any(e => e.Compiled && e.Key.StartsWith(kind, StringComparison.Ordinal));

    /// <summary>
    /// Bytes a confirmed plan of this kind holds: activations, and intermediate gradients (each shared among
    /// themselves where lifetimes allow, and one buffer each), and both together on the arrays a replay
    /// runs on (<see cref="Plan.SharedBytes"/>); null when none.
    /// </summary>
    internal (long Activations, long Gradients, long GradientsUnshared, long ActivationsUnshared, long Together)? PlanMemory(string kind)
    {
        foreach (var (key, entry) in _plans.Entries())
        {
            if (entry.Confirmed && key.StartsWith(kind, StringComparison.Ordinal) && entry.Pool.TryPeek(out var plan))
                return (plan.BufferBytes, plan.GradientBytes, plan.GradientBytesUnshared, plan.BufferBytesUnshared, plan.SharedBytes);
        }
        return null;
    }

    /// <summary>The op signature of a confirmed plan of this kind (every node, in order; see <see cref="Plan.Signature"/>); null when none.</summary>
    internal string? PlanSignature(string kind)
    {
        foreach (var (key, entry) in _plans.Entries())
        {
            if (entry.Confirmed && key.StartsWith(kind, StringComparison.Ordinal) && entry.Pool.TryPeek(out var plan))
                return plan.Signature;
        }
        return null;
    }

    /// <summary>
    /// A confirmed plan's buffers, as <see cref="ExecutionPath"/> shows them: " (buffers 350 KiB: activations
    /// 96 KiB, 320 KiB with a buffer each; gradients ...)" — the first figure is what a replay runs on.
    /// </summary>
    private string Memory(string key)
    {
        foreach (var (k, entry) in _plans.Entries())
        {
            if (k == key && entry.Pool.TryPeek(out var plan))
            {
                static string KiB(long bytes) => (bytes / 1024.0).ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " KiB";
                var text = $" (buffers {KiB(plan.SharedBytes)}: activations {KiB(plan.BufferBytes)}, {KiB(plan.BufferBytesUnshared)} with a buffer each";
                if (plan.GradientBytesUnshared > 0)
                    text += $"; gradients {KiB(plan.GradientBytes)}, {KiB(plan.GradientBytesUnshared)} with a buffer each";
                return text + ")";
            }
        }
        return "";
    }

    /// <summary>Drops the compiled plans (after the layers change).</summary>
    private protected void InvalidatePlans() => _plans.Clear();

    /// <summary>
    /// Which path each kind of call takes — "compiled" once its plan is confirmed, or "eager" with the
    /// reason (an op without a compiled form, a step whose ops change between calls) — one line per
    /// call signature seen so far; "not run yet" before the first.
    /// </summary>
    public string ExecutionPath
    {
        get
        {
            var lines = _plans.Describe().Select(e => $"{e.Key}: {(e.Compiled ? "compiled plan" + Memory(e.Key) : e.Reason is null ? "tracing" : $"eager ({e.Reason})")}").ToList();
            return lines.Count == 0 ? "not run yet" : string.Join(Environment.NewLine, lines);
        }
    }

    /// <summary>
    /// Gradients of any scalar with respect to any set of parameters: zeroes their gradients, runs
    /// backward from <paramref name="loss"/> along the paths to them (other tensors' gradients are not
    /// touched), and returns a copy of each gradient (zeros where the loss does not depend on a parameter). The loss's graph is kept, so several gradient sets can be
    /// computed from one loss. Apply them with <see cref="Optimizers.Optimizer.ApplyGradients"/>.
    /// </summary>
    public static Tensor[] ComputeGradients(Tensor loss, IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(loss);
        var list = parameters.ToArray();
        foreach (var p in list)
        {
            if (p.Node is not null)
                throw new ArgumentException($"ComputeGradients: parameter {p.Describe()} is computed by op '{p.Node.Op}', not a leaf; pass the weights themselves");
            p.ZeroGrad();
        }
        // The graph is kept: several gradient sets may be computed from one loss (eagerly as on a plan).
        // Only the paths to these parameters run, as on a plan: other leaves' gradients are left as they were.
        BackwardEngine.Run(loss, null, retainGraph: true, recorded: true, wanted: list);
        // Plain copies, not ops: a traced step's plan refreshes them after its backward pass.
        var copies = list.Select(p => Tensor.Wrap(p.Grad?.ToArray() ?? new float[p.Size], p.Shape)).ToArray();
        Trace.RecordGradients(loss, list, copies);
        return copies;
    }
}

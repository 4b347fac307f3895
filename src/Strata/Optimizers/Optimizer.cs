using System.Numerics.Tensors;
using Strata.Kernels;

namespace Strata.Optimizers;

/// <summary>
/// The base of all optimizers: learning rate (constant or scheduled), gradient clipping, the step
/// counter and per-parameter state (named slots, one array per weight each). Subclasses implement one
/// update of one parameter (<see cref="UpdateStep"/>); updates happen in place, outside the autograd graph.
/// A custom optimizer also returns its settings from <see cref="CreateConfig"/> and registers once with
/// <see cref="Serialization.OptimizerRegistry"/>, so that a model file saves it and its state and training resumes.
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<Tensor, float[][]> _slots = new(ReferenceEqualityComparer.Instance);
    private float _learningRate;

    /// <param name="name">The Keras name.</param>
    /// <param name="learningRate">The constant rate (ignored when a schedule is given).</param>
    /// <param name="schedule">A rate per step.</param>
    /// <param name="clipValue">Clamp each gradient element to [−v, v].</param>
    /// <param name="clipNorm">Rescale each gradient tensor whose L2 norm exceeds this.</param>
    /// <param name="globalClipNorm">Rescale all gradients together when their joint L2 norm exceeds this.</param>
    protected Optimizer(string name, float learningRate, ILearningRateSchedule? schedule, float? clipValue, float? clipNorm, float? globalClipNorm)
    {
        if (!(learningRate > 0) && schedule is null)
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"{name}: learning rate must be positive, got {learningRate}");
        foreach (var (v, n) in new[] { (clipValue, "clipValue"), (clipNorm, "clipNorm"), (globalClipNorm, "globalClipNorm") })
        {
            if (v is float f && !(f > 0))
                throw new ArgumentOutOfRangeException(n, $"{name}: {n} must be positive, got {f}");
        }
        Name = name;
        _learningRate = learningRate;
        Schedule = schedule;
        ClipValue = clipValue;
        ClipNorm = clipNorm;
        GlobalClipNorm = globalClipNorm;
    }

    /// <summary>The Keras name ("adam", "sgd", ...), used in messages and model files.</summary>
    public string Name { get; }

    /// <summary>The schedule, when the rate varies per step.</summary>
    public ILearningRateSchedule? Schedule { get; }

    /// <summary>The rate the next update uses. Settable (by callbacks) when there is no schedule.</summary>
    public float LearningRate
    {
        get => Schedule?.Rate(Iterations) ?? _learningRate;
        set
        {
            if (Schedule is not null)
                throw new InvalidOperationException($"{Name}: the learning rate follows a schedule and cannot be set");
            if (!(value > 0))
                throw new ArgumentOutOfRangeException(nameof(value), $"{Name}: learning rate must be positive, got {value}");
            _learningRate = value;
        }
    }

    /// <summary>Clamps each gradient element to [−v, v] before the update; null: no clamping.</summary>
    public float? ClipValue { get; }
    /// <summary>Rescales each gradient tensor whose L2 norm exceeds this; null: none.</summary>
    public float? ClipNorm { get; }
    /// <summary>Rescales all gradients together when their joint L2 norm exceeds this; null: none.</summary>
    public float? GlobalClipNorm { get; }

    /// <summary>The number of updates applied so far.</summary>
    public long Iterations { get; set; }

    /// <summary>
    /// Applies one update to every parameter that has a gradient, using its <see cref="Tensor.Grad"/>
    /// (clipped in place first when clipping is configured), then advances <see cref="Iterations"/>.
    /// </summary>
    public void Apply(IEnumerable<Tensor> parameters)
    {
        var list = parameters as IReadOnlyList<Tensor> ?? parameters.ToArray();
        if (Autograd.Trace.Current is not null)
        {
            // Inside a traced step the update is replayed as recorded, on these parameters.
            var fixedList = list.ToArray();
            // It reads the parameters' own gradients, none of the step's op outputs.
            Autograd.Trace.RecordEffect(new($"apply:{Name}:{fixedList.Length}", this, fixedList, () => ApplyCore(fixedList), Reads: []));
        }
        ApplyCore(list);
    }

    private void ApplyCore(IReadOnlyList<Tensor> list)
    {
        Clip(list);
        float lr = LearningRate;
        for (int i = 0; i < list.Count; i++)
        {
            var p = list[i];
            if (p.Grad is null)
                continue;
            if (!_slots.TryGetValue(p, out var slots))
            {
                slots = new float[SlotCount][];
                for (int s = 0; s < slots.Length; s++)
                {
                    slots[s] = new float[p.Size];
                    if (SlotInitialValue(s) != 0)
                        Array.Fill(slots[s], SlotInitialValue(s));
                }
                _slots[p] = slots;
            }
            UpdateStep(p.AsWritableSpan(), p.Grad.Span, slots, lr);
        }
        Iterations++;
    }

    /// <summary>
    /// Applies given gradients (for example from <see cref="Models.Model.ComputeGradients"/>) to their
    /// parameters: the custom-loop form of <see cref="Apply"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A gradient whose shape differs from its parameter's.</exception>
    public void ApplyGradients(IEnumerable<(Tensor Gradient, Tensor Parameter)> pairs)
    {
        var list = pairs.ToArray();
        foreach (var (g, p) in list)
        {
            if (g.Shape != p.Shape)
                throw new ArgumentException($"{Name}: gradient {g.Shape} does not match parameter {p.Describe()}");
        }
        var parameters = list.Select(pair => pair.Parameter).ToArray();
        // A traced step replays the whole update: the gradients it computed, then the optimizer's step.
        if (Autograd.Trace.Current is { } trace)
        {
            // A replay re-reads the gradients: they must be values the step computes (not host copies).
            for (int i = 0; i < list.Length; i++)
            {
                if (!trace.Owns(list[i].Gradient))
                {
                    trace.Fail($"{Name}.ApplyGradients: gradient {i} was not computed by the step's ops (a Clone or a host copy?); a compiled step cannot replay it");
                    break;
                }
            }
            Autograd.Trace.RecordEffect(new($"apply_gradients:{Name}:{list.Length}", this, parameters, () => ApplyGradientsCore(list, parameters),
                Reads: [.. list.Select(pair => pair.Gradient)]));
        }
        ApplyGradientsCore(list, parameters);
    }

    private void ApplyGradientsCore((Tensor Gradient, Tensor Parameter)[] list, Tensor[] parameters)
    {
        foreach (var (g, p) in list)
        {
            if (p.Grad is null)
                p.Grad = Tensor.Wrap(g.ToArray(), g.Shape);
            else
                g.Span.CopyTo(p.Grad.AsWritableSpan());
        }
        ApplyCore(parameters);
    }

    /// <summary>The number of per-parameter state arrays (momentum, moments, ...).</summary>
    protected virtual int SlotCount => 0;

    /// <summary>The state arrays kept per parameter (what memory estimates count).</summary>
    internal int SlotsPerParameter => SlotCount;

    /// <summary>
    /// The name a state array is saved under (beside its weight's name); <c>slot0</c>, <c>slot1</c>, ... unless
    /// overridden. Names must differ from each other.
    /// </summary>
    protected virtual string SlotName(int slot) => $"slot{slot}";

    /// <summary>The names of the state arrays, in slot order.</summary>
    public IReadOnlyList<string> SlotNames => [.. Enumerable.Range(0, SlotCount).Select(SlotName)];

    /// <summary>
    /// The settings a model file saves: this optimizer's <see cref="CreateConfig"/> with the rate (or
    /// schedule) and clipping filled in.
    /// </summary>
    public OptimizerConfig GetConfig() => CreateConfig() with
    {
        LearningRate = Schedule is null ? _learningRate : null,
        Schedule = Schedule,
        ClipValue = ClipValue,
        ClipNorm = ClipNorm,
        GlobalClipNorm = GlobalClipNorm,
    };

    /// <summary>The subclass's own settings, as the config record it is registered with (the base fields are filled in by <see cref="GetConfig"/>).</summary>
    protected virtual OptimizerConfig CreateConfig() => new();

    /// <summary>The initial value of a state array (Adagrad starts its accumulator at 0.1).</summary>
    protected virtual float SlotInitialValue(int slot) => 0;

    /// <summary>Updates one parameter in place. <see cref="Iterations"/> is the 0-based index of this update.</summary>
    protected abstract void UpdateStep(Span<float> param, ReadOnlySpan<float> grad, float[][] slots, float lr);

    /// <summary>The state arrays of a parameter (for inspection and checkpoints), or null before its first update.</summary>
    public IReadOnlyList<float[]>? GetSlots(Tensor parameter) => _slots.TryGetValue(parameter, out var s) ? s : null;

    /// <summary>
    /// Replaces the state with a saved one (checkpoints): the per-parameter arrays, the step count and,
    /// without a schedule, the rate. Everything is checked before anything changes.
    /// </summary>
    /// <exception cref="ArgumentException">A parameter with the wrong number or size of arrays, or a bad count or rate.</exception>
    internal void RestoreState(IReadOnlyList<(Tensor Parameter, float[][] Slots)> slots, long iterations, float learningRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        if (Schedule is null && !(learningRate > 0 && float.IsFinite(learningRate)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"{Name}: learning rate must be positive, got {learningRate}");
        foreach (var (p, s) in slots)
        {
            if (s.Length != SlotCount || s.Any(a => a.Length != p.Size))
                throw new ArgumentException($"{Name}: parameter {p.Describe()} needs {SlotCount} state array(s) of {p.Size} values, got {s.Length} of [{string.Join(", ", s.Select(a => a.Length))}]");
        }
        _slots.Clear();
        foreach (var (p, s) in slots)
            _slots[p] = s;
        Iterations = iterations;
        if (Schedule is null)
            _learningRate = learningRate;
    }

    private void Clip(IReadOnlyList<Tensor> parameters)
    {
        if (ClipValue is float v)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i];
                if (p.Grad is not null)
                    TensorPrimitives.Clamp(p.Grad.Span, -v, v, p.Grad.AsWritableSpan());
            }
        }
        if (ClipNorm is float n)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i];
                if (p.Grad is null)
                    continue;
                float norm = MathF.Sqrt(Summation.SumOfSquares(p.Grad.Span));
                if (norm > n)
                    TensorPrimitives.Multiply(p.Grad.Span, n / norm, p.Grad.AsWritableSpan());
            }
        }
        if (GlobalClipNorm is float gn)
        {
            double sq = 0;
            for (int i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i];
                if (p.Grad is not null)
                    sq += Summation.SumOfSquares(p.Grad.Span);
            }
            float norm = (float)Math.Sqrt(sq);
            if (norm > gn)
            {
                for (int i = 0; i < parameters.Count; i++)
                {
                    var p = parameters[i];
                    if (p.Grad is not null)
                        TensorPrimitives.Multiply(p.Grad.Span, gn / norm, p.Grad.AsWritableSpan());
                }
            }
        }
    }

    /// <summary>The name and the current rate: "adam(learning rate 0.001)".</summary>
    public override string ToString() => $"{Name}(learning rate {LearningRate})";
}

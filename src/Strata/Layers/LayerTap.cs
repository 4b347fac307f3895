namespace Strata.Layers;

/// <summary>
/// Sees every layer's output on this thread while it is active (<see cref="Begin"/>) and may replace
/// it with ops of its own: the explanation methods read a layer's activations (feature maps) and take
/// gradients with respect to them (Grad-CAM, attributions on embeddings) this way, in any model that
/// runs its layers through <see cref="Layer.Forward(Tensor, bool)"/>. What a tap adds are ordinary ops,
/// so a traced step records them and its compiled plan replays them.
/// </summary>
internal abstract class LayerTap
{
    [ThreadStatic]
    private static LayerTap? t_current;

    /// <summary>The tap active on this thread, or null.</summary>
    public static LayerTap? Current => t_current;

    /// <summary>Activates <paramref name="tap"/> on this thread until the result is disposed (the previous tap is restored).</summary>
    public static Scope Begin(LayerTap tap)
    {
        var previous = t_current;
        t_current = tap;
        return new Scope(previous);
    }

    /// <summary>The output the model goes on with in place of <paramref name="output"/> (usually <paramref name="output"/> itself).</summary>
    public abstract Tensor Visit(Layer layer, Tensor output);

    public readonly struct Scope(LayerTap? previous) : IDisposable
    {
        public void Dispose() => t_current = previous;
    }
}

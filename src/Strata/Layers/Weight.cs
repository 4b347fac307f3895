namespace Strata.Layers;

/// <summary>A named weight of a layer: its tensor, whether training updates it, and its penalty.</summary>
public sealed class Weight
{
    internal Weight(string name, Tensor value, bool trainable, Regularizer? regularizer)
    {
        Name = name;
        Value = value;
        Value.Name = name;
        Trainable = trainable;
        Regularizer = regularizer;
    }

    /// <summary>"layer/kernel"-style name, unique within a model.</summary>
    public string Name { get; }

    /// <summary>The current value (updated in place by optimizers).</summary>
    public Tensor Value { get; }

    /// <summary>Whether optimizers update it (moving statistics, for example, are not trainable).</summary>
    public bool Trainable
    {
        get => Value.RequiresGrad;
        set => Value.RequiresGrad = value;
    }

    /// <summary>
    /// Whether model files store this weight as int8 (safetensors I8: one byte per value): the
    /// integer weights of quantized layers, whose values must stay integers in [−128, 127].
    /// </summary>
    public bool StoredAsInt8 { get; internal set; }

    /// <summary>The penalty added to the loss, if any.</summary>
    public Regularizer? Regularizer { get; }

    /// <summary>The name and shape: "kernel [784, 128]", with " (non-trainable)" for the others.</summary>
    public override string ToString() => $"{Name} {Value.Shape}{(Trainable ? "" : " (non-trainable)")}";
}

using Strata.Layers;
using Strata.Optimizers;

namespace Strata.Models;

/// <summary>
/// The DCGAN presets for 28×28 grey images (MNIST), uncompiled; w is the width (default 32).
/// Generator: Dense(7·7·2w, no bias) → batch norm → leaky ReLU → Reshape(7, 7, 2w) →
/// Conv2DTranspose(2w, 4, stride 2) → batch norm → leaky ReLU → Conv2DTranspose(w, 4, stride 2) →
/// batch norm → leaky ReLU → Conv2D(1, 3, tanh): images in [−1, 1]. Discriminator: Conv2D(w, 4,
/// stride 2) → leaky ReLU → Dropout(0.3) → Conv2D(2w, 4, stride 2) → leaky ReLU → Dropout(0.3) →
/// Flatten → Dense(1): one logit. Leaky ReLU slopes 0.2, as in the DCGAN paper (Radford et al.,
/// 2015), whose Adam settings (2e-4, β1 = 0.5)
/// <see cref="Compile"/> uses. The conditional pair takes the class label as a second input, an
/// Embedding(classes, 50) mapped by a Dense layer to one more channel: a 7×7 plane beside the
/// generator's first feature maps, a 28×28 plane beside the discriminator's image.
/// </summary>
public static class GanPresets
{
    /// <summary>The default latent size.</summary>
    public const int DefaultLatent = 100;

    /// <summary>The default width w (the generator's transposed convolutions have 2w and w channels, the discriminator's convolutions w and 2w).</summary>
    public const int DefaultWidth = 32;

    private const int LabelEmbedding = 50;

    private static ActivationFunction Leaky => ActivationFunction.LeakyRelu(0.2f);

    /// <summary>The DCGAN generator: [latent] → [28, 28, 1] in [−1, 1].</summary>
    public static Model Generator(int latentDim = DefaultLatent, int width = DefaultWidth, ulong seed = 0)
    {
        Check(latentDim, width, classes: null);
        var z = Input.Create([latentDim]);
        return new Model(z, GeneratorBody(z, null, width), seed, "generator");
    }

    /// <summary>The DCGAN discriminator: [28, 28, 1] → one logit.</summary>
    public static Model Discriminator(int width = DefaultWidth, ulong seed = 0)
    {
        Check(1, width, classes: null);
        var image = Input.Create([28, 28, 1]);
        return new Model(image, DiscriminatorBody(image, width), seed, "discriminator");
    }

    /// <summary>The conditional generator: [latent], [1] (the class) → [28, 28, 1].</summary>
    public static Model ConditionalGenerator(int classes = 10, int latentDim = DefaultLatent, int width = DefaultWidth, ulong seed = 0)
    {
        Check(latentDim, width, classes);
        var z = Input.Create([latentDim]);
        var label = Input.Create([1]);
        var plane = new Reshape([7, 7, 1]).Apply(new Dense(7 * 7).Apply(new Flatten().Apply(new Embedding(classes, LabelEmbedding).Apply(label))));
        return new Model([z, label], GeneratorBody(z, plane, width), seed, "conditional_generator");
    }

    /// <summary>The conditional discriminator: [28, 28, 1], [1] (the class) → one logit.</summary>
    public static Model ConditionalDiscriminator(int classes = 10, int width = DefaultWidth, ulong seed = 0)
    {
        Check(1, width, classes);
        var image = Input.Create([28, 28, 1]);
        var label = Input.Create([1]);
        var plane = new Reshape([28, 28, 1]).Apply(new Dense(28 * 28).Apply(new Flatten().Apply(new Embedding(classes, LabelEmbedding).Apply(label))));
        return new Model([image, label], DiscriminatorBody(new Concatenate().Apply(image, plane), width), seed, "conditional_discriminator");
    }

    /// <summary>A DCGAN for MNIST from the presets (conditional on the digit when <paramref name="conditional"/>), compiled with Adam(2e-4, β1 = 0.5) for both networks.</summary>
    /// <param name="conditional">Whether both networks also take the digit.</param>
    /// <param name="latentDim">The latent size.</param>
    /// <param name="width">The channel width w.</param>
    /// <param name="seed">Seeds the generator (seed), the discriminator (seed + 1) and the latent draws (seed + 2).</param>
    /// <param name="labelSmoothing">One-sided label smoothing of the real labels (0: none).</param>
    public static Gan Dcgan(bool conditional = false, int latentDim = DefaultLatent, int width = DefaultWidth, ulong seed = 0, float labelSmoothing = 0)
    {
        Gan gan = conditional
            ? new ConditionalGan(ConditionalGenerator(10, latentDim, width, seed), ConditionalDiscriminator(10, width, seed + 1), 10, latentDim, seed + 2, "cdcgan")
            : new Gan(Generator(latentDim, width, seed), Discriminator(width, seed + 1), latentDim, seed + 2, "dcgan");
        Compile(gan, labelSmoothing);
        gan.ClassNames = conditional ? [.. Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))] : null;
        return gan;
    }

    /// <summary>The DCGAN paper's optimizers: Adam with rate 2e-4 and β1 = 0.5, one for each network.</summary>
    public static void Compile(Gan gan, float labelSmoothing = 0)
    {
        ArgumentNullException.ThrowIfNull(gan);
        gan.Compile(new Adam(2e-4f, beta1: 0.5f), new Adam(2e-4f, beta1: 0.5f), labelSmoothing: labelSmoothing);
    }

    private static SymbolicTensor GeneratorBody(SymbolicTensor z, SymbolicTensor? labelPlane, int w)
    {
        var h = new Dense(7 * 7 * 2 * w, useBias: false).Apply(z);
        h = new Activation(Leaky).Apply(new BatchNormalization().Apply(h));
        h = new Reshape([7, 7, 2 * w]).Apply(h);
        if (labelPlane is not null)
            h = new Concatenate().Apply(h, labelPlane); // the class as one more 7×7 channel
        h = new Conv2DTranspose(2 * w, 4, strides: 2, padding: Padding.Same, useBias: false).Apply(h);
        h = new Activation(Leaky).Apply(new BatchNormalization().Apply(h));
        h = new Conv2DTranspose(w, 4, strides: 2, padding: Padding.Same, useBias: false).Apply(h);
        h = new Activation(Leaky).Apply(new BatchNormalization().Apply(h));
        return new Conv2D(1, 3, padding: Padding.Same, activation: ActivationFunction.Tanh).Apply(h);
    }

    private static SymbolicTensor DiscriminatorBody(SymbolicTensor image, int w)
    {
        var h = new Conv2D(w, 4, strides: 2, padding: Padding.Same).Apply(image);
        h = new Dropout(0.3f).Apply(new Activation(Leaky).Apply(h));
        h = new Conv2D(2 * w, 4, strides: 2, padding: Padding.Same).Apply(h);
        h = new Dropout(0.3f).Apply(new Activation(Leaky).Apply(h));
        return new Dense(1).Apply(new Flatten().Apply(h));
    }

    private static void Check(int latentDim, int width, int? classes)
    {
        if (latentDim < 1)
            throw new ArgumentOutOfRangeException(nameof(latentDim), $"GanPresets: the latent size must be at least 1, got {latentDim}");
        if (width < 1)
            throw new ArgumentOutOfRangeException(nameof(width), $"GanPresets: the width must be at least 1, got {width}");
        if (classes is < 1)
            throw new ArgumentOutOfRangeException(nameof(classes), $"GanPresets: a conditional GAN needs at least 1 class, got {classes}");
    }
}

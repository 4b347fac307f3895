using Strata.Layers;
using Strata.Models;

namespace Strata.Explain;

/// <summary>Finds the layer an explanation or a view asks for, with errors that list the layers that would fit.</summary>
internal static class LayerLookup
{
    /// <summary>
    /// The layer named <paramref name="name"/> (checked against <paramref name="kind"/>), or the first /
    /// last layer of the kind when the name is null.
    /// </summary>
    /// <param name="caller">Names the caller in messages ("Explainer", "Views.Filters").</param>
    /// <param name="model">The model searched.</param>
    /// <param name="name">The layer's name, or null for the first / last of the kind.</param>
    /// <param name="kind">Which layers fit.</param>
    /// <param name="what">The kind in words with its article ("a convolutional layer (Conv2D, ...)").</param>
    /// <param name="first">With no name: the first layer of the kind (else the last).</param>
    /// <exception cref="ArgumentException">No layer of that name, one of another kind, or none of the kind.</exception>
    public static Layer Find(string caller, Model model, string? name, Func<Layer, bool> kind, string what, bool first)
    {
        var layers = model.Layers;
        var fitting = layers.Where(kind).Select(l => l.Name).ToList();
        string available = fitting.Count == 0 ? "none" : string.Join(", ", fitting);
        if (name is null)
        {
            var found = first ? layers.FirstOrDefault(kind) : layers.LastOrDefault(kind);
            return found ?? throw new ArgumentException($"{caller}: model '{model.Name}' has no {what[(what.IndexOf(' ') + 1)..]}");
        }
        var layer = layers.FirstOrDefault(l => l.Name == name)
            ?? throw new ArgumentException($"{caller}: model '{model.Name}' has no layer named '{name}' ({what} is needed; this model's: {available})");
        if (!kind(layer))
            throw new ArgumentException($"{caller}: layer '{name}' is {layer.GetType().Name}, not {what} (this model's: {available})");
        return layer;
    }
}

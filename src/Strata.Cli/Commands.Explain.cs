using System.CommandLine;
using System.Globalization;

namespace Strata.Cli;

internal static partial class Commands
{
    // ------------------------------------------------------------------ explain

    private static Option<float> FiniteFloat(string name, string description, float defaultValue, Func<float, bool> valid, string range)
    {
        var o = new Option<float>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(r =>
        {
            if (Parsed<float>(r) is float v && !(float.IsFinite(v) && valid(v)))
                r.AddError($"{name} must be {range}, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        return o;
    }

    private static Command ExplainCommand()
    {
        var model = ModelArgument();
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "Image files (read and scaled as predict reads them) or, for a text model, text files or mail messages; a folder: the files in it and below",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var method = new Option<string>("--method")
        {
            Description = "saliency (|gradient|, summed over channels), smoothgrad (the mean |gradient| of noisy copies), ig (integrated gradients from a black image; " +
                "for a text model, from zero embeddings), gradcam (a convolutional layer's Grad-CAM), occlusion (the drop of the target when a window is blanked), " +
                "or permutation (permutation feature importance on --data, a CSV file)",
            Required = true,
        };
        method.AcceptOnlyFromAmong(ExplainRun.Methods);
        var target = new Option<string?>("--target") { Description = "The class to explain, by name or output index (default: each input's predicted class)" };
        var layer = new Option<string?>("--layer") { Description = "gradcam: the convolutional layer, by name (default: the last one; `strata summary` lists them)" };
        var steps = Positive("--steps", "ig: points on the path from the baseline (each one forward and one backward pass)", 64);
        var samples = Positive("--samples", "smoothgrad: noisy copies per input", 50);
        var noise = FiniteFloat("--noise", "smoothgrad: the noise's standard deviation as a fraction of each input's value range", 0.15f, v => v >= 0, "a number ≥ 0");
        var window = Positive("--window", "occlusion: the side of the square window blanked", 4);
        var stride = Positive("--stride", "occlusion: the step between windows", 2);
        var fill = FiniteFloat("--fill", "occlusion: the value a blanked pixel takes (0: black)", 0, _ => true, "a finite number");
        var baselineToken = new Option<string?>("--baseline-token") { Description = "ig on a text model: the word whose embedding is the baseline (default: zero vectors)" };
        var plain = new Option<bool>("--plain-text") { Description = "Text models: read every file as plain UTF-8 text, also one that starts with mail headers" };
        var data = new Option<string?>("--data") { Description = "permutation: the CSV file of numbers (the label column last, or --label-column) to measure each feature's importance on" };
        var labelColumn = new Option<string?>("--label-column") { Description = "permutation: the CSV file's label column, by name (default: the last column)" };
        var repeats = Positive("--repeats", "permutation: shuffles per feature", 5);
        var seed = new Option<ulong>("--seed") { Description = "Seeds smoothgrad's noise and permutation's shuffles", DefaultValueFactory = _ => 0UL };
        var output = new Option<string>("--out") { Description = "The folder for the pictures, the pages and the tables", DefaultValueFactory = _ => "runs/explain" };
        var threads = Threads();
        var c = new Command("explain", "Show why a saved model decides as it does: attribution maps over images, token attributions over texts, or the importance of a CSV file's features")
        {
            model, inputs, method, target, layer, steps, samples, noise, window, stride, fill, baselineToken, plain, data, labelColumn, repeats, seed, output, threads,
        };
        // Which methods each option applies to; an option given to another method is a usage mistake.
        var applies = new (Option Option, string[] Methods)[]
        {
            (target, ExplainRun.AttributionMethods), (layer, ["gradcam"]), (steps, ["ig"]), (samples, ["smoothgrad"]), (noise, ["smoothgrad"]),
            (window, ["occlusion"]), (stride, ["occlusion"]), (fill, ["occlusion"]), (baselineToken, ["ig"]), (plain, ExplainRun.AttributionMethods),
            (data, ["permutation"]), (labelColumn, ["permutation"]), (repeats, ["permutation"]), (seed, ["smoothgrad", "permutation"]),
        };
        c.SetAction(p =>
        {
            string m = p.GetValue(method)!;
            foreach (var (option, methods) in applies)
            {
                if (p.GetResult(option) is { Implicit: false } && !methods.Contains(m))
                    throw new UsageException($"{option.Name} applies to --method {string.Join(" or ", methods)}, not {m}" +
                        (option == data ? " (the other methods explain the input files)" : ""));
            }
            return ExplainRun.Run(new ExplainSettings(p.GetValue(model)!, p.GetValue(inputs) ?? [], m, p.GetValue(target), p.GetValue(layer),
                p.GetValue(steps), p.GetValue(samples), p.GetValue(noise), p.GetValue(window), p.GetValue(stride), p.GetValue(fill),
                p.GetValue(baselineToken), p.GetValue(plain), p.GetValue(data), p.GetValue(labelColumn), p.GetValue(repeats), p.GetValue(seed),
                p.GetValue(output)!, p.GetValue(threads)));
        });
        return c;
    }
}

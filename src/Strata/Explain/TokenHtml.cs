using System.Globalization;
using System.Net;
using System.Text;

namespace Strata.Explain;

/// <summary>
/// Token attributions as HTML: each token shaded by the <see cref="ColorMap.Diverging"/> colour of its
/// attribution over the largest |attribution| (positive red, negative blue, zero white), with the number in
/// its tooltip. Fragments are self-contained (inline styles, no scripts) and can be joined into a page.
/// </summary>
public static class TokenHtml
{
    /// <summary>
    /// A <c>&lt;div&gt;</c> holding an optional title line and one <c>&lt;span&gt;</c> per token, separated by
    /// spaces. A span's background is <see cref="ColorMap.Diverging"/>(attribution / max |attribution|) (only
    /// finite attributions set the scale; an all-zero row is white, NaN gets <see cref="ColorMap.NaNColor"/>),
    /// its text dark or white for contrast, and its <c>title</c> attribute the attribution (invariant culture,
    /// "G6"). Tokens and the title are HTML-encoded.
    /// </summary>
    /// <exception cref="ArgumentException">The token and attribution counts differ.</exception>
    public static string Render(IReadOnlyList<string> tokens, ReadOnlySpan<float> attributions, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count != attributions.Length)
            throw new ArgumentException($"TokenHtml.Render: expected one attribution per token, got {tokens.Count} tokens and {attributions.Length} attributions", nameof(attributions));
        float scale = Views.MaxAbs(attributions);
        var html = new StringBuilder();
        html.Append("<div style=\"font-family:sans-serif;line-height:1.9;margin:0.5em 0\">");
        if (title is not null)
            html.Append("<div style=\"font-weight:bold;margin-bottom:0.2em\">").Append(WebUtility.HtmlEncode(title)).Append("</div>");
        for (int i = 0; i < tokens.Count; i++)
        {
            float a = attributions[i];
            float t = scale > 0 ? a / scale : float.IsNaN(a) ? a : MathF.Sign(a);
            var (r, g, b) = ColorMap.Diverging(t);
            // Dark text on light backgrounds, white on the darker ends (Oklab lightness below 0.65).
            string ink = ColorMap.ToOklab(r, g, b).L < 0.65f ? "#fff" : "#111";
            if (i > 0)
                html.Append(' ');
            html.Append("<span title=\"").Append(a.ToString("G6", CultureInfo.InvariantCulture))
                .Append("\" style=\"background-color:").Append(Css(r, g, b)).Append(";color:").Append(ink)
                .Append(";padding:0.1em 0.2em;border-radius:0.2em\">")
                .Append(WebUtility.HtmlEncode(tokens[i] ?? ""))
                .Append("</span>");
        }
        html.Append("</div>");
        return html.ToString();
    }

    /// <summary>
    /// A complete HTML document (UTF-8, no scripts) with <paramref name="title"/> (HTML-encoded) as its title and
    /// heading, followed by the fragments as given: they are inserted unencoded, so pass <see cref="Render"/>'s output
    /// or other trusted HTML.
    /// </summary>
    public static string Page(IEnumerable<string> fragments, string title)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        ArgumentNullException.ThrowIfNull(title);
        string encoded = WebUtility.HtmlEncode(title);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(encoded).Append("</title>\n</head>\n")
            .Append("<body style=\"font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em\">\n<h1>").Append(encoded).Append("</h1>\n");
        foreach (var fragment in fragments)
            html.Append(fragment).Append('\n');
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static string Css(float r, float g, float b) =>
        string.Create(CultureInfo.InvariantCulture, $"rgb({Byte(r)},{Byte(g)},{Byte(b)})");

    private static int Byte(float v) => (int)MathF.Round(Math.Clamp(v, 0f, 1f) * 255);
}

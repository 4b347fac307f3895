using System.Globalization;
using System.Text.RegularExpressions;
using Strata.Explain;

namespace Strata.Tests.Explain;

public sealed partial class TokenHtmlTests
{
    [GeneratedRegex("<span title=\"([^\"]*)\" style=\"background-color:rgb\\((\\d+),(\\d+),(\\d+)\\)[^\"]*\">([^<]*)</span>")]
    private static partial Regex SpanPattern();

    private static List<(string Title, int R, int G, int B, string Text)> Spans(string html) =>
        SpanPattern().Matches(html).Select(m => (m.Groups[1].Value, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture), m.Groups[5].Value)).ToList();

    [Fact]
    public void Render_escapes_tokens_and_shades_positive_red_negative_blue()
    {
        string[] tokens = ["free", "<script>alert(1)</script>", "offer", "&", "the"];
        float[] attributions = [2f, -1f, 0.5f, 0f, -2f];
        string html = TokenHtml.Render(tokens, attributions, title: "spam <b>0.97</b>");
        Assert.StartsWith("<div", html);
        Assert.EndsWith("</div>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<b>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("spam &lt;b&gt;0.97&lt;/b&gt;", html);

        var spans = Spans(html);
        Assert.Equal(tokens.Length, spans.Count);
        Assert.Equal(["free", "&lt;script&gt;alert(1)&lt;/script&gt;", "offer", "&amp;", "the"], spans.Select(s => s.Text));
        Assert.Equal(["2", "-1", "0.5", "0", "-2"], spans.Select(s => s.Title));
        var (free, script, offer, amp, the) = (spans[0], spans[1], spans[2], spans[3], spans[4]);
        Assert.True(free.R > free.G + 80 && free.R > free.B + 80, $"positive token shaded rgb({free.R},{free.G},{free.B})");
        Assert.True(the.B > the.R + 80 && the.B > the.G + 40, $"negative token shaded rgb({the.R},{the.G},{the.B})");
        Assert.True(script.B > script.R && offer.R > offer.B, "the weaker tokens keep their sign's hue");
        Assert.True(offer.G > free.G, "a smaller attribution is paler");
        Assert.True(amp.R > 235 && amp.G > 235 && amp.B > 235, $"zero is near-white, got rgb({amp.R},{amp.G},{amp.B})");
        // The colour is the diverging map at attribution / max |attribution| = 2 / 2.
        var (r, g, b) = ColorMap.Diverging(1);
        Assert.Equal(((int)MathF.Round(r * 255), (int)MathF.Round(g * 255), (int)MathF.Round(b * 255)), (free.R, free.G, free.B));
    }

    [Fact]
    public void Render_rejects_mismatched_lengths_and_Page_wraps_fragments()
    {
        var e = Assert.Throws<ArgumentException>(() => TokenHtml.Render(["a", "b", "c"], [1f, 2f]));
        Assert.Contains("TokenHtml.Render", e.Message);
        Assert.Contains("3 tokens", e.Message);
        Assert.Contains("2 attributions", e.Message);

        string one = TokenHtml.Render(["x"], [1f]), two = TokenHtml.Render(["y"], [-1f]);
        string page = TokenHtml.Page([one, two], "Attributions <test>");
        Assert.StartsWith("<!DOCTYPE html>", page);
        Assert.Contains("<title>Attributions &lt;test&gt;</title>", page);
        Assert.Contains("<meta charset=\"utf-8\">", page);
        Assert.True(page.IndexOf(one, StringComparison.Ordinal) < page.IndexOf(two, StringComparison.Ordinal) && page.Contains(two, StringComparison.Ordinal));
        Assert.EndsWith("</html>\n", page);
        Assert.DoesNotContain("<script", page);
    }
}

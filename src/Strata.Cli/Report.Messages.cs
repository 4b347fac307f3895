using System.Net;
using System.Text;

namespace Strata.Cli;

/// <summary>The report's part for text data: the misclassified test messages, in place of the grid of images.</summary>
internal static partial class Report
{
    /// <summary>How many misclassified messages the report shows, and how much of each.</summary>
    public const int MessagesShown = 10, SnippetLines = 3, SnippetLineCharacters = 100;

    /// <summary>
    /// The misclassified test samples, the most confidently wrong first (equal probabilities in test order):
    /// the test index, the true and the predicted class, and the predicted class's probability.
    /// </summary>
    public static List<(int Index, int Truth, int Predicted, float Probability)> Misclassified(Tensor testLabels, Tensor probabilities)
    {
        var predicted = ArgMax(probabilities);
        var truth = testLabels.ToArray();
        int k = probabilities.Shape[1];
        var p = probabilities.ToArray();
        return [.. Enumerable.Range(0, predicted.Length)
            .Where(i => predicted[i] != (int)truth[i])
            .Select(i => (i, (int)truth[i], predicted[i], p[i * k + predicted[i]]))
            .OrderByDescending(m => m.Item4).ThenBy(m => m.i)];
    }

    /// <summary>
    /// The start of a message: its first <see cref="SnippetLines"/> non-blank lines, whitespace tidied, each cut
    /// to <see cref="SnippetLineCharacters"/> characters ("…" marks a cut, and a last line when more follow).
    /// </summary>
    public static IReadOnlyList<string> Snippet(string text)
    {
        var lines = text.Split('\n').Select(l => string.Join(' ', l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)))
            .Where(l => l.Length > 0).ToList();
        var shown = lines.Take(SnippetLines).Select(Cut).ToList();
        if (lines.Count > SnippetLines && !shown[^1].EndsWith('…'))
            shown[^1] += " …";
        return shown.Count > 0 ? shown : ["(empty)"];

        static string Cut(string line)
        {
            if (line.Length <= SnippetLineCharacters)
                return line;
            int cut = SnippetLineCharacters;
            if (char.IsHighSurrogate(line[cut - 1]))
                cut--;
            return line[..cut].TrimEnd() + "…";
        }
    }

    private static void AppendMessages(StringBuilder sb, RunResult run, IReadOnlyList<string> texts)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var wrong = Misclassified(run.TestLabels, run.Probabilities);
        int n = run.TestLabels.Shape[0];
        sb.Append("<h2>Misclassified test messages</h2>\n");
        if (wrong.Count == 0)
        {
            sb.Append($"<p>None: all {n:N0} test messages are classified correctly.</p>\n");
            return;
        }
        int shown = Math.Min(MessagesShown, wrong.Count);
        sb.Append($"<p>{wrong.Count:N0} of {n:N0} test messages are misclassified; " +
            (shown < wrong.Count ? $"the {shown} most confidently wrong" : "all of them, the most confidently wrong first") +
            $", each by its first lines:</p>\n");
        sb.Append("<table class=\"grid\">\n<tr><th>true</th><th>predicted</th><th>probability</th><th>message</th></tr>\n");
        foreach (var m in wrong.Take(shown))
        {
            sb.Append($"<tr><td>{E(run.ClassNames[m.Truth])}</td><td>{E(run.ClassNames[m.Predicted])}</td><td>{Percent(m.Probability, 1)}</td>" +
                $"<td class=\"message\">{E(string.Join('\n', Snippet(texts[m.Index])))}</td></tr>\n");
        }
        sb.Append("</table>\n");
    }
}

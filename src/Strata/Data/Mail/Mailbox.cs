namespace Strata.Data.Mail;

/// <summary>
/// A mailbox of an address header (From, To): <c>"Display Name" &lt;address&gt;</c>, <c>Name &lt;address&gt;</c>,
/// <c>address (Name)</c> or a bare address. The first mailbox of the field is taken.
/// </summary>
/// <param name="DisplayName">The name, decoded (RFC 2047) and unquoted; "" when there is none.</param>
/// <param name="Address">The address (local@domain) as written; "" when the field has none.</param>
public sealed record Mailbox(string DisplayName, string Address)
{
    /// <summary>The mailbox from a raw (unfolded, not yet decoded) header value; null for an empty one.</summary>
    public static Mailbox? Parse(string? rawValue)
    {
        if (string.IsNullOrWhiteSpace(rawValue))
            return null;
        string v = rawValue.Trim();
        int lt = v.IndexOf('<');
        int gt = lt >= 0 ? v.IndexOf('>', lt + 1) : -1;
        if (lt >= 0 && gt > lt)
            return new Mailbox(Unquote(EncodedWords.Decode(v[..lt])), v[(lt + 1)..gt].Trim());
        int open = v.IndexOf('(');
        int close = open >= 0 ? v.LastIndexOf(')') : -1;
        if (open >= 0 && close > open)
            return new Mailbox(Unquote(EncodedWords.Decode(v[(open + 1)..close])), v[..open].Trim());
        return v.Contains('@') ? new Mailbox("", EncodedWords.Decode(v)) : new Mailbox(Unquote(EncodedWords.Decode(v)), "");
    }

    /// <summary>"Name &lt;address&gt;", or whichever of the two there is.</summary>
    public override string ToString() => (DisplayName.Length, Address.Length) switch
    {
        (0, _) => Address,
        (_, 0) => DisplayName,
        _ => $"{DisplayName} <{Address}>",
    };

    private static string Unquote(string s)
    {
        s = s.Trim();
        if (s.Length >= 2 && s[0] == '"' && s[^1] == '"')
            s = s[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
        return s.Trim();
    }
}

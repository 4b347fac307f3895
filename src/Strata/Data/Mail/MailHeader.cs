namespace Strata.Data.Mail;

/// <summary>One header field of a message or MIME part.</summary>
/// <param name="Name">The field name as written ("Subject"); look-ups ignore case.</param>
/// <param name="Value">The value unfolded (RFC 5322 §2.2.3) and trimmed, with RFC 2047 encoded words decoded.</param>
/// <param name="RawValue">The value unfolded and trimmed, encoded words left as they are.</param>
public sealed record MailHeader(string Name, string Value, string RawValue);

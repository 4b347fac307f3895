namespace Strata.Data;

/// <summary>One message of the SpamAssassin corpus, as a classifier sees it.</summary>
/// <param name="Group">The corpus folder: easy-ham-1, easy-ham-2, hard-ham-1, spam-1 or spam-2.</param>
/// <param name="Id">The file name without extension ("00001.7c53336b37003a9286aba55d2945844c": number and MD5).</param>
/// <param name="Label">0 for ham, 1 for spam (<see cref="SpamAssassin.ClassNames"/>).</param>
/// <param name="Text">Subject, sender and the start of the decoded body (<see cref="SpamAssassin.ClassifierText"/>).</param>
public sealed record SpamAssassinMessage(string Group, string Id, int Label, string Text)
{
    /// <summary>True when <see cref="Label"/> is 1 (spam).</summary>
    public bool IsSpam => Label == 1;
}

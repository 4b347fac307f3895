using System.Text;
using Strata.Data.Mail;

namespace Strata.Tests.Data;

/// <summary>The mail parser on crafted messages: each one isolates a feature real mail needs (expected values written out by hand).</summary>
public sealed class MailParserTests
{
    /// <summary>A message from text whose characters below 256 are its bytes (so 8-bit bytes can be written as \xNN), CRLF line ends.</summary>
    private static MailMessage Parse(string latin1, bool crlf = true)
    {
        string text = crlf ? latin1.Replace("\n", "\r\n", StringComparison.Ordinal) : latin1;
        return MailMessage.Parse(Encoding.Latin1.GetBytes(text));
    }

    [Fact]
    public void Folded_headers_are_unfolded_and_an_mbox_separator_is_skipped()
    {
        var m = Parse("From someone@example.com  Tue Aug  6 11:51:02 2002\n" +
                      "Subject: A subject that\n   goes on\n\tand on\n" +
                      "From: \"Doe, Jane\" <jane@example.com>\n" +
                      "X-Empty:\n" +
                      "\n" +
                      "Body line 1\nBody line 2\n");
        Assert.Equal("A subject that   goes on\tand on", m.Subject); // unfolding removes the line breaks only
        Assert.Equal(new Mailbox("Doe, Jane", "jane@example.com"), m.From);
        Assert.Equal("", m.Header("x-empty"));
        Assert.Equal(["Subject", "From", "X-Empty"], m.Headers.Select(h => h.Name));
        Assert.Equal("Body line 1\nBody line 2\n", m.BodyText());
    }

    [Fact]
    public void Encoded_words_in_the_subject_are_decoded_and_joined()
    {
        // "w4lsw6h2ZQ==" is base64 of the UTF-8 of "Élève"; "caf=E9_cr=E8me" is Q-encoded Latin-1 "café crème".
        // Whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2); text around them stays.
        var m = Parse("Subject: Re: =?UTF-8?B?w4lsw6h2ZQ==?=\n =?iso-8859-1?q?caf=E9_cr=E8me?= (=?bogus) ok\n\nx");
        Assert.Equal("Re: Élèvecafé crème (=?bogus) ok", m.Subject);
        Assert.StartsWith("Re: =?UTF-8?B?", m.Headers[0].RawValue, StringComparison.Ordinal);

        // 日本語 is 9 UTF-8 bytes; split after byte 4 (inside 本) across two words, it still decodes (the bytes are joined first).
        Assert.Equal("日本語", Parse("Subject: =?utf-8?B?5pel5g==?= =?utf-8?B?nKzoqp4=?=\n\n").Subject);
        // An unknown charset falls back to Latin-1 instead of throwing.
        Assert.Equal("café", Parse("Subject: =?x-klingon?Q?caf=E9?=\n\n").Subject);
    }

    [Fact]
    public void Senders_in_their_usual_forms()
    {
        Assert.Equal(new Mailbox("Jane Doe", "jane@example.com"), Mailbox.Parse("Jane Doe <jane@example.com>"));
        Assert.Equal(new Mailbox("Jane \"JD\" Doe", "jane@example.com"), Mailbox.Parse("\"Jane \\\"JD\\\" Doe\" <jane@example.com>"));
        Assert.Equal(new Mailbox("Jane Doe", "jane@example.com"), Mailbox.Parse("jane@example.com (Jane Doe)"));
        Assert.Equal(new Mailbox("", "jane@example.com"), Mailbox.Parse("jane@example.com"));
        Assert.Equal(new Mailbox("Élève", "e@example.com"), Mailbox.Parse("=?utf-8?B?w4lsw6h2ZQ==?= <e@example.com>"));
        Assert.Equal("Jane Doe <jane@example.com>", Mailbox.Parse("Jane Doe <jane@example.com>")!.ToString());
        Assert.Null(Mailbox.Parse("  "));
    }

    private const string Alternative =
        "From: a@example.com\n" +
        "Subject: alternative\n" +
        "MIME-Version: 1.0\n" +
        "Content-Type: multipart/mixed; boundary=\"outer\"\n" +
        "\n" +
        "This is the preamble.\n" +
        "--outer\n" +
        "Content-Type: multipart/alternative;\n boundary=inner\n" +
        "\n" +
        "--inner\n" +
        "Content-Type: text/plain; charset=utf-8\n" +
        "Content-Transfer-Encoding: base64\n" +
        "\n" +
        "UGxhaW4gdGV4dCwgd2l0aCDDvG7Dr2PD\n" +
        "tmTDqS4K\n" +
        "--inner\n" +
        "Content-Type: text/html; charset=\"iso-8859-1\"\n" +
        "Content-Transfer-Encoding: quoted-printable\n" +
        "\n" +
        "<p style=3D\"x\">HTML caf=E9, a long line that is wrapped =\n" +
        "softly</p>\n" +
        "--inner--\n" +
        "--outer\n" +
        "Content-Type: application/octet-stream; name=\"report.bin\"\n" +
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.bin\n" +
        "Content-Transfer-Encoding: base64\n" +
        "\n" +
        "UmVwb3J0IGF0dGFjaGVk\n" +
        "--outer--\n" +
        "The epilogue.\n";

    [Fact]
    public void Nested_multipart_alternative_with_base64_and_quoted_printable_parts()
    {
        var m = Parse(Alternative);
        var root = m.Root;
        Assert.Equal("multipart/mixed", root.MediaType);
        Assert.Equal(2, root.Parts.Count);
        var alternative = root.Parts[0];
        Assert.Equal("multipart/alternative", alternative.MediaType);
        Assert.Equal("inner", alternative.Boundary);
        var (plain, html) = (alternative.Parts[0], alternative.Parts[1]);
        Assert.Equal(("text/plain", "base64", "utf-8"), (plain.MediaType, plain.TransferEncoding, plain.Charset));
        Assert.Equal("Plain text, with ünïcödé.\n", plain.Text); // base64 across two lines, UTF-8
        // Quoted-printable: =3D is '=', =E9 is é in Latin-1, "=" before the line break joins the lines.
        Assert.Equal("<p style=\"x\">HTML café, a long line that is wrapped softly</p>", html.Text);
        var attachment = root.Parts[1];
        Assert.True(attachment.IsAttachment);
        Assert.Equal("résumé.bin", attachment.FileName); // RFC 2231 extended value
        Assert.Equal("Report attached", Encoding.ASCII.GetString(attachment.Content.Span));

        // The reader's text: the plain alternative, and nothing of the attachment.
        Assert.Equal("Plain text, with ünïcödé.\n", m.BodyText());
        Assert.Equal(["text/plain", "text/html", "application/octet-stream"], m.LeafParts().Select(p => p.MediaType));
    }

    [Fact]
    public void An_empty_plain_alternative_falls_back_to_the_html_one()
    {
        var m = Parse("Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n \n--b\n" +
                      "Content-Type: text/html\n\n<b>Buy</b> now&hellip;\n--b--\n");
        Assert.Equal("Buy now…", m.BodyText());
    }

    [Fact]
    public void Html_becomes_readable_text()
    {
        const string html = "<html><head><title>Offer</title><style>p { color: red }</style>" +
                            "<script>var s = '<b>not text</b>';</script></head>\n<body>" +
                            "<p>Hello&nbsp;&amp;\n   welcome</p><div>Line&#8211;two &#x263A; &#150;</div><!-- hidden <p>comment</p> -->" +
                            "<table><tr><td>a</td><td>b</td></tr></table>x &lt; y, 3 < 4 &bogus; <a href='http://x.example/?a=1&amp;b=2'>link</a>" +
                            "<br>one<br><br>two</body></html>";
        // title, then paragraphs as blank lines, the div as its own line, cells as spaces; entities decoded
        // (&#150; is windows-1252's en dash); "3 < 4" and the unknown entity stay as they are.
        Assert.Equal("Offer\n\nHello & welcome\n\nLine–two ☺ –\n\na b\n\nx < y, 3 < 4 &bogus; link\none\n\ntwo", HtmlText.ToPlainText(html));

        var m = Parse("Content-Type: text/html; charset=us-ascii\n\n" + html);
        Assert.Equal(HtmlText.ToPlainText(html), m.BodyText());
        // Plain text that is an HTML document (spam sent without a Content-Type) is converted too.
        Assert.Equal("Win big", Parse("Subject: x\n\n  <HTML><body><p>Win <i>big</i></p></body></HTML>").BodyText());
    }

    [Fact]
    public void Html_without_a_charset_takes_the_one_its_meta_declares()
    {
        // "\xF0\xD2\xC9\xD7\xC5\xD4" is "Привет" in KOI8-R.
        var m = Parse("Content-Type: text/html\n\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\"><p>\xF0\xD2\xC9\xD7\xC5\xD4</p>");
        Assert.Equal("Привет", m.BodyText());
    }

    [Fact]
    public void Windows_1252_and_other_8_bit_bodies()
    {
        const string body = "caf\xE9 \x93quoted\x94 costs \x80 5";
        Assert.Equal("café “quoted” costs € 5", Parse("Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: 8bit\n\n" + body).BodyText());
        // Undeclared (or declared US-ASCII) 8-bit bytes that are not UTF-8: windows-1252, as such mail almost always is.
        Assert.Equal("café “quoted” costs € 5", Parse("Subject: x\n\n" + body).BodyText());
        Assert.Equal("café “quoted” costs € 5", Parse("Content-Type: text/plain; charset=us-ascii\n\n" + body).BodyText());
        // Undeclared valid UTF-8 is UTF-8.
        Assert.Equal("naïve", MailMessage.Parse("Subject: x\r\n\r\nnaïve").BodyText());
        // An unknown charset: Latin-1 (0x80 is then U+0080, not €), never an exception.
        Assert.Equal("café \u0093quoted\u0094 costs \u0080 5", Parse("Content-Type: text/plain; charset=x-unheard-of\n\n" + body).BodyText());
        // Raw 8-bit header text is read in the part's charset (here KOI8-R) when it is not UTF-8.
        Assert.Equal("Привет", Parse("Subject: \xF0\xD2\xC9\xD7\xC5\xD4\nContent-Type: text/plain; charset=\"koi8-r\"\n\nx").Subject);
    }

    [Fact]
    public void A_broken_base64_part_decodes_what_it_can()
    {
        // "SGVsbG8g" is "Hello ", "!!!" is outside the alphabet (skipped), "d29ybGQ" is "world" without its padding.
        var m = Parse("Content-Type: text/plain\nContent-Transfer-Encoding: BASE64\n\nSGVsbG8g!!!d29y\nbGQ");
        Assert.Equal("Hello world", m.BodyText());
        // Concatenated encodings (padding in the middle) and a dangling single character.
        Assert.Equal("Hi!ok", Encoding.ASCII.GetString(TransferEncoding.DecodeBase64("SGkh\nb2s=Q"u8)));
        Assert.Equal("Hi", Encoding.ASCII.GetString(TransferEncoding.DecodeBase64("SGk=b"u8)));
    }

    [Fact]
    public void Quoted_printable_edge_cases()
    {
        // Lower-case hex, a soft break after trailing blanks, a stray '=' and '=' before a non-hex pair kept literally.
        Assert.Equal("é=x =zz end", Encoding.Latin1.GetString(TransferEncoding.DecodeQuotedPrintable("=e9=x =  \r\n=zz end="u8, underscoreIsSpace: false)));
        Assert.Equal("a b_c", Encoding.Latin1.GetString(TransferEncoding.DecodeQuotedPrintable("a_b=5Fc"u8, underscoreIsSpace: true)));
    }

    [Fact]
    public void Malformed_structure_is_read_leniently()
    {
        // A multipart whose boundary never occurs: shown as text.
        Assert.Equal("just text\n", Parse("Content-Type: multipart/mixed; boundary=zzz\n\njust text\n").BodyText());
        // A multipart without a boundary parameter: the same.
        Assert.Equal("text/plain", Parse("Content-Type: multipart/mixed\n\nhello").Root.MediaType);
        // No closing delimiter: the last part runs to the end. A longer boundary that starts with this one is not a delimiter.
        var open = Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--bb\nstill one\n--b\n\ntwo");
        Assert.Equal(["one\n--bb\nstill one", "two"], open.Root.Parts.Select(p => p.Text));
        // A malformed Content-Type is text/plain; a header block without the blank line ends at the first non-field line.
        var bare = Parse("Subject: no blank line\nContent-Type: garbage\nThis line is the body", crlf: false);
        Assert.Equal(("no blank line", "text/plain", "This line is the body"), (bare.Subject, bare.Root.MediaType, bare.BodyText()));
        // No headers at all, an empty message.
        Assert.Equal("hello world", Parse("hello world").BodyText());
        Assert.Equal("", MailMessage.Parse(ReadOnlySpan<byte>.Empty).BodyText());
    }

    [Fact]
    public void Enclosed_messages_and_deep_nesting()
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nForwarded:\n--b\n" +
                      "Content-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain; charset=iso-8859-1\n\nInner caf\xE9\n--b--\n");
        Assert.Equal("inner", m.Root.Parts[1].Message!.Subject);
        Assert.Equal("Forwarded:\n\nInner café", m.BodyText());

        // 200 nested multiparts: parsed to MaxDepth, the rest kept as content, no stack overflow.
        var sb = new StringBuilder();
        for (int i = 0; i < 200; i++)
            sb.Append($"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n");
        sb.Append("Content-Type: text/plain\n\ndeep\n");
        var deep = Parse(sb.ToString());
        int depth = 0;
        for (var p = deep.Root; p.Parts.Count > 0; p = p.Parts[0])
            depth++;
        Assert.Equal(MimePart.MaxDepth, depth);
    }
}

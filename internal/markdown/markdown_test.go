package markdown

import (
	"bytes"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

// gfmMarkdown is the converter newGoldmark must agree with: goldmark's
// own GFM extension, linkify unfiltered (and raw HTML as newGoldmark
// writes it).
func gfmMarkdown() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Typographer, rawHTML{}),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()))
}

var linkifyCases = []string{
	"plain prose, with no link at all; and *emphasis* and _more_ and ~~gone~~ (aside).",
	"see https://example.org/a?b=c&d=e. and http://x.y/z, or ftp://files.example.org/f",
	"www.example.org and (www.example.org/path) and *www.example.org*",
	"mail someone@example.org, or (a.b+c@mail.example.co.uk).",
	"not links: HTTP://EXAMPLE.ORG, http:, www, @handle, a @ b, x@y, foo@bar.",
	"https://example.org/(parens)) and https://example.org/a&amp; and https://example.org/a_",
	"[a label with https://example.org inside](https://example.org/target) and <https://example.org>",
	"an address at the line start:\nuser@example.org\nwww.example.org\nhttps://example.org",
	"a very long local part " + string(bytes.Repeat([]byte("a"), 70)) + "@example.org",
	"a local part of 64: " + string(bytes.Repeat([]byte("b"), 64)) + "@example.org and 63: " + string(bytes.Repeat([]byte("c"), 63)) + "@example.org",
	"tabs\there@example.org\tand\twww.example.org\tend",
	"| table | https://example.org |\n|---|---|\n| a@b.co | www.x.org |",
	"- [ ] task www.example.org\n- [x] done mailto@x.org",
	"`code https://example.org` and ```www.example.org```",
	"_https://example.org_ ~www.example.org~ *a@b.org*",
	"foo@bar.baz-qux_ and foo@bar.baz_ and foo@bar.baz- and foo@bar.",
	"(", "@", "w", "h", "f", "*", "",
}

func TestMarkdownLinkifyAsGFM(t *testing.T) {
	ours, ref := newGoldmark(), gfmMarkdown()
	for _, src := range linkifyCases {
		var got, want bytes.Buffer
		if err := ours.Convert([]byte(src), &got); err != nil {
			t.Fatal(err)
		}
		if err := ref.Convert([]byte(src), &want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("markdown %q:\ngot  %s\nwant %s", src, got.String(), want.String())
		}
	}
	// The cases do exercise linkify: both kinds of links come out.
	var out bytes.Buffer
	if err := ours.Convert([]byte(linkifyCases[1]+" "+linkifyCases[3]), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<a href="https://example.org/a?b=c&amp;d=e">`, `<a href="mailto:someone@example.org">`} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("no %s in %s", want, out.String())
		}
	}
}

func FuzzMarkdownLinkify(f *testing.F) {
	for _, c := range linkifyCases {
		f.Add(c)
	}
	ours, ref := newGoldmark(), gfmMarkdown()
	f.Fuzz(func(t *testing.T, src string) {
		var got, want bytes.Buffer
		errGot := ours.Convert([]byte(src), &got)
		errWant := ref.Convert([]byte(src), &want)
		if (errGot == nil) != (errWant == nil) || got.String() != want.String() {
			t.Errorf("markdown %q:\ngot  %s (%v)\nwant %s (%v)", src, got.String(), errGot, want.String(), errWant)
		}
	})
}

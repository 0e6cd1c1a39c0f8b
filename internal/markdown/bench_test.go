package markdown

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
)

// proseBody returns about 2 KB of Markdown like the benchmark items'
// bodies: paragraphs of sentences, a heading, some bold words, no links.
func proseBody() []byte {
	words := strings.Fields("cache purge static flat page site build render template query row table index column feed sitemap bucket object upload publish deploy preview server proxy request response header status content")
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for p := 0; b.Len() < 2000; p++ {
		if p == 2 {
			b.WriteString("## A heading of the item\n\n")
		}
		for range 3 + r.IntN(4) {
			for i := range 6 + r.IntN(10) {
				w := words[r.IntN(len(words))]
				switch {
				case i == 0:
					w = strings.ToUpper(w[:1]) + w[1:]
				case r.IntN(20) == 0:
					w = "**" + w + "**"
				}
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(w)
			}
			b.WriteString(". ")
		}
		b.WriteString("\n\n")
	}
	return []byte(b.String())
}

// BenchmarkFastMarkdown converts the same body as BenchmarkMarkdown
// through the plain-prose path Render takes first.
func BenchmarkFastMarkdown(b *testing.B) {
	body := string(proseBody())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var buf strings.Builder
		buf.Grow(len(body) + len(body)/4)
		if !fastMarkdown(&buf, body) {
			b.Fatal("fastMarkdown refused the body")
		}
	}
}

// BenchmarkMarkdown converts an item body with bake's converter and with
// goldmark's GFM one it agrees with (TestMarkdownLinkifyAsGFM).
func BenchmarkMarkdown(b *testing.B) {
	body := proseBody()
	for _, c := range []struct {
		name string
		md   goldmark.Markdown
	}{{"bake", newGoldmark()}, {"gfm", gfmMarkdown()}} {
		b.Run(c.name, func(b *testing.B) {
			md := c.md
			var buf bytes.Buffer
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				buf.Reset()
				if err := md.Convert(body, &buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarkdownRender converts the body of BenchmarkMarkdown through
// Renderer.Render, as the markdown template function does: the fast path
// with its checks.
func BenchmarkMarkdownRender(b *testing.B) {
	body := string(proseBody())
	r := New(Options{})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var buf strings.Builder
		if err := r.Render(&buf, body); err != nil {
			b.Fatal(err)
		}
	}
}

package markdown

import (
	"regexp"
	"strings"
	"testing"
)

// TestRawHTML: text that looks like HTML is shown as written; a few
// balanced phrase tags and <br> stay tags; comments stay hidden; what
// comes out always parses back to the same text.
func TestRawHTML(t *testing.T) {
	t.Parallel()
	r := New(Options{})
	for _, tt := range []struct{ src, want string }{
		{"Dear <NAME>, welcome.", "<p>Dear &lt;NAME&gt;, welcome.</p>\n"},
		{"<NAME>", "<p>&lt;NAME&gt;</p>\n"}, // an HTML block of its own
		{"x <y> z </y>", "<p>x &lt;y&gt; z &lt;/y&gt;</p>\n"},
		{"E = mc<sup>2</sup>, H<sub>2</sub>O", "<p>E = mc<sup>2</sup>, H<sub>2</sub>O</p>\n"},
		{"Press <KBD>Ctrl</KBD><br>then <b>go</b>", "<p>Press <kbd>Ctrl</kbd><br>then <b>go</b></p>\n"},
		{"<b>never closed", "<p>&lt;b&gt;never closed</p>\n"},
		{"closed </b> only", "<p>closed &lt;/b&gt; only</p>\n"},
		{"*<b>x*</b>", "<p><em>&lt;b&gt;x</em>&lt;/b&gt;</p>\n"}, // not siblings: would not nest
		{`<b class="x">y</b>`, "<p>&lt;b class=&quot;x&quot;&gt;y&lt;/b&gt;</p>\n"},
		{"a <script>alert(1)</script> b", "<p>a &lt;script&gt;alert(1)&lt;/script&gt; b</p>\n"},
		{"<div>\n*not* markdown\n</div>", "<p>&lt;div&gt;\n*not* markdown\n&lt;/div&gt;</p>\n"},
		{"note <!-- hidden --> here", "<p>note <!-- raw HTML omitted --> here</p>\n"},
		{"<!-- hidden -->\n\ntext", "<!-- raw HTML omitted -->\n<p>text</p>\n"},
		{"see <https://example.org>", `<p>see <a href="https://example.org">https://example.org</a></p>` + "\n"},
		{"`<NAME>` in code", "<p><code>&lt;NAME&gt;</code> in code</p>\n"},
	} {
		var b strings.Builder
		if err := r.Render(&b, tt.src); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.src, b.String(), tt.want)
		}
	}
}

// tagRE matches the tags of the HTML the renderer writes (a < of text is
// always &lt;).
var tagRE = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)

// FuzzRawHTML: whatever the Markdown, the HTML holds no element but those
// Markdown makes and the safe ones, without attributes, each closed once
// for each time it is opened.
func FuzzRawHTML(f *testing.F) {
	for _, s := range []string{"<NAME>", "a <b>b</b> <i>c", "<sup><sub>x</sup></sub>", "<div>\n<p>x", "<br/><br />", "<img src=x onerror=alert(1)>", "<a href='x'>y</a>", "*<b>x*</b>"} {
		f.Add(s)
	}
	r := New(Options{})
	made := map[string]bool{"p": true, "em": true, "strong": true, "code": true, "pre": true, "a": true, "img": true, "ul": true, "ol": true, "li": true,
		"blockquote": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "br": true, "wbr": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "del": true, "input": true}
	f.Fuzz(func(t *testing.T, src string) {
		var b strings.Builder
		if err := r.Render(&b, src); err != nil {
			return // a limit
		}
		out := b.String()
		depth := map[string]int{}
		for _, m := range tagRE.FindAllStringSubmatch(out, -1) {
			closing, name, attrs := m[1] != "", m[2], m[3]
			if !made[name] && !safeTags[name] {
				t.Fatalf("%q: element <%s> in %q", src, name, out)
			}
			if !made[name] && strings.TrimSpace(attrs) != "" {
				t.Fatalf("%q: <%s%s> in %q", src, name, attrs, out)
			}
			if safeTags[name] && !made[name] {
				if closing {
					depth[name]--
				} else {
					depth[name]++
				}
				if depth[name] < 0 {
					t.Fatalf("%q: </%s> before its <%s> in %q", src, name, name, out)
				}
			}
		}
		for name, d := range depth {
			if d != 0 {
				t.Fatalf("%q: <%s> opened %d more times than closed in %q", src, name, d, out)
			}
		}
	})
}

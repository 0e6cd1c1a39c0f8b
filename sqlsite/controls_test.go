package sqlsite

import (
	"bytes"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	template "github.com/bakehq/bake/internal/gotemplate/htmltemplate"
	"github.com/bakehq/bake/internal/markdown"
)

// contextsTemplate shows a value in every context of an HTML page: text,
// RCDATA, quoted and unquoted attributes, a URL, script, style, and as
// Markdown.
const contextsTemplate = `<!doctype html><title>{{.}}</title>
<p title="{{.}}" data-x={{.}} class='{{.}}'>{{.}}</p><textarea>{{.}}</textarea>
<a href="/x?q={{.}}">l</a><script>var s = "{{.}}", v = {{.}};</script><style>p{content:"{{.}}"}</style>
<div>{{markdown .}}</div>`

// renderContexts renders contextsTemplate with v through a controlFilter,
// written in two parts cut at cut (a C1 character may be cut in two).
func renderContexts(t testing.TB, tmpl *template.Template, v string, cut int) (raw, filtered string) {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		t.Fatal(err)
	}
	raw = b.String()
	cut = min(max(cut, 0), len(raw))
	var out bytes.Buffer
	f := &controlFilter{w: &out}
	f.WriteString(raw[:cut])
	f.Write([]byte(raw[cut:]))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return raw, out.String()
}

func contextsTmpl(t testing.TB) *template.Template {
	md := markdown.New(markdown.Options{})
	return template.Must(template.New("p").Funcs(template.FuncMap{"markdown": func(s string) (template.HTML, error) {
		var b strings.Builder
		err := md.Render(&b, s)
		return template.HTML(b.String()), err
	}}).Parse(contextsTemplate))
}

// forbidden returns the first forbidden control character of s as HTML
// would read it (bytes that are not UTF-8 read one by one), or -1.
func forbidden(s string) rune {
	for _, r := range s {
		if forbiddenControl(r) {
			return r
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && forbiddenControl(rune(c)) || c == 0x7f {
			return rune(c)
		}
	}
	for _, m := range charRef.FindAllStringSubmatch(s, -1) {
		var n int64
		if m[1] != "" {
			n, _ = strconv.ParseInt(m[1], 16, 32)
		} else {
			n, _ = strconv.ParseInt(m[2], 10, 32)
		}
		// A reference to a carriage return is an error too, though the
		// character itself is not (HTML's control-character-reference).
		if forbiddenControl(rune(n)) || n == '\r' {
			return rune(n)
		}
	}
	return -1
}

// charRef matches a numeric character reference.
var charRef = regexp.MustCompile(`&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));`)

// replaceControls is what the filter must make of text.
func replaceControls(s string) string {
	return strings.Map(func(r rune) rune {
		if forbiddenControl(r) || r == 0 {
			return utf8.RuneError
		}
		return r
	}, s)
}

func TestControlCharacters(t *testing.T) {
	tmpl := contextsTmpl(t)
	v := "a\x01b\x08c\x0bd\x1fe\x7ff\u0080g\u009fh\u00a0i\tj\nk\rl\fm **n\x02**"
	for cut := range 80 {
		raw, got := renderContexts(t, tmpl, v, cut)
		if r := forbidden(got); r >= 0 {
			t.Fatalf("cut %d: output holds %U:\n%q", cut, r, got)
		}
		if cut == 0 {
			if forbidden(raw) < 0 {
				t.Fatal("the test shows no control character to the filter")
			}
			for _, want := range []string{
				"<title>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFDg\uFFFDh\u00a0i\tj\nk\rl\fm **n\uFFFD**</title>",
				`data-x=a&#xfffd;b`,   // &#xfffd; already: upstream escapes NUL so in unquoted attributes
				`j&#10;k&#10;l&#12;m`, // a carriage return as the parser reads one: a line feed
				"<strong>n\uFFFD</strong>",
			} {
				if !strings.Contains(got, want) && !strings.Contains(got, strings.ReplaceAll(want, "&#xfffd;", "\uFFFD")) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
		}
	}
}

// FuzzControlEscaping: whatever a row value holds, an HTML page shows no
// control character the HTML standard forbids, in any context, however
// the writes are cut; and text reads back as the value with those
// replaced by U+FFFD.
func FuzzControlEscaping(f *testing.F) {
	f.Add("plain", 3)
	f.Add("a\x01\u0085\x7f\x00b", 40)
	f.Add("\xc2", 1)
	f.Add("\xc2\x85", 0)
	f.Add("<b title='x'>&amp;\v</b>", 7)
	f.Add("a\rb\r", 90)
	tmpl := contextsTmpl(f)
	text := template.Must(template.New("t").Parse(`<p>{{.}}</p>`))
	f.Fuzz(func(t *testing.T, v string, cut int) {
		if len(v) > 4096 {
			return
		}
		raw, got := renderContexts(t, tmpl, v, cut)
		if r := forbidden(got); r >= 0 {
			t.Fatalf("output holds %U:\n%q", r, got)
		}
		if _, whole := renderContexts(t, tmpl, v, 0); whole != got {
			t.Fatalf("output depends on where writes are cut")
		}
		if forbidden(raw) < 0 && raw != got {
			t.Fatalf("output without controls changed:\n%q\n%q", raw, got)
		}
		if !utf8.ValidString(v) {
			return
		}
		_, p := renderContexts(t, text, v, cut)
		if got, want := html.UnescapeString(strings.TrimSuffix(strings.TrimPrefix(p, "<p>"), "</p>")), replaceControls(v); got != want {
			t.Fatalf("text reads back as %q, want %q", got, want)
		}
	})
}

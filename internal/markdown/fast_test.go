package markdown

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/benchsite"
)

// goldmarkHTML is what bake's goldmark converter makes of src.
func goldmarkHTML(t testing.TB, src []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := newGoldmark().Convert(src, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// checkFast fails when fastMarkdown takes src and its HTML is not
// goldmark's. It reports whether fastMarkdown took src.
func checkFast(t testing.TB, src []byte) bool {
	t.Helper()
	var buf strings.Builder
	if !fastMarkdown(&buf, string(src)) {
		return false
	}
	got := buf.String()
	if want := goldmarkHTML(t, src); got != want {
		t.Errorf("fastMarkdown(%q):\ngot  %q\nwant %q (goldmark)", src, got, want)
	}
	return true
}

func TestFastMarkdownTakesPlainProse(t *testing.T) {
	for _, src := range []string{
		"",
		"\n\n",
		"One paragraph.",
		"One paragraph.\n",
		"Two lines\nof one paragraph.\n\nAnd another, with a **bold** word; yes!",
		"## A heading\n\nText under it.\n",
		"# One\n## Two\n### Three\n#### Four\n##### Five\n###### Six",
		"Text\n## A heading interrupts\nmore text",
		"## Same\n\n## Same\n\n## Same\n\n## Same 1",
		"## Bob's **big** day\n\nIt's Bob's.",
		"Trailing spaces at the end of a paragraph   \n\nare dropped.   ",
		"## A heading with trailing spaces   \n",
		"**Bold** at the start, and at the **end**",
		"**Bold**, **bold**. **Bold**? **Bold**! **Bold**; **a b c**",
		"Numbers 1 2 3 and 3.5 and x-ray and 2-3 and A-1.",
		"Internal  double  spaces.",
		"A www example, and www, and wwwx.org.",
	} {
		if !checkFast(t, []byte(src)) {
			t.Errorf("fastMarkdown refused %q, which is plain prose", src)
		}
	}
	// The benchmark's bodies are plain prose.
	for id := 1; id <= 200; id++ {
		body := benchsite.Body(0, int64(id))
		if !checkFast(t, []byte(body)) {
			t.Fatalf("fastMarkdown refused the body of benchmark item %d:\n%s", id, body)
		}
	}
}

func TestFastMarkdownRefusesTheRest(t *testing.T) {
	for _, src := range []string{
		"a link: https://example.org", "www.example.org", "see WWW.example.org",
		"mail a@b.org", "[x](y)", "<b>html</b>", "a & b", `"quoted"`, "'quoted'",
		"it's'", "'tis", "Smiths' house", "ends with'", "a 'b", "5'11",
		"*emphasis*", "_emphasis_", "__strong__", "***both***", "** not strong**",
		"**not strong **", "a**b**", "**a**b", "**open", "**a** **b", "**a**'s",
		"- list", "* list", "+ list", "1. list", "10) list", "> quote", "    code",
		" indented", "\tTab", "tab\there", "`code`", "~~gone~~", "| a | b |",
		"Setext\n===", "Setext\n---", "a -- b", "a --- b", "a - b", "-a", "a-",
		"a...", "a..", "<<a>>", "line\r\nbreak", "hard  \nbreak", "soft \nbreak",
		"#nospace", "####### seven", "##", "## ", "##  two spaces", "## C# code",
		"## Closing ##", "ünïcödé", "a\x00b", "a\\b", "a:b", "a(b)", "a/b", "=",
		"&amp;", "a=b", "a+b", "a%b", "a@b", "a~b", "a^b", "a$b", "a{b}", "a|b",
	} {
		if checkFast(t, []byte(src)) {
			t.Errorf("fastMarkdown took %q, which is not plain prose", src)
		}
	}
}

// TestFastMarkdownAsGoldmark compares fastMarkdown with goldmark on
// random texts made of the parts of plain prose and their near misses, so
// that both outcomes are common.
func TestFastMarkdownAsGoldmark(t *testing.T) {
	words := []string{"word", "Word", "bob's", "It's", "x-ray", "42", "3.5", "**bold**", "**two words**", "www", "A-1"}
	punct := []string{"", "", "", ".", ",", ";", "?", "!"}
	near := []string{
		"**", "*", "'", "-", "--", "..", "\n####### ", "#", "www.", "http", "_", "\"",
		"1. ", "\n1. ", "\n- ", "\n* ", "\n    ", "\n ", "  \n", " \n", "\n===", "\n---",
		"**a**'s", "a**b**", "&", "<", "é", "\t", ":", " ", "  ", "\n", "\n\n", "\n## ",
	}
	r := rand.New(rand.NewPCG(8, 2026))
	line := func(b *strings.Builder) {
		b.WriteString([]string{"Word", "**Bold** start", "Bob's", "x"}[r.IntN(4)])
		for range r.IntN(12) {
			b.WriteString([]string{" ", " ", " ", "  "}[r.IntN(4)])
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString(punct[r.IntN(len(punct))])
		}
	}
	took := 0
	const n = 30000
	for i := range n {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			switch r.IntN(4) {
			case 0:
				b.WriteString(strings.Repeat("#", 1+r.IntN(6)) + " ")
				line(&b)
				b.WriteString([]string{"\n", "\n\n", "  \n"}[r.IntN(3)])
			default:
				for range 1 + r.IntN(4) {
					line(&b)
					b.WriteByte('\n')
				}
				b.WriteString([]string{"", "\n", "\n\n"}[r.IntN(3)])
			}
		}
		src := b.String()
		if i%2 == 1 { // a near miss somewhere
			at := r.IntN(len(src) + 1)
			src = src[:at] + near[r.IntN(len(near))] + src[at:]
		}
		if checkFast(t, []byte(src)) {
			took++
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	// Both outcomes must be common, or the comparison proves little.
	if took < n/20 || took > n*19/20 {
		t.Errorf("fastMarkdown took %d of %d random texts; the test needs both outcomes", took, n)
	}
	t.Logf("fastMarkdown took %d of %d random texts", took, n)
}

func FuzzFastMarkdown(f *testing.F) {
	for _, s := range []string{
		"## Bob's **big** day\n\nIt's Bob's.", "Two lines\nof text.\n\n## H\ntext",
		"**a** b **c**.", "x-ray 3.5 A-1", "## Same\n## Same\n## Same 1", benchsite.Body(0, 7),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkFast(t, src)
	})
}

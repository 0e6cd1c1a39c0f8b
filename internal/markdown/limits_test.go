package markdown

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRenderLimits checks that a value past each limit is refused with a
// *LimitError naming it, and that the limits of Options apply.
func TestRenderLimits(t *testing.T) {
	t.Parallel()
	r := New(Options{MaxSize: 100, MaxDepth: 3, Timeout: 20 * time.Millisecond})
	if diff := cmp.Diff(Options{MaxSize: 100, MaxDepth: 3, Timeout: 20 * time.Millisecond}, r.Options()); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Options{MaxSize: DefaultMaxSize, MaxDepth: DefaultMaxDepth, Timeout: DefaultTimeout}, New(Options{}).Options()); diff != "" {
		t.Errorf("default options (-want +got):\n%s", diff)
	}
	defs := strings.Repeat("[a]: /u\n", 10001)
	tests := []struct {
		name string
		r    *Renderer
		src  string
		want *LimitError // nil for none
		msg  string
	}{
		{"size", r, strings.Repeat("x", 101), &LimitError{Limit: LimitSize, Value: 101, Max: 100}, "the value is 101 bytes, more than the limit (100)"},
		{"depth", r, "a\n> > > > x", &LimitError{Limit: LimitDepth, Value: 4, Max: 3, Line: 2}, "line 2 nests quotes or lists 4 deep, more than the limit (3)"},
		{"within", r, "> > > x", nil, ""},
		{"link definitions", New(Options{}), defs, &LimitError{Limit: LimitLinkDefinitions, Value: 10001, Max: 10000}, "10001 lines define links ([label]: url), more than 10000"},
		{"timeout", New(Options{Timeout: 20 * time.Millisecond}), strings.Repeat("[a](", 100000), &LimitError{Limit: LimitTimeout, Timeout: 20 * time.Millisecond}, "conversion stopped after 20ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			err := tt.r.Render(&b, tt.src)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want a *LimitError", err)
			}
			if diff := cmp.Diff(tt.want, le); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(err.Error(), tt.msg) {
				t.Errorf("error %q, want one starting %q", err, tt.msg)
			}
		})
	}
}

// TestRenderAppends checks that Render appends to what dst holds, on the
// fast path and on goldmark's.
func TestRenderAppends(t *testing.T) {
	t.Parallel()
	r := New(Options{})
	for _, src := range []string{"Plain prose.", "A [link](https://example.org)."} {
		var fresh, b strings.Builder
		if err := r.Render(&fresh, src); err != nil {
			t.Fatal(err)
		}
		b.WriteString("<div>")
		if err := r.Render(&b, src); err != nil {
			t.Fatal(err)
		}
		if got, want := b.String(), "<div>"+fresh.String(); got != want {
			t.Errorf("Render(%q) after <div>: %q, want %q", src, got, want)
		}
	}
}

func TestNesting(t *testing.T) {
	tests := []struct {
		src               string
		depth, line, defs int
	}{
		{"plain\ntext", 0, 0, 0},
		{"> a\n>> b\n> > > c", 3, 3, 0},
		{"- a\n  - b\n    - c\n      text more indented than any item", 3, 3, 0},
		{"1. a\n   2) b\n\t- c", 3, 3, 0},
		{"-not a list\n*emphasis*\n1.5 a number\n---", 0, 0, 0},
		{"- - - x", 3, 1, 0},
		{"[a]: /u\n  [b]: /v\n> [c]: /w\n[not a definition]", 1, 3, 3},
	}
	for _, tt := range tests {
		d, l, n := nesting(tt.src)
		if d != tt.depth || l != tt.line || n != tt.defs {
			t.Errorf("nesting(%q) = %d, %d, %d; want %d, %d, %d", tt.src, d, l, n, tt.depth, tt.line, tt.defs)
		}
	}
}

// deepList returns a list nested depth deep, one item a line, each
// indented under the one before.
func deepList(depth int) string {
	var b strings.Builder
	for d := range depth {
		b.WriteString(strings.Repeat("  ", d))
		b.WriteString("- x\n")
	}
	return b.String()
}

// TestRenderAsGoldmark checks that values within the default limits
// convert as goldmark converts them: the limits' checks change no output.
func TestRenderAsGoldmark(t *testing.T) {
	t.Parallel()
	// The default limits but the timeout: this test compares output, and
	// under -race on a loaded machine 10,000 nested list items can take
	// past the default second.
	r, plain := New(Options{Timeout: time.Minute}), newGoldmark()
	for _, src := range []string{
		strings.Repeat(">", 100) + " x\n",
		deepList(100),
		strings.Repeat(deepList(10)+"\n", 1000),
		"# Title\n\nSome *prose*, a [link](https://example.org) and `code`.\n\n" +
			"- one\n  - two\n    1. three\n\n> quoted\n> > twice\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfunc main() {}\n```\n\n" +
			"[ref]: https://example.org/ref\n\nSee [ref] and www.example.org.\n",
	} {
		var got strings.Builder
		if err := r.Render(&got, src); err != nil {
			t.Fatalf("Render(%.40q): %v", src, err)
		}
		var want bytes.Buffer
		if err := plain.Convert([]byte(src), &want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("output differs from goldmark's:\ngot  %.300q\nwant %.300q", got.String(), want.String())
		}
	}
}

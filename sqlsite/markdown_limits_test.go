package sqlsite

import (
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/internal/markdown"
)

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

// TestMarkdownLimits converts values that goldmark takes seconds to
// minutes over (its time grows with the square of their nesting) and
// checks that each is refused, quickly, with an error naming the limit;
// and that values within the limits convert as goldmark converts them.
// Each conversion has a minute: the guard is against a hang, not a
// measure of speed.
func TestMarkdownLimits(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // in the error; "" for none
	}{
		{"quotes 100,000 deep", strings.Repeat(">", 100000), "markdown: line 1 nests quotes or lists 100000 deep, more than markdown.max_depth (100) in bake.toml"},
		{"quotes a line deeper each line", func() string {
			var b strings.Builder
			for d := 1; d <= 500; d++ {
				b.WriteString(strings.Repeat(">", d) + " x\n")
			}
			return b.String()
		}(), "line 500 nests quotes or lists 500 deep"},
		{"list items on one line", strings.Repeat("- ", 20000) + "x", "nests quotes or lists 20000 deep"},
		{"ordered and quoted", strings.Repeat("> 1. ", 5000) + "x", "nests quotes or lists 10000 deep"},
		{"list 300 deep", deepList(300), "line 300 nests quotes or lists 300 deep"},
		{"list 3,000 deep (9 MB)", deepList(3000), "markdown: the value is 9009000 bytes, more than markdown.max_size (1048576) in bake.toml"},
		{"2 MB of prose", strings.Repeat("Some words of prose. ", 100000), "the value is 2100000 bytes, more than markdown.max_size"},
		{"link definitions", func() string {
			var b strings.Builder
			for i := range 20000 {
				b.WriteString("[a" + strings.Repeat("b", i%7) + "]: /u\n")
			}
			return b.String()
		}(), "markdown: 20000 lines define links ([label]: url), more than 10000"},
		{"unclosed links", strings.Repeat("[a](", 200000), "markdown: conversion stopped after 1s, markdown.timeout in bake.toml"},
		{"nested brackets", strings.Repeat("[", 200000) + strings.Repeat("]", 200000), "markdown: conversion stopped after 1s"},

		{"quotes 100 deep", strings.Repeat(">", 100) + " x\n", ""},
		{"list 100 deep", deepList(100), ""},
		{"a thousand lists 10 deep", strings.Repeat(deepList(10)+"\n", 1000), ""},
		{"common Markdown", "# Title\n\nSome *prose*, a [link](https://example.org) and `code`.\n\n" +
			"- one\n  - two\n    1. three\n\n> quoted\n> > twice\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfunc main() {}\n```\n\n" +
			"[ref]: https://example.org/ref\n\nSee [ref] and www.example.org.\n", ""},
	}
	f := &funcs{md: markdown.New(markdown.Options{})}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				html string
				err  error
			}
			done := make(chan result, 1)
			go func() {
				h, err := f.markdown(tt.src)
				done <- result{string(h), err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(time.Minute):
				t.Fatal("markdown did not return within a minute")
			}
			if tt.want == "" {
				// markdown.TestRenderAsGoldmark compares the output with goldmark's.
				if r.err != nil {
					t.Fatalf("error %v, want none", r.err)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", r.err, tt.want)
			}
		})
	}
}

// TestMarkdownLimitsConfig checks that [markdown] in bake.toml sets the
// limits.
func TestMarkdownLimitsConfig(t *testing.T) {
	cfg, err := ParseConfig("bake.toml", []byte(validHead+"[markdown]\nmax_size = 100\nmax_depth = 3\ntimeout = \"20ms\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := &funcs{md: markdown.New(cfg.Markdown.options())}
	for _, c := range []struct{ src, want string }{
		{strings.Repeat("x", 101), "the value is 101 bytes, more than markdown.max_size (100)"},
		{"> > > > x", "nests quotes or lists 4 deep, more than markdown.max_depth (3)"},
		{"> > > x", ""},
	} {
		_, err := f.markdown(c.src)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("markdown %q: error %v, want %q", c.src, err, c.want)
		}
	}
	opts := cfg.Markdown.options()
	opts.MaxSize = 1 << 20
	f.md = markdown.New(opts)
	start := time.Now()
	if _, err := f.markdown(strings.Repeat("[a](", 100000)); err == nil || !strings.Contains(err.Error(), "stopped after 20ms") {
		t.Errorf("error %v, want the conversion stopped after 20ms", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("stopped after %v", d)
	}
}

package template

// This file is bake's: see internal/gotemplate/doc.go.

import (
	"strings"
	"sync"
	"testing"
)

func execString(t *testing.T, tmpl *Template) string {
	t.Helper()
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestFuncsReplaceSnapshot: a function given by Funcs after a template ran
// is the one the next execution calls.
func TestFuncsReplaceSnapshot(t *testing.T) {
	tmpl := Must(New("t").Funcs(FuncMap{"f": func() string { return "one" }}).Parse(`{{f}} {{eq 1 1}}`))
	if got := execString(t, tmpl); got != "one true" {
		t.Fatalf("got %q", got)
	}
	tmpl.Funcs(FuncMap{"f": func() string { return "two" }, "eq": func(a, b int) bool { return false }})
	if got := execString(t, tmpl); got != "two false" {
		t.Fatalf("after Funcs: got %q", got)
	}
	// A template added to the set later sees the same functions.
	u := Must(tmpl.New("u").Parse(`{{f}}`))
	if got := execString(t, u); got != "two" {
		t.Fatalf("new template of the set: got %q", got)
	}
}

// TestFuncsWhileExecuting: Funcs and executions at once (run with -race);
// once Funcs has returned, every execution sees its function.
func TestFuncsWhileExecuting(t *testing.T) {
	tmpl := Must(New("t").Funcs(FuncMap{"f": func() string { return "old" }}).Parse(`{{f}}`))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				var b strings.Builder
				if err := tmpl.Execute(&b, nil); err != nil {
					t.Error(err)
					return
				}
				if s := b.String(); s != "old" && s != "new" {
					t.Errorf("got %q", s)
					return
				}
			}
		})
	}
	tmpl.Funcs(FuncMap{"f": func() string { return "new" }})
	if got := execString(t, tmpl); got != "new" {
		t.Errorf("after Funcs returned: got %q", got)
	}
	wg.Wait()
}

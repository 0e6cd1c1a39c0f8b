package proxy

import (
	"strings"
	"testing"
)

// FuzzPathTemplateMatch checks the mapping from a saved page's path back
// to the values of a [[proxy.purge]] path's placeholders: a path filled
// from values is matched, and the values matched fill the same path.
func FuzzPathTemplateMatch(f *testing.F) {
	f.Add("/posts/{slug}/", "hello", "")
	f.Add("/{year}/{slug}.html", "2024", "a/b")
	f.Add("/t/{a}-{b}/", "x-y", "z")
	f.Add("/", "", "")
	f.Fuzz(func(t *testing.T, tmpl, v1, v2 string) {
		pt, err := parsePathTemplate(tmpl)
		if err != nil {
			return
		}
		cols := pt.columns()
		values := map[string]*string{}
		for i, c := range cols {
			v := v1
			if i%2 == 1 {
				v = v2
			}
			if v == "" {
				v = "x"
			}
			if _, ok := values[c]; !ok {
				values[c] = &v
			}
		}
		path, ok := pt.fill(values)
		if !ok {
			t.Fatalf("fill %q: not filled", tmpl)
		}
		m := pt.re.FindStringSubmatch(path)
		if m == nil {
			t.Fatalf("%q filled as %q: no match", tmpl, path)
		}
		if len(m)-1 != len(cols) {
			t.Fatalf("%q: %d groups for %d placeholders", tmpl, len(m)-1, len(cols))
		}
		var b strings.Builder
		for i, part := range pt.parts {
			if i%2 == 0 {
				b.WriteString(part)
			} else {
				b.WriteString(m[(i+1)/2])
			}
		}
		if b.String() != path {
			t.Fatalf("%q: matched values fill %q, not %q", tmpl, b.String(), path)
		}
	})
}

package output

import (
	"encoding/json"
	"testing"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
)

func TestLineDeps(t *testing.T) {
	for _, line := range []string{
		`{"path":"/a/","sha256":"ab","size":3,"deps":["row:items/1","tmpl:a.html"]}`,
		`{"path":"/a/","deps":["row:items/1"],"route":"list","lastmod":"2020-01-01T00:00:00Z"}`,
		`{"path":"/a/"}`,
		`{}`,
		`{"deps":null}`,
		`{"deps":[]}`,
		` { "deps" : [ "a" , "b" ] , "x" : {"deps":["no"]} } `,
		`{"path":"/\"deps\":[\"x\"]/","deps":["y"]}`,
		`{"deps":["row:items/\u00e9"],"path":"/"}`,
		`{"Deps":["a"]}`,
		`{"enc":["gz","br"],"deps":["a"],"n":-1.5e3,"t":true,"f":null}`,
		`{"deps":["a"],"deps":["b"]}`,
	} {
		var e bake.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got, err := lineDeps(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if diff := cmp.Diff(len(e.Deps), len(got)); diff != "" || (len(got) > 0 && cmp.Diff(e.Deps, got) != "") {
			t.Errorf("%s: deps %q, json says %q", line, got, e.Deps)
		}
	}
}

// FuzzLineDeps checks that the fast path agrees with encoding/json on any
// line it accepts.
func FuzzLineDeps(f *testing.F) {
	f.Add(`{"path":"/a/","deps":["row:items/1","tmpl:a.html"]}`)
	f.Add(`{"path":"/a/","x":[{"y":"]"}],"deps":["a"]}`)
	f.Fuzz(func(t *testing.T, line string) {
		fast, ok := scanLineDeps(line)
		if !ok {
			return
		}
		var e bake.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return // the scan does not validate values it skips
		}
		if len(fast) != len(e.Deps) || len(fast) > 0 && cmp.Diff(e.Deps, fast) != "" {
			t.Errorf("%s: deps %q, json says %q", line, fast, e.Deps)
		}
	})
}

package asset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTargets: [assets] targets lowers what the browsers named do not
// know (CSS nesting for Chrome 100, ?? and ?. for ES2019), even when the
// lowered script is longer than the file; without targets the syntax is
// kept as it is.
func TestTargets(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		targets          []string
		nesting, nullish bool // kept
	}{
		{nil, true, true},
		{[]string{"chrome100", "es2019"}, false, false},
		{[]string{"chrome120", "es2020"}, true, true},
	} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "static"), 0o755)
		os.WriteFile(filepath.Join(dir, "static/app.css"), []byte(".card { color: red; & .title { color: blue; } }\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "static/app.js"), []byte("function f(a) { return a?.b ?? 1; }\n"), 0o644)
		p, err := New(Config{Dirs: []string{filepath.Join(dir, "static")}, CacheDir: filepath.Join(dir, "cache"),
			Minify: true, Fingerprint: true, Targets: tt.targets})
		if err != nil {
			t.Fatal(err)
		}
		set := mustRun(t, p)
		css, _ := set.Lookup("app.css")
		js, _ := set.Lookup("app.js")
		gotCSS, gotJS := readAsset(t, css), readAsset(t, js)
		if strings.Contains(gotCSS, ";.title{") != tt.nesting {
			t.Errorf("targets %v: CSS nesting kept %v, want %v: %s", tt.targets, !tt.nesting, tt.nesting, gotCSS)
		}
		if strings.Contains(gotJS, "??") != tt.nullish {
			t.Errorf("targets %v: ?? kept %v, want %v: %s", tt.targets, !tt.nullish, tt.nullish, gotJS)
		}
	}
}

package asset

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite golden files")

// writeSite writes the files of a txtar archive under a new folder.
func writeSite(t testing.TB, archive string) string {
	t.Helper()
	a, err := txtar.ParseFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range a.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testConfig(dir string) Config {
	return Config{
		Dirs:        []string{filepath.Join(dir, "static"), filepath.Join(dir, "vendor")},
		CacheDir:    filepath.Join(dir, ".bake", "assets"),
		Minify:      true,
		Fingerprint: true,
		Originals:   true,
		SourceMaps:  true,
		URLPrefix:   "https://cdn.example.org/",
		Bundles: []Bundle{
			{Name: "css/app.css", Entry: "css/main.css"},
			{Name: "js/app.js", Entry: "js/main.js"},
			{Name: "js/legacy.js", Files: []string{"js/a.js", "js/b.js"}},
		},
	}
}

func mustRun(t testing.TB, p *Pipeline) *Set {
	t.Helper()
	set, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// describe renders a set as text: each asset's paths and kind, and the
// bytes of each text file it writes.
func describe(t testing.TB, set *Set) []byte {
	var b bytes.Buffer
	for _, name := range set.Names() {
		a, _ := set.Lookup(name)
		fmt.Fprintf(&b, "-- %s --\npath %s\nkind %s\ntype %s\n", name, a.Path, a.Kind, a.Type)
		for _, f := range set.Files(name) {
			data, err := os.ReadFile(f.Source)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "file %s (%d bytes)\n", f.Path, len(data))
			if f.Path == a.Path && compressible(f.Type) || strings.HasSuffix(f.Path, ".map") {
				b.Write(data)
				if !bytes.HasSuffix(data, []byte("\n")) {
					b.WriteString("\n")
				}
			}
		}
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	dir := writeSite(t, "testdata/site.txtar")
	p, err := New(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	got := describe(t, mustRun(t, p))
	golden := "testdata/site.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("assets differ from %s (-want +got), run go test -update:\n%s", golden, d)
	}
}

package sqlsite_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
)

// TestCacheEachAsRange builds the benchmark site twice, its list items
// rendered by {{cacheEach "row" .}} and by {{range .}}{{cache "row" .}}{{end}}
// (the "row" partial in a file of its own): every file is the same, and the
// list pages depend on the partial's file either way.
func TestCacheEachAsRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, db := benchDB(t, 300)
	// Move the "row" partial into _row.html.
	pager := filepath.Join(dir, "templates", "_pager.html")
	src, err := os.ReadFile(pager)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(src), `{{define "row"}}`)
	if i < 0 || !strings.Contains(string(src), `{{- cacheEach "row" .}}`) {
		t.Fatalf("_pager.html no longer has a row partial used by cacheEach:\n%s", src)
	}
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "templates", name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("_row.html", string(src[i:]))
	withEach := string(src[:i])
	withRange := strings.Replace(withEach, `{{- cacheEach "row" .}}`, `{{- range .}}{{cache "row" .}}{{end}}`, 1)

	// fullBuild builds the site as its files are now into _name.
	fullBuild := func(name string) (*build.Report, error) {
		t.Helper()
		cfg, err := sqlsite.LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		site, err := sqlsite.New(ctx, cfg, db, sqlsite.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return build.Build(ctx, site, build.Options{Output: filepath.Join(dir, "_"+name), Workers: 2})
	}
	builds := map[string]string{}
	for name, pagerSrc := range map[string]string{"each": withEach, "range": withRange} {
		write("_pager.html", pagerSrc)
		out := filepath.Join(dir, "_"+name)
		if _, err := fullBuild(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		builds[name] = out
		idx, err := output.OpenIndex(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		e, ok, err := idx.Lookup(ctx, "/items/page/2/")
		idx.Close()
		if err != nil || !ok {
			t.Fatalf("%s: /items/page/2/ not in the index (%v)", name, err)
		}
		if !slices.Contains(e.Deps, bake.TmplDep("_row.html")) {
			t.Errorf("%s: /items/page/2/ deps %v lack tmpl:_row.html", name, e.Deps)
		}
	}
	files := 0
	err = filepath.WalkDir(builds["each"], func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, bake.ReservedDir) {
			return err
		}
		rel, _ := filepath.Rel(builds["each"], p)
		a, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(builds["range"], rel))
		if err != nil {
			return err
		}
		if string(a) != string(b) {
			t.Errorf("%s differs between cacheEach and range+cache", rel)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 250 {
		t.Fatalf("compared %d files, want the whole site", files)
	}

	// Something that is no list is a problem of the pages, named.
	write("_pager.html", strings.Replace(withEach, `{{- cacheEach "row" .}}`, `{{- cacheEach "row" 5}}`, 1))
	rep, err := fullBuild("bad")
	if err == nil || rep == nil || len(rep.Problems) == 0 {
		t.Fatalf("cacheEach of a number: err %v, want problems", err)
	}
	if msg := rep.Problems[0].Error(); !strings.Contains(msg, `cacheEach "row": int is not a list`) || !strings.Contains(msg, "_pager.html") {
		t.Errorf("problem = %s, want it to name cacheEach, the value and the file", msg)
	}
}

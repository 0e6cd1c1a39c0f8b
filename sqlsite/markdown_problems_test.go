package sqlsite_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
	"github.com/google/go-cmp/cmp"
)

// TestMarkdownLimitProblems builds a site whose rows hold Markdown that
// goldmark takes seconds to minutes over: each is a problem naming its
// route, page, row, template file and line, the other pages render, and
// the previous build stays.
func TestMarkdownLimitProblems(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[markdown]
max_depth = 50
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT * FROM items"
template = "item.html"
`,
		// printf's %.Nc repeats a character N times.
		"seed.sql": `CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO items VALUES
  (1, '> a quote, and a list:' || char(10) || char(10) || '- one' || char(10) || '  - two'),
  (2, printf('%.100000c', '>')),
  (3, replace(printf('%.3000c', '-'), '-', '- ') || 'x'),
  (4, printf('%.2000000c', 'a')),
  (5, printf('%.51c', '>') || ' fifty-one');`,
		"templates/item.html": "<h1>{{.Row.id}}</h1>\n{{markdown .Row.body}}",
	})
	os.MkdirAll(filepath.Join(dir, "_site", ".bake"), 0o755)
	os.WriteFile(filepath.Join(dir, "_site", "index.html"), []byte("previous"), 0o644)
	os.WriteFile(filepath.Join(dir, "_site", filepath.FromSlash(output.IndexFile)), nil, 0o644)

	db := openDB(t, sqlsite.SQLite, dir)
	type result struct {
		rep *build.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := buildSite(t, sqlsite.SQLite, dir, db)
		done <- result{rep, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the build did not return within two minutes")
	}
	if !errors.Is(r.err, build.ErrProblems) {
		t.Fatalf("err = %v, want ErrProblems", r.err)
	}
	var got []string
	for _, p := range r.rep.Problems {
		got = append(got, p.Error())
	}
	at := `item.html:2: route "item": page /items/%s/: row %s: executing "item.html" at <markdown .Row.body>: error calling markdown: markdown: `
	want := []string{
		strings.ReplaceAll(at, "%s", "2") + "line 1 nests quotes or lists 100000 deep, more than markdown.max_depth (50) in bake.toml",
		strings.ReplaceAll(at, "%s", "3") + "line 1 nests quotes or lists 3000 deep, more than markdown.max_depth (50) in bake.toml",
		strings.ReplaceAll(at, "%s", "4") + "the value is 2000000 bytes, more than markdown.max_size (1048576) in bake.toml",
		strings.ReplaceAll(at, "%s", "5") + "line 1 nests quotes or lists 51 deep, more than markdown.max_depth (50) in bake.toml",
	}
	for i := range got {
		got[i] = strings.Replace(got[i], filepath.Join(dir, "templates")+string(filepath.Separator), "", 1)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if r.rep.Pages != 1 {
		t.Errorf("%d pages rendered, want 1 (row 1)", r.rep.Pages)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "_site", "index.html")); string(b) != "previous" {
		t.Errorf("previous build changed: %q", b)
	}
}

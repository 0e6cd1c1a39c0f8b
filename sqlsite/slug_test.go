package sqlsite_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
)

// blocksSite is a site of Unicode characters grouped by block, whose
// paths slug the block and the character's name.
func blocksSite(t *testing.T, seed string) string {
	t.Helper()
	return writeSite(t, map[string]string{
		"bake.toml": `[site]
title = "Blocks"
base_url = "https://chars.example"
[database]
url = "site.db"
[[route]]
name = "block"
kind = "list"
path = "/blocks/{block|slugify}/"
group_by = "block"
query = "SELECT id, name, block FROM chars"
order_by = "id"
per_page = 1
template = "block.html"
[[route]]
name = "char"
kind = "detail"
path = "/chars/{name|slugify}/"
query = "SELECT id, name, block FROM chars"
template = "char.html"
[[route]]
name = "numbered"
kind = "detail"
path = "/n/{id}-{name|slugify}.html"
query = "SELECT id, name, block FROM chars"
template = "char.html"
[[route]]
kind = "feed"
path = "/feed.xml"
query = "SELECT id, name, block FROM chars ORDER BY id"
link = "/chars/{name|slugify}/"
columns = { title = "name" }
[[route]]
kind = "notfound"
path = "/404.html"
template = "404.html"
`,
		"seed.sql": `CREATE TABLE chars (id INTEGER PRIMARY KEY, name TEXT NOT NULL, block TEXT NOT NULL);
` + seed,
		"templates/block.html": `<h1>{{.Group}}</h1>{{range .Rows}}<a href="{{url "char" .}}">{{.name}}</a>{{end}}`,
		"templates/char.html":  `<h1>{{.Row.name}}</h1><a href="{{url "block" "block" .Row.block}}">{{.Row.block}}</a> <a href="/blocks/{{slugify .Row.block}}/">same</a>`,
		"templates/404.html":   `<h1>Not found</h1>`,
	})
}

const blocksSeed = `INSERT INTO chars VALUES
(1, 'LATIN SMALL LETTER A', 'Basic Latin'),
(2, 'NO-BREAK SPACE', 'Latin-1 Supplement'),
(3, 'Latin Capital Letter É', 'Latin-1 Supplement'),
(4, 'GREEK SMALL LETTER OMEGA', 'Greek and Coptic');
`

// TestSluggedPaths: {column|slugify} makes the folders of groups and rows
// from values with spaces, capitals and accents; url and slugify in a
// template agree with them, and so do feed links; bake serve --live finds
// each page's row again from its slugged path.
func TestSluggedPaths(t *testing.T) {
	t.Parallel()
	dir := blocksSite(t, blocksSeed)
	db := openDB(t, sqlsite.SQLite, dir)
	if rep, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		for _, p := range rep.Problems {
			t.Error(p)
		}
		t.Fatal(err)
	}
	out := filepath.Join(dir, "_site")
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for name, want := range map[string]string{
		"blocks/basic-latin/index.html":               `<h1>Basic Latin</h1><a href="/chars/latin-small-letter-a/">`,
		"blocks/latin-1-supplement/index.html":        `<h1>Latin-1 Supplement</h1><a href="/chars/no-break-space/">`,
		"blocks/latin-1-supplement/page/2/index.html": `<a href="/chars/latin-capital-letter-e/">`,
		"blocks/greek-and-coptic/index.html":          `GREEK SMALL LETTER OMEGA`,
		"chars/latin-capital-letter-e/index.html":     `<a href="/blocks/latin-1-supplement/">Latin-1 Supplement</a> <a href="/blocks/latin-1-supplement/">same</a>`,
		"feed.xml":                `<link>https://chars.example/chars/no-break-space/</link>`,
		"n/2-no-break-space.html": `<h1>NO-BREAK SPACE</h1>`,
	} {
		if got := read(name); !strings.Contains(got, want) {
			t.Errorf("%s does not contain %s:\n%s", name, want, got)
		}
	}

	site := newSite(t, dir, db)
	m, err := bake.ReadManifest(strings.NewReader(strings.Join(manifest(t, out), "\n")))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	for _, e := range m.Entries {
		name, _ := bake.FileName(e.Path)
		if rec := get(e.Path); rec.Code != http.StatusOK || rec.Body.String() != read(name) {
			t.Errorf("live %s: %d %q, want the build's %q", e.Path, rec.Code, rec.Body.String(), read(name))
		}
	}
	for _, path := range []string{"/chars/no-such-char/", "/blocks/latin/", "/blocks/Basic%20Latin/", "/chars/LATIN-SMALL-LETTER-A/", "/n/2-no-break.html", "/n/1-no-break-space.html"} {
		if rec := get(path); rec.Code != http.StatusNotFound {
			t.Errorf("live %s: %d, want 404", path, rec.Code)
		}
	}
}

// TestSluggedPathProblems: two values that slug alike are two pages at one
// path, named by both rows (detail) or both values (list), and a value
// with no letter or digit is a problem of its row, not a page at
// /chars//.
func TestSluggedPathProblems(t *testing.T) {
	t.Parallel()
	dir := blocksSite(t, blocksSeed+`INSERT INTO chars VALUES
(5, 'latin small letter a', 'latin 1 supplement'),
(6, '日本', 'CJK');
`)
	db := openDB(t, sqlsite.SQLite, dir)
	rep, err := buildSite(t, sqlsite.SQLite, dir, db)
	if !errors.Is(err, build.ErrProblems) {
		t.Fatalf("err = %v, want ErrProblems", err)
	}
	var msgs []string
	for _, p := range rep.Problems {
		msgs = append(msgs, p.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`route "block": row block=latin 1 supplement: two pages have this path, /blocks/latin-1-supplement/: block values "Latin-1 Supplement" and "latin 1 supplement" slug alike; make them one value in the query, or the path pattern unique`,
		`route "char": page /chars/latin-small-letter-a/: row 5: two pages have this path: route "char" row "1" and route "char" row "5"`,
		`route "char": row 6: path /chars/{name|slugify}/: column name: value "日本" slugs to nothing`,
		`block.html:1: route "block": page /blocks/cjk/: executing "block.html" at <url "char" .>: error calling url: url "char": path /chars/{name|slugify}/: column name: value "日本" slugs to nothing`,
		`route "numbered": row 6: path /n/{id}-{name|slugify}.html: column name: value "日本" slugs to nothing`,
		`route "rss": page /feed.xml: row 6: link: path /chars/{name|slugify}/: column name: value "日本" slugs to nothing`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not contain\n  %s\ngot:\n%s", want, all)
		}
	}
	if len(rep.Problems) != 6 {
		t.Errorf("%d problems, want 6:\n%s", len(rep.Problems), all)
	}
	if _, err := os.Stat(filepath.Join(dir, "_site", "chars", "index.html")); err == nil {
		t.Errorf("a page was written at /chars/")
	}
}

// TestSluggedCollisionIncremental: a row whose group comes to slug like
// another group's is the same problem in an incremental build as in a
// full one, and a row whose slugged name changes moves its page.
func TestSluggedCollisionIncremental(t *testing.T) {
	t.Parallel()
	dir := blocksSite(t, blocksSeed)
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "_site")
	update := func(q string, id string, cols ...string) (*build.UpdateReport, error) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
		return build.Update(context.Background(), newSite(t, dir, db),
			[]bake.Change{{Dep: bake.RowDep("chars", id), Op: bake.OpUpdate, Columns: cols}}, build.Options{Output: out})
	}
	if _, err := update(`UPDATE chars SET name = 'Omega' WHERE id = 4`, "4", "name"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "chars", "omega", "index.html")); err != nil {
		t.Errorf("the renamed row's page: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "chars", "greek-small-letter-omega")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the page at the old name is still there: %v", err)
	}

	rep, err := update(`UPDATE chars SET block = 'latin 1 supplement' WHERE id = 1`, "1", "block")
	if !errors.Is(err, build.ErrProblems) {
		t.Fatalf("err = %v, want ErrProblems", err)
	}
	want := `route "block": row block=latin 1 supplement: two pages have this path, /blocks/latin-1-supplement/: block values "Latin-1 Supplement" and "latin 1 supplement" slug alike`
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error(), want) {
		t.Errorf("problems %v, want one: %s", rep.Problems, want)
	}
}

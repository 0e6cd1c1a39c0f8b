package sqlsite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/output"
	"github.com/bakehq/bake/sqlsite"
)

// writeSite writes files into a new folder.
func writeSite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const problemSeed = `CREATE TABLE items (id INTEGER PRIMARY KEY, slug TEXT, title TEXT);
INSERT INTO items VALUES (1, 'ok', 'Fine'), (2, '../../etc', 'Escape'), (3, 'dup', 'A'), (4, 'dup', 'B'), (5, 'boom', NULL), (6, NULL, 'No slug');`

func TestBuildProblems(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[[route]]
name = "item"
kind = "detail"
path = "/items/{slug}/"
query = "SELECT * FROM items"
template = "item.html"
`,
		"seed.sql": problemSeed,
		"templates/item.html": `<h1>{{.Row.title}}</h1>
{{if eq .Row.slug "boom"}}{{index .Row.title 5}}{{end}}`,
	})
	// A previous good build must survive the failed one (a folder with an
	// index, as bake would only build over its own builds).
	os.MkdirAll(filepath.Join(dir, "_site", ".bake"), 0o755)
	os.WriteFile(filepath.Join(dir, "_site", "index.html"), []byte("previous"), 0o644)
	os.WriteFile(filepath.Join(dir, "_site", filepath.FromSlash(output.IndexFile)), nil, 0o644)

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
		`route "item": row 2: path /items/{slug}/: column slug: value "../../etc" has a character not allowed`,
		`route "item": page /items/dup/: row 4: two pages have this path: route "item" row "3" and route "item" row "4"`,
		`item.html:2: route "item": page /items/boom/: row 5: executing "item.html" at <index .Row.title 5>`,
		`route "item": row 6: path /items/{slug}/: column slug: value is NULL`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not contain\n  %s\ngot:\n%s", want, all)
		}
	}
	if len(rep.Problems) != 4 {
		t.Errorf("%d problems, want 4:\n%s", len(rep.Problems), all)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "_site", "index.html")); string(b) != "previous" {
		t.Errorf("previous build changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc")); err == nil {
		t.Error("a file was written outside the build folder")
	}
}

func TestCheckProblems(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[queries]
bad = "SELECT nope FROM items"
[[route]]
name = "item"
kind = "detail"
path = "/items/{slug}/"
key = "ident"
query = "SELECT id, title FROM items"
template = "item.html"
[route.queries]
other = "SELECT * FROM items WHERE id = :missing"
[[route]]
name = "list"
kind = "list"
path = "/"
query = "SELECT * FROM nosuchtable"
template = "list.html"
`,
		"seed.sql":            problemSeed,
		"templates/item.html": `{{.Row.title}} {{range .Data.unknown}}{{end}}`,
		"templates/list.html": `{{if}}`,
	})
	db := openDB(t, sqlsite.SQLite, dir)
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "list.html:1") || !strings.Contains(err.Error(), "missing value for if") {
		t.Fatalf("template parse error not reported with file and line: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "templates/list.html"), []byte(`ok`), 0o644)
	_, err = sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`query "bad": `,
		`route "item": path /items/{slug}/ names column "slug", which the query does not return (it returns id, title)`,
		`route "item": key names column "ident"`,
		`route "item": query other parameter :missing names column "missing"`,
		`item.html: route "item": .Data.unknown: no query named "unknown"`,
		`route "list": query: `,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

// TestTemplateColumnProblems: a template naming a column its route's
// query does not return is a problem with file and line before any page.
func TestTemplateColumnProblems(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[[route]]
name = "item"
kind = "detail"
path = "/items/{slug}/"
query = "SELECT id, slug, title FROM items WHERE slug IS NOT NULL"
template = "item.html"
[[route]]
name = "list"
kind = "list"
path = "/"
query = "SELECT id, slug, title FROM items"
template = "list.html"
`,
		"seed.sql":             problemSeed,
		"templates/_card.html": `{{define "card"}}<a href="/{{.slug}}">{{.title}} {{.nme}}</a>{{end}}`,
		"templates/item.html": `<h1>{{.Row.title}}</h1>
<p>{{.Row.titel}}</p>{{with .Row}}{{.slug}}{{.sulg}}{{end}}{{$.Row.id}}`,
		"templates/list.html": `{{range .Rows}}{{.title}}
{{template "card" .}}{{end}}{{range $i, $r := .Rows}}{{$r.tilte}}{{end}}{{.Row.anything}}`,
	})
	db := openDB(t, sqlsite.SQLite, dir)
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	if err == nil {
		t.Fatal("no error for columns the queries do not return")
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		got = append(got, strings.TrimPrefix(line, dir+string(filepath.Separator)))
	}
	want := []string{
		`templates/item.html:2: route "item": .Row.titel: the route's query does not return column "titel" (it returns id, slug, title)`,
		`templates/item.html:2: route "item": .Row.sulg: the route's query does not return column "sulg" (it returns id, slug, title)`,
		`templates/_card.html:1: route "list": .nme of a row of .Rows: the route's query does not return column "nme" (it returns id, slug, title)`,
		`templates/list.html:2: route "list": .tilte of a row of .Rows: the route's query does not return column "tilte" (it returns id, slug, title)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestDataColumnProblems: a template reading a column that a named query
// (.Data.NAME, site-wide or the route's own) does not return is a problem
// with file and line, as for the route's rows; once for a site-wide query
// however many routes show it, and not for a query with parameters, whose
// columns are known only with a row.
func TestDataColumnProblems(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[queries]
recent = "SELECT slug, title FROM items ORDER BY id DESC LIMIT 3"
[[route]]
name = "home"
kind = "page"
path = "/"
template = "home.html"
[route.queries]
latest = "SELECT id, slug, title FROM items LIMIT 5"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT id, slug, title FROM items"
template = "item.html"
[route.queries]
next = "SELECT id, slug FROM items WHERE id > :id LIMIT 1"
`,
		"seed.sql":              problemSeed,
		"templates/_aside.html": `{{define "aside"}}{{range .Data.recent}}{{.slug}}{{.titel}}{{end}}{{end}}`,
		"templates/_card.html":  `{{define "card"}}{{.title}} {{.nme}}{{end}}`,
		"templates/home.html": `{{template "aside" .}}{{range .Data.latest}}{{template "card" .}}
{{end}}{{range $i, $r := .Data.latest}}{{$r.slgu}}{{end}}{{with .Data.latest}}{{range .}}{{.id}}
{{.idd}}{{end}}{{end}}`,
		"templates/item.html": `{{template "aside" .}}{{range .Data.next}}{{.whatever}}{{end}}`,
	})
	db := openDB(t, sqlsite.SQLite, dir)
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	if err == nil {
		t.Fatal("no error for columns the named queries do not return")
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		got = append(got, strings.TrimPrefix(line, dir+string(filepath.Separator)))
	}
	slices.Sort(got)
	want := []string{
		`templates/_aside.html:1: route "home": .titel of a row of .Data.recent: query "recent" does not return column "titel" (it returns slug, title)`,
		`templates/_card.html:1: route "home": .nme of a row of .Data.latest: query "latest" does not return column "nme" (it returns id, slug, title)`,
		`templates/home.html:2: route "home": .slgu of a row of .Data.latest: query "latest" does not return column "slgu" (it returns id, slug, title)`,
		`templates/home.html:3: route "home": .idd of a row of .Data.latest: query "latest" does not return column "idd" (it returns id, slug, title)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestURLNameProblems: {{url "NAME"}} naming no route, or a route without
// a path, is a problem with file and line before any page (it failed on
// every page that showed it, once rendering), reported once for a
// template many routes share; the problem lists the names there are, so
// that a feed's (its format, rss or atom) can be found.
func TestURLNameProblems(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[site]
base_url = "https://example.org"
[database]
url = "site.db"
[[route]]
name = "home"
kind = "page"
path = "/"
template = "home.html"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT id, slug, title FROM items"
template = "item.html"
[[route]]
kind = "feed"
format = "atom"
path = "/feed.xml"
query = "SELECT id, title FROM items"
link = "/items/{id}/"
columns = { title = "title" }
[[route]]
kind = "redirect"
redirects = { "/old/" = "/" }
`,
		"seed.sql":             problemSeed,
		"templates/_base.html": `{{define "base"}}<link href="{{url "rss"}}">{{block "main" .}}{{end}}{{end}}`,
		"templates/home.html": `{{template "base" .}}{{define "main"}}<a href="{{url "atom"}}">feed</a>
<a href="{{url "redirect"}}">old</a>{{end}}`,
		"templates/item.html": `{{template "base" .}}<a href="{{url "item" .Row}}">{{.Row.title}}</a>{{url "home"}}`,
	})
	db := openDB(t, sqlsite.SQLite, dir)
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	if err == nil {
		t.Fatal("no error for url names that are no route's")
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		got = append(got, strings.TrimPrefix(line, dir+string(filepath.Separator)))
	}
	slices.Sort(got)
	want := []string{
		`templates/_base.html:1: route "home": {{url "rss"}}: no route named "rss" (the routes with a path: home, item, atom)`,
		`templates/home.html:2: route "home": {{url "redirect"}}: route "redirect" has no path`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestOrderByProblem: an order_by naming a column that does not exist is
// found with the other query checks, with its line, before any page.
func TestOrderByProblem(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[[route]]
name = "posts"
kind = "list"
path = "/posts/"
query = "SELECT id, slug, title FROM items"
order_by = "titel DESC"
template = "list.html"
[[route]]
name = "ok"
kind = "list"
path = "/"
query = "SELECT id, slug, title FROM items"
order_by = "title DESC, q.id"
template = "list.html"
`,
		"seed.sql":            problemSeed,
		"templates/list.html": `{{range .Rows}}{{.title}}{{end}}`,
	})
	db := openDB(t, sqlsite.SQLite, dir)
	cfg, err := sqlsite.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlsite.New(context.Background(), cfg, db, sqlsite.Options{Dir: dir})
	if err == nil {
		t.Fatal("no error for an order_by naming a missing column")
	}
	var probs sqlsite.Problems
	if !errors.As(err, &probs) || len(probs) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	want := filepath.Join(dir, "bake.toml") + `:8: route "posts": order_by "titel DESC": `
	if got := probs[0].Error(); !strings.HasPrefix(got, want) || !strings.Contains(got, "no such column") || !strings.Contains(got, "(the query returns id, slug, title)") {
		t.Errorf("problem = %s\nwant it to start with %s", got, want)
	}
}

// TestControlCharactersInPages: control characters of row values, which
// the HTML standard forbids, are replaced by U+FFFD in every page.
func TestControlCharactersInPages(t *testing.T) {
	t.Parallel()
	dir := writeSite(t, map[string]string{
		"bake.toml": `[database]
url = "site.db"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT id, title FROM items"
template = "item.html"
`,
		"seed.sql":            "CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT);\nINSERT INTO items VALUES (1, 'a' || char(1) || 'b' || char(127) || 'c' || char(133) || 'd' || char(11) || 'e' || char(9) || 'f');",
		"templates/item.html": `<title>{{.Row.title}}</title><p title="{{.Row.title}}" class={{.Row.title}}>{{.Row.title}}</p>{{markdown .Row.title}}`,
	})
	db := openDB(t, sqlsite.SQLite, dir)
	if _, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "_site", "items", "1", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	want := "<title>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\tf</title>" +
		"<p title=\"a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\tf\" class=a\uFFFDb\uFFFDc\uFFFDd&#xfffd;e&#9;f>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\tf</p>" +
		"<p>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\tf</p>\n"
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}

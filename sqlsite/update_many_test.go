package sqlsite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
)

// manySite is a site of items: a detail page each, a list of them, and an
// about page, all in one layout.
var manySite = map[string]string{
	"bake.toml": `[site]
title = "Many"
base_url = "https://many.example"

[database]
url = "many.db"

[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT id, title FROM items"
template = "item.html"

[[route]]
name = "items"
kind = "list"
path = "/items/"
query = "SELECT id, title FROM items"
order_by = "id"
per_page = 100
template = "items.html"

[[route]]
kind = "page"
path = "/about/"
template = "about.html"
`,
	"templates/_base.html": `{{define "base"}}<!doctype html><title>{{.Site.Title}}</title><link rel="stylesheet" href="{{static "site.css"}}"><main>{{block "content" .}}{{end}}</main>{{end}}`,
	"templates/item.html":  `{{template "base" .}}{{define "content"}}<h1>{{.Row.title}}</h1>{{end}}`,
	"templates/items.html": `{{template "base" .}}{{define "content"}}<ul>{{range .Rows}}<li>{{.title}}</li>{{end}}</ul>{{end}}`,
	"templates/about.html": `{{template "base" .}}{{define "content"}}<h1>About</h1>{{end}}`,
	"static/site.css":      `body { margin: 0 }`,
}

// TestUpdateTemplateOfMostPagesBuildsInFull: an edited template or static
// file that re-renders more than 2,000 pages and more than a quarter of the
// build makes a full build, by the rule for mass row changes, and the
// build's reason says which file and how many pages.
func TestUpdateTemplateOfMostPagesBuildsInFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		items      int
		manyPages  int
		file, with string // the file edited, and its new text
		wantReason string // "" for an incremental build
	}{
		{"layout of every page", 2100, 0, "templates/_base.html",
			strings.Replace(manySite["templates/_base.html"], "<main>", "<main class=x>", 1),
			"tmpl:_base.html changed, re-rendering 2122 of 2124 pages: a full build is needed"},
		{"stylesheet of every page", 2100, 0, "static/site.css", "body { margin: 1px }",
			"asset:site.css changed, re-rendering 2122 of 2124 pages: a full build is needed"},
		{"detail template of most pages", 2100, 0, "templates/item.html",
			strings.Replace(manySite["templates/item.html"], "<h1>", "<h1 class=x>", 1),
			"tmpl:item.html changed, re-rendering 2100 of 2124 pages: a full build is needed"},
		{"template of one page", 2100, 0, "templates/about.html", `{{template "base" .}}{{define "content"}}<h1>About us</h1>{{end}}`, ""},
		{"layout of a small site", 100, 0, "templates/_base.html",
			strings.Replace(manySite["templates/_base.html"], "<main>", "<main class=x>", 1), ""},
		{"layout, never full", 2100, -1, "templates/_base.html",
			strings.Replace(manySite["templates/_base.html"], "<main>", "<main class=x>", 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			for name, text := range manySite {
				writeFile(t, filepath.Join(dir, name), text)
			}
			db := manyDB(t, dir, tt.items)
			cfg, err := sqlsite.LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			site, err := sqlsite.New(ctx, cfg, db, sqlsite.Options{Dir: dir, ManyPages: tt.manyPages})
			if err != nil {
				t.Fatal(err)
			}
			opts := build.RunOptions{Options: build.Options{Output: filepath.Join(dir, "_site")}}
			if _, err := build.Run(ctx, site, build.Changes{Complete: true}, opts); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, tt.file), tt.with)
			rep, err := build.Run(ctx, site, build.Changes{Complete: true}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Incremental != (tt.wantReason == "") || rep.FullReason != tt.wantReason {
				t.Errorf("incremental %v, reason %q; want reason %q", rep.Incremental, rep.FullReason, tt.wantReason)
			}
		})
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPagerTotals: .Pager.TotalPages and .Pager.TotalItems, and their old
// names .Total and .Items, render the counts of the whole list, and an
// update after a row left the last page makes again the pages that show
// the number of rows, whichever name they read it by.
func TestPagerTotals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl string
	}{
		{"new names", `{{.Pager.TotalItems}} items, {{.Pager.TotalPages}} pages`},
		{"old names", `{{.Pager.Items}} items, {{.Pager.Total}} pages`},
		{"new names through a variable", `{{with $p := .Pager}}{{$p.TotalItems}} items, {{$p.TotalPages}} pages{{end}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			for name, text := range manySite {
				writeFile(t, filepath.Join(dir, name), text)
			}
			writeFile(t, filepath.Join(dir, "bake.toml"), strings.Replace(manySite["bake.toml"], "per_page = 100", "per_page = 10", 1))
			writeFile(t, filepath.Join(dir, "templates/items.html"), tt.tmpl)
			db := manyDB(t, dir, 25)
			site := newSite(t, dir, db)
			out := filepath.Join(dir, "_site")
			opts := build.RunOptions{Options: build.Options{Output: out}}
			if _, err := build.Run(ctx, site, build.Changes{Complete: true}, opts); err != nil {
				t.Fatal(err)
			}
			if got, want := readPage(t, out, "items/index.html"), "25 items, 3 pages"; got != want {
				t.Errorf("full build: /items/ = %q, want %q", got, want)
			}
			if _, err := db.Exec("DELETE FROM items WHERE id = 25"); err != nil {
				t.Fatal(err)
			}
			changes := build.Changes{Complete: true, List: []bake.Change{{Dep: bake.RowDep("items", "25"), Op: bake.OpDelete}}}
			rep, err := build.Run(ctx, site, changes, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Incremental {
				t.Fatalf("build not incremental: %s", rep.FullReason)
			}
			if got, want := readPage(t, out, "items/index.html"), "24 items, 3 pages"; got != want {
				t.Errorf("update: /items/ = %q, want %q", got, want)
			}
		})
	}
}

// manyDB returns the SQLite database of manySite in dir, with n items.
func manyDB(t *testing.T, dir string, n int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "many.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO items SELECT i, 'Item ' || i FROM n`, n); err != nil {
		t.Fatal(err)
	}
	return db
}

func readPage(t *testing.T, out, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

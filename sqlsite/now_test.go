package sqlsite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/sqlsite"
)

// TestNowParam: :now in a route's query, its named queries and the
// site-wide ones is the time of Options.Now, on both dialects, so a build
// can be made as of any instant (an embargo preview, a test's clock); a
// ':now' inside a string literal is text.
func TestNowParam(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"bake.toml": `[site]
title = "t"
[queries]
due = "SELECT COUNT(*) AS n FROM items WHERE publish_at <= :now"
[[route]]
name = "item"
kind = "detail"
path = "/items/{id}/"
query = "SELECT id, title, ':now' AS lit FROM items WHERE publish_at <= :now"
template = "item.html"
[route.queries]
later = "SELECT COUNT(*) AS n FROM items WHERE publish_at > :now"
[[route]]
kind = "page"
path = "/"
template = "home.html"
`,
		"templates/item.html": `{{.Row.title}} {{.Row.lit}} later={{(index .Data.later 0).n}}`,
		"templates/home.html": `due={{(index .Data.due 0).n}}`,
		"seed.sql": `CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, publish_at TIMESTAMP);
INSERT INTO items VALUES (1, 'old', '2020-01-01 00:00:00'), (2, 'embargoed', '2030-06-01 06:00:00');`,
	}
	for _, dialect := range []string{sqlsite.SQLite, sqlsite.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, text := range files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db := openDB(t, dialect, dir)
			cfg, err := sqlsite.LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				now        time.Time
				item2      bool
				home, item string
			}{
				{time.Date(2030, 6, 1, 5, 59, 59, 0, time.UTC), false, "due=1", "old :now later=1"},
				{time.Date(2030, 6, 1, 6, 0, 0, 0, time.UTC), true, "due=2", "old :now later=0"},
				// Another zone names the same instant.
				{time.Date(2030, 6, 1, 8, 0, 0, 0, time.FixedZone("CEST", 2*3600)), true, "due=2", "old :now later=0"},
			} {
				ctx := context.Background()
				site, err := sqlsite.New(ctx, cfg, db, sqlsite.Options{Dir: dir, Dialect: dialect, Now: c.now})
				if err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "_site")
				if _, err := build.Build(ctx, site, build.Options{Output: out}); err != nil {
					t.Fatal(err)
				}
				read := func(p string) string {
					b, _ := os.ReadFile(filepath.Join(out, p))
					return strings.TrimSpace(string(b))
				}
				if got := read("index.html"); got != c.home {
					t.Errorf("at %v: / = %q, want %q", c.now, got, c.home)
				}
				if got := read("items/1/index.html"); got != c.item {
					t.Errorf("at %v: /items/1/ = %q, want %q", c.now, got, c.item)
				}
				if _, err := os.Stat(filepath.Join(out, "items/2/index.html")); (err == nil) != c.item2 {
					t.Errorf("at %v: /items/2/ exists = %v, want %v", c.now, err == nil, c.item2)
				}
			}
			// The config is left as it was: :now is bound per Site.
			if !strings.Contains(cfg.Routes[0].Query, "<= :now") {
				t.Errorf("New changed the config's query: %s", cfg.Routes[0].Query)
			}
		})
	}
}

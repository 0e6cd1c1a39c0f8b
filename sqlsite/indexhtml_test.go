package sqlsite_test

import (
	"context"
	"database/sql"
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

// A route whose path ends in index.html makes the page of its folder: a
// build writes x/index.html, and live preview finds it at /x/ and
// /x/index.html.
func TestIndexHTMLRouteLive(t *testing.T) {
	t.Parallel()
	dir, db := blogWithRoutes(t, "[[route]]\nname = \"about\"\nkind = \"page\"\npath = \"/about/index.html\"\ntemplate = \"404.html\"\n\n[[route]]\nname = \"postix\"\nkind = \"detail\"\npath = \"/p/{slug}/index.html\"\nquery = \"SELECT id, slug, title, tag, body, published_at FROM posts WHERE published\"\ntemplate = \"404.html\"\n\n")
	out := filepath.Join(dir, "_site")
	for _, f := range []string{"about/index.html", "p/hello/index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("build: %v", err)
		}
	}
	site := newSite(t, dir, db)
	for _, p := range []string{"/about/", "/about/index.html", "/p/hello/", "/p/hello/index.html"} {
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, bake.EscapePath(p), nil))
		if rec.Code != 200 {
			t.Errorf("live %s: %d", p, rec.Code)
		}
	}
}

// An update of a row of a detail route at /p/{slug}/index.html keeps the
// page in the sitemap.
func TestIndexHTMLDetailUpdate(t *testing.T) {
	t.Parallel()
	dir, db := blogWithRoutes(t, "[[route]]\nname = \"postix\"\nkind = \"detail\"\npath = \"/p/{slug}/index.html\"\nquery = \"SELECT id, slug, title, tag, body, published_at FROM posts WHERE published\"\ntemplate = \"404.html\"\n\n")
	out := filepath.Join(dir, "_site")
	sm, _ := os.ReadFile(filepath.Join(out, "sitemap.xml"))
	if !strings.Contains(string(sm), "/p/hello/") {
		t.Fatalf("full build sitemap lacks /p/hello/:\n%s", sm)
	}
	if _, err := db.Exec("UPDATE posts SET title = 'Hi' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	site := newSite(t, dir, db)
	rep, err := build.Update(ctx, site, []bake.Change{{Dep: bake.RowDep("posts", "1"), Op: bake.OpUpdate, Columns: []string{"title"}}}, build.Options{Output: out, Explain: true})
	if err != nil {
		if rep != nil {
			for _, p := range rep.Problems {
				t.Log(p)
			}
		}
		t.Fatal(err)
	}
	sm, _ = os.ReadFile(filepath.Join(out, "sitemap.xml"))
	if !strings.Contains(string(sm), "/p/hello/") {
		t.Errorf("after update, sitemap lacks /p/hello/:\n%s", sm)
	}
	if _, err := os.Stat(filepath.Join(out, "p", "hello", "index.html")); err != nil {
		t.Error(err)
	}
}

// A static about/index.html is the page /about/; deleting it and updating
// should remove the page.
func TestStaticIndexRemoved(t *testing.T) {
	t.Parallel()
	dir, db := blogWithStaticAbout(t)
	out := filepath.Join(dir, "_site")
	if _, err := os.Stat(filepath.Join(out, "about", "index.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "static", "about", "index.html")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	site := newSite(t, dir, db)
	rep, err := build.Update(ctx, site, nil, build.Options{Output: out, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 1 {
		t.Errorf("removed %d pages, want 1", rep.Removed)
	}
	if _, err := os.Stat(filepath.Join(out, "about", "index.html")); err == nil {
		t.Errorf("about/index.html still in the build after its static file was deleted")
	}
	if b, _ := os.ReadFile(filepath.Join(out, "sitemap.xml")); strings.Contains(string(b), "/about/") {
		t.Errorf("the sitemap still lists /about/:\n%s", b)
	}
}

// blogWithRoutes builds the blog test site with routes (bake.toml text)
// added before its notfound route.
func blogWithRoutes(t *testing.T, routes string) (string, *sql.DB) {
	t.Helper()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	toml := filepath.Join(dir, "bake.toml")
	b, err := os.ReadFile(toml)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "[[route]]\nkind = \"notfound\"", routes+"[[route]]\nkind = \"notfound\"", 1))
	if err := os.WriteFile(toml, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return buildBlog(t, dir)
}

// blogWithStaticAbout builds the blog test site with a static
// about/index.html, the page /about/.
func blogWithStaticAbout(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dir, _ := extract(t, "testdata/sites/blog.txtar")
	if err := os.MkdirAll(filepath.Join(dir, "static", "about"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "static", "about", "index.html"), []byte("<p>about</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return buildBlog(t, dir)
}

func buildBlog(t *testing.T, dir string) (string, *sql.DB) {
	t.Helper()
	db := openDB(t, sqlsite.SQLite, dir)
	if rep, err := buildSite(t, sqlsite.SQLite, dir, db); err != nil {
		if rep != nil {
			for _, p := range rep.Problems {
				t.Log(p)
			}
		}
		t.Fatal(err)
	}
	return dir, db
}

package handlersite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/crawl"
	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

// app is a small Go web app, as net/http programs are written: pages that
// link to each other, absolute links made from the request, a stylesheet
// and an image, robots.txt and a sitemap, a redirect, a folder that a
// router redirects to its slash, and a page it does not have.
func app() http.Handler {
	mux := http.NewServeMux()
	abs := func(r *http.Request, p string) string {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host + p
	}
	html := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html>"+body)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		bake.Track(r.Context(), bake.TableDep("posts"))
		html(w, `<link rel="stylesheet" href="/style.css"><a href="/posts/a/">a</a> <a href="/posts/b/">b</a>
<a href="`+abs(r, "/about/")+`">about</a> <a href="/old/">old</a> <a href="/news">news</a>`)
	})
	mux.HandleFunc("GET /about/", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<p>About, at `+abs(r, "/about/")+`</p>`)
	})
	mux.HandleFunc("GET /posts/{slug}/", func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("slug")
		if slug != "a" && slug != "b" {
			http.NotFound(w, r)
			return
		}
		bake.Track(r.Context(), bake.RowDep("posts", slug))
		html(w, `<h1>Post `+slug+`</h1><img src="/img/logo.svg" alt="">`)
	})
	mux.HandleFunc("GET /news/", func(w http.ResponseWriter, r *http.Request) { html(w, `<h1>News</h1>`) })
	mux.HandleFunc("GET /old/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/posts/a/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		fmt.Fprint(w, `body { background: url(/img/logo.svg) }`)
	})
	mux.HandleFunc("GET /img/logo.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg"/>`)
	})
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nSitemap: "+abs(r, "/sitemap.xml")+"\n")
	})
	mux.HandleFunc("GET /sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>`+abs(r, "/about/")+`</loc></url></urlset>`)
	})
	mux.HandleFunc("GET /panic/", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	return mux
}

var appPaths = []string{"/", "/about/", "/posts/a/", "/posts/b/", "/old/", "/news", "/style.css", "/img/logo.svg", "/robots.txt", "/sitemap.xml"}

// files reads the files of the build folder dir but bake's own.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && rel == bake.ReservedDir {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// entries reads the manifest of the build folder dir.
func entries(t *testing.T, dir string) map[string]bake.Entry {
	t.Helper()
	idx, err := output.OpenIndex(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	out := map[string]bake.Entry{}
	for e, err := range idx.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out[e.Path] = e
	}
	return out
}

func bakeApp(t *testing.T, h http.Handler, paths Paths, opts Options, out string) (*build.RunReport, error) {
	t.Helper()
	site, err := New(h, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	return build.Run(context.Background(), site, build.Changes{}, build.RunOptions{Options: build.Options{Output: out}})
}

// TestBakeEqualsCrawl bakes a Go app in process and crawls it over HTTP,
// and compares the two build folders file by file and entry by entry.
func TestBakeEqualsCrawl(t *testing.T) {
	const base = "https://example.org"
	tmp := t.TempDir()
	baked, crawled := filepath.Join(tmp, "baked"), filepath.Join(tmp, "crawled")
	rep, err := bakeApp(t, app(), List(appPaths...), Options{BaseURL: base}, baked)
	if err != nil {
		t.Fatalf("bake: %v (%v)", err, rep)
	}
	srv := httptest.NewServer(app())
	defer srv.Close()
	origin, _ := url.Parse(srv.URL)
	crep, err := crawl.Crawl(context.Background(), crawl.Options{Origin: origin, Output: crawled, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if len(crep.Broken) > 0 || len(crep.Problems) > 0 {
		t.Fatalf("crawl: broken %v, problems %v", crep.Broken, crep.Problems)
	}
	bf, cf := files(t, baked), files(t, crawled)
	if diff := cmp.Diff(cf, bf); diff != "" {
		t.Errorf("files (-crawl +baked):\n%s", diff)
	}
	if len(bf) != len(appPaths) { // /news is baked as /news/
		t.Errorf("%d files baked, want %d", len(bf), len(appPaths))
	}
	if !strings.Contains(bf["about/index.html"], "at https://example.org/about/") {
		t.Errorf("about: %q: the link made from the request is not the base URL's", bf["about/index.html"])
	}
	be, ce := entries(t, baked), entries(t, crawled)
	type same struct{ SHA256, Type, Redirect string }
	pick := func(m map[string]bake.Entry) map[string]same {
		out := map[string]same{}
		for p, e := range m {
			out[p] = same{e.SHA256, e.Type, e.Redirect}
		}
		return out
	}
	if diff := cmp.Diff(pick(ce), pick(be)); diff != "" {
		t.Errorf("entries (-crawl +baked):\n%s", diff)
	}
	deps := map[string][]bake.Dep{}
	for _, p := range []string{"/", "/posts/a/", "/old/"} {
		deps[p] = be[p].Deps
		if be[p].Route != Route {
			t.Errorf("%s: route %q, want %q", p, be[p].Route, Route)
		}
	}
	wantDeps := map[string][]bake.Dep{
		"/":         {"table:posts", "url:/"},
		"/posts/a/": {"row:posts/a", "url:/posts/a/"},
		"/old/":     {"url:/old/"},
	}
	if diff := cmp.Diff(wantDeps, deps); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
	if be["/old/"].Redirect != "/posts/a/" {
		t.Errorf("/old/: redirect %q, want /posts/a/", be["/old/"].Redirect)
	}
}

// TestBakeProblems checks that a page the handler does not answer with a
// 200 or a redirect fails the build, naming its URL and why, and that the
// previous build stays.
func TestBakeProblems(t *testing.T) {
	out := filepath.Join(t.TempDir(), "_site")
	if _, err := bakeApp(t, app(), List("/", "/about/"), Options{}, out); err != nil {
		t.Fatal(err)
	}
	before := files(t, out)
	rep, err := bakeApp(t, app(), List("/", "/posts/zzz/", "/panic/", "/a/../b/", "/about/"), Options{}, out)
	if !errors.Is(err, build.ErrProblems) {
		t.Fatalf("err = %v, want build problems", err)
	}
	got := map[string]string{}
	for _, p := range rep.Problems {
		got[p.Path] = p.Err.Error()
	}
	for path, want := range map[string]string{
		"/posts/zzz/": "GET /posts/zzz/: status 404 Not Found",
		"/panic/":     "GET /panic/: handler panicked: boom",
		"/a/../b/":    "..",
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("problem of %s: %q, want one with %q", path, got[path], want)
		}
	}
	if len(got) != 3 {
		t.Errorf("problems: %v, want 3", got)
	}
	if diff := cmp.Diff(before, files(t, out)); diff != "" {
		t.Errorf("the previous build changed (-before +after):\n%s", diff)
	}
}

// TestQueryPaths bakes the paths a SQL query returns; a NULL is a
// problem naming the query and row.
func TestQueryPaths(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE posts (id INTEGER PRIMARY KEY, slug TEXT, published INT);
INSERT INTO posts VALUES (1, 'a', 1), (2, 'b', 1), (3, 'draft', 0)`); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "_site")
	q := Query(db, "SELECT '/posts/' || slug || '/' FROM posts WHERE published = ? ORDER BY id", 1)
	if _, err := bakeApp(t, app(), q, Options{}, out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for p := range entries(t, out) {
		got = append(got, p)
	}
	if diff := cmp.Diff([]string{"/posts/a/", "/posts/b/"}, got, cmpSorted); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if _, err := db.Exec(`INSERT INTO posts VALUES (4, NULL, 1)`); err != nil {
		t.Fatal(err)
	}
	rep, err := bakeApp(t, app(), q, Options{}, out)
	if !errors.Is(err, build.ErrProblems) || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error(), "row 3: NULL path") {
		t.Errorf("a NULL path: %v, %v", err, rep.Problems)
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	slices.Sort(out)
	return out
})

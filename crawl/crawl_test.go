package crawl

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// site is a small running site: pages that link to each other, a
// redirect, a broken link, a page robots.txt disallows, and one whose
// text changes between crawls.
type site struct {
	mu       sync.Mutex
	news     string
	requests map[string]int
	srv      *httptest.Server
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	news := s.news
	s.mu.Unlock()
	page := func(body string) {
		etag := fmt.Sprintf(`"%x"`, len(body)*31+int(body[len(body)-2]))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
	switch r.URL.Path {
	case "/robots.txt":
		fmt.Fprint(w, "User-agent: *\nDisallow: /admin/\n")
	case "/":
		page(`<a href="/news/">news</a> <a href="` + s.srv.URL + `/about">about</a> <a href="/old/">old</a>
<a href="/missing/">x</a> <a href="/admin/">admin</a> <a href="/search?q=x">s</a> <a href="https://elsewhere.example/">e</a>
<link rel="stylesheet" href="/app.css"> <a href="https://example.org/from-base/">b</a>.`)
	case "/news/":
		page(`<h1>` + news + `</h1><img srcset="/img/a.png 1x, /img/b.png 2x">.`)
	case "/about":
		page(`<p>about <a href="/">home</a>, at ` + s.srv.URL + `/about</p>.`)
	case "/from-base/":
		page(`<p>linked by the base URL</p>.`)
	case "/old/":
		http.Redirect(w, r, "/news/", http.StatusMovedPermanently)
	case "/app.css":
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `body{background:url("/img/bg.png")}`)
	case "/img/a.png", "/img/b.png", "/img/bg.png":
		w.Header().Set("Content-Type", "image/png")
		fmt.Fprint(w, "PNG"+r.URL.Path)
	case "/admin/":
		fmt.Fprint(w, "secret")
	default:
		http.NotFound(w, r)
	}
}

func TestCrawl(t *testing.T) {
	s := &site{news: "first", requests: map[string]int{}}
	s.srv = httptest.NewServer(s)
	defer s.srv.Close()
	origin, _ := url.Parse(s.srv.URL)
	out := filepath.Join(t.TempDir(), "_site")
	opts := Options{Origin: origin, Output: out, BaseURL: "https://example.org", Concurrency: 3}
	rep, err := Crawl(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := &Report{Pages: 9, Redirects: 1, Written: 10, Requests: 12, Skipped: 2,
		Broken: []Broken{{Path: "/missing/", Status: 404, From: []string{"/"}}}}
	ignore := cmpopts.IgnoreFields(Report{}, "Duration", "Bytes")
	if diff := cmp.Diff(want, rep, ignore); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil {
			return "(" + err.Error() + ")"
		}
		return string(b)
	}
	if got := read("about"); !strings.Contains(got, "at https://example.org/about") || strings.Contains(got, s.srv.URL) {
		t.Errorf("about: origin URL not rewritten: %q", got)
	}
	if got := read("old/index.html"); !strings.Contains(got, `url=/news/`) || !strings.Contains(got, `href="https://example.org/news/"`) {
		t.Errorf("redirect page: %q", got)
	}
	if s.requests["/admin/"] != 0 || s.requests["/search"] != 0 {
		t.Errorf("fetched what robots.txt disallows or a query: %v", s.requests)
	}
	idx, err := output.OpenIndex(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	e, ok, err := idx.Lookup(context.Background(), "/old/")
	idx.Close()
	if err != nil || !ok || e.Redirect != "/news/" || e.Route != Route {
		t.Errorf("/old/ in the index: %+v %v %v", e, ok, err)
	}

	// Again, with one page changed: only it is written.
	s.mu.Lock()
	s.news = "second"
	s.mu.Unlock()
	rep, err = Crawl(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pages != 9 || rep.Written != 1 || rep.Unchanged != 9 {
		t.Errorf("second crawl: %d pages, %d written (want 1: /news/), %d unchanged (want 9: 8 pages, 1 redirect)", rep.Pages, rep.Written, rep.Unchanged)
	}
	if got := read("news/index.html"); !strings.Contains(got, "second") {
		t.Errorf("news after the second crawl: %q", got)
	}
}

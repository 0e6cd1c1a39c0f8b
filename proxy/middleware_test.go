package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/serve"
	"github.com/google/go-cmp/cmp"
)

// TestMiddlewareHitsAsServe checks that a saved page is answered with the
// status, headers and bytes bake serve's file server gives for the same
// folder, for each way a client may ask, and without calling the app.
func TestMiddlewareHitsAsServe(t *testing.T) {
	var calls atomic.Int64
	page := "<!doctype html><title>a</title>" + strings.Repeat("<p>text that compresses well</p>\n", 100)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	p, ps, dir := newKind(t, "middleware", app, Options{})
	if _, body := get(t, ps.URL+"/a/", nil); body != page {
		t.Fatalf("miss: body %q", body)
	}
	files, err := serve.NewFileServer(dir, serve.FileServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	etag := httptest.NewRecorder()
	files.ServeHTTP(etag, httptest.NewRequest("GET", "/a/", nil))
	tag := etag.Header().Get("ETag")
	if tag == "" {
		t.Fatal("bake serve gives no ETag")
	}
	for _, h := range []map[string]string{
		{},
		{"Accept-Encoding": "gzip"},
		{"Accept-Encoding": "br, gzip"},
		{"If-None-Match": tag},
		{"Range": "bytes=0-9"},
	} {
		for _, method := range []string{"GET", "HEAD"} {
			answer := func(hd http.Handler) (int, http.Header, string) {
				r := httptest.NewRequest(method, "/a/", nil)
				for k, v := range h {
					r.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				hd.ServeHTTP(w, r)
				return w.Code, w.Header(), w.Body.String()
			}
			wantCode, wantHeader, wantBody := answer(files)
			code, header, body := answer(p)
			if code != wantCode || body != wantBody {
				t.Errorf("%s %v: %d %d bytes, bake serve %d %d bytes", method, h, code, len(body), wantCode, len(wantBody))
			}
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("%s %v: headers (-serve +middleware):\n%s", method, h, diff)
			}
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the app was called %d times, want 1 (the miss)", n)
	}
}

// TestMiddlewareRequests checks what the app sees: the visitor's own
// request, credentials and all, when it is passed on; a request without
// credentials or cookies, with the visitor's host, when a page may be
// saved.
func TestMiddlewareRequests(t *testing.T) {
	type seen struct{ Path, Cookie, Auth, Host, Accept string }
	var got []seen
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, seen{r.URL.Path, r.Header.Get("Cookie"), r.Header.Get("Authorization"), r.Host, r.Header.Get("Accept")})
		io.WriteString(w, "<p>"+r.URL.Path+"</p>")
	})
	_, ps, _ := newKind(t, "middleware", app, Options{AllowCookies: []string{"consent"}})
	get(t, ps.URL+"/public/", map[string]string{"Cookie": "consent=yes", "Accept": "text/html", "Host": "example.org"})
	get(t, ps.URL+"/mine/", map[string]string{"Cookie": "sessionid=1"})
	get(t, ps.URL+"/auth/", map[string]string{"Authorization": "Bearer x"})
	host := strings.TrimPrefix(ps.URL, "http://")
	want := []seen{
		{"/public/", "", "", host, "text/html"},
		{"/mine/", "sessionid=1", "", host, ""},
		{"/auth/", "", "Bearer x", host, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests the app saw (-want +got):\n%s", diff)
	}
}

// TestMiddlewareDeps checks that what a handler records with bake.Track
// goes into the saved page's entry, with url:PATH.
func TestMiddlewareDeps(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bake.Track(r.Context(), bake.RowDep("posts", "7"), bake.TableDep("tags"))
		io.WriteString(w, "<p>post 7</p>")
	})
	_, ps, dir := newKind(t, "middleware", app, Options{})
	get(t, ps.URL+"/posts/7/", nil)
	want := map[string]string{"/posts/7/": "proxy row:posts/7,table:tags,url:/posts/7/"}
	if diff := cmp.Diff(want, saved(t, dir)); diff != "" {
		t.Errorf("saved (-want +got):\n%s", diff)
	}
}

// TestMiddlewareAnswers checks answers that are not saved: a body larger
// than MaxSize streams whole to the visitor; a handler that panics before
// writing is a 502; one that writes nothing is an empty 200 (saved, as
// net/http would send it); a flushed answer arrives whole.
func TestMiddlewareAnswers(t *testing.T) {
	big := strings.Repeat("x", 5000)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big/":
			for range 5 {
				io.WriteString(w, big[:1000])
			}
		case "/panic/":
			panic("boom")
		case "/empty/":
		case "/flushed/":
			io.WriteString(w, "one ")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "two")
		}
	})
	_, ps, dir := newKind(t, "middleware", app, Options{MaxSize: 1000})
	type answer struct {
		Code int
		Body string
	}
	var got []answer
	for _, p := range []string{"/big/", "/panic/", "/empty/", "/flushed/"} {
		resp, body := get(t, ps.URL+p, nil)
		if resp.StatusCode == http.StatusBadGateway {
			body = ""
		}
		got = append(got, answer{resp.StatusCode, body})
	}
	want := []answer{{200, big}, {502, ""}, {200, ""}, {200, "one two"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	wantSaved := map[string]string{"/empty/": "proxy url:/empty/", "/flushed/": "proxy url:/flushed/"}
	if diff := cmp.Diff(wantSaved, saved(t, dir)); diff != "" {
		t.Errorf("saved (-want +got):\n%s", diff)
	}
}

// TestMiddlewarePurgeMethod purges through the method a program calls.
func TestMiddlewarePurgeMethod(t *testing.T) {
	o := &origin{}
	p, ps, dir := newKind(t, "middleware", o, Options{})
	for _, path := range []string{"/posts/a/", "/posts/b/", "/about/"} {
		get(t, ps.URL+path, nil)
	}
	purged, err := p.Purge(context.Background(), []string{"/about/"}, "/posts/")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/about/", "/posts/a/", "/posts/b/"}, purged); diff != "" {
		t.Errorf("purged (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{}, saved(t, dir)); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
	if _, err := p.Purge(context.Background(), []string{"/../x"}, ""); err == nil {
		t.Error("purge of /../x: no error")
	}
	get(t, ps.URL+"/about/", nil)
	if n := o.count("/about/"); n != 2 {
		t.Errorf("/about/ after purge: %d calls, want 2", n)
	}
}

// TestMiddlewareMissLeavesNoTrace checks that a request the build folder
// cannot answer reaches the app as if the middleware were not there: the
// headers set around the middleware are kept, none of the file server's
// 404 (or a saved folder's redirect) leaks into the app's answer.
func TestMiddlewareMissLeavesNoTrace(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "app "+r.URL.Path)
	})
	mw, err := NewMiddleware(context.Background(), app, Options{Dir: t.TempDir() + "/_site", Save: []string{"/news/"}})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	if res, err := mw.Warm(context.Background(), []string{"/news/"}); err != nil || !res[0].Saved {
		t.Fatalf("warm: %v %v", res, err)
	}
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "42")
		mw.ServeHTTP(w, r)
	})
	type answer struct {
		Code   int
		Body   string
		Header http.Header
	}
	var got []answer
	for _, p := range []string{"/news", "/other/", "/news/"} {
		w := httptest.NewRecorder()
		outer.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		h := w.Header()
		if p == "/news/" {
			h = http.Header{"X-Request-Id": h["X-Request-Id"], "Content-Type": h["Content-Type"]}
		}
		got = append(got, answer{w.Code, w.Body.String(), h})
	}
	text := []string{"text/plain; charset=utf-8"}
	want := []answer{
		{200, "app /news", http.Header{"X-Request-Id": {"42"}, "Content-Type": text}},
		{200, "app /other/", http.Header{"X-Request-Id": {"42"}, "Content-Type": text}},
		{200, "app /news/", http.Header{"X-Request-Id": {"42"}, "Content-Type": text}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestMiddlewareRefreshEndsBigAnswer checks that a background refresh
// whose answer has become too big to save ends the handler's call rather
// than leaving it blocked on a body nobody reads, and purges the page.
func TestMiddlewareRefreshEndsBigAnswer(t *testing.T) {
	var big atomic.Bool
	ended := make(chan struct{}, 10)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ended <- struct{}{} }()
		if !big.Load() {
			io.WriteString(w, "small")
			return
		}
		for range 100 {
			if _, err := io.WriteString(w, strings.Repeat("x", 1000)); err != nil {
				return
			}
		}
	})
	p, ps, dir := newKind(t, "middleware", app, Options{MaxSize: 100, TTL: time.Hour, Jitter: -1})
	get(t, ps.URL+"/a/", nil)
	<-ended
	big.Store(true)
	p.ttl = time.Nanosecond // the saved page is now expired
	if _, body := get(t, ps.URL+"/a/", nil); body != "small" {
		t.Fatalf("stale page: %q", body)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the refresh left the handler blocked")
	}
	p.bg.Wait()
	p.ttl = 0
	if diff := cmp.Diff(map[string]string{}, saved(t, dir)); diff != "" {
		t.Errorf("saved after a refresh too big to save (-want +got):\n%s", diff)
	}
}

// TestMiddlewareServesPagesOutsideItsPatterns checks that a page in the
// build folder at a path no save pattern matches (saved before the
// patterns changed, or made by a build) is still answered from there.
func TestMiddlewareServesPagesOutsideItsPatterns(t *testing.T) {
	o := &origin{}
	dir := filepath.Join(t.TempDir(), "_site")
	first, err := NewMiddleware(context.Background(), o, Options{Dir: dir, Save: []string{"/**"}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := first.Warm(context.Background(), []string{"/about/"}); err != nil || !res[0].Saved {
		t.Fatalf("warm: %v %v", res, err)
	}
	first.Close()
	mw, err := NewMiddleware(context.Background(), o, Options{Dir: dir, Save: []string{"/posts/**"}})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	w := httptest.NewRecorder()
	mw.ServeHTTP(w, httptest.NewRequest("GET", "/about/", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "page /about/") || w.Header().Get("ETag") == "" {
		t.Errorf("GET /about/: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if n := o.count("/about/"); n != 1 {
		t.Errorf("/about/: %d origin calls, want 1 (the warm)", n)
	}
}

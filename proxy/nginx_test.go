package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bakehq/bake/internal/testenv"
)

// docNginx returns the nginx configuration of docs/proxy.md, the one
// users copy, so that what is tested is what is documented.
func docNginx(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "proxy.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```nginx\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/proxy.md has no ```nginx block")
	}
	return string(m[1])
}

// replaceOnce replaces old by new in s, failing t unless old is there
// exactly once: the documented configuration must keep these lines.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("docs/proxy.md's nginx configuration has %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// TestNginxInFront runs real nginx with the configuration of docs/proxy.md
// in front of the proxy, in front of a Go origin: a miss goes through
// nginx to bake to the origin and is saved; the next request is answered
// by nginx from the saved file, reaching neither bake nor the origin;
// personal pages, errors and requests with credentials or a query always
// go through.
func TestNginxInFront(t *testing.T) {
	testenv.Nginx(t) // skip (or fail in CI) before anything starts
	o := &origin{}
	p, _, dir := newProxy(t, o, Options{Save: []string{"/**"}})
	var bakeHits atomic.Int64
	bakeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bakeHits.Add(1)
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(bakeSrv.Close)
	bu, _ := url.Parse(bakeSrv.URL)

	conf := docNginx(t)
	conf = replaceOnce(t, conf, "listen 80;", "listen {{listen}};")
	conf = replaceOnce(t, conf, "root /srv/mysite/_site;", "root "+dir+";")
	conf = replaceOnce(t, conf, "server 127.0.0.1:8080;", "server "+bu.Host+";")
	n := testenv.StartNginx(t, conf)
	base := "http://" + n.Addr
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx error log:\n%s", n.ErrorLog())
		}
	})

	type step struct {
		path   string
		header map[string]string
		status int
		origin int64 // origin requests for the path so far
		bake   int64 // requests that reached bake so far
	}
	steps := []step{
		{path: "/posts/a/", status: 200, origin: 1, bake: 1},  // miss: nginx → bake → origin, saved
		{path: "/posts/a/", status: 200, origin: 1, bake: 1},  // hit: nginx alone, from the file
		{path: "/", status: 200, origin: 1, bake: 2},          // the home page: _site/index.html
		{path: "/", status: 200, origin: 1, bake: 2},          //
		{path: "/cookie/", status: 200, origin: 1, bake: 3},   // Set-Cookie: passed through
		{path: "/cookie/", status: 200, origin: 2, bake: 4},   // ... every time
		{path: "/private/", status: 200, origin: 1, bake: 5},  //
		{path: "/private/", status: 200, origin: 2, bake: 6},  //
		{path: "/nostore/", status: 200, origin: 1, bake: 7},  //
		{path: "/nostore/", status: 200, origin: 2, bake: 8},  //
		{path: "/missing/", status: 404, origin: 1, bake: 9},  // a 404 is never saved
		{path: "/missing/", status: 404, origin: 2, bake: 10}, //
		{path: "/moved/", status: 302, origin: 1, bake: 11},   //
		{path: "/posts/a/", header: map[string]string{"Authorization": "Bearer x"}, status: 200, origin: 2, bake: 12},
		{path: "/posts/a/?q=1", status: 200, origin: 3, bake: 13},
		{path: "/posts/a/", header: map[string]string{"Cookie": "sessionid=1"}, status: 200, origin: 3, bake: 13}, // nginx ignores cookies (see the doc)
		{path: "/.bake/index.db", status: 404, bake: 13},
		{path: "/_bake/purge", status: 404, bake: 13},
	}
	for i, s := range steps {
		resp, body := get(t, base+s.path, s.header)
		if resp.StatusCode != s.status {
			t.Errorf("step %d %s: status %d, want %d", i, s.path, resp.StatusCode, s.status)
		}
		if s.status == 200 && !strings.Contains(body, "page "+strings.Split(s.path, "?")[0]) {
			t.Errorf("step %d %s: body %q", i, s.path, body)
		}
		if s.origin > 0 {
			if got := o.count(strings.Split(s.path, "?")[0]); got != s.origin {
				t.Errorf("step %d %s: %d origin requests, want %d", i, s.path, got, s.origin)
			}
		}
		if got := bakeHits.Load(); got != s.bake {
			t.Errorf("step %d %s: %d requests reached bake, want %d", i, s.path, got, s.bake)
		}
	}
	for _, personal := range []string{"cookie", "private", "nostore", "missing", "moved"} {
		if _, err := os.Stat(filepath.Join(dir, personal)); err == nil {
			t.Errorf("/%s/ was saved", personal)
		}
	}
	want := map[string]string{"/": "proxy url:/", "/posts/a/": "proxy url:/posts/a/"}
	if got := saved(t, dir); len(got) != len(want) || got["/"] != want["/"] || got["/posts/a/"] != want["/posts/a/"] {
		t.Errorf("saved %v, want %v", got, want)
	}

	// nginx compresses what it serves, and sends a .gz sibling as it is.
	resp, body := get(t, base+"/posts/a/", map[string]string{"Accept-Encoding": "gzip"})
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" || !strings.Contains(gunzip(t, body), "page /posts/a/") {
		t.Errorf("gzip: Content-Encoding %q, body %q", ce, body)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, "body{color:red} /* from the sibling */")
	zw.Close()
	os.WriteFile(filepath.Join(dir, "app.css"), []byte("body{color:red}"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.css.gz"), gz.Bytes(), 0o644)
	resp, body = get(t, base+"/app.css", map[string]string{"Accept-Encoding": "gzip"})
	if got := gunzip(t, body); resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(got, "from the sibling") {
		t.Errorf("gzip_static: Content-Encoding %q, body %q", resp.Header.Get("Content-Encoding"), got)
	}

	// Purged, the page is a miss again: nginx sends it to bake, which
	// asks the origin and saves it anew.
	if _, err := Purge(context.Background(), dir, []string{"/posts/a/"}, ""); err != nil {
		t.Fatal(err)
	}
	get(t, base+"/posts/a/", nil)
	get(t, base+"/posts/a/", nil)
	if got, b := o.count("/posts/a/"), bakeHits.Load(); got != 4 || b != 14 {
		t.Errorf("after purge: %d origin requests (want 4), %d reached bake (want 14)", got, b)
	}
}

func gunzip(t *testing.T, s string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(s))
	if err != nil {
		return "(not gzip: " + err.Error() + ")"
	}
	b, _ := io.ReadAll(zr)
	return string(b)
}

package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
)

// origin is a Go app in front of which the tests run the proxy: each path
// answers as its name says.
type origin struct {
	hits  sync.Map // path → *atomic.Int64
	gate  chan struct{}
	calls atomic.Int64
}

func (o *origin) count(p string) int64 {
	v, _ := o.hits.LoadOrStore(p, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, _ := o.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	o.calls.Add(1)
	if o.gate != nil && r.URL.Path == "/slow/" {
		<-o.gate
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.URL.Path {
	case "/cookie/":
		w.Header().Set("Set-Cookie", "session=abc")
	case "/private/":
		w.Header().Set("Cache-Control", "private, max-age=60")
	case "/nostore/":
		w.Header().Set("Cache-Control", "no-store")
	case "/vary/":
		w.Header().Set("Vary", "Accept-Encoding, Cookie")
	case "/missing/":
		w.WriteHeader(http.StatusNotFound)
	case "/moved/":
		http.Redirect(w, r, "/elsewhere/", http.StatusFound)
		return
	case "/error/":
		w.WriteHeader(http.StatusInternalServerError)
	case "/auth/":
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}
	io.WriteString(w, "<html><body>page "+r.URL.Path+"</body></html>")
}

func newProxy(t *testing.T, o http.Handler, opts Options) (*Proxy, *httptest.Server, string) {
	t.Helper()
	return newKind(t, "proxy", o, opts)
}

// kinds are the two ways the package runs, which the tests run alike: a
// proxy in front of an origin server, a middleware around a Go handler.
var kinds = []string{"proxy", "middleware"}

// forKinds runs test once for each kind.
func forKinds(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) { test(t, kind) })
	}
}

// newKind returns a Proxy of kind with pages from o (over HTTP for a
// proxy, called in process for a middleware), an HTTP server in front of
// it, and its build folder.
func newKind(t *testing.T, kind string, o http.Handler, opts Options) (*Proxy, *httptest.Server, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "_site")
	opts.Dir = dir
	if opts.Save == nil {
		opts.Save = []string{"/**"}
	}
	var p *Proxy
	var err error
	switch kind {
	case "proxy":
		srv := httptest.NewServer(o)
		t.Cleanup(srv.Close)
		opts.Origin, _ = url.Parse(srv.URL)
		p, err = New(context.Background(), opts)
	case "middleware":
		p, err = NewMiddleware(context.Background(), o, opts)
	default:
		t.Fatalf("kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	return p, ps, dir
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// saved returns the paths in the index of dir, with their route.
func saved(t *testing.T, dir string) map[string]string {
	t.Helper()
	idx, err := output.OpenIndex(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	out := map[string]string{}
	for e, err := range idx.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out[e.Path] = e.Route + " " + strings.Join(func() []string {
			var s []string
			for _, d := range e.Deps {
				s = append(s, string(d))
			}
			return s
		}(), ",")
	}
	return out
}

func TestProxySavesOnlyPublicPages(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		o := &origin{}
		_, ps, dir := newKind(t, kind, o, Options{AllowCookies: []string{"consent"}})
		tests := []struct {
			path   string
			header map[string]string
			status int
		}{
			{path: "/posts/a/", status: 200},
			{path: "/consent/", header: map[string]string{"Cookie": "consent=yes"}, status: 200},
			{path: "/cookie/", status: 200},
			{path: "/private/", status: 200},
			{path: "/nostore/", status: 200},
			{path: "/vary/", status: 200},
			{path: "/missing/", status: 404},
			{path: "/moved/", status: 302},
			{path: "/error/", status: 500},
			{path: "/auth/", header: map[string]string{"Authorization": "Bearer x"}, status: 200},
			{path: "/session/", header: map[string]string{"Cookie": "sessionid=1"}, status: 200},
			{path: "/query/?q=1", status: 200},
		}
		for _, tt := range tests {
			for range 2 {
				resp, body := get(t, ps.URL+tt.path, tt.header)
				if resp.StatusCode != tt.status {
					t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
				}
				if tt.status == 200 && !strings.Contains(body, "page ") {
					t.Errorf("%s: body %q", tt.path, body)
				}
			}
		}
		want := map[string]string{
			"/posts/a/": "proxy url:/posts/a/",
			"/consent/": "proxy url:/consent/",
		}
		if diff := cmp.Diff(want, saved(t, dir)); diff != "" {
			t.Errorf("saved pages (-want +got):\n%s", diff)
		}
		// Saved pages are answered from the folder: the origin saw them once.
		for p, n := range map[string]int64{"/posts/a/": 1, "/consent/": 1, "/cookie/": 2, "/missing/": 2, "/auth/": 2} {
			if got := o.count(p); got != n {
				t.Errorf("%s: %d origin requests, want %d", p, got, n)
			}
		}
	})
}

func TestProxyCoalescesMisses(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		o := &origin{gate: make(chan struct{})}
		_, ps, dir := newKind(t, kind, o, Options{})
		const clients = 500
		tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
		defer tr.CloseIdleConnections()
		var wg sync.WaitGroup
		var ok atomic.Int64
		for range clients {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", ps.URL+"/slow/", nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.Contains(string(b), "page /slow/") {
					ok.Add(1)
				}
			})
		}
		// Let the requests pile up on the one in flight, then answer it.
		deadline := time.Now().Add(5 * time.Second)
		for o.count("/slow/") == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		close(o.gate)
		wg.Wait()
		if n := o.count("/slow/"); n != 1 {
			t.Errorf("%d origin requests for %d simultaneous misses, want 1", n, clients)
		}
		if ok.Load() != clients {
			t.Errorf("%d of %d clients got the page", ok.Load(), clients)
		}
		if _, ok := saved(t, dir)["/slow/"]; !ok {
			t.Error("/slow/ not saved")
		}
	})
}

func TestProxyRefusesTraversal(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		o := &origin{}
		_, ps, _ := newKind(t, kind, o, Options{PurgeToken: "secret"})
		for _, target := range []string{"/../etc/passwd", "/%2e%2e/etc/passwd", "/a/%2e%2e/%2e%2e/x", "/a%00b/", "/a%5c..%5cb", "/a\\b", "/a%2f..%2fb", "/./x"} {
			u := ps.URL + target
			req, err := http.NewRequest("GET", ps.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = "" // send the target as written
			req.URL, err = url.Parse(u)
			if err != nil {
				t.Fatalf("%s: %v", target, err)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("GET %s: status %d, want 400", target, resp.StatusCode)
			}
		}
		if n := o.calls.Load(); n != 0 {
			t.Errorf("%d requests reached the origin", n)
		}
		for _, form := range []string{"path=/../x", "path=/a%00", "prefix=/a/../", "path=a", "path=/a\\b"} {
			req, _ := http.NewRequest("POST", ps.URL+PurgePath, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer secret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("purge %s: status %d, want 400", form, resp.StatusCode)
			}
		}
	})
}

func TestProxyPurge(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		o := &origin{}
		_, ps, dir := newKind(t, kind, o, Options{PurgeToken: "secret"})
		for _, p := range []string{"/posts/a/", "/posts/b/", "/about/"} {
			get(t, ps.URL+p, nil)
		}
		purge := func(token, form string) (int, string) {
			req, _ := http.NewRequest("POST", ps.URL+PurgePath, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, strings.TrimSpace(string(b))
		}
		type res struct {
			Code int
			Body string
		}
		var got []res
		for _, c := range []struct{ token, form string }{
			{"", "path=/about/"},
			{"wrong", "path=/about/"},
			{"secret", "path=/about/"},
			{"secret", "prefix=/posts/"},
		} {
			code, body := purge(c.token, c.form)
			if code == 401 {
				body = ""
			}
			got = append(got, res{code, body})
		}
		want := []res{{401, ""}, {401, ""}, {200, `{"purged":["/about/"]}`}, {200, `{"purged":["/posts/a/","/posts/b/"]}`}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("purges (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{}, saved(t, dir)); diff != "" {
			t.Errorf("left after purge (-want +got):\n%s", diff)
		}
		get(t, ps.URL+"/about/", nil)
		if n := o.count("/about/"); n != 2 {
			t.Errorf("/about/ after purge: %d origin requests, want 2", n)
		}
	})
}

func TestPurgeRefusedFromAfar(t *testing.T) {
	p := &Proxy{token: "secret"}
	r := httptest.NewRequest("POST", PurgePath, strings.NewReader("path=/a/"))
	r.RemoteAddr = "203.0.113.9:4000"
	r.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	p.servePurge(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("purge over plain HTTP from afar: %d, want 403", w.Code)
	}
}

func TestProxyTTL(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		o := &origin{}
		p, ps, _ := newKind(t, kind, o, Options{TTL: time.Hour, Jitter: -1})
		get(t, ps.URL+"/a/", nil)
		if p.expired("/a/", time.Now()) || !p.expired("/a/", time.Now().Add(-2*time.Hour)) {
			t.Error("expired: wrong")
		}
		p.ttl = time.Nanosecond // every saved page is now expired
		_, body := get(t, ps.URL+"/a/", nil)
		if !strings.Contains(body, "page /a/") {
			t.Errorf("stale page: %q", body)
		}
		p.ttl = 0
		p.bg.Wait()
		if n := o.count("/a/"); n != 2 {
			t.Errorf("%d origin requests, want 2 (the first, the refresh)", n)
		}
	})
}

func TestGlob(t *testing.T) {
	res, err := compilePatterns([]string{"/posts/*/", "/tags/**", "re:^/[0-9]{4}/$", "/about/", "/a?c/**", "/x/**/y/"})
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{save: res}
	got := map[string]bool{}
	paths := []string{"/posts/a/", "/posts/a/b/", "/tags/x/y/", "/tags/", "/tag/", "/2024/", "/20245/", "/",
		"/about/", "/about/x/", "/abc/d/", "/ab/c/", "/x/1/2/y/", "/x/y/"}
	for _, s := range paths {
		got[s] = p.savable(s)
	}
	want := map[string]bool{"/posts/a/": true, "/posts/a/b/": false, "/tags/x/y/": true, "/tags/": true, "/tag/": false,
		"/2024/": true, "/20245/": false, "/": false, "/about/": true, "/about/x/": false,
		"/abc/d/": true, "/ab/c/": false, "/x/1/2/y/": true, "/x/y/": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

package fastserve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/bakehq/bake/proxy"
	"github.com/bakehq/bake/serve"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

// t0 is the modification time of every test file.
var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// page is an HTML page big enough to be compressed.
var page = "<!doctype html><title>Home</title><body>" + strings.Repeat("<p>Hello, world.</p>\n", 100) + "</body>"

// buildFolder writes a build folder: pages with precompressed siblings,
// text compressed on the fly, a folder, a 404 page, a file too big to keep
// in memory, and files the server refuses.
func buildFolder(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16) // 2 MB
	files := map[string][]byte{
		"index.html":         []byte(page),
		"index.html.gz":      gzipped(t, page),
		"index.html.br":      brotlied(t, page),
		"css/site.css":       []byte(strings.Repeat("body { color: #123456; }\n", 80)),
		"img/dot.png":        {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0},
		"posts/a/index.html": []byte("<!doctype html><title>A</title><body>A</body>"),
		"404.html":           []byte("<!doctype html><title>Not found</title><body>Gone</body>"),
		"big.bin":            big,
		"feed":               []byte("plain text with no extension"),
		".secret":            []byte("dotfile"),
		"x.attrs":            []byte("fileblob metadata"),
		"a b.html":           []byte("<p>space</p>"),
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func gzipped(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func brotlied(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := brotli.NewWriter(&b)
	io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// start serves opts on a loopback port until the test ends, and returns
// its address.
func start(t *testing.T, opts Options) string {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// counting wraps a lookup to count its hits.
func counting(n *atomic.Int64, f LookupFunc) LookupFunc {
	return func(ctx context.Context, upath, ae string) (serve.Hit, bool) {
		h, ok := f(ctx, upath, ae)
		if ok {
			n.Add(1)
		}
		return h, ok
	}
}

// answer is a response as the tests compare it: its status line, its
// header but Date, and its body.
type answer struct {
	Status string
	Header http.Header
	Body   string
}

// exchange sends the raw request req to addr on a new connection and
// reads the answer.
func exchange(t *testing.T, addr, req string) answer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return readAnswer(t, bufio.NewReader(c), req)
}

// readAnswer reads the answer to the raw request req from r.
func readAnswer(t *testing.T, r *bufio.Reader, req string) answer {
	t.Helper()
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: read response: %v", req, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: read body: %v", req, err)
	}
	resp.Header.Del("Date")
	a := answer{Status: resp.Status, Header: resp.Header, Body: string(body)}
	if len(body) > 4096 {
		sum := sha256.Sum256(body)
		a.Body = fmt.Sprintf("%d bytes, sha256 %s", len(body), hex.EncodeToString(sum[:]))
	}
	if resp.ContentLength >= 0 || resp.TransferEncoding != nil {
		// How the length was said is part of the answer.
		a.Header["X-Test-Framing"] = []string{fmt.Sprint(resp.ContentLength, resp.TransferEncoding)}
	}
	return a
}

// get is a raw GET (or another method) of target with extra header lines.
func get(method, target string, header ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: example.test\r\nUser-Agent: test\r\n", method, target)
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// request is a case of the tables: a raw request, and whether its second
// sending is a hit. A request named "malformed: ..." is refused by
// fasthttp itself, with the same status as net/http but its own words:
// only the status is compared.
type request struct {
	name string
	raw  string
	hit  bool
}

const browser = "Accept-Encoding: gzip, deflate, br, zstd"

// fileRequests are requests of the build folder of buildFolder: every
// answer of the file server, hits and not.
func fileRequests(etag string) []request {
	return []request{
		{"plain", get("GET", "/"), true},
		{"index.html", get("GET", "/index.html"), true},
		{"gzip", get("GET", "/", "Accept-Encoding: gzip"), true},
		{"browser br", get("GET", "/", browser), true},
		{"br refused", get("GET", "/", "Accept-Encoding: br;q=0, gzip"), true},
		{"any coding", get("GET", "/", "Accept-Encoding: *"), true},
		{"identity", get("GET", "/", "Accept-Encoding: identity"), true},
		{"empty Accept-Encoding", get("GET", "/", "Accept-Encoding:"), true},
		{"lower-case names", get("GET", "/", "accept-encoding: gzip"), true},
		{"Connection: close", get("GET", "/", "Connection: close"), true},
		{"cookie", get("GET", "/", "Cookie: a=1"), true},
		{"two Accept-Encoding lines", get("GET", "/", "Accept-Encoding: br;q=0", "Accept-Encoding: gzip"), false},
		{"HEAD", get("HEAD", "/"), true},
		{"HEAD br", get("HEAD", "/", browser), true},
		{"css compressed on the fly", get("GET", "/css/site.css", "Accept-Encoding: gzip"), true},
		{"css br on the fly", get("GET", "/css/site.css", browser), true},
		{"png", get("GET", "/img/dot.png", browser), true},
		{"no extension", get("GET", "/feed"), true},
		{"folder page", get("GET", "/posts/a/"), true},
		{"folder redirect", get("GET", "/posts/a"), false},
		{"folder redirect with query", get("GET", "/posts/a?x=1"), false},
		{"query", get("GET", "/?utm=1"), false},
		{"304", get("GET", "/", "If-None-Match: "+etag), false},
		{"304 gzip", get("GET", "/", "Accept-Encoding: gzip", "If-None-Match: "+strings.TrimSuffix(etag, `"`)+`-gz"`), false},
		{"If-None-Match other", get("GET", "/", `If-None-Match: "other"`), false},
		{"lower-case If-None-Match", get("GET", "/", "if-none-match: "+etag), false},
		{"If-Modified-Since", get("GET", "/", "If-Modified-Since: "+t0.Add(time.Hour).Format(http.TimeFormat)), false},
		{"range", get("GET", "/", "Range: bytes=0-9"), false},
		{"range br", get("GET", "/", "Range: bytes=0-9", browser), false},
		{"bad range", get("GET", "/", "Range: bytes=999999-"), false},
		{"404", get("GET", "/nope/"), false},
		{"404 HEAD", get("HEAD", "/nope"), false},
		{"big file", get("GET", "/big.bin"), false},
		{"big file range", get("GET", "/big.bin", "Range: bytes=100-199"), false},
		{"POST", get("POST", "/", "Content-Length: 3") + "abc", false},
		{"OPTIONS", get("OPTIONS", "/"), false},
		{"encoded space", get("GET", "/a%20b.html"), false},
		{"encoded letter", get("GET", "/index%2ehtml"), false},
		{"dotfile", get("GET", "/.secret"), false},
		{"attrs", get("GET", "/x.attrs"), false},
		{"dot-dot", get("GET", "/posts/../index.html"), false},
		{"dot-dot above root", get("GET", "/../../etc/passwd"), false},
		{"encoded dot-dot", get("GET", "/%2e%2e/%2e%2e/etc/passwd"), false},
		{"encoded slash", get("GET", "/posts%2fa/"), false},
		{"NUL", get("GET", "/index.html%00"), false},
		{"backslash", get("GET", `/posts\..\index.html`), false},
		{"encoded backslash", get("GET", "/posts%5c..%5cindex.html"), false},
		{"dot segment", get("GET", "/./index.html"), false},
		{"double slash", get("GET", "//index.html"), false},
		{"absolute form", "GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n", false},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", false},
		{"malformed: no Host", "GET / HTTP/1.1\r\n\r\n", false},
	}
}

// compare sends each request to the fast server at got, twice (the first
// finds the file server's memory empty), then to the net/http server at
// want, and compares the answers; it checks that both are answered by
// fasthttp when the request is a hit, and only then.
func compare(t *testing.T, want, got string, hits *atomic.Int64, reqs []request) {
	t.Helper()
	for _, rq := range reqs {
		t.Run(rq.name, func(t *testing.T) {
			var g answer
			for i := range 2 {
				before := hits.Load()
				g = exchange(t, got, rq.raw)
				if n := hits.Load() - before; (n == 1) != rq.hit {
					t.Errorf("request %d answered by fasthttp: %v, want %v", i+1, n == 1, rq.hit)
				}
			}
			w := exchange(t, want, rq.raw)
			if strings.HasPrefix(rq.name, "malformed: ") {
				if w.Status[:3] != g.Status[:3] {
					t.Errorf("%q: status %q, net/http's %q", rq.raw, g.Status, w.Status)
				}
				return
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%q: answer differs from net/http's (-net/http +fastserve):\n%s", rq.raw, diff)
			}
		})
	}
}

// serveMux is bake serve's handler: the reload events and the file server.
func serveMux(t testing.TB, dir string, reload bool) (*http.ServeMux, *serve.FileServer, *serve.Reloader) {
	t.Helper()
	fs, err := serve.NewFileServer(dir, serve.FileServerOptions{Reload: reload})
	if err != nil {
		t.Fatal(err)
	}
	rl := serve.NewReloader()
	t.Cleanup(rl.Close)
	mux := http.NewServeMux()
	mux.Handle(serve.ReloadPath, rl)
	mux.Handle("/", fs)
	return mux, fs, rl
}

func TestServeAnswersAsNetHTTP(t *testing.T) {
	for _, reload := range []bool{false, true} {
		t.Run(fmt.Sprintf("reload=%v", reload), func(t *testing.T) {
			dir := buildFolder(t)
			mux, fs, _ := serveMux(t, dir, reload)
			var hits atomic.Int64
			got := start(t, Options{Handler: mux, Lookup: counting(&hits, fs.Lookup)})
			ref := httptest.NewServer(mux)
			defer ref.Close()
			want := ref.Listener.Addr().String()
			etag := exchange(t, want, get("GET", "/")).Header.Get("Etag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			compare(t, want, got, &hits, fileRequests(etag))
		})
	}
}

// testOrigin is the site in front of which the proxy runs: /pages/... are
// public pages, /echo answers the length and hash of the body it got.
func testOrigin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch {
		case r.URL.Path == "/echo":
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sum := sha256.Sum256(body)
			fmt.Fprintf(w, "%s %d %x %q", r.Method, len(body), sum, r.Header.Get("Expect"))
		case r.URL.Path == "/cookie/":
			w.Header().Set("Set-Cookie", "session=1")
			fmt.Fprint(w, "personal")
		case strings.HasPrefix(r.URL.Path, "/pages/"):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><title>%s</title><body>%s</body>", r.URL.Path, strings.Repeat("<p>words</p>", 200))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(o.Close)
	return o, &calls
}

func newProxy(t *testing.T, origin string, token string) *proxy.Proxy {
	t.Helper()
	u, err := url.Parse(origin)
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(context.Background(), proxy.Options{Origin: u, Dir: filepath.Join(t.TempDir(), "_site"), Save: []string{"/pages/**"}, PurgeToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestProxyAnswersAsNetHTTP(t *testing.T) {
	o, calls := testOrigin(t)
	p := newProxy(t, o.URL, "secret")
	var hits atomic.Int64
	got := start(t, Options{Handler: p, Lookup: counting(&hits, p.Lookup), SkipCredentials: true})
	ref := httptest.NewServer(p)
	defer ref.Close()
	want := ref.Listener.Addr().String()

	// Saved by a miss through the fast server.
	if a := exchange(t, got, get("GET", "/pages/one/")); a.Status != "200 OK" {
		t.Fatalf("miss: %s", a.Status)
	}
	etag := exchange(t, want, get("GET", "/pages/one/")).Header.Get("Etag")
	compare(t, want, got, &hits, []request{
		{"hit", get("GET", "/pages/one/"), true},
		{"hit gzip", get("GET", "/pages/one/", "Accept-Encoding: gzip"), true},
		{"hit br", get("GET", "/pages/one/", browser), true},
		{"HEAD", get("HEAD", "/pages/one/", browser), true},
		{"304", get("GET", "/pages/one/", "If-None-Match: "+etag), false},
		{"range", get("GET", "/pages/one/", "Range: bytes=0-9"), false},
		{"cookie", get("GET", "/pages/one/", "Cookie: session=1"), false},
		{"Authorization", get("GET", "/pages/one/", "Authorization: Bearer x"), false},
		{"query", get("GET", "/pages/one/?a=1"), false},
		{"not saved", get("GET", "/cookie/"), false},
		{"origin 404", get("GET", "/nope/"), false},
		{"purge without token", get("POST", proxy.PurgePath+"?path=/pages/one/"), false},
		{"dot-dot", get("GET", "/pages/../pages/one/"), false},
		{"encoded dot-dot", get("GET", "/pages/%2e%2e/pages/one/"), false},
		{"NUL", get("GET", "/pages/one/%00"), false},
		{"backslash", get("GET", `/pages\one\`), false},
	})
	if calls.Load() == 0 {
		t.Error("the origin was never asked")
	}
}

// TestHandOverBodies sends request bodies, of every framing and size,
// through the fast server to the origin, on one connection after a hit,
// and reads the origin's account of each: net/http gets them as sent.
func TestHandOverBodies(t *testing.T) {
	o, _ := testOrigin(t)
	p := newProxy(t, o.URL, "")
	var hits atomic.Int64
	addr := start(t, Options{Handler: p, Lookup: counting(&hits, p.Lookup), SkipCredentials: true})
	exchange(t, addr, get("GET", "/pages/two/")) // saved

	big := strings.Repeat("x", 300<<10)
	huge := strings.Repeat("y", 6<<20)
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	chunked := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(p), p)
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	tests := []struct {
		name, raw, want string
	}{
		{"small", get("POST", "/echo", "Content-Length: 5") + "hello", fmt.Sprintf(`POST 5 %s ""`, sum("hello"))},
		{"big", get("PUT", "/echo", fmt.Sprintf("Content-Length: %d", len(big))) + big, fmt.Sprintf(`PUT %d %s ""`, len(big), sum(big))},
		{"chunked", get("POST", "/echo", "Transfer-Encoding: chunked") + chunked("hel", "lo, ", big), fmt.Sprintf(`POST %d %s ""`, len(big)+7, sum("hello, "+big))},
		{"GET with a body", get("GET", "/echo", "Content-Length: 3") + "abc", fmt.Sprintf(`GET 3 %s ""`, sum("abc"))},
		// Above fasthttp's default limit of 4 MB, which streaming lifts.
		{"huge", get("POST", "/echo", fmt.Sprintf("Content-Length: %d", len(huge))) + huge, fmt.Sprintf(`POST %d %s ""`, len(huge), sum(huge))},
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	// A hit first, from fasthttp; then each body, handed over with the
	// connection; then a hit again, now from net/http.
	hit := get("GET", "/pages/two/")
	io.WriteString(c, hit)
	first := readAnswer(t, r, hit)
	if hits.Load() != 1 {
		t.Fatalf("hits = %d, want 1", hits.Load())
	}
	for _, tt := range tests {
		if _, err := io.WriteString(c, tt.raw); err != nil {
			t.Fatal(err)
		}
		if a := readAnswer(t, r, tt.raw); a.Body != tt.want {
			t.Errorf("%s: origin got %q, want %q", tt.name, a.Body, tt.want)
		}
	}
	io.WriteString(c, hit)
	if diff := cmp.Diff(first, readAnswer(t, r, hit)); diff != "" {
		t.Errorf("hit after the hand-over differs (-before +after):\n%s", diff)
	}

	// Expect: 100-continue: one "100 Continue", from fasthttp, and the
	// origin sees no expectation left to meet.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c2, get("POST", "/echo", "Content-Length: 5", "Expect: 100-continue"))
	r2 := bufio.NewReader(c2)
	line, err := r2.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v; want 100 Continue", line, err)
	}
	if _, err := r2.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	io.WriteString(c2, "hello")
	if a := readAnswer(t, r2, "POST"); a.Body != fmt.Sprintf(`POST 5 %s ""`, sum("hello")) {
		t.Errorf("100-continue: origin got %q", a.Body)
	}
}

// TestPipelined sends hits and misses in one write: the answers come in
// order, whichever server makes them.
func TestPipelined(t *testing.T) {
	dir := buildFolder(t)
	mux, fs, _ := serveMux(t, dir, false)
	var hits atomic.Int64
	addr := start(t, Options{Handler: mux, Lookup: counting(&hits, fs.Lookup)})
	exchange(t, addr, get("GET", "/"))
	reqs := []string{get("GET", "/"), get("GET", "/posts/a"), get("GET", "/"), get("HEAD", "/nope"), get("GET", "/css/site.css")}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, strings.Join(reqs, ""))
	r := bufio.NewReader(c)
	var got []string
	for _, rq := range reqs {
		got = append(got, readAnswer(t, r, rq).Status)
	}
	want := []string{"200 OK", "301 Moved Permanently", "200 OK", "404 Not Found", "200 OK"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestReloadEvents reads bake serve's event stream through the fast
// server: events arrive as they are sent, and Shutdown ends the stream.
func TestReloadEvents(t *testing.T) {
	dir := buildFolder(t)
	mux, fs, rl := serveMux(t, dir, true)
	srv, err := New(Options{Handler: mux, Lookup: fs.Lookup})
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterOnShutdown(rl.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + serve.ReloadPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	next := func() string {
		var ev strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("event stream: %v", err)
			}
			if line == "\n" {
				return ev.String()
			}
			ev.WriteString(line)
		}
	}
	if ev := next(); ev != "retry: 1000\n" {
		t.Fatalf("first event %q", ev)
	}
	for range 2 {
		rl.Notify()
		if ev := next(); ev != "event: reload\ndata: reload\n" {
			t.Fatalf("event %q", ev)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("stream after shutdown: %v", err)
	}
}

func TestPlainPath(t *testing.T) {
	for uri, want := range map[string]bool{
		"/": true, "/a": true, "/a/": true, "/a/b.html": true, "/a-b_c~d.e!$&'()*+,;=:@/": true,
		"": false, "a": false, "//": false, "/a//b": false, "/.": false, "/..": false, "/./a": false,
		"/a/../b": false, "/a/..": false, "/a%20b": false, "/a?b": false, "/a#b": false, `/a\b`: false,
		"/a b": false, "/\x00": false, "/é": false, "*": false, "http://x/": false,
	} {
		if got := plainPath([]byte(uri)); got != want {
			t.Errorf("plainPath(%q) = %v, want %v", uri, got, want)
		}
	}
}

// FuzzPlainPath checks what the fast path relies on: a plain path is what
// net/http decodes it to, with no query, and one an http.ServeMux does
// not redirect (path.Clean keeps it, but a trailing slash).
func FuzzPlainPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b.html", "/a/", "//", "/a/../b", "/%2e", "/a?b", "/a b", `/a\b`, "/.well-known/x", "/a/./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if !plainPath([]byte(uri)) {
			return
		}
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			t.Fatalf("plainPath(%q), but net/http refuses it: %v", uri, err)
		}
		// RawPath is kept when it is uri itself ("!" and the like, which
		// Go would escape); what handlers read, Path, is uri.
		if u.Path != uri || (u.RawPath != "" && u.RawPath != uri) || u.RawQuery != "" || u.ForceQuery {
			t.Fatalf("plainPath(%q), but net/http reads path %q, raw %q, query %q", uri, u.Path, u.RawPath, u.RawQuery)
		}
		clean := path.Clean(uri)
		if strings.HasSuffix(uri, "/") && clean != "/" {
			clean += "/"
		}
		if clean != uri {
			t.Fatalf("plainPath(%q), but a ServeMux redirects it to %q", uri, clean)
		}
	})
}

// TestHitHeaderBytes pins a hit's header as it goes on the wire: the names
// as written, their order, and the values, with the Date line left out.
// Hits set their names without fasthttp's normalization, which must not
// change a byte.
func TestHitHeaderBytes(t *testing.T) {
	dir := buildFolder(t)
	mux, fs, _ := serveMux(t, dir, false)
	var hits atomic.Int64
	addr := start(t, Options{Handler: mux, Lookup: counting(&hits, fs.Lookup)})
	refSrv := httptest.NewServer(mux)
	defer refSrv.Close()
	ref := refSrv.Listener.Addr().String()
	lmod := t0.Format(http.TimeFormat)
	for _, tc := range []struct {
		name, req, want string
	}{
		{"plain", get("GET", "/"), "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", len(page)) +
			"Cache-Control: no-cache\r\nVary: Accept-Encoding\r\nEtag: ETAG\r\n" +
			"Last-Modified: " + lmod + "\r\nAccept-Ranges: bytes\r\n\r\n"},
		{"br", get("GET", "/", browser), "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" +
			"Content-Encoding: br\r\n" + fmt.Sprintf("Content-Length: %d\r\n", len(brotlied(t, page))) +
			"Cache-Control: no-cache\r\nVary: Accept-Encoding\r\nEtag: ETAG\r\n" +
			"Last-Modified: " + lmod + "\r\nAccept-Ranges: bytes\r\n\r\n"},
		{"HEAD", get("HEAD", "/", "Accept-Encoding: gzip"), "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" +
			"Content-Encoding: gzip\r\n" + fmt.Sprintf("Content-Length: %d\r\n", len(gzipped(t, page))) +
			"Cache-Control: no-cache\r\nVary: Accept-Encoding\r\nEtag: ETAG\r\n" +
			"Last-Modified: " + lmod + "\r\nAccept-Ranges: bytes\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The ETag, as net/http's handler gives it for the same request.
			etag := exchange(t, ref, strings.Replace(tc.req, "HEAD ", "GET ", 1)).Header.Get("Etag")
			want := strings.Replace(tc.want, "ETAG", etag, 1)
			before := hits.Load()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			var got strings.Builder
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("read header: %v", err)
				}
				if !strings.HasPrefix(line, "Date: ") {
					got.WriteString(line)
				}
				if line == "\r\n" {
					break
				}
			}
			if diff := cmp.Diff(want, got.String()); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if hits.Load() != before+1 {
				t.Errorf("not answered as a hit")
			}
		})
	}
}

// TestHitAfterRebuild replaces a page as builds do (a new file renamed
// over it, its siblings too) and in place: once the file server's
// recheck interval has passed, a hit sends the new bytes, whole, with
// their own ETag.
func TestHitAfterRebuild(t *testing.T) {
	dir := buildFolder(t)
	mux, fs, _ := serveMux(t, dir, false)
	var hits atomic.Int64
	addr := start(t, Options{Handler: mux, Lookup: counting(&hits, fs.Lookup)})
	p := filepath.Join(dir, "index.html")
	replace := func(name string, body []byte) {
		if err := os.WriteFile(name+".tmp", body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			t.Fatal(err)
		}
	}
	type got struct{ Body, Coding, ETag string }
	fetch := func(ae string) got {
		t.Helper()
		var hdr []string
		if ae != "" {
			hdr = append(hdr, "Accept-Encoding: "+ae)
		}
		before := hits.Load()
		a := exchange(t, addr, get("GET", "/", hdr...))
		if hits.Load() != before+1 {
			t.Errorf("GET / (%q) not answered as a hit", ae)
		}
		body := a.Body
		switch a.Header.Get("Content-Encoding") {
		case "gzip":
			r, err := gzip.NewReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		case "br":
			b, err := io.ReadAll(brotli.NewReader(strings.NewReader(body)))
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		return got{body, a.Header.Get("Content-Encoding"), a.Header.Get("Etag")}
	}
	first := fetch("")
	if first.Body != page {
		t.Fatalf("first body: %q", first.Body)
	}
	// A rebuild: new bytes, renamed over the old file and its siblings.
	v2 := strings.Replace(page, "Hello", "Hullo", -1)
	replace(p, []byte(v2))
	replace(p+".gz", gzipped(t, v2))
	replace(p+".br", brotlied(t, v2))
	time.Sleep(20 * time.Millisecond) // past the recheck interval (1 ms)
	for _, ae := range []string{"", "gzip", "gzip, deflate, br"} {
		g := fetch(ae)
		if g.Body != v2 {
			t.Errorf("after a rebuild, %q: body %d bytes, not the new %d", ae, len(g.Body), len(v2))
		}
		if g.ETag == first.ETag {
			t.Errorf("after a rebuild, %q: ETag %s unchanged", ae, g.ETag)
		}
	}
	// In place, with a new size (the siblings removed: the server
	// compresses the text itself).
	for _, s := range []string{".gz", ".br"} {
		if err := os.Remove(p + s); err != nil {
			t.Fatal(err)
		}
	}
	v3 := v2 + "<!-- v3 -->"
	if err := os.WriteFile(p, []byte(v3), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	for _, ae := range []string{"", "gzip"} {
		if g := fetch(ae); g.Body != v3 {
			t.Errorf("after an in-place write, %q: body %d bytes, not the new %d", ae, len(g.Body), len(v3))
		}
	}
}

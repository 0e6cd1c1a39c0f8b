package serve

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stream is a client of an event stream.
type stream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

// openStream connects to an event stream and waits until it is registered.
func openStream(t *testing.T, ctx context.Context, url string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %s, Content-Type %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
	if got := s.next(); got != "retry: 1000\n" {
		t.Fatalf("first message = %q, want the retry line", got)
	}
	return s
}

// next returns the next message, its lines joined.
func (s *stream) next() string {
	s.t.Helper()
	var msg strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("read stream: %v (after %q)", err, msg.String())
		}
		if line == "\n" {
			return msg.String()
		}
		msg.WriteString(line)
	}
}

// newServer starts a server for h, closed when the test ends, after the
// streams opened later (cleanups run last first).
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestReloaderNotify(t *testing.T) {
	rl := NewReloader()
	srv := newServer(t, rl)
	ctx := testContext(t)

	a := openStream(t, ctx, srv.URL)
	b := openStream(t, ctx, srv.URL)
	rl.Notify()
	for _, s := range []*stream{a, b} {
		if diff := cmp.Diff("event: reload\ndata: reload\n", s.next()); diff != "" {
			t.Errorf("message after Notify (-want +got):\n%s", diff)
		}
	}
	rl.Notify()
	if got := a.next(); got != "event: reload\ndata: reload\n" {
		t.Errorf("second message = %q", got)
	}
}

func TestReloaderHeartbeat(t *testing.T) {
	rl := NewReloader()
	rl.heartbeat = 10 * time.Millisecond
	srv := newServer(t, rl)
	s := openStream(t, testContext(t), srv.URL)
	if got := s.next(); got != ": ping\n" {
		t.Errorf("message = %q, want a heartbeat comment", got)
	}
}

func TestReloaderEnds(t *testing.T) {
	rl := NewReloader()
	srv := newServer(t, rl)

	// The client goes away: the handler returns and forgets it.
	ctx, cancel := context.WithCancel(testContext(t))
	openStream(t, ctx, srv.URL)
	cancel()
	waitFor(t, func() bool {
		rl.mu.Lock()
		defer rl.mu.Unlock()
		return len(rl.clients) == 0
	})

	// Close ends the stream, and refuses new ones.
	s := openStream(t, testContext(t), srv.URL)
	rl.Close()
	if b, err := io.ReadAll(s.r); err != nil || len(b) != 0 {
		t.Errorf("after Close: read %q, %v; want the end of the stream", b, err)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET after Close: %s, want 503", resp.Status)
	}
}

func TestReloaderMethod(t *testing.T) {
	resp, _ := do(t, NewReloader(), "POST", ReloadPath, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST: %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
	}
}

func TestInject(t *testing.T) {
	const css = "body { color: red }\n"
	handler := func(code int, header map[string]string, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			if r.Header.Get("Accept-Encoding") != "" {
				t.Errorf("inner handler got Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
			}
			w.WriteHeader(code)
			if r.Method != "HEAD" {
				io.WriteString(w, body)
			}
		})
	}
	html := map[string]string{"Content-Type": "text/html; charset=utf-8", "ETag": `"abc"`, "Content-Length": "40"}
	type got struct {
		Status int
		Length string
		ETag   string
		Body   string
	}
	tests := []struct {
		name   string
		method string
		inner  http.Handler
		want   got
	}{
		{name: "before body end", inner: handler(200, html, "<html><body><p>hi</p></body></html>"),
			want: got{Status: 200, Body: "<html><body><p>hi</p>" + reloadScript + "</body></html>"}},
		{name: "last body end, any case", inner: handler(200, html, "<body><pre>&lt;/body></pre></BODY >\n"),
			want: got{Status: 200, Body: "<body><pre>&lt;/body></pre>" + reloadScript + "</BODY >\n"}},
		{name: "not a body tag", inner: handler(200, html, "<p>x</p></bodyguard>"),
			want: got{Status: 200, Body: "<p>x</p></bodyguard>" + reloadScript}},
		{name: "no body end", inner: handler(200, html, "<p>fragment"),
			want: got{Status: 200, Body: "<p>fragment" + reloadScript}},
		{name: "404 page", inner: handler(404, html, "<body>missing</body>"),
			want: got{Status: 404, Body: "<body>missing" + reloadScript + "</body>"}},
		{name: "sniffed html", inner: handler(200, nil, "<!DOCTYPE html><html><body>x</body></html>"),
			want: got{Status: 200, Body: "<!DOCTYPE html><html><body>x" + reloadScript + "</body></html>"}},
		{name: "implicit 200", inner: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<body></body>")
		}), want: got{Status: 200, Body: "<body>" + reloadScript + "</body>"}},
		{name: "HEAD", method: "HEAD", inner: handler(200, html, ""),
			want: got{Status: 200, Length: strconv.Itoa(40 + len(reloadScript))}},
		{name: "css untouched", inner: handler(200, map[string]string{"Content-Type": "text/css", "ETag": `"abc"`, "Content-Length": strconv.Itoa(len(css))}, css),
			want: got{Status: 200, Length: strconv.Itoa(len(css)), ETag: `"abc"`, Body: css}},
		{name: "error page untouched", inner: handler(500, html, "<body>oops</body>"),
			want: got{Status: 500, Length: "40", ETag: `"abc"`, Body: "<body>oops</body>"}},
		{name: "encoded html untouched", inner: handler(200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, "\x1f\x8b</body>"),
			want: got{Status: 200, Body: "\x1f\x8b</body>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			resp, body := do(t, NewReloader().Inject(tt.inner), method, "/", map[string]string{"Accept-Encoding": "gzip, br"})
			g := got{Status: resp.StatusCode, ETag: resp.Header.Get("ETag"), Body: body}
			if method == "HEAD" || tt.want.Length != "" {
				g.Length = resp.Header.Get("Content-Length")
			} else if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length = %s, body has %d bytes", cl, len(body))
			}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestInjectFileServer runs the wrapped FileServer on a real connection, with
// a browser's Accept-Encoding.
func TestInjectFileServer(t *testing.T) {
	dir, files := testSite(t)
	srv := httptest.NewServer(NewReloader().Inject(newFileServer(t, dir)))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{path: "/", wantCode: 200, wantBody: "<html><body>home" + reloadScript + "</body></html>"},
		{path: "/nope", wantCode: 404, wantBody: "<html><body>not here" + reloadScript + "</body></html>"},
		{path: "/style.css", wantCode: 200, wantBody: files["style.css"]},
		{path: "/app.js", wantCode: 200, wantBody: files["app.js"]},
	}
	for _, tt := range tests {
		req, err := http.NewRequest("GET", srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		if resp.StatusCode != tt.wantCode || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s: %s, Content-Encoding %q; want %d, none", tt.path, resp.Status, resp.Header.Get("Content-Encoding"), tt.wantCode)
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("GET %s: Content-Length %d, body %d bytes", tt.path, resp.ContentLength, len(body))
		}
		if diff := cmp.Diff(tt.wantBody, string(body)); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
		}
	}
}

// TestInjectStream checks that a stream passes through Inject, flushes included.
func TestInjectStream(t *testing.T) {
	rl := NewReloader()
	srv := newServer(t, rl.Inject(rl))
	s := openStream(t, testContext(t), srv.URL)
	rl.Notify()
	if got := s.next(); got != "event: reload\ndata: reload\n" {
		t.Errorf("message = %q", got)
	}
}

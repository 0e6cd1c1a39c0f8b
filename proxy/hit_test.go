package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake/serve"
	"github.com/google/go-cmp/cmp"
)

// headerCounter is a ResponseWriter that counts the WriteHeader calls that
// reach it, as net/http would log the second one ("superfluous
// response.WriteHeader call").
type headerCounter struct {
	*httptest.ResponseRecorder
	calls []int
}

func (c *headerCounter) WriteHeader(code int) {
	c.calls = append(c.calls, code)
	c.ResponseRecorder.WriteHeader(code)
}

// TestHitWritesHeaderOnce checks that a hit reaches the client's writer
// with one WriteHeader, whatever the form sent: every hit used to pass a
// second one on, which net/http logged with a stack trace, a line per
// request.
func TestHitWritesHeaderOnce(t *testing.T) {
	page := "<!doctype html><title>a</title>" + strings.Repeat("<p>text that compresses well</p>\n", 100)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	forKinds(t, func(t *testing.T, kind string) {
		p, ps, _ := newKind(t, kind, app, Options{})
		if _, body := get(t, ps.URL+"/a/", nil); body != page {
			t.Fatalf("miss: body %q", body)
		}
		for _, c := range []struct {
			name   string
			method string
			header map[string]string
			status int
		}{
			{"plain", "GET", nil, 200},
			{"gzip", "GET", map[string]string{"Accept-Encoding": "gzip"}, 200},
			{"br", "GET", map[string]string{"Accept-Encoding": "gzip, deflate, br"}, 200},
			{"head", "HEAD", nil, 200},
			{"range", "GET", map[string]string{"Range": "bytes=0-9"}, 206},
			{"not modified", "GET", map[string]string{"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}, 304},
		} {
			// Twice: the first hit reads the file, the second is from memory.
			for i := range 2 {
				r := httptest.NewRequest(c.method, "/a/", nil)
				for k, v := range c.header {
					r.Header.Set(k, v)
				}
				w := &headerCounter{ResponseRecorder: httptest.NewRecorder()}
				p.ServeHTTP(w, r)
				if diff := cmp.Diff([]int{c.status}, w.calls); diff != "" {
					t.Errorf("%s, hit %d: WriteHeader calls (-want +got):\n%s", c.name, i+1, diff)
				}
			}
		}
	})
}

// TestHitLogsNothing checks the symptom over HTTP: hits leave the
// server's error log empty.
func TestHitLogsNothing(t *testing.T) {
	var mu sync.Mutex
	var logged bytes.Buffer
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<p>"+strings.Repeat("a page ", 300))
	})
	p, _, _ := newKind(t, "middleware", app, Options{})
	srv := httptest.NewUnstartedServer(p)
	srv.Config.ErrorLog = log.New(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(b)
	}), "", 0)
	srv.Start()
	defer srv.Close()
	for range 3 {
		for _, ae := range []string{"", "gzip", "br"} {
			var h map[string]string
			if ae != "" {
				h = map[string]string{"Accept-Encoding": ae}
			}
			if resp, _ := get(t, srv.URL+"/a/", h); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	srv.Close() // the log is complete once the server is
	mu.Lock()
	defer mu.Unlock()
	if logged.Len() > 0 {
		t.Errorf("server log:\n%s", logged.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestOwnChangesSeenAtOnce checks that the proxy's saves and purges are
// seen by its file server at once, however long the file server trusts a
// look at the folder (an hour here): a purged page is a miss on the next
// request, a page saved again is answered as saved, with its type.
func TestOwnChangesSeenAtOnce(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		o := &origin{}
		p, ps, _ := newKind(t, kind, o, Options{Files: serve.FileServerOptions{Recheck: time.Hour}})
		var got []string
		look := func() {
			resp, body := get(t, ps.URL+"/a/", nil)
			got = append(got, fmt.Sprintf("%d %s %q calls=%d", resp.StatusCode, resp.Header.Get("Content-Type"), body, o.count("/a/")))
		}
		look() // miss, saved
		look() // hit
		if _, err := p.Purge(context.Background(), []string{"/a/"}, ""); err != nil {
			t.Fatal(err)
		}
		look() // miss, saved again
		look() // hit
		page := `"<html><body>page /a/</body></html>"`
		want := []string{
			"200 text/html; charset=utf-8 " + page + " calls=1",
			"200 text/html; charset=utf-8 " + page + " calls=1",
			"200 text/html; charset=utf-8 " + page + " calls=2",
			"200 text/html; charset=utf-8 " + page + " calls=2",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answers (-want +got):\n%s", diff)
		}
	})
}

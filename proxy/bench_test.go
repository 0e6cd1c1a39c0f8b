package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/serve"
)

// discard is a ResponseWriter that keeps nothing, so that a benchmark
// measures the handler.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkHit measures a hit of the middleware (a saved page answered
// from the build folder) against bake serve's file server answering the
// same file: the difference is what the middleware adds.
//
//	go test -run '^$' -bench Hit -count 5 ./proxy/
func BenchmarkHit(b *testing.B) {
	page := "<!doctype html>" + strings.Repeat("<p>a paragraph of a saved page</p>\n", 150)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })
	dir := filepath.Join(b.TempDir(), "_site")
	mw, err := NewMiddleware(context.Background(), app, Options{Dir: dir, Save: []string{"/**"}})
	if err != nil {
		b.Fatal(err)
	}
	defer mw.Close()
	if res, err := mw.Warm(context.Background(), []string{"/posts/a/"}); err != nil || !res[0].Saved {
		b.Fatalf("warm: %v %v", res, err)
	}
	files, err := serve.NewFileServer(dir, serve.FileServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range []string{"identity", "gzip"} {
		for _, h := range []struct {
			name string
			h    http.Handler
		}{{"serve", files}, {"middleware", mw}} {
			b.Run(enc+"/"+h.name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					r := httptest.NewRequest("GET", "/posts/a/", nil)
					r.Header.Set("Accept-Encoding", enc)
					w := &discard{h: http.Header{}}
					for pb.Next() {
						clear(w.h)
						h.h.ServeHTTP(w, r)
					}
				})
			})
		}
	}
}

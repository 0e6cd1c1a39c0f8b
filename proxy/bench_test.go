package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/serve"
)

// discard is a ResponseWriter that keeps nothing, so that a benchmark
// measures the handler.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkHitInterleaved answers the same saved page alternately with the
// file server and the middleware, one request each in turn, and reports
// each one's time and their ratio: on a shared, busy machine the load
// then weighs on both alike.
//
//	go test -run '^$' -bench HitInterleaved -count 5 ./proxy/
func BenchmarkHitInterleaved(b *testing.B) {
	files, mw := hitSetup(b)
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/posts/a/", nil)
			r.Header.Set("Accept-Encoding", enc)
			w := &discard{h: http.Header{}}
			var inServe, inMW time.Duration
			for b.Loop() {
				t0 := time.Now()
				clear(w.h)
				files.ServeHTTP(w, r)
				t1 := time.Now()
				clear(w.h)
				mw.ServeHTTP(w, r)
				inMW += time.Since(t1)
				inServe += t1.Sub(t0)
			}
			b.ReportMetric(float64(inServe.Nanoseconds())/float64(b.N), "serve-ns/op")
			b.ReportMetric(float64(inMW.Nanoseconds())/float64(b.N), "middleware-ns/op")
			b.ReportMetric(float64(inMW)/float64(inServe), "ratio")
		})
	}
}

// hitSetup returns a file server and a middleware on one build folder
// where the middleware saved /posts/a/ (5 KB of HTML).
func hitSetup(b *testing.B) (*serve.FileServer, *Proxy) {
	b.Helper()
	page := "<!doctype html>" + strings.Repeat("<p>a paragraph of a saved page</p>\n", 150)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })
	dir := filepath.Join(b.TempDir(), "_site")
	mw, err := NewMiddleware(context.Background(), app, Options{Dir: dir, Save: []string{"/**"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mw.Close() })
	if res, err := mw.Warm(context.Background(), []string{"/posts/a/"}); err != nil || !res[0].Saved {
		b.Fatalf("warm: %v %v", res, err)
	}
	files, err := serve.NewFileServer(dir, serve.FileServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return files, mw
}

// BenchmarkHit measures a hit of the middleware (a saved page answered
// from the build folder) against bake serve's file server answering the
// same file: the difference is what the middleware adds.
//
//	go test -run '^$' -bench Hit -count 5 ./proxy/
func BenchmarkHit(b *testing.B) {
	files, mw := hitSetup(b)
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

// BenchmarkPassThrough measures what the middleware adds to a request it
// passes to the app (a path no save pattern matches, nothing saved there),
// against the app called directly, one request each in turn.
//
//	go test -run '^$' -bench PassThrough -count 5 ./proxy/
func BenchmarkPassThrough(b *testing.B) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) })
	mw, err := NewMiddleware(context.Background(), app, Options{Dir: filepath.Join(b.TempDir(), "_site"), Save: []string{"/posts/**"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mw.Close() })
	r := httptest.NewRequest("GET", "/api/items/", nil)
	w := &discard{h: http.Header{}}
	var inApp, inMW time.Duration
	for b.Loop() {
		t0 := time.Now()
		clear(w.h)
		app.ServeHTTP(w, r)
		t1 := time.Now()
		clear(w.h)
		mw.ServeHTTP(w, r)
		inMW += time.Since(t1)
		inApp += t1.Sub(t0)
	}
	b.ReportMetric(float64(inApp.Nanoseconds())/float64(b.N), "app-ns/op")
	b.ReportMetric(float64(inMW.Nanoseconds())/float64(b.N), "middleware-ns/op")
}

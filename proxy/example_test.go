package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/bakehq/bake/proxy"
)

// A Go program serves its pages through the middleware: the first request
// for a post calls the app and saves the page into the build folder; the
// next ones are answered from there; Purge drops it when the post changes.
func ExampleNewMiddleware() {
	calls := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /posts/{slug}/", func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprintf(w, "<h1>%s</h1>", r.PathValue("slug"))
	})

	dir, err := os.MkdirTemp("", "middleware")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	mw, err := proxy.NewMiddleware(ctx, mux, proxy.Options{
		Dir:  filepath.Join(dir, "_site"), // publish it with bake publish, like any build
		Save: []string{"/posts/*/"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer mw.Close()
	srv := httptest.NewServer(mw) // in a program: http.ListenAndServe(addr, mw)
	defer srv.Close()

	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	fmt.Println(get("/posts/hello/"), get("/posts/hello/"), "app calls:", calls)
	purged, _ := mw.Purge(ctx, []string{"/posts/hello/"}, "")
	fmt.Println("purged:", purged)
	fmt.Println(get("/posts/hello/"), "app calls:", calls)
	// Output:
	// <h1>hello</h1> <h1>hello</h1> app calls: 1
	// purged: [/posts/hello/]
	// <h1>hello</h1> app calls: 2
}

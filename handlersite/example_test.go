package handlersite_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/handlersite"
)

// A Go program bakes its own handler into a build folder, which bake
// publish then publishes as it does any build.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<a href="/posts/hello/">hello</a>`)
	})
	mux.HandleFunc("GET /posts/{slug}/", func(w http.ResponseWriter, r *http.Request) {
		bake.Track(r.Context(), bake.RowDep("posts", r.PathValue("slug"))) // what the page read
		fmt.Fprintf(w, "<h1>%s</h1>", r.PathValue("slug"))
	})
	mux.HandleFunc("GET /old/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/posts/hello/", http.StatusMovedPermanently)
	})

	dir, err := os.MkdirTemp("", "handlersite")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "_site")

	// The paths could come from a query too: handlersite.Query(db, "SELECT '/posts/' || slug || '/' FROM posts").
	site, err := handlersite.New(mux, handlersite.List("/", "/posts/hello/", "/old/"), handlersite.Options{BaseURL: "https://example.org"})
	if err != nil {
		log.Fatal(err)
	}
	rep, err := build.Run(context.Background(), site, build.Changes{}, build.RunOptions{Options: build.Options{Output: out}})
	if err != nil {
		log.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(out, "posts", "hello", "index.html"))
	fmt.Println(rep.Pages, "pages")
	fmt.Println(string(page))
	// Output:
	// 3 pages
	// <h1>hello</h1>
}

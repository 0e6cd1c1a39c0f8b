package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/handlersite"
	"github.com/bakehq/bake/proxy"
)

// TestGoProgramBuildsArePublished bakes a Go handler with handlersite,
// and saves a page through the middleware, into site folders with only
// [site]: bake manifest lists the pages, bake publish copies them to a
// folder, and bake rollback goes back to the release before, as for any
// build.
func TestGoProgramBuildsArePublished(t *testing.T) {
	title := "first"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /posts/{slug}/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<h1>%s: %s</h1>", r.PathValue("slug"), title)
	})
	mux.HandleFunc("GET /old/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/posts/hello/", http.StatusMovedPermanently)
	})
	dir := t.TempDir()
	writeSiteFiles(t, dir, map[string]string{"bake.toml": "[site]\ntitle = \"go\"\n"})
	ctx := context.Background()
	bakeIt := func() {
		t.Helper()
		site, err := handlersite.New(mux, handlersite.List("/posts/hello/", "/old/"), handlersite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := build.Run(ctx, site, build.Changes{}, build.RunOptions{Options: build.Options{Output: filepath.Join(dir, "_site")}}); err != nil {
			t.Fatal(err)
		}
	}
	bakeIt()
	manifest := runBake(t, dir, "manifest")
	for _, want := range []string{`"path":"/posts/hello/"`, `"route":"handler"`, `"redirect":"/posts/hello/"`} {
		if !strings.Contains(manifest, want) {
			t.Errorf("manifest has no %s:\n%s", want, manifest)
		}
	}
	target := filepath.Join(t.TempDir(), "www")
	read := func() string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(target, "posts", "hello", "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	runBake(t, dir, "publish", "--to", target)
	if got := read(); got != "<h1>hello: first</h1>" {
		t.Errorf("published: %q", got)
	}
	title = "second"
	bakeIt()
	runBake(t, dir, "publish", "--to", target)
	if got := read(); got != "<h1>hello: second</h1>" {
		t.Errorf("published again: %q", got)
	}
	var releases []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(runBake(t, dir, "releases", "--to", target, "--json")), &releases); err != nil || len(releases) != 2 {
		t.Fatalf("releases: %v %v", releases, err)
	}
	first := releases[0].ID // oldest first
	runBake(t, dir, "rollback", "--to", target, first)
	if got := read(); got != "<h1>hello: first</h1>" {
		t.Errorf("after rollback to %s: %q\n%s", first, got, releases)
	}

	// The middleware's saved page is published the same way.
	mwDir := t.TempDir()
	writeSiteFiles(t, mwDir, map[string]string{"bake.toml": "[site]\ntitle = \"go\"\n"})
	mw, err := proxy.NewMiddleware(ctx, mux, proxy.Options{Dir: filepath.Join(mwDir, "_site"), Save: []string{"/posts/*/"}})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	if res, err := mw.Warm(ctx, []string{"/posts/mw/"}); err != nil || !res[0].Saved {
		t.Fatalf("warm: %v %v", res, err)
	}
	mwTarget := filepath.Join(t.TempDir(), "www")
	runBake(t, mwDir, "publish", "--to", mwTarget)
	if b, err := os.ReadFile(filepath.Join(mwTarget, "posts", "mw", "index.html")); err != nil || string(b) != "<h1>mw: second</h1>" {
		t.Errorf("middleware page published: %q, %v", b, err)
	}
}

package cli

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/serve"
)

// TestCrawlNewsroom builds the example newsroom site, serves the build
// with bake serve's file server, crawls it with bake crawl, and compares
// the two folders file by file: every page the crawl wrote has the
// build's bytes, and every file of the build it did not write is a
// redirect, the 404 page, or a page no page links to. A second crawl
// asks with validators and writes nothing.
func TestCrawlNewsroom(t *testing.T) {
	site := t.TempDir()
	if err := os.CopyFS(site, os.DirFS(filepath.Join("..", "..", "examples", "newsroom"))); err != nil {
		t.Fatal(err)
	}
	runBake(t, site, "build", "-q")
	built := filepath.Join(site, "_site")
	fsrv, err := serve.NewFileServer(built, serve.FileServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fsrv)
	defer srv.Close()

	crawled := t.TempDir()
	out := runBake(t, crawled, "crawl", srv.URL, "--base-url", "https://courier.example.org", "-q", "--json")
	var rep struct {
		Pages, Redirects, Written, Unchanged int
		Broken                               []any
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bake crawl --json: %v\n%s", err, out)
	}
	if rep.Pages < 500 || rep.Written != rep.Pages+rep.Redirects || len(rep.Broken) != 0 {
		t.Errorf("first crawl: %s", out)
	}

	redirects := map[string]bool{}
	for line := range strings.Lines(runBake(t, site, "manifest")) {
		var e bake.Entry
		if json.Unmarshal([]byte(line), &e) == nil && e.Redirect != "" {
			redirects[e.Path] = true
		}
	}
	files := func(dir string) map[string][]byte {
		m := map[string][]byte{}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == bake.ReservedDir {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				m[filepath.ToSlash(rel)], err = os.ReadFile(p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	want, got := files(built), files(filepath.Join(crawled, "_site"))
	for name, data := range got {
		if w, ok := want[name]; !ok {
			t.Errorf("%s: crawled, not in the build", name)
		} else if !bytes.Equal(w, data) {
			t.Errorf("%s: crawled bytes differ from the build's", name)
		}
	}
	missed := 0
	for name := range want {
		if _, ok := got[name]; ok {
			continue
		}
		missed++
		p := bake.PathOf(name)
		if redirects[p] || name == "404.html" {
			continue
		}
		for other, data := range want {
			if bytes.Contains(data, []byte(`"`+p+`"`)) || bytes.Contains(data, []byte("courier.example.org"+p+"<")) {
				t.Errorf("%s: linked from %s, not crawled", p, other)
				break
			}
		}
	}
	t.Logf("build %d files, crawl %d, missed %d (redirects, 404.html, unlinked)", len(want), len(got), missed)

	out = runBake(t, crawled, "crawl", srv.URL, "--base-url", "https://courier.example.org", "-q", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Written != 0 || rep.Unchanged != rep.Pages {
		t.Errorf("second crawl wrote %d, kept %d of %d pages; want 0 written", rep.Written, rep.Unchanged, rep.Pages)
	}
	if again := files(filepath.Join(crawled, "_site")); len(again) != len(got) {
		t.Errorf("second crawl: %d files, first %d", len(again), len(got))
	}
}

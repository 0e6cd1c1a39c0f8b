package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
)

// fakeSite is a bake.Site made in Go, as a library user would write one.
type fakeSite struct {
	pages []*bake.Page
	errs  []error
}

func (s *fakeSite) Pages(ctx context.Context) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		for _, p := range s.pages {
			if !yield(p, nil) {
				return
			}
		}
		for _, err := range s.errs {
			if !yield(nil, err) {
				return
			}
		}
	}
}

func text(s string, deps ...bake.Dep) func(context.Context, io.Writer) error {
	return func(ctx context.Context, w io.Writer) error {
		bake.Track(ctx, deps...)
		_, err := io.WriteString(w, s)
		return err
	}
}

func readManifest(t *testing.T, dir string) *bake.Manifest {
	t.Helper()
	idx, err := output.OpenIndex(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	var b bytes.Buffer
	if err := idx.WriteManifest(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	m, err := bake.ReadManifest(&b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildWritesPagesAndManifest(t *testing.T) {
	out := filepath.Join(t.TempDir(), "_site")
	static := filepath.Join(t.TempDir(), "app.css")
	os.WriteFile(static, []byte("body{}"), 0o644)
	site := &fakeSite{pages: []*bake.Page{
		{Path: "/", Route: "home", Render: text("<h1>home</h1>"), Deps: []bake.Dep{"tmpl:home.html"}},
		{Path: "/items/café/", Route: "item", Key: "7", Render: text("<p>7</p>", "row:items/7", "tmpl:item.html"), Deps: []bake.Dep{"tmpl:item.html"}},
		{Path: "/feed.xml", Route: "feed", ContentType: "application/rss+xml", Render: text("<rss/>")},
		{Path: "/app.css", Route: "static", ContentType: "text/css", Source: static, Deps: []bake.Dep{"asset:app.css"}},
	}}
	progress := &Progress{}
	rep, err := Build(context.Background(), site, Options{Output: out, Workers: 3, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pages != 4 || !rep.Committed || progress.Pages.Load() != 4 || rep.Routes["item"].Pages != 1 {
		t.Errorf("report = %+v", rep)
	}
	if !progress.Live.Load() {
		t.Error("Progress.Live not set after the build was swapped in")
	}
	for name, want := range map[string]string{"index.html": "<h1>home</h1>", "items/café/index.html": "<p>7</p>", "feed.xml": "<rss/>", "app.css": "body{}"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	m := readManifest(t, out)
	var paths []string
	for _, e := range m.Entries {
		paths = append(paths, e.Path)
	}
	if diff := cmp.Diff([]string{"/", "/app.css", "/feed.xml", "/items/café/"}, paths); diff != "" {
		t.Errorf("manifest paths (-want +got):\n%s", diff)
	}
	item, _ := m.Lookup("/items/café/")
	sum := sha256.Sum256([]byte("<p>7</p>"))
	want := bake.Entry{Path: "/items/café/", SHA256: hex.EncodeToString(sum[:]), Size: 8,
		Type: "text/html; charset=utf-8", Route: "item", Key: "7", Deps: []bake.Dep{"row:items/7", "tmpl:item.html"}}
	if diff := cmp.Diff(want, item); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	if css, _ := m.Lookup("/app.css"); css.Type != "text/css" || css.Size != 6 {
		t.Errorf("static entry = %+v", css)
	}
}

func TestBuildProblemsKeepPreviousBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "_site")
	good := &fakeSite{pages: []*bake.Page{{Path: "/", Route: "home", Render: text("v1")}}}
	if _, err := Build(context.Background(), good, Options{Output: out}); err != nil {
		t.Fatal(err)
	}
	bad := &fakeSite{
		pages: []*bake.Page{
			{Path: "/", Route: "home", Render: text("v2")},
			{Path: "/broken/", Route: "item", Key: "3", Render: func(context.Context, io.Writer) error { return errors.New("boom") }},
			{Path: "/../escape/", Route: "item", Key: "4", Render: text("x")},
			{Path: "/a/", Route: "item", Key: "5", Render: text("a")},
			{Path: "/a/", Route: "item", Key: "6", Render: text("a")},
		},
		errs: []error{&bake.Error{Route: "list", Err: errors.New("query failed")}},
	}
	progress := &Progress{}
	rep, err := Build(context.Background(), bad, Options{Output: out, Progress: progress})
	if !errors.Is(err, ErrProblems) {
		t.Fatalf("err = %v", err)
	}
	if progress.Live.Load() {
		t.Error("Progress.Live set by a build that was not swapped in")
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.Error())
	}
	want := []string{
		`route "item": page /../escape/: row 4: map path "/../escape/": path has a ".." segment`,
		`route "item": page /a/: row 6: two pages have this path: route "item" row "5" and route "item" row "6"; make the path pattern unique`,
		`route "item": page /broken/: row 3: boom`,
		`route "list": query failed`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "index.html")); string(b) != "v1" {
		t.Errorf("previous build changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "escape")); err == nil {
		t.Error("wrote outside the build folder")
	}
}

func TestBuildCancelled(t *testing.T) {
	out := filepath.Join(t.TempDir(), "_site")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pages []*bake.Page
	for i := range 100 {
		pages = append(pages, &bake.Page{Path: fmt.Sprintf("/p/%d/", i), Route: "p", Render: func(context.Context, io.Writer) error {
			if i == 10 {
				cancel()
			}
			return nil
		}})
	}
	_, err := Build(ctx, &fakeSite{pages: pages}, Options{Output: out})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a cancelled build was swapped in")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "._site.*"))
	if len(left) > 0 && !strings.Contains(left[0], ".old-") {
		t.Errorf("leftovers: %v", left)
	}
}

// TestBuildHandsOverReplacedBuild: with RemoveReplaced set, a full build
// returns once live and hands it the build it replaced, whole; when the
// hand-over fails, the build removes it itself.
func TestBuildHandsOverReplacedBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "_site")
	site := func(body string) *fakeSite {
		return &fakeSite{pages: []*bake.Page{{Path: "/", Route: "home", Render: text(body)}}}
	}
	var handed [][]string
	take := func(paths []string) error { handed = append(handed, paths); return nil }
	if _, err := Build(context.Background(), site("v1"), Options{Output: out, RemoveReplaced: take}); err != nil {
		t.Fatal(err)
	}
	if len(handed) != 0 {
		t.Fatalf("the first build handed over %v", handed)
	}
	rep, err := Build(context.Background(), site("v2"), Options{Output: out, RemoveReplaced: take})
	if err != nil {
		t.Fatal(err)
	}
	if len(handed) != 1 || len(handed[0]) != 1 {
		t.Fatalf("handed over %v, want the first build", handed)
	}
	if !rep.RemovingInBackground {
		t.Error("report: removing_in_background not set")
	}
	if b, err := os.ReadFile(filepath.Join(handed[0][0], "index.html")); string(b) != "v1" {
		t.Fatalf("the folder handed over holds %q, %v; want the first build", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "index.html")); string(b) != "v2" {
		t.Fatalf("live build: %q", b)
	}

	refuse := func([]string) error { return errors.New("no process") }
	if rep, err = Build(context.Background(), site("v3"), Options{Output: out, RemoveReplaced: refuse}); err != nil || rep.RemovingInBackground {
		t.Fatalf("refused hand-over: %v, removing_in_background %v", err, rep.RemovingInBackground)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "._site.*")); len(left) > 0 {
		t.Fatalf("a refused hand-over left %v", left)
	}
}

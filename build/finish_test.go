package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/google/go-cmp/cmp"
)

// long returns an HTML page of about n bytes, with blank lines and
// indentation to minify.
func long(title string, n int) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <title>" + title + "</title>\n  </head>\n  <body>\n\n")
	for b.Len() < n {
		b.WriteString("    <p>   The quick brown fox of " + title + "   </p>\n\n")
	}
	b.WriteString("  </body>\n</html>\n")
	return b.String()
}

var both = FinishOptions{Precompress: precompress.Options{Codings: []string{precompress.Gzip, precompress.Brotli}}}

// files returns every file of the build folder out but bake's own, with
// its bytes.
func files(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if d.IsDir() {
			if rel == bake.ReservedDir {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkSiblings checks that every sibling in the folder decompresses to
// its file, that the manifest lists exactly the siblings there are, and
// returns the siblings found.
func checkSiblings(t *testing.T, out string) []string {
	t.Helper()
	all := files(t, out)
	var sibs []string
	for name, data := range all {
		for _, c := range precompress.Codings {
			base, ok := strings.CutSuffix(name, precompress.Ext(c))
			if !ok {
				continue
			}
			orig, ok := all[base]
			if !ok {
				t.Errorf("%s: a sibling without its file", name)
				continue
			}
			back, err := precompress.Decode(c, []byte(data), 1<<30)
			if err != nil || string(back) != orig {
				t.Errorf("%s does not decompress to %s (%v)", name, base, err)
			}
			sibs = append(sibs, name)
		}
	}
	m := readManifest(t, out)
	var listed []string
	for _, e := range m.Entries {
		name, _ := bake.FileName(e.Path)
		if strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".br") {
			t.Errorf("%s: a sibling listed as a page", e.Path)
		}
		for _, c := range e.Encodings {
			listed = append(listed, name+precompress.Ext(c))
		}
		if sum := sha256.Sum256([]byte(all[name])); hex.EncodeToString(sum[:]) != e.SHA256 {
			t.Errorf("%s: manifest SHA-256 is not that of the file", e.Path)
		}
	}
	slices.Sort(sibs)
	slices.Sort(listed)
	if diff := cmp.Diff(sibs, listed); diff != "" {
		t.Errorf("siblings in the folder (-) and in the manifest (+):\n%s", diff)
	}
	return sibs
}

func TestBuildPrecompress(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	static := filepath.Join(t.TempDir(), "app.css")
	os.WriteFile(static, []byte(strings.Repeat("body { color: red; }\n", 100)), 0o644)
	site := &updateSite{fakeSite: fakeSite{pages: []*bake.Page{
		{Path: "/", Route: "home", Render: text(long("home", 3000))},
		{Path: "/small/", Route: "home", Render: text("<p>too small</p>")},
		{Path: "/app.css", Route: "static", ContentType: "text/css; charset=utf-8", Source: static},
		{Path: "/logo.png", Route: "static", ContentType: "image/png", Render: text(strings.Repeat("png", 1000))},
		{Path: "/feed.xml", Route: "feed", ContentType: "application/rss+xml", Render: text("<rss>" + strings.Repeat("<item/>", 300) + "</rss>")},
	}}}
	if _, err := Build(ctx, site, Options{Output: out, Finish: both}); err != nil {
		t.Fatal(err)
	}
	want := []string{"app.css.br", "app.css.gz", "feed.xml.br", "feed.xml.gz", "index.html.br", "index.html.gz"}
	if diff := cmp.Diff(want, checkSiblings(t, out)); diff != "" {
		t.Errorf("siblings (-want +got):\n%s", diff)
	}
	first := files(t, out)

	// A full build of the same pages makes the same bytes.
	if _, err := Build(ctx, site, Options{Output: out, Finish: both}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, files(t, out)); diff != "" {
		t.Errorf("a second full build made other bytes:\n%s", diff)
	}

	// Incremental: the home page changes, shrinks below the threshold
	// (its siblings go), the feed changes (new siblings), the small page
	// grows (siblings come), the stylesheet is removed (with its
	// siblings), and a page rendered to the same bytes keeps its own.
	site.update = []*bake.Page{
		{Path: "/", Route: "home", Render: text("<p>short now</p>")},
		{Path: "/small/", Route: "home", Render: text(long("small", 2000))},
		{Path: "/feed.xml", Route: "feed", ContentType: "application/rss+xml", Render: text("<rss>" + strings.Repeat("<item/>", 400) + "</rss>")},
		{Path: "/logo.png", Route: "static", ContentType: "image/png", Render: text(strings.Repeat("png", 1000))},
		{Path: "/app.css", Route: "static", Remove: true},
	}
	rep, err := Update(ctx, site, nil, Options{Output: out, Finish: both})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Written != 3 || rep.Removed != 1 {
		t.Errorf("written %d, removed %d; want 3, 1", rep.Written, rep.Removed)
	}
	want = []string{"feed.xml.br", "feed.xml.gz", "small/index.html.br", "small/index.html.gz"}
	if diff := cmp.Diff(want, checkSiblings(t, out)); diff != "" {
		t.Errorf("siblings after the update (-want +got):\n%s", diff)
	}

	// The same pages built in full give the same folder.
	updated := files(t, out)
	full := filepath.Join(t.TempDir(), "_site")
	site.pages = []*bake.Page{site.update[0], site.update[1], site.update[2], site.update[3]}
	if _, err := Build(ctx, site, Options{Output: full, Finish: both}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files(t, full), updated); diff != "" {
		t.Errorf("incremental build differs from a full one (-full +incremental):\n%s", diff)
	}

	// A page rendered to the bytes it had keeps its entry and siblings.
	site.update = []*bake.Page{{Path: "/small/", Route: "home", Render: text(long("small", 2000))}}
	if rep, err = Update(ctx, site, nil, Options{Output: out, Finish: both}); err != nil || rep.Unchanged != 1 {
		t.Fatalf("unchanged %d, %v", rep.Unchanged, err)
	}
	checkSiblings(t, out)
}

// TestFinishChangedIsFull: a build with other finishing options than the
// last build's cannot update it in place.
func TestFinishChangedIsFull(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	site := &updateSite{fakeSite: fakeSite{pages: []*bake.Page{{Path: "/", Render: text(long("home", 3000))}}}}
	if _, err := Build(ctx, site, Options{Output: out}); err != nil {
		t.Fatal(err)
	}
	// Off before and after: no full build needed.
	if _, err := Update(ctx, site, nil, Options{Output: out}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []FinishOptions{both, {MinifyHTML: true}} {
		_, err := Update(ctx, site, nil, Options{Output: out, Finish: o})
		if !errors.Is(err, bake.ErrFullBuild) || !strings.Contains(err.Error(), "output settings changed") {
			t.Errorf("%v: err %v, want a full build", o, err)
		}
	}
	rep, err := Run(ctx, site, Changes{Complete: true}, RunOptions{Options: Options{Output: out, Finish: both}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Incremental || !strings.Contains(rep.FullReason, "output settings changed") {
		t.Errorf("incremental %v, reason %q", rep.Incremental, rep.FullReason)
	}
	if _, err := os.Stat(filepath.Join(out, "index.html.gz")); err != nil {
		t.Error(err)
	}
	// Now the same options: incremental.
	rep, err = Run(ctx, site, Changes{Complete: true}, RunOptions{Options: Options{Output: out, Finish: both}})
	if err != nil || !rep.Incremental {
		t.Errorf("same options: incremental %v, %v", rep.Incremental, err)
	}
}

func TestBuildMinifyHTML(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	static := filepath.Join(t.TempDir(), "raw.html")
	os.WriteFile(static, []byte("<p>  static   files stay as they are  </p>\n"), 0o644)
	page := long("home", 1500)
	site := &updateSite{fakeSite: fakeSite{pages: []*bake.Page{
		{Path: "/", Route: "home", Render: text(page)},
		{Path: "/raw.html", Route: "static", Source: static},
		{Path: "/feed.xml", Route: "feed", ContentType: "application/rss+xml", Render: text("<rss>\n\n  <item/>\n</rss>")},
	}}}
	opts := Options{Output: out, Finish: FinishOptions{MinifyHTML: true}}
	if _, err := Build(ctx, site, opts); err != nil {
		t.Fatal(err)
	}
	got := files(t, out)
	if h := got["index.html"]; len(h) >= len(page) || strings.Contains(h, "\n\n") || !strings.HasPrefix(h, "<!doctype html><html><head><title>home</title>") {
		t.Errorf("home not minified: %q", h[:min(len(h), 200)])
	}
	if got["raw.html"] != "<p>  static   files stay as they are  </p>\n" || got["feed.xml"] != "<rss>\n\n  <item/>\n</rss>" {
		t.Errorf("static HTML or a feed was changed: %q, %q", got["raw.html"], got["feed.xml"])
	}
	checkSiblings(t, out) // the manifest's SHA-256 is the minified bytes'

	// The same page rendered again by an update: the same minified bytes,
	// so nothing is written.
	site.update = []*bake.Page{{Path: "/", Route: "home", Render: text(page)}}
	rep, err := Update(ctx, site, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged != 1 || rep.Written != 0 {
		t.Errorf("unchanged %d, written %d; want 1, 0", rep.Unchanged, rep.Written)
	}
}

// TestPrecompressNameTaken: a page whose file would be a sibling's is a
// problem naming it, and the build changes nothing.
func TestPrecompressNameTaken(t *testing.T) {
	out := filepath.Join(t.TempDir(), "_site")
	site := &fakeSite{pages: []*bake.Page{
		{Path: "/app.css", ContentType: "text/css", Render: text(strings.Repeat("a{}", 500))},
		{Path: "/app.css.gz", ContentType: "application/gzip", Render: text("not a sibling")},
		{Path: "/backup.tar.gz", ContentType: "application/gzip", Render: text("fine")},
	}}
	rep, err := Build(context.Background(), site, Options{Output: out, Finish: both})
	if !errors.Is(err, ErrProblems) || len(rep.Problems) != 1 {
		t.Fatalf("err %v, problems %v", err, rep.Problems)
	}
	if p := rep.Problems[0]; p.Path != "/app.css.gz" || !strings.Contains(p.Error(), "precompressed sibling of app.css") {
		t.Errorf("problem %v", p)
	}
	// Without precompression, the same site builds.
	if _, err := Build(context.Background(), site, Options{Output: out}); err != nil {
		t.Error(err)
	}
}

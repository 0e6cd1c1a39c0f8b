package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/build"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/memblob"
)

var bothCodings = build.FinishOptions{Precompress: precompress.Options{Codings: []string{precompress.Gzip, precompress.Brotli}}}

// buildPrecompressed builds s into out with gzip and brotli siblings.
func buildPrecompressed(t *testing.T, out string, s site) {
	t.Helper()
	if _, err := build.Build(context.Background(), s, build.Options{Output: out, Finish: bothCodings}); err != nil {
		t.Fatal(err)
	}
}

// TestFolderGetsSiblings: a folder target holds the build's siblings,
// byte for byte, beside their files; they follow their file when it
// changes, loses them or goes; a folder reads them back as bake's
// (--verify neither lists them nor deletes them).
func TestFolderGetsSiblings(t *testing.T) {
	t.Parallel()
	for _, sidecars := range []bool{true, false} {
		t.Run(map[bool]string{true: "sidecars", false: "plain folder"}[sidecars], func(t *testing.T) {
			t.Parallel()
			testFolderGetsSiblings(t, sidecars)
		})
	}
}

func testFolderGetsSiblings(t *testing.T, sidecars bool) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	target := t.TempDir()
	bucket := openFolder(t, target, sidecars)
	big := "<p>" + strings.Repeat("flat files are fast ", 200) + "</p>"
	css := strings.Repeat("body { color: red }\n", 100)
	buildPrecompressed(t, out, site{"/": big, "/a/": big + "a", "/app.css": css, "/small/": "<p>s</p>"})
	publish(t, bucket, out, false)

	want := map[string]string{}
	for _, name := range []string{"index.html", "a/index.html", "app.css", "small/index.html",
		"index.html.gz", "index.html.br", "a/index.html.gz", "a/index.html.br", "app.css.gz", "app.css.br"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want[name] = string(b)
	}
	if diff := cmp.Diff(want, folderFiles(t, target)); diff != "" {
		t.Errorf("folder target (-build +target):\n%s", diff)
	}
	if _, attrs := read(t, bucket, "app.css.br"); sidecars && (attrs.ContentEncoding != "br" || attrs.ContentType != "text/css; charset=utf-8") {
		t.Errorf("app.css.br attrs %+v", attrs)
	}

	// Listed (--verify) leaves siblings out and knows the files' codings:
	// a verified publish of the same build changes nothing.
	plan, _, err := PrepareVerify(ctx, bucket, out, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Uploads() != 0 || len(plan.Deletes) != 0 {
		t.Errorf("verify after publish: %s", plan.Summary())
	}
	plan.Close()

	// The home page shrinks (no siblings now), a goes, the stylesheet
	// changes.
	buildPrecompressed(t, out, site{"/": "<p>home</p>", "/app.css": css + "p{}", "/small/": "<p>s</p>"})
	publish(t, bucket, out, false)
	got := folderFiles(t, target)
	for _, gone := range []string{"index.html.gz", "index.html.br", "a/index.html", "a/index.html.gz", "a/index.html.br"} {
		if _, ok := got[gone]; ok {
			t.Errorf("%s left in the target", gone)
		}
	}
	sib, _ := os.ReadFile(filepath.Join(out, "app.css.gz"))
	if got["app.css.gz"] != string(sib) {
		t.Error("app.css.gz in the target is not the new build's")
	}

	// Turning precompression off: the same bytes, no siblings; the
	// publish removes them.
	buildSite(t, out, site{"/": "<p>home</p>", "/app.css": css + "p{}", "/small/": "<p>s</p>"})
	plan = publish(t, bucket, out, false)
	if plan.Pages.Len()+plan.Assets.Len() != 1 {
		t.Errorf("turning siblings off: %s", plan.Summary())
	}
	if _, ok := folderFiles(t, target)["app.css.gz"]; ok {
		t.Error("app.css.gz left once the build has no siblings")
	}
}

// TestBucketSendsStoredSiblings: a bucket that serves headers gets the
// build's compressed bytes as they are (not compressed again), with the
// Content-Encoding it had before, and no sibling objects.
func TestBucketSendsStoredSiblings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	big := "<p>" + strings.Repeat("flat files are fast ", 200) + "</p>"
	buildPrecompressed(t, out, site{"/": big})
	for _, enc := range []string{"", "gzip", "br"} {
		bucket := memblob.OpenBucket(nil)
		plan, _, err := Prepare(ctx, bucket, out, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Compress: true, Encoding: enc}); err != nil {
			t.Fatal(err)
		}
		data, attrs := read(t, bucket, "index.html")
		coding := enc
		if coding == "" {
			coding = "gzip"
		}
		sib, _ := os.ReadFile(filepath.Join(out, "index.html"+precompress.Ext(coding)))
		if attrs.ContentEncoding != coding || data != string(sib) {
			t.Errorf("%q: encoding %q, stored bytes are the sibling's: %v", enc, attrs.ContentEncoding, data == string(sib))
		}
		if ok, _ := bucket.Exists(ctx, "index.html.gz"); ok {
			t.Errorf("%q: a sibling object in a bucket that serves headers", enc)
		}
		bucket.Close()
	}

	// A damaged sibling is not sent: the page is compressed again.
	os.WriteFile(filepath.Join(out, "index.html.gz"), []byte("not gzip"), 0o644)
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	publish(t, bucket, out, true)
	data, attrs := read(t, bucket, "index.html")
	back, err := precompress.Decode("gzip", []byte(data), 1<<20)
	if attrs.ContentEncoding != "gzip" || err != nil || string(back) != big {
		t.Errorf("with a damaged sibling: encoding %q, %v", attrs.ContentEncoding, err)
	}
}

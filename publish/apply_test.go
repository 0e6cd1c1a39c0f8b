package publish

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/bakehq/bake"
	"github.com/bakehq/bake/build"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
)

type site map[string]string // path → body

func (s site) Pages(ctx context.Context) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		for p, body := range s {
			ct := "text/html; charset=utf-8"
			if strings.HasSuffix(p, ".css") {
				ct = "text/css; charset=utf-8"
			}
			body := body
			page := &bake.Page{Path: p, Route: "r", ContentType: ct, Render: func(ctx context.Context, w io.Writer) error {
				_, err := io.WriteString(w, body)
				return err
			}}
			if !yield(page, nil) {
				return
			}
		}
	}
}

func buildSite(t *testing.T, out string, s site) {
	t.Helper()
	if _, err := build.Build(context.Background(), s, build.Options{Output: out}); err != nil {
		t.Fatal(err)
	}
}

// publish diffs the build in out against the bucket and applies the plan.
func publish(t *testing.T, bucket *blob.Bucket, out string, compress bool) *Plan {
	t.Helper()
	ctx := context.Background()
	plan, resume, err := Prepare(ctx, bucket, out, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Compress: compress, Resume: resume}); err != nil {
		t.Fatal(err)
	}
	return plan
}

func read(t *testing.T, b *blob.Bucket, key string) (string, *blob.Attributes) {
	t.Helper()
	data, err := b.ReadAll(context.Background(), key)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	attrs, err := b.Attributes(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), attrs
}

func TestApplyToFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	target := t.TempDir()
	bucket, err := fileblob.OpenBucket(target, &fileblob.Options{Metadata: fileblob.MetadataInSidecar})
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	bucket.WriteAll(ctx, "not-ours.txt", []byte("keep me"), nil)

	buildSite(t, out, site{"/": "<p>home</p>", "/a/": "<p>a</p>", "/app.css": "body{}"})
	plan := publish(t, bucket, out, false)
	if plan.Uploads() != 3 || plan.Assets.Len() != 1 {
		t.Fatalf("first plan: %s", plan.Summary())
	}
	body, attrs := read(t, bucket, "a/index.html")
	if body != "<p>a</p>" || attrs.ContentType != "text/html; charset=utf-8" || attrs.CacheControl != "public, max-age=60, stale-while-revalidate=600" {
		t.Errorf("a/index.html = %q %+v", body, attrs)
	}
	if _, attrs := read(t, bucket, "app.css"); attrs.ContentType != "text/css; charset=utf-8" || attrs.Metadata["sha256"] == "" {
		t.Errorf("app.css attrs %+v", attrs)
	}
	if _, err := ReadRemote(ctx, bucket); err != nil {
		t.Fatal(err)
	}

	if plan := publish(t, bucket, out, false); !plan.Empty() || plan.Unchanged != 3 {
		t.Errorf("second publish of the same build: %s", plan.Summary())
	}

	buildSite(t, out, site{"/": "<p>home v2</p>", "/app.css": "body{}", "/b/": "<p>b</p>"})
	plan = publish(t, bucket, out, false)
	if got := keysOf(plan); len(got.Pages) != 2 || len(got.Deletes) != 1 || got.Deletes[0] != "a/index.html" {
		t.Errorf("third plan: %+v", got)
	}
	if body, _ := read(t, bucket, "index.html"); body != "<p>home v2</p>" {
		t.Errorf("index.html = %q", body)
	}
	if exists, _ := bucket.Exists(ctx, "a/index.html"); exists {
		t.Error("a/index.html not deleted")
	}
	if body, _ := read(t, bucket, "not-ours.txt"); body != "keep me" {
		t.Error("a key bake did not publish was touched")
	}
	if exists, _ := bucket.Exists(ctx, DeletesKey); exists {
		t.Error("pending deletes left after a finished publish")
	}
}

func TestApplyCompresses(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "_site")
	big := "<p>" + strings.Repeat("flat files are fast ", 200) + "</p>"
	buildSite(t, out, site{"/": big, "/small/": "<p>s</p>"})
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	publish(t, bucket, out, true)
	data, attrs := read(t, bucket, "index.html")
	if attrs.ContentEncoding != "gzip" || len(data) >= len(big) {
		t.Fatalf("index.html: encoding %q, %d bytes", attrs.ContentEncoding, len(data))
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(data)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != big {
		t.Error("decompressed bytes differ from the build")
	}
	if _, attrs := read(t, bucket, "small/index.html"); attrs.ContentEncoding != "" {
		t.Error("a tiny page was compressed")
	}
}

func TestApplyCompressesBrotli(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	big := "<p>" + strings.Repeat("flat files are fast ", 200) + "</p>"
	buildSite(t, out, site{"/": big})
	var objects [2]string
	for i := range objects {
		bucket := memblob.OpenBucket(nil)
		plan, _, err := Prepare(ctx, bucket, out, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Compress: true, Encoding: "br"}); err != nil {
			t.Fatal(err)
		}
		data, attrs := read(t, bucket, "index.html")
		if attrs.ContentEncoding != "br" || len(data) >= len(big) {
			t.Fatalf("index.html: encoding %q, %d bytes", attrs.ContentEncoding, len(data))
		}
		plain, err := io.ReadAll(brotli.NewReader(strings.NewReader(data)))
		if err != nil || string(plain) != big {
			t.Fatalf("brotli bytes do not decode to the build (%v)", err)
		}
		objects[i] = data
		bucket.Close()
	}
	if objects[0] != objects[1] {
		t.Error("two publishes of the same page stored different brotli bytes")
	}
}

func TestPendingDeletesAreFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	bucket.WriteAll(ctx, DeletesKey, []byte("gone/index.html\nalso/index.html\n"), nil)
	keys, err := PendingDeletes(ctx, bucket)
	if err != nil || len(keys) != 2 || keys[0] != "gone/index.html" {
		t.Fatalf("pending = %v, %v", keys, err)
	}
}

func TestApplyRefusesChangedBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	buildSite(t, out, site{"/": "<p>home</p>"})
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	plan, _, err := Prepare(ctx, bucket, out, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The build changes between the plan and the upload.
	if err := os.WriteFile(filepath.Join(out, "index.html"), []byte("<p>other</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Apply(ctx, bucket, plan, ApplyOptions{Dir: out})
	if err == nil || !strings.Contains(err.Error(), "does not match its manifest entry") {
		t.Fatalf("err = %v", err)
	}
	if ok, _ := bucket.Exists(ctx, "index.html"); ok {
		t.Error("bytes that do not match the plan were uploaded")
	}
}

func TestApplyTimesOutStalledUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	buildSite(t, out, site{"/": "<p>home</p>"})
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	plan, _, err := Prepare(ctx, bucket, out, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tries := 0
	stall := func(c Change, as func(any) bool) error {
		mu.Lock()
		tries++
		first := tries == 1
		mu.Unlock()
		if first {
			time.Sleep(200 * time.Millisecond) // the first try stalls past its deadline
		}
		return nil
	}
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Timeout: 50 * time.Millisecond, BeforeWrite: stall}); err != nil {
		t.Fatal(err)
	}
	if tries != 2 {
		t.Errorf("%d tries, want 2 (a stalled one, then a retry)", tries)
	}
	if body, _ := read(t, bucket, "index.html"); body != "<p>home</p>" {
		t.Errorf("index.html = %q", body)
	}
}

package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"

	"gocloud.dev/blob/memblob"
)

func TestRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	store := &Store{Dir: t.TempDir()}
	out := filepath.Join(t.TempDir(), "_site")
	publishWith := func() string { return publishStored(t, bucket, store, out) }
	buildSite(t, out, site{"/": "<p>one</p>", "/a/": "<p>a</p>"})
	first := publishWith()
	buildSite(t, out, site{"/": "<p>two</p>", "/b/": "<p>b</p>"})
	publishWith()
	os.RemoveAll(out) // a rollback needs no build

	plan, src, resume, err := PrepareRollback(ctx, bucket, first, store, nil, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(plan); len(got.Pages) != 2 || len(got.Deletes) != 1 || got.Deletes[0] != "b/index.html" {
		t.Fatalf("rollback plan: %+v", got)
	}
	res, err := Apply(ctx, bucket, plan, ApplyOptions{From: src, Store: store, Resume: resume, Release: Release{RollbackOf: first}})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := read(t, bucket, "index.html"); body != "<p>one</p>" {
		t.Errorf("index.html after rollback = %q", body)
	}
	if body, _ := read(t, bucket, "a/index.html"); body != "<p>a</p>" {
		t.Errorf("a/index.html after rollback = %q", body)
	}
	if ok, _ := bucket.Exists(ctx, "b/index.html"); ok {
		t.Error("b/index.html survived the rollback")
	}
	rels, err := Releases(ctx, bucket)
	if err != nil || len(rels) != 3 || rels[0].ID != first || rels[2].ID != res.Release || rels[2].RollbackOf != first {
		t.Fatalf("releases = %+v, %v", rels, err)
	}
	// Rolling back needs the files: an empty store is a clear error.
	if _, _, _, err := PrepareRollback(ctx, bucket, rels[1].ID, &Store{Dir: t.TempDir()}, nil, DiffOptions{}); err == nil || !strings.Contains(err.Error(), "never published from this site folder") {
		t.Errorf("rollback without the store: %v", err)
	}
	if _, _, _, err := PrepareRollback(ctx, bucket, "../x", store, nil, DiffOptions{}); err == nil {
		t.Error("a release ID with a slash was accepted")
	}
}

func TestVerifyRepairs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	out := filepath.Join(t.TempDir(), "_site")
	buildSite(t, out, site{"/": "<p>home</p>", "/a/": "<p>a</p>", "/b/": "<p>b</p>", "/app.css": "body{}"})
	publish(t, bucket, out, false)

	// Behind bake's back: one page overwritten, one deleted, a foreign file added.
	bucket.WriteAll(ctx, "a/index.html", []byte("<p>vandal</p>"), nil)
	bucket.Delete(ctx, "b/index.html")
	bucket.WriteAll(ctx, "google123.html", []byte("verification"), nil)

	if plan, _, err := Prepare(ctx, bucket, out, DiffOptions{}); err != nil || !plan.Empty() {
		t.Fatalf("the manifest diff cannot see it: %v %v", plan.Summary(), err)
	}
	plan, _, err := PrepareVerify(ctx, bucket, out, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := keysOf(plan)
	if diff := cmp.Diff([]string{"a/index.html", "b/index.html"}, got.Pages); diff != "" || len(got.Deletes) != 0 {
		t.Errorf("verify plan: pages %v, deletes %v", got.Pages, got.Deletes)
	}
	// Without a remote manifest, the listing is used too: only the damage is sent.
	bucket.Delete(ctx, RootKey)
	plan, _, err = Prepare(ctx, bucket, out, DiffOptions{})
	if err != nil || plan.Uploads() != 2 || plan.Unchanged != 2 {
		t.Fatalf("no remote manifest: %s %v", plan.Summary(), err)
	}
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out}); err != nil {
		t.Fatal(err)
	}
	if body, _ := read(t, bucket, "a/index.html"); body != "<p>a</p>" {
		t.Errorf("a/index.html = %q", body)
	}
	if ok, _ := bucket.Exists(ctx, "google123.html"); !ok {
		t.Error("a file bake did not publish was deleted")
	}
}

// fileSource reads a build's files from its folder without being one (as
// a distributed build's staged objects are read from the bucket).
type fileSource struct{ dir string }

func (s fileSource) File(key string, e bake.Entry) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(key)))
}

// TestApplyRereadsPartsFromDir: manifest parts past what the plan keeps
// (KeepPartBytes) are read again from the build's index, in opts.Dir when
// the files come from elsewhere: a distributed build of 1,000,000 pages
// (about 60 MB of compressed parts, 8 MB kept) failed to go live with "a
// manifest part to store was not kept".
func TestApplyRereadsPartsFromDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	out := filepath.Join(t.TempDir(), "_site")
	buildSite(t, out, site{"/": "<p>one</p>", "/a/": "<p>a</p>", "/b/": "<p>b</p>"})
	plan, _, err := Prepare(ctx, bucket, out, DiffOptions{KeepPartBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	if plan.PartsKept() {
		t.Fatal("the plan kept its parts: the test proves nothing")
	}
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{From: fileSource{out}, Dir: out}); err != nil {
		t.Fatal(err)
	}
	if body, _ := read(t, bucket, "a/index.html"); body != "<p>a</p>" {
		t.Errorf("a/index.html = %q", body)
	}
	root, err := ReadRoot(ctx, bucket)
	if err != nil || root == nil || len(root.Parts) == 0 {
		t.Fatalf("the manifest stored: %+v, %v", root, err)
	}
}

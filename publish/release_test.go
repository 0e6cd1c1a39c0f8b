package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob/memblob"
)

func TestRollback(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	store := &Store{Dir: t.TempDir()}
	out := filepath.Join(t.TempDir(), "_site")
	publishWith := func() string {
		plan, resume, err := Prepare(ctx, bucket, out, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Store: store, Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		return res.Release
	}
	buildSite(t, out, site{"/": "<p>one</p>", "/a/": "<p>a</p>"})
	first := publishWith()
	buildSite(t, out, site{"/": "<p>two</p>", "/b/": "<p>b</p>"})
	publishWith()
	os.RemoveAll(out) // a rollback needs no build

	plan, src, resume, err := PrepareRollback(ctx, bucket, first, store, DiffOptions{})
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
	if _, _, _, err := PrepareRollback(ctx, bucket, rels[1].ID, &Store{Dir: t.TempDir()}, DiffOptions{}); err == nil || !strings.Contains(err.Error(), "never published from this site folder") {
		t.Errorf("rollback without the store: %v", err)
	}
	if _, _, _, err := PrepareRollback(ctx, bucket, "../x", store, DiffOptions{}); err == nil {
		t.Error("a release ID with a slash was accepted")
	}
}

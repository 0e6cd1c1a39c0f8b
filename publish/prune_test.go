package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// TestPrune publishes three releases, then keeps the newest two: the
// oldest record goes, and so do the stored files only it used; the kept
// releases can still be rolled back to.
func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	store := &Store{Dir: t.TempDir()}
	out := filepath.Join(t.TempDir(), "_site")
	publishSite := func(s site) string {
		t.Helper()
		buildSite(t, out, s)
		return publishStored(t, bucket, store, out)
	}
	stored := func(body string) bool {
		sum := sha256.Sum256([]byte(body))
		sha := hex.EncodeToString(sum[:])
		_, err := os.Stat(filepath.Join(store.Dir, sha[:2], sha))
		return err == nil
	}
	publishSite(site{"/": "<p>one</p>", "/old/": "<p>only in the first</p>"})
	firstRoot, err := ReadRoot(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	firstPart := PartObject(firstRoot.Parts[0].Key)
	second := publishSite(site{"/": "<p>two</p>", "/b/": "<p>b</p>"})
	publishSite(site{"/": "<p>three</p>", "/b/": "<p>b</p>"})
	if !stored("<p>only in the first</p>") {
		t.Fatal("the store lacks a published file")
	}

	dry, err := Prune(ctx, store, nil, PruneOptions{Keep: 2, DryRun: true, PartGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	if dry.Objects != 5 || dry.Releases != 0 {
		// No targets named: nothing is needed, every stored file would go.
		t.Errorf("dry run without targets: %+v, want all 5 files, 0 releases", dry)
	}
	if !stored("<p>one</p>") {
		t.Fatal("a dry run removed a file")
	}
	if dry, err := Prune(ctx, store, []*blob.Bucket{bucket}, PruneOptions{Keep: 2, DryRun: true, PartGrace: -1}); err != nil || dry.Parts != 1 {
		t.Errorf("dry run: %+v, %v; want the first release's manifest part counted", dry, err)
	}
	if ok, _ := bucket.Exists(ctx, firstPart); !ok {
		t.Fatal("a dry run removed a manifest part")
	}

	res, err := Prune(ctx, store, []*blob.Bucket{bucket}, PruneOptions{Keep: 2, PartGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Releases != 1 || res.KeptReleases != 2 || res.Objects != 2 || res.KeptObjects != 3 || res.Parts != 1 || res.KeptParts != 2 {
		t.Errorf("prune: %+v, want 1 release, 2 files and 1 manifest part (the first release's) removed, 2 releases, 3 files and 2 parts kept", res)
	}
	if ok, _ := bucket.Exists(ctx, firstPart); ok {
		t.Error("the first release's manifest part is still in the bucket")
	}
	for body, want := range map[string]bool{"<p>one</p>": false, "<p>only in the first</p>": false, "<p>two</p>": true, "<p>three</p>": true, "<p>b</p>": true} {
		if stored(body) != want {
			t.Errorf("%q stored: %v, want %v", body, !want, want)
		}
	}
	rels, err := Releases(ctx, bucket)
	if err != nil || len(rels) != 2 || rels[0].ID != second {
		t.Fatalf("releases after prune: %+v, %v", rels, err)
	}
	if _, _, _, err := PrepareRollback(ctx, bucket, second, store, nil, DiffOptions{}); err != nil {
		t.Errorf("rollback to a kept release: %v", err)
	}
	if _, err := Prune(ctx, store, []*blob.Bucket{bucket}, PruneOptions{PartGrace: -1}); err == nil {
		t.Error("keep 0 accepted: it would remove what is live")
	}
}

// publishStored publishes the build folder out to bucket, keeping its
// files in store, and returns the release.
func publishStored(t *testing.T, bucket *blob.Bucket, store *Store, out string) string {
	t.Helper()
	ctx := context.Background()
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

// TestPruneStaged checks that prune removes the files distributed builds
// staged that no kept release (nor what is live) has, once older than the
// grace, and keeps the others: a rollback to a kept release reads them.
func TestPruneStaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	store := &Store{Dir: t.TempDir()}
	out := filepath.Join(t.TempDir(), "_site")
	buildSite(t, out, site{"/": "<p>one</p>"})
	publishStored(t, bucket, store, out)
	buildSite(t, out, site{"/": "<p>two</p>", "/b/": "<p>b</p>"})
	publishStored(t, bucket, store, out)
	shaOf := func(body string) string { s := sha256.Sum256([]byte(body)); return hex.EncodeToString(s[:]) }
	keys := map[string]bool{ // staged key → kept
		StagedPrefix + shaOf("<p>two</p>"):                     true,  // live
		StagedPrefix + shaOf("<p>b</p>") + ".0123456789abcdef": true,  // live, a published form
		StagedPrefix + shaOf("<p>one</p>"):                     false, // only in the release pruned
		StagedPrefix + shaOf("<p>one</p>") + "-0a1b2c3d.gz":    false, // its sibling
		StagedPrefix + shaOf("never published"):                false, // a build that failed
		StagedPrefix + "README":                                true,  // not a staged file: left alone
	}
	for k := range keys {
		if err := bucket.WriteAll(ctx, k, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Within the grace, nothing staged goes.
	res, err := Prune(ctx, store, []*blob.Bucket{bucket}, PruneOptions{Keep: 1, PartGrace: -1, DryRun: true})
	if err != nil || res.Staged != 0 || res.KeptStaged != 5 {
		t.Errorf("prune within the grace: %+v, %v; want 0 staged removed, 5 kept", res, err)
	}
	res, err = Prune(ctx, store, []*blob.Bucket{bucket}, PruneOptions{Keep: 1, PartGrace: -1, StagedGrace: -1})
	if err != nil || res.Staged != 3 || res.KeptStaged != 2 || res.StagedBytes != 3 {
		t.Errorf("prune: %+v, %v; want 3 staged removed (3 B), 2 kept", res, err)
	}
	for k, kept := range keys {
		if ok, _ := bucket.Exists(ctx, k); ok != kept {
			t.Errorf("%s: in the bucket %v, want %v", k, ok, kept)
		}
	}
}

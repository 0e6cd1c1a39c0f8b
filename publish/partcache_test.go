package publish

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/memblob"
)

// TestPartCache: with DiffOptions.PartCache, a publish keeps the parts of
// the manifest it stores in that folder, and the next publish compares
// with them without reading the bucket's parts (they are removed from the
// bucket here, so a read would fail); the folder then holds exactly the
// parts of the new manifest. A part missing from the cache, or a cache of
// another manifest, is read from the bucket as before.
func TestPartCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	cache := filepath.Join(t.TempDir(), "parts")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	pub := func() *Plan {
		t.Helper()
		plan, resume, err := Prepare(ctx, bucket, out, DiffOptions{PartCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Resume: resume}); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	cached := func() []string {
		t.Helper()
		ents, err := os.ReadDir(cache)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	rootParts := func() []string {
		t.Helper()
		root, err := ReadRoot(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range root.Parts {
			names = append(names, p.Key+".jsonl.gz")
		}
		slices.Sort(names)
		return names
	}
	removeStoredParts := func() {
		t.Helper()
		for obj, err := range storedParts(ctx, bucket) {
			if err != nil {
				t.Fatal(err)
			}
			if err := bucket.Delete(ctx, obj.Key); err != nil {
				t.Fatal(err)
			}
		}
	}

	s := manySite(3000, "v1")
	buildSite(t, out, s)
	pub()
	if diff := cmp.Diff(rootParts(), cached()); diff != "" {
		t.Fatalf("after the first publish, the cache is not the manifest's parts (-root +cache):\n%s", diff)
	}

	// Pages of three parts change; the bucket loses every part.
	for _, p := range []string{"/p/1/", "/p/1500/", "/p/2999/"} {
		s[p] += " v2"
	}
	buildSite(t, out, s)
	removeStoredParts()
	plan := pub()
	if got := keysOf(plan).Pages; len(got) != 3 {
		t.Fatalf("uploads %v, want the 3 pages changed", got)
	}
	if diff := cmp.Diff(rootParts(), cached()); diff != "" {
		t.Fatalf("after the second publish, the cache is not the manifest's parts (-root +cache):\n%s", diff)
	}
	// The parts just written are in the bucket, and the manifest they
	// make lists the build (those not rewritten were removed above: put
	// them back from the cache for the comparison).
	for _, name := range cached() {
		key := PartsPrefix + name
		if ok, _ := bucket.Exists(ctx, key); !ok {
			data, err := os.ReadFile(filepath.Join(cache, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := bucket.WriteAll(ctx, key, data, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	sameAsBuild(t, bucket, out)

	// A cache emptied (a new machine) reads from the bucket the parts a
	// publish compares, and keeps those, and the parts it writes.
	if err := os.RemoveAll(cache); err != nil {
		t.Fatal(err)
	}
	s["/p/3/"] += " v3"
	buildSite(t, out, s)
	if got := keysOf(pub()).Pages; !cmp.Equal(got, []string{"p/3/index.html"}) {
		t.Fatalf("uploads %v after the cache was removed", got)
	}
	if got := cached(); len(got) != 1 || !slices.Contains(rootParts(), got[0]) {
		t.Fatalf("after a publish that changed one part, the cache holds %v, want that part (of %v)", got, rootParts())
	}
	sameAsBuild(t, bucket, out)
}

// TestPartCacheIgnoresBadNames: only content names are kept.
func TestPartCacheIgnoresBadNames(t *testing.T) {
	c := partCache(t.TempDir())
	for _, key := range []string{"", "../x", strings.Repeat("a", 63), strings.Repeat("A", 64)} {
		if f := c.file(key); f != "" {
			t.Errorf("file(%q) = %q, want none", key, f)
		}
		c.put(key, []byte("x"))
	}
	if ents, _ := os.ReadDir(string(c)); len(ents) != 0 {
		t.Errorf("the cache holds %d files after bad names", len(ents))
	}
}

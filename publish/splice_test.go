package publish

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bakehq/bake/internal/pubformat"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// storedManifest returns the root stored in bucket and the bytes of each
// part it names.
func storedManifest(t *testing.T, bucket *blob.Bucket) (*Root, map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	root, err := ReadRoot(ctx, bucket)
	if err != nil || root == nil {
		t.Fatalf("read root: %v %v", root, err)
	}
	parts := map[string][]byte{}
	for _, p := range root.Parts {
		if p.Files == 0 {
			continue
		}
		data, err := bucket.ReadAll(ctx, PartObject(p.Key))
		if err != nil {
			t.Fatal(err)
		}
		parts[p.Key] = data
	}
	return root, parts
}

// TestPublishSplicesChangedBuckets: a publish of a few changed pages reads
// from the build's index only the buckets of the paths that changed (not
// every line of the parts they are in), reads each of those parts once,
// and stores a manifest equal, part for part and byte for byte, to the one
// a first publish of the same build to an empty bucket stores. With a
// PartMemory, a part this process stored is not read again at all.
func TestPublishSplicesChangedBuckets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	cache := filepath.Join(t.TempDir(), "parts")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	mem := &PartMemory{}
	pub := func(opts DiffOptions) *Plan {
		t.Helper()
		opts.PartCache, opts.Memory = cache, mem
		plan, resume, err := Prepare(ctx, bucket, out, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Resume: resume}); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	// filesIn returns how many files of the build are in the buckets of paths.
	filesIn := func(paths ...string) (files int, parts int) {
		t.Helper()
		sums, _, err := openIndex(t, out).Buckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		buckets, ranges := map[int]bool{}, map[bucketRange]bool{}
		for _, p := range paths {
			buckets[pubformat.Bucket(p)] = true
		}
		for b := range buckets {
			files += sums[b].Files
			for _, r := range layout(4) {
				if b >= r.first && b <= r.last {
					ranges[r] = true
				}
			}
		}
		return files, len(ranges)
	}
	// sameAsFirstPublish checks the stored manifest against the one a
	// first publish of the build stores in an empty bucket.
	sameAsFirstPublish := func(step string) {
		t.Helper()
		fresh := memblob.OpenBucket(nil)
		defer fresh.Close()
		publish(t, fresh, out, false)
		wantRoot, wantParts := storedManifest(t, fresh)
		gotRoot, gotParts := storedManifest(t, bucket)
		if diff := cmp.Diff(wantRoot, gotRoot); diff != "" {
			t.Fatalf("%s: root differs from a first publish's (-first +spliced):\n%s", step, diff)
		}
		for k, want := range wantParts {
			if !bytes.Equal(gotParts[k], want) {
				t.Errorf("%s: part %s differs from a first publish's", step, k[:12])
			}
		}
		sameAsBuild(t, bucket, out)
	}

	s := manySite(3000, "v1")
	buildSite(t, out, s)
	pub(DiffOptions{})
	if root, _ := ReadRoot(ctx, bucket); len(root.Parts) != 4 {
		t.Fatalf("3,000 files in %d parts, want 4", len(root.Parts))
	}

	// The parts are read from the cache the first time, then kept in
	// memory by the publish that stores them.
	tests := []struct {
		name    string
		change  func()
		paths   []string // paths changed
		uploads []string
		deletes []string
		memory  bool // every part it changes was stored by an earlier step
	}{
		{"three pages changed", func() {
			for _, p := range []string{"/p/1/", "/p/1500/", "/p/2999/"} {
				s[p] += " v2"
			}
		}, []string{"/p/1/", "/p/1500/", "/p/2999/"}, []string{"p/1/index.html", "p/1500/index.html", "p/2999/index.html"}, nil, false},
		{"a page added, one removed", func() {
			s["/new/"] = "<p>new</p>"
			delete(s, "/p/77/")
		}, []string{"/new/", "/p/77/"}, []string{"new/index.html"}, []string{"p/77/index.html"}, false},
		{"the three pages again", func() {
			for _, p := range []string{"/p/1/", "/p/1500/", "/p/2999/"} {
				s[p] += " v3"
			}
		}, []string{"/p/1/", "/p/1500/", "/p/2999/"}, []string{"p/1/index.html", "p/1500/index.html", "p/2999/index.html"}, nil, true},
	}
	for i, tt := range tests {
		tt.change()
		buildSite(t, out, s)
		files, parts := filesIn(tt.paths...)
		plan := pub(DiffOptions{})
		k := keysOf(plan)
		slices.Sort(k.Pages)
		if !cmp.Equal(k.Pages, tt.uploads) || !cmp.Equal(k.Deletes, tt.deletes) {
			t.Fatalf("%s: plan %+v", tt.name, k)
		}
		if want := len(s) - len(tt.uploads); plan.Unchanged != want {
			t.Errorf("%s: %d unchanged, want %d", tt.name, plan.Unchanged, want)
		}
		read := parts // parts read from the cache
		if tt.memory {
			read = 0
		}
		if plan.reads.indexLines != files || plan.reads.parts > parts || plan.reads.parts != read && (i == 0 || tt.memory) || len(plan.parts) != parts {
			t.Errorf("%s: read %d lines of the index and %d parts, stored %d parts; the changed buckets have %d lines in %d parts",
				tt.name, plan.reads.indexLines, plan.reads.parts, len(plan.parts), files, parts)
		}
		for _, pd := range plan.parts {
			if pd.data != nil || pd.mem == nil {
				t.Errorf("%s: with a PartMemory, part %s was compressed in the plan, not when stored", tt.name, pd.r)
			}
		}
		if files >= 3000/4 {
			t.Fatalf("%s: the changed buckets hold %d files, not fewer than a part: the test proves nothing", tt.name, files)
		}
		sameAsFirstPublish(tt.name)
	}

	// Past KeepPartBytes, a part is not held by the plan, and is read
	// again from the build when stored.
	s["/p/8/"] += " v4"
	buildSite(t, out, s)
	if plan := pub(DiffOptions{KeepPartBytes: -1}); plan.PartsKept() || len(plan.parts) != 1 {
		t.Errorf("with no bytes of parts to keep: %d parts, kept %v", len(plan.parts), plan.PartsKept())
	}
	sameAsFirstPublish("no part kept")

	// A pending delete (of an interrupted publish) in a part that changes
	// is looked for in its bucket, which is read.
	s["/p/5/"] += " v3"
	buildSite(t, out, s)
	stray := "/p/77/" // deleted above: the build does not have it
	files, parts := filesIn("/p/5/", stray)
	plan, _, err := Prepare(ctx, bucket, out, DiffOptions{PartCache: cache, Memory: mem, Pending: []string{"p/77/index.html"}})
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	if k := keysOf(plan); !cmp.Equal(k.Deletes, []string{"p/77/index.html"}) || !cmp.Equal(k.Pages, []string{"p/5/index.html"}) {
		t.Fatalf("with a pending delete: %+v", k)
	}
	if plan.reads.indexLines != files || plan.reads.parts > parts {
		t.Errorf("with a pending delete: read %d lines of the index and %d parts, want %d and at most %d", plan.reads.indexLines, plan.reads.parts, files, parts)
	}
}

// TestSpliceRefusesChangedBuild: a build whose index no longer gives the
// sums it gave when the plan began is ErrBuildChanged, as in a full diff.
func TestSpliceRefusesChangedBuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	s := manySite(3000, "v1")
	buildSite(t, out, s)
	publish(t, bucket, out, false)
	s["/p/9/"] += " v2"
	buildSite(t, out, s)

	idx := openIndex(t, out)
	sums, _, err := idx.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := ReadRoot(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	// The sums of /p/9/'s bucket as the plan began: those of another build.
	b := pubformat.Bucket("/p/9/")
	stale := slices.Clone(sums)
	stale[b].Digest[0] ^= 1
	local := indexSide{idx, stale}
	ranges := layout(partsFor(3000, root))
	_, err = diffParts(ctx, local, &rootSide{bucket: bucket, root: root}, ranges, DiffOptions{}, true)
	if !errors.Is(err, ErrBuildChanged) {
		t.Fatalf("diff with stale sums: err = %v, want ErrBuildChanged", err)
	}
}

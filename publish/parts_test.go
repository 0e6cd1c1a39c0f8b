package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/pubformat"
	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// manySite returns a site of n pages.
func manySite(n int, tag string) site {
	s := site{}
	for i := range n {
		s[fmt.Sprintf("/p/%d/", i)] = fmt.Sprintf("<p>page %d %s</p>", i, tag)
	}
	return s
}

// sameAsBuild checks that the manifest stored in bucket lists exactly the
// files of the build in out, with their hashes.
func sameAsBuild(t *testing.T, bucket *blob.Bucket, out string) {
	t.Helper()
	ctx := context.Background()
	m, err := ReadRemote(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range m.Entries {
		got[e.Path] = e.SHA256
	}
	want := map[string]string{}
	idx := openIndex(t, out)
	for e, err := range idx.Entries(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		want[e.Path] = e.SHA256
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("stored manifest differs from the build (-build +stored):\n%s", diff)
	}
}

// TestPublishReadsOnlyChangedParts changes one page, by a full build and
// then in place as an incremental build does, and checks that a publish
// reads and stores only the part of the manifest that holds it: the
// others are removed from the bucket before it runs.
func TestPublishReadsOnlyChangedParts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	s := manySite(5000, "v1")
	buildSite(t, out, s)
	publish(t, bucket, out, false)
	root, err := ReadRoot(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Parts) != 8 || root.Files != 5000 {
		t.Fatalf("5,000 files stored in %d parts (%d files), want 8", len(root.Parts), root.Files)
	}
	sameAsBuild(t, bucket, out)

	// removeOtherParts deletes the stored parts but the one holding path.
	removeOtherParts := func(root *Root, path string) {
		t.Helper()
		b := pubformat.Bucket(path)
		for _, p := range root.Parts {
			if b < p.First || b > p.Last {
				if err := bucket.Delete(ctx, PartObject(p.Key)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	restore := func(old *Root) {
		t.Helper()
		// Put the removed parts back, for sameAsBuild, from a verify publish.
		plan, _, err := PrepareVerify(ctx, bucket, out, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !plan.Empty() {
			t.Fatalf("verify after the publish: %s", plan.Summary())
		}
		if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out}); err != nil {
			t.Fatal(err)
		}
	}

	// A full build that changes one page.
	s["/p/42/"] = "<p>page 42 v2</p>"
	buildSite(t, out, s)
	removeOtherParts(root, "/p/42/")
	plan := publish(t, bucket, out, false)
	if got := keysOf(plan); !cmp.Equal(got.Pages, []string{"p/42/index.html"}) || plan.Unchanged != 4999 || len(plan.parts) != 1 {
		t.Fatalf("one page changed: %+v, %d parts stored", got, len(plan.parts))
	}
	restore(root)
	sameAsBuild(t, bucket, out)

	// The same, in place, as an incremental build changes a page.
	root, _ = ReadRoot(ctx, bucket)
	body := "<p>page 7 v3</p>"
	if err := os.WriteFile(filepath.Join(out, "p", "7", "index.html"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := output.OpenIndex(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := idx.Lookup(ctx, "/p/7/")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(body))
	if err := idx.Apply(ctx, output.Update{Put: []output.Record{{Entry: e, Line: manifestLine(t, e)}}}); err != nil {
		t.Fatal(err)
	}
	idx.Close()
	removeOtherParts(root, "/p/7/")
	plan = publish(t, bucket, out, false)
	if got := keysOf(plan); !cmp.Equal(got.Pages, []string{"p/7/index.html"}) || len(plan.parts) != 1 {
		t.Fatalf("one page changed in place: %+v, %d parts stored", got, len(plan.parts))
	}
	if got, _ := read(t, bucket, "p/7/index.html"); got != body {
		t.Errorf("p/7/index.html = %q, want %q", got, body)
	}
	restore(root)
	sameAsBuild(t, bucket, out)
}

// TestPublishRelayoutsParts grows a site past the parts its manifest was
// stored in, then shrinks it: the diff reads the old parts across the new
// layout, and only what changed is uploaded or deleted.
func TestPublishRelayoutsParts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	small := manySite(50, "v1")
	buildSite(t, out, small)
	publish(t, bucket, out, false)
	if root, _ := ReadRoot(ctx, bucket); len(root.Parts) != 1 {
		t.Fatalf("50 files in %d parts, want 1", len(root.Parts))
	}

	big := manySite(5000, "v1")
	buildSite(t, out, big)
	plan := publish(t, bucket, out, false)
	if plan.Uploads() != 4950 || plan.Unchanged != 50 || len(plan.Deletes) != 0 {
		t.Fatalf("grown to 5,000: %s", plan.Summary())
	}
	if root, _ := ReadRoot(ctx, bucket); len(root.Parts) != 8 {
		t.Fatalf("5,000 files in %d parts, want 8", len(root.Parts))
	}
	sameAsBuild(t, bucket, out)

	small["/p/3/"] = "<p>page 3 v2</p>"
	buildSite(t, out, small)
	plan, _, err := Prepare(ctx, bucket, out, DiffOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(plan); !cmp.Equal(got.Pages, []string{"p/3/index.html"}) || len(got.Deletes) != 4950 || plan.Unchanged != 49 {
		t.Fatalf("shrunk to 50: %s", plan.Summary())
	}
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out}); err != nil {
		t.Fatal(err)
	}
	if root, _ := ReadRoot(ctx, bucket); len(root.Parts) != 1 {
		t.Fatalf("50 files in %d parts, want 1", len(root.Parts))
	}
	sameAsBuild(t, bucket, out)
}

func TestPartsFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		files, remote, want int
	}{
		{0, 0, 1}, {1024, 0, 1}, {1025, 0, 2}, {5000, 0, 8}, {100_000, 0, 128},
		{1_000_000, 0, 1024}, {10_000_000, 0, pubformat.Buckets},
		{5000, 4, 4}, {5000, 32, 32}, {5000, 1, 8}, {5000, 64, 8}, // kept within a factor of 4
	}
	for _, tt := range tests {
		var remote *Root
		if tt.remote > 0 {
			remote = &Root{}
			for _, r := range layout(tt.remote) {
				remote.Parts = append(remote.Parts, Part{First: r.first, Last: r.last})
			}
		}
		if got := partsFor(tt.files, remote); got != tt.want {
			t.Errorf("partsFor(%d files, %d remote parts) = %d, want %d", tt.files, tt.remote, got, tt.want)
		}
	}
}

// TestReadRootRejects checks that a damaged or foreign manifest is an
// error saying what is wrong, not a plan that deletes the site.
func TestReadRootRejects(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("ab", 32)
	tests := []struct{ name, root, want string }{
		{"newer", `{"bake_manifest":3,"files":0,"parts":[]}`, "newer than this bake"},
		{"gap", `{"bake_manifest":2,"files":0,"parts":[{"first":0,"last":9},{"first":11,"last":4095}]}`, "do not cover"},
		{"short", `{"bake_manifest":2,"files":0,"parts":[{"first":0,"last":9}]}`, "cover 10 of 4096"},
		{"bad key", `{"bake_manifest":2,"files":1,"parts":[{"first":0,"last":4095,"files":1,"key":"../x"}]}`, "not a part name"},
		{"count", `{"bake_manifest":2,"files":5,"parts":[{"first":0,"last":4095,"files":1,"key":"` + key + `"}]}`, "1 of 5 files"},
		{"not JSON", `{"bake_manifest`, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := memblob.OpenBucket(nil)
			defer bucket.Close()
			ctx := context.Background()
			bucket.WriteAll(ctx, RootKey, []byte(tt.root), nil)
			_, err := ReadRoot(ctx, bucket)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), RootKey) {
				t.Errorf("ReadRoot: err = %v, want one naming %s and saying %q", err, RootKey, tt.want)
			}
		})
	}
}

// TestLargePlanSpills plans more uploads than a plan keeps in memory: the
// rest are read back from its temporary file, in order, for Apply, the
// JSON report and the CDN paths alike; the manifest's parts, not kept
// either, are read again from the build when they are stored.
func TestLargePlanSpills(t *testing.T) {
	t.Parallel()
	// Three uploads kept, and no part: Apply reads them again.
	small := DiffOptions{KeepUploads: 3, KeepPartBytes: -1}
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	s := manySite(20, "v1")
	s["/app.css"] = "body{}"
	buildSite(t, out, s)
	plan, _, err := Prepare(ctx, bucket, out, small)
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	if plan.Pages.spill == nil {
		t.Fatal("20 pages past a limit of 3: nothing spilled")
	}
	if len(plan.parts) == 0 || plan.parts[0].data != nil {
		t.Fatalf("parts kept in the plan: %d, first with %d bytes", len(plan.parts), len(plan.parts[0].data))
	}
	k := keysOf(plan)
	if len(k.Pages) != 20 || !slices.IsSorted(k.Pages) || !cmp.Equal(k.Assets, []string{"app.css"}) {
		t.Fatalf("spilled plan: %+v", k)
	}
	j, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(j), `"reason":"new"`); n != 21 {
		t.Errorf("JSON plan lists %d uploads, want 21:\n%s", n, j)
	}
	// WriteJSON, which streams it, says the same.
	var streamed bytes.Buffer
	if err := plan.WriteJSON(&streamed); err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(j, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(streamed.Bytes(), &b); err != nil {
		t.Fatalf("WriteJSON: %v\n%s", err, streamed.String())
	}
	a.(map[string]any)["deletes"] = []any{} // json.Marshal says null for none
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("WriteJSON differs from json.Marshal (-Marshal +WriteJSON):\n%s", diff)
	}
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out}); err != nil {
		t.Fatal(err)
	}
	for _, key := range k.Pages {
		if ok, _ := bucket.Exists(ctx, key); !ok {
			t.Errorf("%s was not uploaded", key)
		}
	}
	sameAsBuild(t, bucket, out)
}

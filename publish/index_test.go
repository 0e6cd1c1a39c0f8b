package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/pubformat"
	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/memblob"
)

// writeIndex writes the index of the build folder dir with entries, as a
// build does.
func writeIndex(t *testing.T, dir string, es ...bake.Entry) {
	t.Helper()
	ctx := context.Background()
	p := filepath.Join(dir, filepath.FromSlash(output.IndexFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := output.NewIndexWriter(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b bake.Entry) int { return strings.Compare(a.Path, b.Path) })
	for _, e := range es {
		if err := w.Add(ctx, &e, manifestLine(t, e)); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// manifestLine returns the manifest line of e, as a build writes it.
func manifestLine(t *testing.T, e bake.Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func openIndex(t *testing.T, dir string) *output.Index {
	t.Helper()
	idx, err := output.OpenIndex(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return idx
}

// rawLines collects what a line stream yields.
func rawLines(t *testing.T, ls func(func(line, error) bool)) []string {
	t.Helper()
	var out []string
	for l, err := range ls {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.path+" "+string(l.raw))
	}
	return out
}

// TestIndexLines checks that the lines of a build's index are those of the
// manifest file bake wrote before the index, byte for byte, so that the
// diff's fast path skips unchanged entries without decoding them.
func TestIndexLines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	es := []bake.Entry{
		page("/", "a"),
		{Path: "/a&b<c>/", SHA256: "b", Size: 3, Type: html, Route: "r", Key: "1", Deps: []bake.Dep{"row:t/1", "tmpl:a.html"}},
		{Path: "/caf\u00e9/", SHA256: "c", Size: 3, Type: html, LastMod: time.Date(2026, 3, 20, 7, 15, 0, 0, time.UTC)},
		{Path: `/quote"d/`, SHA256: "d", Size: 3, Type: html, Redirect: "/"},
		asset("/feed.xml", "f", "application/rss+xml"),
	}
	dir := t.TempDir()
	writeIndex(t, dir, es...)
	idx := openIndex(t, dir)

	var file bytes.Buffer
	m := &bake.Manifest{Entries: slices.Clone(es)}
	m.Sort()
	if err := bake.WriteManifest(&file, m); err != nil {
		t.Fatal(err)
	}
	var written bytes.Buffer
	if err := idx.WriteManifest(ctx, &written); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(file.String(), written.String()); diff != "" {
		t.Errorf("Index.WriteManifest differs from the manifest file (-file +index):\n%s", diff)
	}
	// A publish records the lines without deps (and input digests), sorted
	// by path in every part, whatever the layout.
	var want []string
	for _, l := range rawLines(t, manifestLines(bytes.NewReader(file.Bytes()))) {
		path, raw, _ := strings.Cut(l, " ")
		want = append(want, path+" "+string(pubformat.Line(nil, []byte(raw))))
	}
	sums, _, err := idx.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	local := indexSide{idx, sums}
	if got := rawLines(t, local.lines(ctx, bucketRange{0, pubformat.Buckets - 1})); !cmp.Equal(want, got) {
		t.Errorf("the index's published lines differ from the manifest file's lines without deps (-file +index):\n%s", cmp.Diff(want, got))
	}
	var parts []string
	for _, r := range layout(16) {
		parts = append(parts, rawLines(t, local.lines(ctx, r))...)
	}
	slices.Sort(parts)
	if diff := cmp.Diff(want, parts); diff != "" {
		t.Errorf("the lines of 16 parts differ from the manifest's (-file +parts):\n%s", diff)
	}

	// Against itself as the remote, every entry is unchanged, and no part
	// is read; against the listing of a bucket holding the same files too.
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	first, err := diffParts(ctx, local, emptySide{}, layout(4), DiffOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if first.Uploads() != len(es) || len(first.parts) == 0 {
		t.Fatalf("first publish: %s, %d parts to store", first.Summary(), len(first.parts))
	}
	if err := writeParts(ctx, bucket, first, nil, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	root, err := ReadRoot(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	for name, remote := range map[string]side{"its own manifest": &rootSide{bucket: bucket, root: root}, "a listing": listSide{sorted(es)}} {
		plan, err := diffParts(ctx, local, remote, layout(4), DiffOptions{}, true)
		if err != nil {
			t.Fatal(err)
		}
		if !plan.Empty() || plan.Unchanged != len(es) {
			t.Errorf("diff of the index against %s: %s, %d unchanged; want nothing to do, %d unchanged", name, plan.Summary(), plan.Unchanged, len(es))
		}
		if _, ok := remote.(*rootSide); ok && len(plan.parts) != 0 {
			t.Errorf("diff of the index against its own manifest stores %d parts again", len(plan.parts))
		}
	}
}

// TestDiffIndexMatchesDiffManifests checks the diff of an index against
// the diff of the same manifest as a file, on the table of
// TestDiffManifestsMatchesDiff.
func TestDiffIndexMatchesDiffManifests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dep := []bake.Dep{"tmpl:a.html"}
	local := []bake.Entry{page("/", "a2"), asset("/feed.xml", "f", "application/rss+xml"), page("/new/", "n"), page("/same/", "s"),
		{Path: "/deps-only/", SHA256: "d", Size: 1, Type: html, Deps: dep}}
	remote := []bake.Entry{page("/", "a"), asset("/feed.xml", "f", "text/xml"), page("/old/", "o"), page("/same/", "s"),
		{Path: "/deps-only/", SHA256: "d", Size: 1, Type: html}}
	write := func(es []bake.Entry) []byte {
		var buf bytes.Buffer
		m := &bake.Manifest{Entries: slices.Clone(es)}
		m.Sort()
		if err := bake.WriteManifest(&buf, m); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	dir := t.TempDir()
	writeIndex(t, dir, local...)
	idx := openIndex(t, dir)
	want, err := DiffManifests(bytes.NewReader(write(local)), bytes.NewReader(write(remote)), DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sums, _, err := idx.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every layout gives the same plan: one part, a few, one a bucket.
	for _, n := range []int{1, 4, pubformat.Buckets} {
		got, err := diffParts(ctx, indexSide{idx, sums}, listSide{sorted(remote)}, layout(n), DiffOptions{}, true)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(keysOf(want), keysOf(got)); diff != "" {
			t.Errorf("%d parts: diff of the index differs from DiffManifests (-file +index):\n%s", n, diff)
		}
	}
}

// TestApplyRefusesChangedIndex changes the build in place between the plan
// and the end of the uploads, as an incremental build does: Apply must not
// publish a manifest that claims a file it did not upload, nor delete.
func TestApplyRefusesChangedIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	buildSite(t, out, site{"/": "<p>home</p>", "/a/": "<p>a</p>", "/b/": "<p>b</p>"})
	publish(t, bucket, out, false)
	before, err := bucket.ReadAll(ctx, RootKey)
	if err != nil {
		t.Fatal(err)
	}

	buildSite(t, out, site{"/": "<p>home v2</p>", "/a/": "<p>a</p>"})
	plan, _, err := Prepare(ctx, bucket, out, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// An incremental build changes /a/ in place, after the plan.
	body := "<p>a v2</p>"
	if err := os.WriteFile(filepath.Join(out, "a", "index.html"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	idx := openIndex(t, out)
	e, ok, err := idx.Lookup(ctx, "/a/")
	if err != nil || !ok {
		t.Fatalf("lookup /a/: %v %v", ok, err)
	}
	sum := sha256.Sum256([]byte(body))
	e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(body))
	if err := idx.Apply(ctx, output.Update{Put: []output.Record{{Entry: e, Line: manifestLine(t, e)}}}); err != nil {
		t.Fatal(err)
	}

	_, err = Apply(ctx, bucket, plan, ApplyOptions{Dir: out})
	if !errors.Is(err, ErrBuildChanged) {
		t.Fatalf("Apply after the build changed: err = %v, want ErrBuildChanged", err)
	}
	if after, _ := bucket.ReadAll(ctx, RootKey); !bytes.Equal(before, after) {
		t.Error("the remote manifest was replaced")
	}
	if ok, _ := bucket.Exists(ctx, "b/index.html"); !ok {
		t.Error("b/index.html was deleted")
	}
	if ok, _ := bucket.Exists(ctx, DeletesKey); ok {
		t.Error("deletes were recorded")
	}

	// Publishing again publishes the build as it is now.
	plan = publish(t, bucket, out, false)
	if got := keysOf(plan); !slices.Contains(got.Pages, "a/index.html") || !slices.Equal(got.Deletes, []string{"b/index.html"}) {
		t.Errorf("publish after the change: %+v", got)
	}
	if got, _ := read(t, bucket, "a/index.html"); got != body {
		t.Errorf("a/index.html = %q, want %q", got, body)
	}
	if plan := publish(t, bucket, out, false); !plan.Empty() {
		t.Errorf("then nothing to do, but: %s", plan.Summary())
	}
}

// sorted returns entries sorted by path, as manifests and listings are.
func sorted(es []bake.Entry) []bake.Entry {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b bake.Entry) int { return strings.Compare(a.Path, b.Path) })
	return es
}

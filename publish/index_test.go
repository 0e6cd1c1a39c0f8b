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
	// A publish records the lines without deps (and input digests).
	var published bytes.Buffer
	if err := writePublishManifest(ctx, idx, &published); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(published.String(), "deps") {
		t.Errorf("the published manifest has deps:\n%s", published.String())
	}
	var want []string
	for _, l := range rawLines(t, manifestLines(bytes.NewReader(file.Bytes()))) {
		path, raw, _ := strings.Cut(l, " ")
		want = append(want, path+" "+string(bake.PublishLine(nil, []byte(raw))))
	}
	got := rawLines(t, indexLines(ctx, idx))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("indexLines differs from the manifest file's lines without deps (-file +index):\n%s", diff)
	}
	if diff := cmp.Diff(rawLines(t, manifestLines(bytes.NewReader(published.Bytes()))), got); diff != "" {
		t.Errorf("indexLines differs from the published manifest (-published +index):\n%s", diff)
	}

	// Against itself as the remote, every entry is unchanged; against a
	// manifest with deps (published by an older bake) too, decoded.
	for _, remote := range []*bytes.Buffer{&published, &file} {
		plan, err := diffLines(indexLines(ctx, idx), bytes.NewReader(remote.Bytes()), DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !plan.Empty() || plan.Unchanged != len(es) {
			t.Errorf("diff of the index against its own manifest: %s, %d unchanged; want nothing to do, %d unchanged", plan.Summary(), plan.Unchanged, len(es))
		}
	}
}

// TestDiffIndexMatchesDiffManifests checks the diff of an index against
// the diff of the same manifest as a file, on the table of
// TestDiffManifestsMatchesDiff.
func TestDiffIndexMatchesDiffManifests(t *testing.T) {
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
	got, err := diffLines(indexLines(ctx, idx), bytes.NewReader(write(remote)), DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keysOf(want), keysOf(got)); diff != "" {
		t.Errorf("diff of the index differs from DiffManifests (-file +index):\n%s", diff)
	}
}

// TestLineDigest checks the digest Apply computes of the manifest it
// writes against the one a plan records of the lines it was made from.
func TestLineDigest(t *testing.T) {
	const a, b = `{"path":"/","sha256":"a"}`, `{"path":"/b/","sha256":"b"}`
	plain := "{\"bake_manifest\":1}\n" + a + "\n" + b + "\n"
	tests := []struct {
		name     string
		manifest string
		same     bool
	}{
		{name: "same", manifest: plain, same: true},
		{name: "no final newline", manifest: strings.TrimSuffix(plain, "\n"), same: true},
		{name: "CRLF", manifest: strings.ReplaceAll(plain, "\n", "\r\n"), same: true},
		{name: "other header", manifest: "{\"bake_manifest\":2}\n" + a + "\n" + b + "\n", same: true},
		{name: "entry changed", manifest: "{\"bake_manifest\":1}\n" + a + "\n" + `{"path":"/b/","sha256":"c"}` + "\n"},
		{name: "entry gone", manifest: "{\"bake_manifest\":1}\n" + a + "\n"},
		{name: "lines joined", manifest: "{\"bake_manifest\":1}\n" + a + b + "\n"},
	}
	h := sha256.New()
	for _, err := range digestLines(manifestLines(strings.NewReader(plain)), h) {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := h.Sum(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{1, 7, len(tt.manifest)} { // written in pieces
				d := newLineDigest()
				for m := tt.manifest; len(m) > 0; m = m[min(size, len(m)):] {
					d.Write([]byte(m[:min(size, len(m))]))
				}
				if got := bytes.Equal(want, d.Sum()); got != tt.same {
					t.Errorf("written %d bytes at a time: same digest = %v, want %v", size, got, tt.same)
				}
			}
		})
	}
}

// TestApplyRefusesChangedIndex changes the build in place between the plan
// and the end of the uploads, as an incremental build does: Apply must not
// publish a manifest that claims a file it did not upload, nor delete.
func TestApplyRefusesChangedIndex(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	buildSite(t, out, site{"/": "<p>home</p>", "/a/": "<p>a</p>", "/b/": "<p>b</p>"})
	publish(t, bucket, out, false)
	before, err := bucket.ReadAll(ctx, ManifestKey)
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
	if after, _ := bucket.ReadAll(ctx, ManifestKey); !bytes.Equal(before, after) {
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

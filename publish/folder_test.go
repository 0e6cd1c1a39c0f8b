package publish

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
)

// Tests of what a publish killed midway leaves in a folder target (see
// folder.go), each state made by hand as fileblob leaves it.

// openFolder opens the folder dir as bake publish does: temporary files
// beside the objects, and .attrs sidecars or none.
func openFolder(t *testing.T, dir string, sidecars bool) *blob.Bucket {
	t.Helper()
	opts := &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataInSidecar}
	if !sidecars {
		opts.Metadata = fileblob.MetadataDontWrite
	}
	b, err := fileblob.OpenBucket(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// writeFile writes a file of the folder target dir by hand.
func writeFile(t *testing.T, dir, key, body string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// folderFiles returns the files of the folder target dir, by key, but for
// bake's own and the sidecars.
func folderFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, ".bake/") || strings.HasSuffix(rel, ".attrs") {
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// publishHeaders is publish with header rules stored, and the resume flag
// Prepare gives.
func publishHeaders(t *testing.T, bucket *blob.Bucket, out string) {
	t.Helper()
	ctx := context.Background()
	plan, resume, err := Prepare(ctx, bucket, out, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out, Resume: resume, HeaderRules: []byte(`{"version":1}`)}); err != nil {
		t.Fatal(err)
	}
}

// TestKilledPublishLeavesNoStalePage makes the state a publish to a folder
// with sidecars leaves when killed between fileblob's two steps of a
// write: the sidecar of the new bytes, the old bytes still in place. A
// resumed publish must send the page again, and publish --verify must see
// the old bytes, whatever the sidecar says.
func TestKilledPublishLeavesNoStalePage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v1 := site{"/": "<p>home</p>", "/a/": "<p>a v1</p>", "/b/": "<p>b v1</p>"}
	v2 := site{"/": "<p>home</p>", "/a/": "<p>a v2</p>", "/b/": "<p>b v2</p>"}
	want := map[string]string{"index.html": "<p>home</p>", "a/index.html": "<p>a v2</p>", "b/index.html": "<p>b v2</p>"}

	t.Run("resume", func(t *testing.T) {
		out, target := filepath.Join(t.TempDir(), "_site"), t.TempDir()
		bucket := openFolder(t, target, true)
		buildSite(t, out, v1)
		publish(t, bucket, out, false)
		buildSite(t, out, v2)
		// The killed publish: PublishingKey written, a/ sent whole, b/
		// with its new sidecar and its old bytes.
		plan, _, err := Prepare(ctx, bucket, out, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := bucket.WriteAll(ctx, PublishingKey, []byte("now\n"), nil); err != nil {
			t.Fatal(err)
		}
		for c, err := range plan.UploadList() {
			if err != nil {
				t.Fatal(err)
			}
			if _, err := uploadOne(ctx, bucket, dirSource{dir: out, root: mustRoot(t, out)}, c, ApplyOptions{CacheControl: DefaultCacheControl}); err != nil {
				t.Fatal(err)
			}
		}
		plan.Close()
		writeFile(t, target, "b/index.html", "<p>b v1</p>")

		publish(t, bucket, out, false)
		if diff := cmp.Diff(want, folderFiles(t, target)); diff != "" {
			t.Fatalf("after the publish that resumed the killed one (-build +target):\n%s", diff)
		}
	})

	for _, tc := range []struct {
		name   string
		key    string
		damage func(t *testing.T, target string)
	}{
		{"verify old bytes under a new sidecar", "b/index.html", func(t *testing.T, target string) {
			writeFile(t, target, "b/index.html", "<p>b v1</p>")
		}},
		{"verify an empty sidecar", "a/index.html", func(t *testing.T, target string) {
			writeFile(t, target, "a/index.html.attrs", "")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, target := filepath.Join(t.TempDir(), "_site"), t.TempDir()
			bucket := openFolder(t, target, true)
			buildSite(t, out, v2)
			publish(t, bucket, out, false)
			tc.damage(t, target)
			plan, _, err := PrepareVerify(ctx, bucket, out, DiffOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer plan.Close()
			if got := keysOf(plan).Pages; !slices.Equal(got, []string{tc.key}) {
				t.Fatalf("publish --verify plans the pages %v, want %s", got, tc.key)
			}
			if _, err := Apply(ctx, bucket, plan, ApplyOptions{Dir: out}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, folderFiles(t, target)); diff != "" {
				t.Fatalf("after publish --verify (-build +target):\n%s", diff)
			}
			if _, a := read(t, bucket, tc.key); a.ContentType != "text/html; charset=utf-8" || a.Metadata["sha256"] == "" {
				t.Errorf("%s: sidecar %+v after publish --verify rewrote it", tc.key, a)
			}
		})
	}
}

// mustRoot opens the build folder out for a dirSource.
func mustRoot(t *testing.T, out string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestPublishAfterBrokenRecord empties the sidecar of each record bake
// keeps in a folder target, as a publish killed while writing it leaves
// it (the object cannot be read through the bucket then), on top of a
// publish killed before its deletes: the next publish must still work,
// delete what was pending, and leave the target as the build.
func TestPublishAfterBrokenRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, record := range []string{RootKey, PublishingKey, DeletesKey, HeadersKey} {
		t.Run(record, func(t *testing.T) {
			out, target := filepath.Join(t.TempDir(), "_site"), t.TempDir()
			bucket := openFolder(t, target, true)
			buildSite(t, out, site{"/": "<p>home</p>", "/gone/": "<p>gone</p>"})
			publishHeaders(t, bucket, out)
			buildSite(t, out, site{"/": "<p>home v2</p>"})
			publishHeaders(t, bucket, out)
			// A publish killed after its manifest, before its deletes.
			if err := bucket.WriteAll(ctx, "gone/index.html", []byte("<p>gone</p>"), &blob.WriterOptions{Metadata: map[string]string{"sha256": "00"}}); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{PublishingKey, DeletesKey} {
				if err := bucket.WriteAll(ctx, key, []byte("gone/index.html\n"), nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(target, filepath.FromSlash(record)+".attrs"), nil, 0o644); err != nil {
				t.Fatal(err)
			}

			if rules, err := RemoteHeaderRules(ctx, bucket); err != nil {
				t.Fatalf("header rules: %v", err)
			} else if record == HeadersKey && (rules == nil || len(rules) > 0) {
				t.Fatalf("unreadable header rules read as %q, want an empty record", rules)
			}
			if ok, err := Interrupted(ctx, bucket); err != nil || !ok {
				t.Fatalf("Interrupted = %v, %v; want true", ok, err)
			}
			publishHeaders(t, bucket, out)
			if diff := cmp.Diff(map[string]string{"index.html": "<p>home v2</p>"}, folderFiles(t, target)); diff != "" {
				t.Fatalf("after the next publish (-build +target):\n%s", diff)
			}
			sameAsBuild(t, bucket, out)
			if ok, err := Interrupted(ctx, bucket); err != nil || ok {
				t.Fatalf("after the next publish, Interrupted = %v, %v; want false", ok, err)
			}
		})
	}
}

// tempFile names a temporary file of fileblob for key made at t.
func tempFile(key string, t time.Time) string {
	return key + "." + strconv.FormatInt(t.UnixNano(), 16) + ".tmp"
}

// TestPublishRemovesTempFiles leaves temporary files in a folder target as
// killed writes of fileblob do, and files that only look like them: the
// publish after the interrupted one removes the first, only for keys bake
// publishes, and Listed never shows them.
func TestPublishRemovesTempFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name       string
		sidecars   bool
		publishing bool     // the killed publish had written PublishingKey
		removed    []string // temporary files of bake's writes
		kept       []string // temporary files of other writes
		lookalikes []string // files only named like them: objects
	}{
		{
			name: "folder", publishing: true,
			removed: []string{
				tempFile("a/index.html", past),    // a page of the build
				tempFile("gone/index.html", past), // a page bake deletes
				tempFile(PublishingKey, past),
				tempFile(RootKey, past),
			},
			kept: []string{
				tempFile("notes.txt", past),      // not a key bake publishes
				tempFile("a/index.html", future), // a write running now
			},
			lookalikes: []string{"a/index.html.12ab.tmp", "a/index.html.tmp", "a/index.html.zz.tmp"}, // 12ab: 1970
		},
		{
			name: "file URL", sidecars: true, publishing: true,
			removed: []string{tempFile("a/index.html", past), tempFile(PublishingKey, past)},
			kept:    []string{tempFile("notes.txt", past)},
		},
		{
			// Killed while it wrote PublishingKey, its first write.
			name: "killed at the start", sidecars: true,
			removed: []string{tempFile(PublishingKey, past)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, target := filepath.Join(t.TempDir(), "_site"), t.TempDir()
			bucket := openFolder(t, target, tc.sidecars)
			buildSite(t, out, site{"/": "<p>home</p>", "/a/": "<p>a</p>", "/gone/": "<p>gone</p>"})
			publish(t, bucket, out, false)
			buildSite(t, out, site{"/": "<p>home</p>", "/a/": "<p>a v2</p>"})
			if tc.publishing {
				if err := bucket.WriteAll(ctx, PublishingKey, []byte("now\n"), nil); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range slices.Concat(tc.removed, tc.kept, tc.lookalikes) {
				writeFile(t, target, name, "partial")
			}

			listed, err := Listed(ctx, bucket)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range listed {
				got = append(got, e.Path)
			}
			want := []string{"/", "/a/", "/gone/"}
			for _, name := range tc.lookalikes {
				want = append(want, bake.PathOf(name))
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Listed (-want +got):\n%s", diff)
			}
			if ok, err := Interrupted(ctx, bucket); err != nil || !ok {
				t.Errorf("Interrupted = %v, %v; want true", ok, err)
			}

			publish(t, bucket, out, false)
			for _, name := range tc.removed {
				if _, err := os.Stat(filepath.Join(target, filepath.FromSlash(name))); err == nil {
					t.Errorf("%s left after the publish that followed the interrupted one", name)
				}
			}
			for _, name := range tc.kept {
				if _, err := os.Stat(filepath.Join(target, filepath.FromSlash(name))); err != nil {
					t.Errorf("%s: %v; bake removed a file it did not write", name, err)
				}
			}
		})
	}
}

// TestListedSkipsBakeFolder: what the bucket holds is listed at every
// depth, but for bake's own folder (.bake/, where a distributed build
// stages a file an object), on S3 (memblob) and on a folder.
func TestListedSkipsBakeFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, bucket := range map[string]*blob.Bucket{"memblob": memblob.OpenBucket(nil), "folder": openFolder(t, t.TempDir(), true)} {
		defer bucket.Close()
		for _, key := range []string{"index.html", "a/index.html", "a/b/c/index.html", "z.css",
			".bake/staged/0123.abcd", ".bake/parts/p1", ".bake/manifest.json"} {
			if err := bucket.WriteAll(ctx, key, []byte(key), nil); err != nil {
				t.Fatal(err)
			}
		}
		listed, err := Listed(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range listed {
			got = append(got, e.Path)
		}
		if diff := cmp.Diff([]string{"/", "/a/", "/a/b/c/", "/z.css"}, got); diff != "" {
			t.Errorf("%s: Listed (-want +got):\n%s", name, diff)
		}
	}
}

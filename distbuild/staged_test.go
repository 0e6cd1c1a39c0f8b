package distbuild_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/distbuild"
	"github.com/bakehq/bake/publish"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// TestStagedRollbackSource checks what a rollback reads from the files a
// distributed build staged: the file as it is, or its published form
// decoded; a file of which only a sibling is staged counts as missing.
func TestStagedRollbackSource(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	raw := []byte("<!doctype html><p>raw</p>")
	formed := bytes.Repeat([]byte("<p>formed</p>"), 200)
	sibOnly := []byte("only a sibling of me")
	absent := []byte("never staged")
	write := func(key string, data []byte, wo *blob.WriterOptions) {
		t.Helper()
		if err := bucket.WriteAll(ctx, key, data, wo); err != nil {
			t.Fatal(err)
		}
	}
	write(distbuild.StagedKey(sum(raw)), raw, nil)
	// A published form: gzip, as a publish to S3 stores it.
	c := publish.Change{Key: "f/index.html", Entry: bake.Entry{Path: "/f/", SHA256: sum(formed), Size: int64(len(formed)), Type: "text/html; charset=utf-8"}}
	body, wo, err := publish.Published(c, formed, nil, publish.FormOptions{Compress: true})
	if err != nil || wo.ContentEncoding != "gzip" {
		t.Fatalf("published form: %q, %v", wo.ContentEncoding, err)
	}
	st := distbuild.Staged{Ctx: ctx, Bucket: bucket, Workers: 4}
	write(st.Staged(c, wo), body, wo)
	write(distbuild.StagedKey(sum(sibOnly))+"-0a1b2c3d.gz", []byte("x"), nil)

	missing, err := st.Missing(ctx, []string{sum(raw), sum(formed), sum(sibOnly), sum(absent)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{sum(sibOnly), sum(absent)}
	slices.Sort(want)
	if diff := cmp.Diff(want, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	for _, f := range []struct {
		key  string
		data []byte
	}{{"raw.html", raw}, {"f/index.html", formed}} {
		got, err := st.File(f.key, bake.Entry{SHA256: sum(f.data), Size: int64(len(f.data))})
		if err != nil || !bytes.Equal(got, f.data) {
			t.Errorf("File(%s) = %.30q, %v; want %.30q", f.key, got, err, f.data)
		}
	}
	if _, err := st.File("gone.html", bake.Entry{SHA256: sum(absent)}); err == nil {
		t.Error("File of a file never staged: no error")
	}

	// Copy: the staged form to its key, server-side; a form not staged is
	// returned for the publish to upload.
	copies := func(yield func(publish.StagedCopy, error) bool) {
		if yield(publish.StagedCopy{From: st.Staged(c, wo), To: c.Key}, nil) {
			yield(publish.StagedCopy{From: distbuild.StagedKey(sum(absent)) + ".00", To: "gone.html"}, nil)
		}
	}
	missed, err := st.Copy(ctx, copies)
	if err != nil || !slices.Equal(missed, []string{"gone.html"}) {
		t.Errorf("Copy: missing %q, %v; want [gone.html]", missed, err)
	}
	a, err := bucket.Attributes(ctx, c.Key)
	if err != nil || a.ContentEncoding != "gzip" || a.ContentType != wo.ContentType {
		t.Errorf("copied object: %+v, %v", a, err)
	}
}

package publish

import (
	"context"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/output"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// stagingCopier is a Copier over forms staged under "staged/" of the
// bucket, as the workers of a distributed build stage them.
type stagingCopier struct {
	bucket *blob.Bucket
	copied int
}

func (s *stagingCopier) Staged(c Change, wo *blob.WriterOptions) string {
	return "staged/" + c.Entry.SHA256 + "." + FormDigest(wo)
}

func (s *stagingCopier) Copy(ctx context.Context, copies iter.Seq2[StagedCopy, error]) ([]string, error) {
	var missing []string
	for c, err := range copies {
		if err != nil {
			return nil, err
		}
		if err := s.bucket.Copy(ctx, c.To, c.From, nil); err != nil {
			if strings.Contains(err.Error(), "not found") {
				missing = append(missing, c.To)
				continue
			}
			return nil, err
		}
		s.copied++
	}
	return missing, nil
}

// objects returns every object of bucket, bytes and headers, but the
// release records and those under skip.
func objects(t *testing.T, bucket *blob.Bucket, skip string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for obj, err := range listAll(context.Background(), bucket, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(obj.Key, skip) || strings.HasPrefix(obj.Key, bake.ReservedDir+"/releases/") {
			continue
		}
		data, a := read(t, bucket, obj.Key)
		out[obj.Key] = strings.Join([]string{a.ContentType, a.CacheControl, a.ContentEncoding, a.Metadata["sha256"], a.Metadata["redirect"], a.Metadata[encMeta], data}, "|")
	}
	return out
}

// TestCopyStagedForms: files staged in their published form (Published)
// and copied to their keys (ApplyOptions.Copy) leave the bucket as an
// upload of every file does, byte for byte and header for header, with
// either coding; a file whose form was not staged is uploaded.
func TestCopyStagedForms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	big := "<p>" + strings.Repeat("flat files are fast ", 200) + "</p>"
	css := strings.Repeat("body { color: red }\n", 100)
	buildPrecompressed(t, out, site{"/": big, "/a/": big + "a", "/b/": big + "b", "/app.3f9a2c1d4e.css": css, "/small/": "<p>s</p>"})
	for _, enc := range []string{"", "br"} {
		t.Run("encoding "+enc, func(t *testing.T) {
			ref, dist := memblob.OpenBucket(nil), memblob.OpenBucket(nil)
			opts := func() ApplyOptions { return ApplyOptions{Dir: out, Compress: true, Encoding: enc} }
			plan, _, err := Prepare(ctx, ref, out, DiffOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(ctx, ref, plan, opts()); err != nil {
				t.Fatal(err)
			}
			plan.Close()

			// The workers' part: every file but /b/ staged in its form.
			idx, err := output.OpenIndex(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			defer idx.Close()
			fo := opts().form()
			for e, err := range idx.Entries(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if e.Path == "/b/" {
					continue
				}
				key, pe, err := PlanEntry(e)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := os.ReadFile(filepath.Join(out, key))
				if err != nil {
					t.Fatal(err)
				}
				sibling := func(cd string) ([]byte, bool) {
					b, err := os.ReadFile(filepath.Join(out, key+precompress.Ext(cd)))
					return b, err == nil
				}
				body, wo, err := Published(Change{Key: key, Entry: pe}, raw, sibling, fo)
				if err != nil {
					t.Fatal(err)
				}
				if err := dist.WriteAll(ctx, "staged/"+e.SHA256+"."+FormDigest(wo), body, wo); err != nil {
					t.Fatal(err)
				}
			}

			plan, _, err = Prepare(ctx, dist, out, DiffOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer plan.Close()
			c := &stagingCopier{bucket: dist}
			o := opts()
			o.Copy = c
			res, err := Apply(ctx, dist, plan, o)
			if err != nil {
				t.Fatal(err)
			}
			if want := plan.Uploads() - 1; c.copied != want || res.Copied != want || res.Uploaded != plan.Uploads() {
				t.Errorf("copied %d (result %d) of %d uploads, want all but /b/", c.copied, res.Copied, res.Uploaded)
			}
			if diff := cmp.Diff(objects(t, ref, "staged/"), objects(t, dist, "staged/")); diff != "" {
				t.Errorf("copied (-uploaded +copied):\n%s", diff)
			}
		})
	}
}

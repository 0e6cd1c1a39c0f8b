package build

import (
	"context"
	"errors"
	"io"
	"iter"
	"os"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake"
)

// updateSite is a bake.Updater whose Update yields the pages it is given.
type updateSite struct {
	fakeSite
	update []*bake.Page
}

func (s *updateSite) Update(ctx context.Context, prev bake.Index, changes []bake.Change) iter.Seq2[*bake.Page, error] {
	return func(yield func(*bake.Page, error) bool) {
		for _, p := range s.update {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func (s *updateSite) State() map[string]string { return nil }

// TestUpdateSkipsSameDigest checks that an incremental build does not
// render a page whose input digest is the one the last build recorded, and
// renders it when the digest differs.
func TestUpdateSkipsSameDigest(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	site := &updateSite{fakeSite: fakeSite{pages: []*bake.Page{
		{Path: "/a/", Digest: "d1", Render: text("<p>a</p>")},
		{Path: "/b/", Digest: "d1", Render: text("<p>b</p>")},
	}}}
	if _, err := Build(ctx, site, Options{Output: out}); err != nil {
		t.Fatal(err)
	}
	mustNotRender := func(context.Context, io.Writer) error {
		return errors.New("rendered a page whose inputs had not changed")
	}
	site.update = []*bake.Page{
		{Path: "/a/", Digest: "d1", Render: mustNotRender},
		{Path: "/b/", Digest: "d2", Render: text("<p>b v2</p>")},
	}
	rep, err := Update(ctx, site, nil, Options{Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped != 1 || rep.Rendered != 1 || rep.Written != 1 {
		t.Errorf("skipped %d, rendered %d, written %d; want 1, 1, 1", rep.Skipped, rep.Rendered, rep.Written)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "b", "index.html")); string(b) != "<p>b v2</p>" {
		t.Errorf("b = %q", b)
	}
	m := readManifest(t, out)
	for path, want := range map[string]string{"/a/": "d1", "/b/": "d2"} {
		if e, ok := m.Lookup(path); !ok || e.Digest != want {
			t.Errorf("%s: digest %q in the manifest, want %q", path, e.Digest, want)
		}
	}
	// A page without a digest is always rendered.
	site.update = []*bake.Page{{Path: "/a/", Render: text("<p>a</p>")}}
	if rep, err = Update(ctx, site, nil, Options{Output: out}); err != nil || rep.Rendered != 1 || rep.Skipped != 0 {
		t.Errorf("page without a digest: rendered %d, skipped %d, %v", rep.Rendered, rep.Skipped, err)
	}
}

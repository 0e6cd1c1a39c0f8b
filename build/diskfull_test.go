package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/bakehq/bake"
)

// TestBuildStopsOnFullDisk: a write that fails because the disk is full
// (over quota, read-only) would fail on every page: the build stops at the
// first and reports one problem that names the folder and what to do, not
// one "no space left on device" a page.
func TestBuildStopsOnFullDisk(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		want  string
	}{
		{syscall.ENOSPC, "the disk holding %s is full (write /pages/0: no space left on device): free some space on it"},
		{syscall.EDQUOT, "the disk quota for %s is used up (write /pages/0: disk quota exceeded)"},
		{syscall.EROFS, "%s is on a read-only file system (write /pages/0: read-only file system)"},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "_site")
			var renders atomic.Int64
			site := &fakeSite{}
			for i := range 126 {
				site.pages = append(site.pages, &bake.Page{Path: fmt.Sprintf("/p%d/", i), Route: "item", Key: fmt.Sprint(i),
					Render: func(ctx context.Context, w io.Writer) error {
						renders.Add(1)
						// A page that writes a file of its own as it renders
						// (an image, a fragment) meets the full disk first.
						return &fs.PathError{Op: "write", Path: "/pages/0", Err: tc.errno}
					}})
			}
			rep, err := Build(context.Background(), site, Options{Output: out, Workers: 2})
			if !errors.Is(err, ErrProblems) {
				t.Fatalf("err = %v, want ErrProblems", err)
			}
			if len(rep.Problems) != 1 {
				t.Fatalf("%d problems, want 1; the first: %v", len(rep.Problems), rep.Problems[0])
			}
			p := rep.Problems[0]
			if want := fmt.Sprintf(tc.want, out); !strings.Contains(p.Error(), want) {
				t.Errorf("problem = %v\nwant it to contain %s", p, want)
			}
			if !errors.Is(p, tc.errno) {
				t.Errorf("problem %v does not wrap %v", p, tc.errno)
			}
			if n := renders.Load(); n > 10 {
				t.Errorf("%d pages rendered after the disk was full; want the build stopped", n)
			}
			if !strings.Contains(err.Error(), "1 problem;") {
				t.Errorf("err = %v; want 1 problem", err)
			}
		})
	}
}

// fullDisk is a build folder on a full disk.
type fullDisk struct{}

func (fullDisk) WriteFile(name string, data []byte) error {
	return fmt.Errorf("write %s: %w", name, &fs.PathError{Op: "open", Path: "/srv/_site/.new/" + name, Err: syscall.ENOSPC})
}

// TestWorkerFullDisk: page writes that fail with ENOSPC make one problem
// between them, and stop the build.
func TestWorkerFullDisk(t *testing.T) {
	probs := problemList{dir: "/srv/_site"}
	w := &worker{stage: fullDisk{}, progress: &Progress{}, routes: map[string]*RouteReport{}, problem: probs.add}
	for i := range 126 {
		w.do(context.Background(), &bake.Page{Path: fmt.Sprintf("/p%d/", i), Route: "item", Render: text("page")})
	}
	if !probs.stopped() {
		t.Error("the build goes on")
	}
	if len(probs.list) != 1 {
		t.Fatalf("%d problems, want 1: %v", len(probs.list), probs.list)
	}
	want := "the disk holding /srv/_site is full (write p0/index.html: open /srv/_site/.new/p0/index.html: no space left on device): free some space on it, or build to a folder on another disk, then build again; the build stopped at its first failed write"
	if got := probs.list[0].Error(); got != want {
		t.Errorf("problem:\n got %s\nwant %s", got, want)
	}
}

// TestUpdateStopsOnFullDisk: an incremental build stops at the first write
// the full disk refuses too, with one problem.
func TestUpdateStopsOnFullDisk(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "_site")
	site := &updateSite{fakeSite: fakeSite{pages: []*bake.Page{{Path: "/", Render: text("home")}}}}
	if _, err := Build(ctx, site, Options{Output: out}); err != nil {
		t.Fatal(err)
	}
	var renders atomic.Int64
	for i := range 126 {
		site.update = append(site.update, &bake.Page{Path: fmt.Sprintf("/p%d/", i), Route: "item",
			Render: func(ctx context.Context, w io.Writer) error {
				renders.Add(1)
				return &fs.PathError{Op: "write", Path: "/pages/0", Err: syscall.ENOSPC}
			}})
	}
	rep, err := Update(ctx, site, nil, Options{Output: out, Workers: 2})
	if !errors.Is(err, ErrProblems) {
		t.Fatalf("err = %v, want ErrProblems", err)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error(), "the disk holding "+out+" is full") {
		t.Fatalf("%d problems, want 1 of a full disk; the first: %v", len(rep.Problems), rep.Problems[0])
	}
	if n := renders.Load(); n > 10 {
		t.Errorf("%d pages rendered after the disk was full; want the build stopped", n)
	}
}

package output

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/bakehq/bake"
)

// TestInPlace replaces files, adds files in new folders (more folders
// than the descriptor cache holds, on several goroutines), removes one,
// and checks the bytes on disk and that nothing is left staged.
func TestInPlace(t *testing.T) {
	final := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(final, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "old home")
	write("items/page/2/index.html", "old page 2")
	write("items/gone/index.html", "gone")
	markBuild(t, final)

	u, err := OpenInPlace(final)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"index.html": "new home", "items/page/2/index.html": "new page 2"}
	for i := range 600 {
		want[fmt.Sprintf("items/new-%d/index.html", i)] = fmt.Sprintf("item %d", i)
	}
	for name, data := range want {
		if err := u.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing is visible before Commit.
	if b, _ := os.ReadFile(filepath.Join(final, "index.html")); string(b) != "old home" {
		t.Fatalf("before Commit, index.html is %q", b)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := u.Remove("items/gone/index.html"); err != nil {
		t.Fatal(err)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	for name, data := range want {
		b, err := os.ReadFile(filepath.Join(final, filepath.FromSlash(name)))
		if err != nil || string(b) != data {
			t.Errorf("%s: got %q, %v; want %q", name, b, err, data)
		}
	}
	if _, err := os.Stat(filepath.Join(final, "items", "gone")); !os.IsNotExist(err) {
		t.Errorf("the folder of a removed page is still there: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(final, bake.ReservedDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != path.Base(IndexFile) {
		t.Errorf("left in %s: %v, want only the index", bake.ReservedDir, entries)
	}
}

// TestInPlaceStaysInside: a folder of the build that is a link to a
// folder outside it gets no file, on the fast path or the portable one.
func TestInPlaceStaysInside(t *testing.T) {
	final, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(final, "items")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	markBuild(t, final)
	u, err := OpenInPlace(final)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := u.WriteFile("items/x/index.html", []byte("escaped")); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err == nil {
		t.Error("Commit through a link out of the build succeeded")
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 0 {
		t.Errorf("written outside the build: %v", entries)
	}
}

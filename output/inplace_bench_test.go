package output

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// BenchmarkInPlaceShiftedLists is the least an insert at the top of the
// benchmark's list costs at N = 100,000 (BENCHMARKS.md): every page of the
// list, 1,898 files of 22.7 KB each, changes by one row, and each must be
// hashed (SHA-256, for the manifest), staged and renamed into place, on
// two workers as a build does; no reading, rendering or indexing. Set
// BAKE_BENCH_DIR to a tmpfs folder to leave the disk out.
func BenchmarkInPlaceShiftedLists(b *testing.B) {
	const files, size, workers = 1898, 22672, 2
	parent := os.Getenv("BAKE_BENCH_DIR")
	if parent == "" {
		parent = b.TempDir()
	}
	final, err := os.MkdirTemp(parent, "shift-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(final)
	pages := make([][]byte, files)
	for i := range pages {
		pages[i] = make([]byte, size)
		for j := range pages[i] {
			pages[i][j] = byte('a' + (i+j)%26)
		}
		name := filepath.Join(final, "items", "page", fmt.Sprint(i+1), "index.html")
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name, pages[i], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	markBuild(b, final)
	b.SetBytes(files * size)
	for b.Loop() {
		u, err := OpenInPlace(final)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < files; i += workers {
					sha256.Sum256(pages[i])
					if err := u.WriteFile(fmt.Sprintf("items/page/%d/index.html", i+1), pages[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err := u.Commit(); err != nil {
			b.Fatal(err)
		}
		if err := u.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

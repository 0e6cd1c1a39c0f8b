//go:build unix

package output

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the first size bytes of f read-only, or returns nil.
func mapFile(f *os.File, size int) []byte {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

func unmapFile(b []byte) { unix.Munmap(b) }

// mapPath maps the whole file at p read-only, or returns nil (no file, an
// empty one, or no mapping).
func mapPath(p string) []byte {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close() // the mapping outlives it
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil
	}
	return mapFile(f, int(fi.Size()))
}

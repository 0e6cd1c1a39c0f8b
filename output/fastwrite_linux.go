package output

import (
	"errors"
	"os"
	"path"
	"sync"

	"golang.org/x/sys/unix"
)

// fastWriter writes files with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)
// relative to cached folder descriptors: the kernel keeps every path inside
// the staging folder, in four system calls a file (mkdirat, openat2, write,
// close) where walking the path through os.Root takes about eleven.
type fastWriter struct {
	root *os.File
	mu   sync.Mutex
	dirs map[string]int // folder → open descriptor, never closed before close()
}

const (
	resolveConfined = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS
	maxCachedDirs   = 256
)

func newFastWriter(dir string) *fastWriter {
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	// Probe once: kernels before 5.6 have no openat2.
	fd, err := unix.Openat2(int(f.Fd()), ".", &unix.OpenHow{Flags: unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC, Resolve: resolveConfined})
	if err != nil {
		f.Close()
		return nil
	}
	unix.Close(fd)
	return &fastWriter{root: f, dirs: map[string]int{}}
}

// dirFD returns a descriptor for folder dir and whether the caller must close it.
func (w *fastWriter) dirFD(dir string) (int, bool, error) {
	if dir == "." {
		return int(w.root.Fd()), false, nil
	}
	w.mu.Lock()
	fd, ok := w.dirs[dir]
	w.mu.Unlock()
	if ok {
		return fd, false, nil
	}
	fd, err := unix.Openat2(int(w.root.Fd()), dir, &unix.OpenHow{Flags: unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC, Resolve: resolveConfined})
	if err != nil {
		return -1, false, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.dirs[dir]; ok {
		unix.Close(fd)
		return old, false, nil
	}
	if len(w.dirs) >= maxCachedDirs {
		return fd, true, nil
	}
	w.dirs[dir] = fd
	return fd, false, nil
}

// write writes data to name; it reports false when the caller should use
// the portable path instead (a folder that does not exist yet, say).
func (w *fastWriter) write(name string, data []byte) (bool, error) {
	dir := path.Dir(name)
	parent, leaf := path.Dir(dir), path.Base(dir)
	rel := path.Base(name)
	fd := int(w.root.Fd())
	if dir != "." {
		pfd, closeIt, err := w.dirFD(parent)
		if err != nil {
			return false, nil
		}
		if closeIt {
			defer unix.Close(pfd)
		}
		if err := unix.Mkdirat(pfd, leaf, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return false, nil
		}
		fd, rel = pfd, leaf+"/"+rel
	}
	f, err := unix.Openat2(fd, rel, &unix.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC | unix.O_CLOEXEC, Mode: 0o644, Resolve: resolveConfined})
	if err != nil {
		return false, nil
	}
	return true, writeAll(f, name, data)
}

// writeAll writes data to the open file f, named name in errors, and
// closes it.
func writeAll(f int, name string, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(f, data)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			unix.Close(f)
			return &os.PathError{Op: "write", Path: name, Err: err}
		}
		data = data[n:]
	}
	if err := unix.Close(f); err != nil {
		return &os.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}

func (w *fastWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, fd := range w.dirs {
		unix.Close(fd)
	}
	w.dirs = nil
	w.root.Close()
}

// writeIn writes data to the file leaf of the existing folder dir (no
// mkdirat: an in-place update's temporary folder); false when the caller
// should use the portable path.
func (w *fastWriter) writeIn(dir, leaf string, data []byte) (bool, error) {
	fd, closeIt, err := w.dirFD(dir)
	if err != nil {
		return false, nil
	}
	if closeIt {
		defer unix.Close(fd)
	}
	f, err := unix.Openat2(fd, leaf, &unix.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC | unix.O_CLOEXEC, Mode: 0o644, Resolve: resolveConfined})
	if err != nil {
		return false, nil
	}
	return true, writeAll(f, dir+"/"+leaf, data)
}

// rename moves the file from (slash-separated, in the root) to to, whose
// folder must exist; false when the caller should use the portable path
// (the folder does not exist, say). The folders are opened confined to
// the root; renameat replaces a link at the last name without following it.
func (w *fastWriter) rename(from, to string) (bool, error) {
	src, closeSrc, err := w.dirFD(path.Dir(from))
	if err != nil {
		return false, nil
	}
	if closeSrc {
		defer unix.Close(src)
	}
	dst, closeDst, err := w.dirFD(path.Dir(to))
	if err != nil {
		return false, nil
	}
	if closeDst {
		defer unix.Close(dst)
	}
	if err := unix.Renameat(src, path.Base(from), dst, path.Base(to)); err != nil {
		return false, nil
	}
	return true, nil
}

// openBeneath opens name, a slash-separated path inside the folder dir
// has open, for reading, in one openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)
// where os.Root takes eight system calls a component; ok is false when
// the kernel cannot (then use os.Root).
func openBeneath(dir *os.File, name string) (f *os.File, ok bool, err error) {
	fd, err := unix.Openat2(int(dir.Fd()), name, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: resolveConfined})
	switch {
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		return nil, false, nil
	case err != nil:
		return nil, true, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), true, nil
}

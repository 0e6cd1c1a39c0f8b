//go:build unix

package output

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

type lockFile struct{ f *os.File }

// acquire takes an exclusive lock on the build folder final, failing at
// once if another process holds it. The lock is a flock on the file
// .BASE.lock beside the folder (the folder itself is swapped by a full
// build, so it cannot hold the lock; its parent may hold other sites'
// build folders, which must build at the same time). The file is removed
// on release, so none is left behind while no build runs: a process that
// locked a file which the holder unlinked before it could (its inode is no
// longer the file at the path) tries again.
func acquire(parent, final string) (*lockFile, error) {
	name := lockName(parent, final)
	for range 100 {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", final, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("another bake build is writing %s (it holds %s); wait for it to finish", final, name)
			}
			return nil, fmt.Errorf("lock %s: %w", final, err)
		}
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", final, err)
		}
		if now, err := os.Stat(name); err == nil && os.SameFile(held, now) {
			return &lockFile{f: f}, nil
		}
		f.Close() // the holder removed it as we opened it: lock the new one
	}
	return nil, fmt.Errorf("lock %s: %s keeps being replaced", final, name)
}

func (l *lockFile) release() {
	if l != nil && l.f != nil {
		os.Remove(l.f.Name()) // while holding the lock (see acquire)
		syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
		l.f = nil
	}
}

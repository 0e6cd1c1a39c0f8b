//go:build unix

package output

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

type lockFile struct{ f *os.File }

// acquire takes an exclusive lock on the folder that holds the build
// folder (flock on the folder itself, so no lock file is left behind),
// failing at once if another process holds it.
func acquire(parent, final string) (*lockFile, error) {
	f, err := os.Open(parent)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another bake build is writing %s; wait for it to finish", final)
		}
		return nil, fmt.Errorf("lock %s: %w", parent, err)
	}
	return &lockFile{f: f}, nil
}

func (l *lockFile) release() {
	if l != nil && l.f != nil {
		syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
		l.f = nil
	}
}

package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bakehq/bake"
)

// InPlace is an incremental update of a live build folder: new files are
// written into a temporary folder inside it, then [InPlace.Commit] renames
// each into place (each file is replaced atomically: a reader sees the old
// bytes or the new, never a mix) and [InPlace.Remove] deletes files. It
// holds the same lock as a full build. WriteFile is safe for concurrent use.
type InPlace struct {
	final string
	root  *os.Root
	lock  *lockFile
	tmp   string // slash-separated, inside root
	n     atomic.Int64
	done  bool

	mu     sync.Mutex
	staged map[string]string // final name → temporary name
}

// tmpPrefix names the temporary folders of in-place updates.
const tmpPrefix = bake.ReservedDir + "/tmp-"

// OpenInPlace starts an incremental update of the build folder final, which
// must exist. It removes what a killed update left in the temporary folder.
func OpenInPlace(final string) (*InPlace, error) {
	final, err := filepath.Abs(final)
	if err != nil {
		return nil, fmt.Errorf("open build: %w", err)
	}
	parent, _ := filepath.Split(final)
	lock, err := acquire(parent, final)
	if err != nil {
		return nil, fmt.Errorf("open build: %w", err)
	}
	root, err := os.OpenRoot(final)
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("open build: %w", err)
	}
	if entries, err := root.FS().(fs.ReadDirFS).ReadDir(bake.ReservedDir); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(bake.ReservedDir+"/"+e.Name(), tmpPrefix) {
				root.RemoveAll(bake.ReservedDir + "/" + e.Name())
			}
		}
	}
	tmp := tmpPrefix + randomSuffix()
	if err := root.MkdirAll(tmp, 0o755); err != nil {
		root.Close()
		lock.release()
		return nil, fmt.Errorf("open build: %w", err)
	}
	return &InPlace{final: final, root: root, lock: lock, tmp: tmp, staged: map[string]string{}}, nil
}

// Dir returns the build folder.
func (u *InPlace) Dir() string { return u.final }

// WriteFile stages data as the new content of name, a slash-separated path
// inside the build (as returned by bake.FileName). Nothing is visible until
// Commit.
func (u *InPlace) WriteFile(name string, data []byte) error {
	t := u.tmp + "/" + strconv.FormatInt(u.n.Add(1), 10)
	if err := u.root.WriteFile(t, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	u.mu.Lock()
	u.staged[name] = t
	u.mu.Unlock()
	return nil
}

// Commit moves every staged file into place.
func (u *InPlace) Commit() error {
	for name, t := range u.staged {
		if dir := path.Dir(name); dir != "." {
			if err := u.root.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
		}
		if err := u.root.Rename(t, name); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		delete(u.staged, name)
	}
	return nil
}

// Remove deletes the file name and the folders it leaves empty. A file that
// is already gone is not an error.
func (u *InPlace) Remove(name string) error {
	if err := u.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if u.root.Remove(dir) != nil { // not empty, or gone
			break
		}
	}
	return nil
}

// Close ends the update: staged files not committed are thrown away and the
// lock is released.
func (u *InPlace) Close() error {
	if u.done {
		return nil
	}
	u.done = true
	defer u.lock.release()
	err := u.root.RemoveAll(u.tmp)
	u.root.Close()
	if err != nil {
		return fmt.Errorf("close build: %w", err)
	}
	return nil
}

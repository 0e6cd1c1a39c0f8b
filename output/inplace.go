package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
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
	tmp   string      // slash-separated, inside root
	fast  *fastWriter // nil where the kernel has no openat2
	n     atomic.Int64
	done  bool

	mu     sync.Mutex
	staged map[string]string // final name → temporary name

	pending bool // the folder had the pending marker when opened
}

// pendingFile marks a build folder whose files an update moved into place
// before its index recorded them (see [InPlace.MarkPending]).
const pendingFile = bake.ReservedDir + "/update-pending"

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
	if !IsBuild(final) {
		lock.release()
		return nil, fmt.Errorf("open build: %s is not a bake build (it has no %s); run a full build first", final, IndexFile)
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
	_, err = root.Stat(pendingFile)
	return &InPlace{final: final, root: root, lock: lock, tmp: tmp, fast: newFastWriter(final), staged: map[string]string{},
		pending: err == nil}, nil
}

// Pending reports whether an earlier update moved files into place and
// stopped before its index recorded them (killed, or its index commit
// failed): some files may then be newer than their index entries, until
// an update (which replays its changes) has written them again.
func (u *InPlace) Pending() bool { return u.pending }

// MarkPending marks the folder, before Commit, as holding files its index
// may not know yet; ClearPending removes the mark once the index has them.
func (u *InPlace) MarkPending() error {
	if err := u.root.WriteFile(pendingFile, []byte("files moved before the index was committed\n"), 0o644); err != nil {
		return fmt.Errorf("mark build: %w", err)
	}
	return nil
}

// ClearPending removes the mark of MarkPending.
func (u *InPlace) ClearPending() error {
	if err := u.root.Remove(pendingFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mark build: %w", err)
	}
	return nil
}

// Dir returns the build folder.
func (u *InPlace) Dir() string { return u.final }

// WriteFile stages data as the new content of name, a slash-separated path
// inside the build (as returned by bake.FileName). Nothing is visible until
// Commit.
func (u *InPlace) WriteFile(name string, data []byte) error {
	leaf := strconv.FormatInt(u.n.Add(1), 10)
	t := u.tmp + "/" + leaf
	done, err := false, error(nil)
	if u.fast != nil {
		done, err = u.fast.writeIn(u.tmp, leaf, data)
	}
	if !done {
		err = u.root.WriteFile(t, data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	u.mu.Lock()
	u.staged[name] = t
	u.mu.Unlock()
	return nil
}

// Commit moves every staged file into place, on as many goroutines as
// there are CPUs: each file is replaced atomically, in no particular order.
func (u *InPlace) Commit() error {
	type move struct{ name, tmp string }
	moves := make([]move, 0, len(u.staged))
	for name, t := range u.staged {
		moves = append(moves, move{name, t})
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), max(1, len(moves)/64)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(moves) {
					return
				}
				m := moves[i]
				err := u.rename(m.tmp, m.name)
				mu.Lock()
				if err == nil {
					delete(u.staged, m.name)
				} else if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					next.Store(int64(len(moves))) // the others stop too
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// rename moves the staged file t to name, making name's folder if needed.
func (u *InPlace) rename(t, name string) error {
	if u.fast != nil {
		if done, err := u.fast.rename(t, name); done || err != nil {
			return err
		}
	}
	if dir := path.Dir(name); dir != "." {
		if err := u.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := u.root.Rename(t, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
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
	if u.fast != nil {
		u.fast.close()
	}
	u.root.Close()
	if err != nil {
		return fmt.Errorf("close build: %w", err)
	}
	return nil
}

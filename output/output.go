// Package output owns the build folder: a full build is written into a
// staging folder beside the live one and swapped in atomically, so that a
// failed or killed build leaves the previous build whole. Every write goes
// through an [os.Root], so no page path can reach outside the folder.
package output

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bakehq/bake"
)

// Staging is a full build being written. Create it with [Begin], write files
// with [Staging.WriteFile], then [Staging.Commit] to swap it in or
// [Staging.Abort] to throw it away. WriteFile is safe for concurrent use.
type Staging struct {
	final string // the live build folder
	dir   string // the staging folder
	root  *os.Root
	lock  *lockFile
	done  bool

	fast      *fastWriter   // nil where the kernel has no openat2
	cleaned   chan struct{} // closed when leftovers of earlier builds are removed
	leftovers []string      // what Begin found of earlier builds
	old       string        // where Commit put the previous build
}

// Replaced returns the folders left to remove after Commit: the previous
// build and what earlier builds left, which Begin started removing in the
// background (some may be gone already). A caller that hands them to
// another process, so as to return as soon as the new build is live, need
// not call Wait or RemoveOld; the folders are named as [IsLeftover]
// expects.
func (s *Staging) Replaced() []string {
	out := slices.Clone(s.leftovers)
	if s.old != "" {
		out = append(out, s.old)
	}
	return out
}

// IsLeftover reports whether path names a folder that a build of output
// folder final made beside it and left to remove: a staging folder or a
// replaced build. It guards a removal handed to another process, so that
// only such folders can be removed: path must be clean (no "..", which a
// symbolic link could send elsewhere).
func IsLeftover(final, path string) bool {
	final, err := filepath.Abs(final)
	if err != nil {
		return false
	}
	parent, base := filepath.Split(final)
	dir, name := filepath.Split(path)
	return filepath.Clean(path) == path && filepath.Clean(dir) == filepath.Clean(parent) && isLeftoverName(base, name)
}

// isLeftoverName reports whether name is that of a staging folder
// (.BASE.new-HEX) or a replaced build (.BASE.old-HEX) of output folder
// base, as Begin and Commit name them: nothing else beside the output
// folder is ever removed.
func isLeftoverName(base, name string) bool {
	rest, ok := strings.CutPrefix(name, "."+base+".")
	if !ok {
		return false
	}
	hex, ok := strings.CutPrefix(rest, "new-")
	if !ok {
		hex, ok = strings.CutPrefix(rest, "old-")
	}
	return ok && len(hex) == 12 && strings.Trim(hex, "0123456789abcdef") == ""
}

// RemoveOld deletes the previous build that Commit replaced. It is optional:
// the next build removes it in the background otherwise.
func (s *Staging) RemoveOld() error {
	if s.old == "" {
		return nil
	}
	if err := os.RemoveAll(s.old); err != nil {
		return fmt.Errorf("remove previous build: %w", err)
	}
	s.old = ""
	return nil
}

// Wait blocks until the leftovers of earlier builds are removed. Commit and
// Abort do not wait; a caller about to exit should (or the next build
// finishes the job).
func (s *Staging) Wait() { <-s.cleaned }

// Begin starts a full build of the folder final. It takes a lock so that two
// builds of the same folder cannot run at once, removes what a crashed build
// left behind, and creates an empty staging folder beside final.
//
// Commit replaces final whole and the replaced folder is deleted, so final
// must be a folder that bake made ([IsBuild]), an empty folder, or missing:
// anything else (a user's folder, the site folder, a file system root) is
// refused with an error saying so, and nothing is touched.
func Begin(final string) (*Staging, error) {
	final, err := filepath.Abs(final)
	if err != nil {
		return nil, fmt.Errorf("begin build: %w", err)
	}
	parent, base := filepath.Split(final)
	if base == "" || filepath.Dir(final) == final {
		return nil, fmt.Errorf("begin build: %s is a file system root; a build needs a folder of its own (set --output or [site] output in bake.toml)", final)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("begin build: %w", err)
	}
	lock, err := acquire(parent, final)
	if err != nil {
		return nil, fmt.Errorf("begin build: %w", err)
	}
	if err := checkReplaceable(final); err != nil {
		lock.release()
		return nil, fmt.Errorf("begin build: %w", err)
	}
	leftovers := findLeftovers(parent, base)
	dir := filepath.Join(parent, "."+base+".new-"+randomSuffix())
	if err := os.Mkdir(dir, 0o755); err != nil {
		lock.release()
		return nil, fmt.Errorf("begin build: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		os.RemoveAll(dir)
		lock.release()
		return nil, fmt.Errorf("begin build: %w", err)
	}
	s := &Staging{final: final, dir: dir, root: root, lock: lock, cleaned: make(chan struct{}), leftovers: leftovers, fast: newFastWriter(dir)}
	// Previous builds (renamed away by an earlier Commit) and what a killed
	// build left are removed in the background while this one renders:
	// on a slow disk removing 100,000 files takes as long as writing them.
	go func() {
		defer close(s.cleaned)
		for _, p := range leftovers {
			os.RemoveAll(p)
		}
	}()
	return s, nil
}

// IsBuild reports whether dir is a build folder that bake made: it holds
// a build's index ([IndexFile]), which every build writes before it is
// swapped in.
func IsBuild(dir string) bool {
	fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(IndexFile)))
	return err == nil && fi.Mode().IsRegular()
}

// checkReplaceable returns an error unless the folder final may be replaced
// and deleted by a full build: missing, empty, or a build ([IsBuild]).
func checkReplaceable(final string) error {
	fi, err := os.Lstat(final)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s exists and is not a folder; move it away or choose another output", final)
	case IsBuild(final):
		return nil
	}
	f, err := os.Open(final)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); errors.Is(err, io.EOF) {
		return nil // empty
	}
	return fmt.Errorf("%s is not empty and is not a bake build (it has no %s): a full build replaces its build folder whole and deletes the old one, so bake never builds over a folder it did not make; choose an output folder of bake's own (--output, or [site] output in bake.toml), or empty or remove %s yourself", final, IndexFile, final)
}

// Dir returns the staging folder's path.
func (s *Staging) Dir() string { return s.dir }

// IndexPath creates the reserved folder of the staging build and returns
// the file name its index is to be written at (see [NewIndexWriter]).
func (s *Staging) IndexPath() (string, error) {
	if err := s.root.MkdirAll(bake.ReservedDir, 0o755); err != nil {
		return "", fmt.Errorf("create index: %w", err)
	}
	return filepath.Join(s.dir, filepath.FromSlash(IndexFile)), nil
}

// WriteFile writes data to name, a slash-separated path inside the build
// (as returned by bake.FileName), creating folders as needed. The staging
// folder is invisible until Commit, so files are written in place.
func (s *Staging) WriteFile(name string, data []byte) error {
	if s.fast != nil {
		if done, err := s.fast.write(name, data); done {
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			return nil
		}
	}
	if err := s.mkdirFor(name); err != nil {
		return err
	}
	if err := s.root.WriteFile(name, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Create opens name for writing, creating folders as needed.
func (s *Staging) Create(name string) (*os.File, error) {
	if err := s.mkdirFor(name); err != nil {
		return nil, err
	}
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return f, nil
}

func (s *Staging) mkdirFor(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	// Most pages sit in a folder of their own (items/x/index.html) whose
	// parent exists already: one mkdir, and no cache of every folder made,
	// which for a million pages would be the biggest thing in memory.
	err := s.root.Mkdir(dir, 0o755)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create folder %s: %w", dir, err)
	}
	return nil
}

// Commit swaps the staging folder in as the live build folder. On Linux the
// swap is one atomic rename (RENAME_EXCHANGE); elsewhere the old folder is
// renamed away first. The previous build is then removed.
func (s *Staging) Commit() error {
	if s.done {
		return errors.New("commit build: already finished")
	}
	s.done = true
	defer s.lock.release()
	s.closeFiles()
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("commit build: %w", err)
	}
	old, err := swap(s.dir, s.final)
	if err != nil {
		os.RemoveAll(s.dir)
		return fmt.Errorf("commit build: %w", err)
	}
	if old != "" {
		// The previous build is removed by the next Begin, in the
		// background, or now by RemoveOld.
		parent, base := filepath.Split(s.final)
		s.old = filepath.Join(parent, "."+base+".old-"+randomSuffix())
		if err := os.Rename(old, s.old); err != nil {
			s.old = old
		}
	}
	return nil
}

// Abort removes the staging folder and leaves the live build untouched.
func (s *Staging) Abort() error {
	if s.done {
		return nil
	}
	s.done = true
	defer s.lock.release()
	s.closeFiles()
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("abort build: %w", err)
	}
	return nil
}

func (s *Staging) closeFiles() {
	if s.fast != nil {
		s.fast.close()
	}
	s.root.Close()
}

// swap puts dir in place of final, returning the folder now holding the
// previous build ("" if there was none).
func swap(dir, final string) (string, error) {
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		return "", os.Rename(dir, final)
	}
	if err := exchange(dir, final); err == nil {
		return dir, nil // dir now holds the previous build
	}
	parent, base := filepath.Split(final)
	old := filepath.Join(parent, "."+base+".old-"+randomSuffix())
	if err := os.Rename(final, old); err != nil {
		return "", err
	}
	if err := os.Rename(dir, final); err != nil {
		os.Rename(old, final)
		return "", err
	}
	return old, nil
}

// findLeftovers lists the staging folders a killed build left and the
// previous builds that Commit renamed away. The caller holds the lock, so
// none of them is in use.
func findLeftovers(parent, base string) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if isLeftoverName(base, e.Name()) {
			out = append(out, filepath.Join(parent, e.Name()))
		}
	}
	return out
}

func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

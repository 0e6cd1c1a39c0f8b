package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bakehq/bake"
)

// Store is a content-addressed store of every file bake published, kept in
// the site folder (.bake/objects), so that an earlier release can be put
// back without rebuilding it. Files are named by their SHA-256 and never
// change once written.
type Store struct {
	Dir string
}

func (s *Store) path(sha string) (string, error) {
	if !isDigest(sha) {
		return "", fmt.Errorf("store: %q is not a SHA-256", sha)
	}
	return filepath.Join(s.Dir, sha[:2], sha), nil
}

// isDigest reports whether s is a SHA-256 as bake writes it: 64 lowercase
// hex digits (a stored file's name, a manifest part's name).
func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Put stores data under sha unless it is there already.
func (s *Store) Put(sha string, data []byte) error {
	p, err := s.path(sha)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Has reports whether the store holds sha, without reading it.
func (s *Store) Has(sha string) bool {
	p, err := s.path(sha)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Get returns the bytes stored under sha.
func (s *Store) Get(sha string) ([]byte, error) {
	p, err := s.path(sha)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: no file %s: it was never published from this site folder", sha[:12])
	}
	return data, err
}

// Source provides the bytes a publish uploads.
type Source interface {
	// File returns the bytes of the object at key, described by e.
	File(key string, e bake.Entry) ([]byte, error)
}

// dirSource reads a build folder: files through root, the manifest from
// the index of the folder dir.
type dirSource struct {
	root *os.Root
	dir  string
}

func (d dirSource) File(key string, e bake.Entry) ([]byte, error) {
	data, err := d.root.ReadFile(key)
	if err != nil {
		return nil, fmt.Errorf("read build: %w", err)
	}
	return data, nil
}

// StoreSource reads the files of an earlier release from a Store, for a
// rollback.
type StoreSource struct {
	Store *Store
}

// File returns the stored bytes of e.
func (s StoreSource) File(key string, e bake.Entry) ([]byte, error) { return s.Store.Get(e.SHA256) }

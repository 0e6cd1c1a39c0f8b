package serve

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bakehq/bake"
)

// fileMeta is what the preview keeps of one manifest entry.
type fileMeta struct {
	typ    string
	size   int64 // to tell a file rewritten after the manifest
	sha256 [32]byte
	hasSHA bool
}

// manifestCache holds the content types and hashes of a build's manifest,
// reloaded when the manifest file changes.
type manifestCache struct {
	log *slog.Logger

	mu    sync.RWMutex
	stat  fs.FileInfo // manifest as last loaded; nil when there was none
	files map[string]fileMeta
}

// lookup returns what the manifest says of the file at URL path p, and the
// manifest's modification time. It costs one stat when the manifest has not
// changed.
func (m *manifestCache) lookup(root *os.Root, p string) (meta fileMeta, asOf time.Time, ok bool) {
	fi, err := root.Stat(bake.ManifestFile)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("stat manifest", "err", err)
		}
		fi = nil
	}
	m.mu.RLock()
	if sameFile(m.stat, fi) {
		defer m.mu.RUnlock()
		return m.get(p)
	}
	m.mu.RUnlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	if !sameFile(m.stat, fi) {
		m.load(root)
	}
	return m.get(p)
}

func (m *manifestCache) get(p string) (fileMeta, time.Time, bool) {
	if m.stat == nil {
		return fileMeta{}, time.Time{}, false
	}
	meta, ok := m.files[p]
	return meta, m.stat.ModTime(), ok
}

// load reads the manifest; m.mu must be held for writing. A manifest that
// cannot be read leaves no entries, so that types come from file names.
func (m *manifestCache) load(root *os.Root) {
	m.stat, m.files = nil, nil
	f, err := root.Open(bake.ManifestFile)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("open manifest", "err", err)
		}
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		m.log.Warn("stat manifest", "err", err)
		return
	}
	m.stat = fi
	files := make(map[string]fileMeta)
	types := make(map[string]string) // interned: most entries share a few types
	for e, err := range bake.ManifestEntries(f) {
		if err != nil {
			m.log.Warn("manifest ignored", "err", err)
			return
		}
		typ, ok := types[e.Type]
		if !ok {
			typ = e.Type
			types[typ] = typ
		}
		meta := fileMeta{typ: typ, size: e.Size}
		if b, err := hex.DecodeString(e.SHA256); err == nil && len(b) == len(meta.sha256) {
			copy(meta.sha256[:], b)
			meta.hasSHA = true
		}
		files[e.Path] = meta
	}
	m.files = files
	m.log.Debug("manifest loaded", "entries", len(files))
}

// sameFile reports whether a and b describe the same unchanged file.
func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() && os.SameFile(a, b)
}

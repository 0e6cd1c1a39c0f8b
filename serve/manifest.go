package serve

import (
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bakehq/bake/output"
)

// fileMeta is what the preview keeps of one manifest entry.
type fileMeta struct {
	typ    string
	size   int64 // to tell a file rewritten after the index
	sha256 [32]byte
	hasSHA bool
}

// indexFiles are the files whose stat tells whether a build's index
// changed: the database, and its write-ahead log, where SQLite appends
// every commit of an incremental build. The WAL's shared-memory file
// (-shm) has an exact change counter, but reading it would mean opening a
// file SQLite holds POSIX locks on, and closing any descriptor of such a
// file drops every lock of the process, the builder's too when serve and
// build share one: only stats are safe.
var indexFiles = [...]string{output.IndexFile, output.IndexFile + "-wal"}

// racyWindow bounds the granularity of file modification times: a few
// milliseconds on Linux (the kernel stamps files with a coarse clock), a
// second on HFS+, 2 seconds on FAT. Two commits within it can leave the
// same time on the WAL, and the same size too when SQLite restarted the
// WAL after a checkpoint (it then writes over the old frames instead of
// growing the file).
const racyWindow = 2 * time.Second

// indexStamp is the stat of the index files when the cache was loaded: a
// nil entry is a file that did not exist.
type indexStamp [len(indexFiles)]fs.FileInfo

// newest returns the latest modification time of the index files: the
// time of the last commit.
func (s *indexStamp) newest() time.Time {
	var t time.Time
	for _, fi := range s {
		if fi != nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// manifestCache holds the content types and hashes of a build's manifest,
// read from the build's index and reloaded when the index changes.
//
// The index changes in two ways: an incremental build commits to it in
// place (SQLite writes the commit to index.db-wal, or into index.db when
// the last connection checkpoints and deletes the WAL), and a full build
// swaps in a whole new folder with a new index.db. Either changes the
// size, modification time or file (inode) of index.db or index.db-wal, so
// the cache compares their stats, two stats a request, and reloads on any
// difference. Stats are taken before the index is read: a commit in
// between makes the next request reload again, never a change missed. The
// one change stats can miss is a commit that leaves size and time as they
// were (see [racyWindow]); it is covered as Git covers its "racily clean"
// files: a cache loaded while the newest index file was younger than
// racyWindow is loaded once more when the window has passed, so a change
// is seen at most that late.
type manifestCache struct {
	dir string // the build folder, which OpenIndex reads by name
	log *slog.Logger
	now func() time.Time // if nil, time.Now

	mu      sync.RWMutex
	loaded  bool
	stamp   indexStamp // index files as last loaded
	recheck time.Time  // when not zero, reload once this has passed
	asOf    time.Time  // last commit of the index loaded; zero when there was none
	files   map[string]fileMeta
}

// lookup returns what the index says of the file at URL path p, and the
// time of the index's last commit. It costs two stats when the index has
// not changed. root is the build folder opened for this request: the index
// files are looked at through it, so that an index reached through a
// symlink out of the folder is never read.
func (m *manifestCache) lookup(ctx context.Context, root *os.Root, p string) (meta fileMeta, asOf time.Time, ok bool) {
	now := time.Now()
	if m.now != nil {
		now = m.now()
	}
	st := m.stat(root)
	m.mu.RLock()
	if m.fresh(&st, now) {
		defer m.mu.RUnlock()
		return m.get(p)
	}
	m.mu.RUnlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.fresh(&st, now) {
		m.load(ctx, &st, now)
	}
	return m.get(p)
}

// stat returns the stats of the index files in root.
func (m *manifestCache) stat(root *os.Root) indexStamp {
	var st indexStamp
	for i, name := range indexFiles {
		fi, err := root.Stat(name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				m.log.Warn("stat index", "file", name, "err", err)
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		st[i] = fi
	}
	return st
}

// fresh reports whether the cache is the index whose files have stats st
// at time now; m.mu must be held.
func (m *manifestCache) fresh(st *indexStamp, now time.Time) bool {
	if !m.loaded || (!m.recheck.IsZero() && now.After(m.recheck)) {
		return false
	}
	for i := range st {
		if !sameFile(m.stamp[i], st[i]) {
			return false
		}
	}
	return true
}

func (m *manifestCache) get(p string) (fileMeta, time.Time, bool) {
	if m.asOf.IsZero() {
		return fileMeta{}, time.Time{}, false
	}
	meta, ok := m.files[p]
	return meta, m.asOf, ok
}

// load reads the index whose files have stats st, taken at time now; m.mu
// must be held for writing. An index that cannot be read leaves no
// entries, so that types come from file names.
func (m *manifestCache) load(ctx context.Context, st *indexStamp, now time.Time) {
	m.loaded, m.stamp, m.recheck, m.asOf, m.files = true, *st, time.Time{}, time.Time{}, nil
	if st[0] == nil {
		return // no index: no build, or one from an older bake
	}
	if t := st.newest(); now.Sub(t) < racyWindow {
		m.recheck = t.Add(racyWindow)
	}
	// The cache outlives the request that loads it.
	ctx = context.WithoutCancel(ctx)
	idx, err := output.OpenIndex(ctx, m.dir)
	if err != nil {
		m.log.Warn("index ignored", "err", err)
		return
	}
	defer idx.Close()
	files := make(map[string]fileMeta)
	types := make(map[string]string) // interned: most entries share a few types
	for e, err := range idx.Entries(ctx) {
		if err != nil {
			m.log.Warn("index ignored", "err", err)
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
	m.asOf, m.files = st.newest(), files
	m.log.Debug("index loaded", "entries", len(files))
}

// sameFile reports whether a and b describe the same unchanged file.
func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() && os.SameFile(a, b)
}

package serve

import (
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
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
// nil entry is a file that did not exist, or (for the WAL) one that holds
// no commit.
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

// equal reports whether s and o describe the same unchanged files.
func (s *indexStamp) equal(o *indexStamp) bool {
	for i := range s {
		if !sameFile(s[i], o[i]) {
			return false
		}
	}
	return true
}

// manifestCache holds the content types and hashes of a build's manifest,
// read from the build's index and reloaded when the index changes.
//
// The index changes in two ways: an incremental build commits to it in
// place (SQLite writes the commit to index.db-wal, or into index.db when
// the last connection checkpoints and deletes the WAL), and a full build
// swaps in a whole new folder with a new index.db. Either changes the
// size, modification time or file (inode) of index.db or of a non-empty
// index.db-wal, so the cache compares their stats, two stats a request,
// and reloads on any difference.
//
// Reading the index must not look like a change: opening it creates an
// empty WAL and closing it deletes the WAL again, so an empty WAL counts as
// none (it holds no commit). Loads are single-flight: one request loads,
// and requests that come meanwhile are answered from the manifest loaded
// before (or wait for the first one): under load, the index is read once a
// change, not once a request. Stats are taken before the index is read: a
// commit in between makes the next request reload again, never a change
// missed. The one change stats can miss is a commit that leaves size and
// time as they were (see [racyWindow]); it is covered as Git covers its
// "racily clean" files: a cache loaded while the newest index file was
// younger than racyWindow is loaded once more when the window has passed,
// so a change is seen at most that late.
type manifestCache struct {
	dir   string // the build folder, which OpenIndex reads by name
	log   *slog.Logger
	now   func() time.Time // if nil, time.Now
	looks *looks           // if nil, every call stats the index

	looked atomic.Int64 // when the stats that last found cur fresh started

	cur atomic.Pointer[manifestSnap] // nil until the first load

	mu      sync.Mutex
	loading chan struct{} // closed when the load under way ends; nil when none
	loads   atomic.Int64  // loads made, for tests
}

// manifestSnap is one load of the index; it never changes once published.
type manifestSnap struct {
	stamp   indexStamp // index files as loaded
	recheck time.Time  // when not zero, reload once this has passed
	asOf    time.Time  // last commit of the index loaded; zero when there was none
	files   map[string]fileMeta
}

// fresh reports whether the snapshot is the index whose files have stats
// st at time now.
func (s *manifestSnap) fresh(st *indexStamp, now time.Time) bool {
	if !s.recheck.IsZero() && now.After(s.recheck) {
		return false
	}
	return s.stamp.equal(st)
}

func (s *manifestSnap) get(p string) (fileMeta, time.Time, bool) {
	if s.asOf.IsZero() {
		return fileMeta{}, time.Time{}, false
	}
	meta, ok := s.files[p]
	return meta, s.asOf, ok
}

// lookup returns what the index says of the file at URL path p, the time
// of the index's last commit, and the snapshot it was read from (the same
// pointer until the index changes). It costs two stats when the index has
// not changed.
func (m *manifestCache) lookup(ctx context.Context, p string) (meta fileMeta, asOf time.Time, ok bool, snap *manifestSnap) {
	snap = m.current(ctx)
	meta, asOf, ok = snap.get(p)
	return meta, asOf, ok, snap
}

// current returns the snapshot of the index as it is now, loading it when
// it changed, unless another request is loading it already.
func (m *manifestCache) current(ctx context.Context) *manifestSnap {
	var at int64
	if m.looks != nil {
		at = m.looks.now()
	}
	return m.currentAt(ctx, at)
}

// currentAt is current at the time at of m.looks' clock (0 without
// looks): the snapshot comes without a stat while the last look stands.
func (m *manifestCache) currentAt(ctx context.Context, at int64) *manifestSnap {
	snap := m.cur.Load()
	if m.looks != nil && snap != nil && m.looks.trusts(m.looked.Load(), at) &&
		(snap.recheck.IsZero() || !m.wallNow().After(snap.recheck)) {
		return snap
	}
	now := m.wallNow()
	st := m.stat()
	snap = m.cur.Load()
	if snap != nil && snap.fresh(&st, now) {
		m.looked.Store(at)
		return snap
	}
	m.mu.Lock()
	if wait := m.loading; wait != nil {
		m.mu.Unlock()
		if snap != nil {
			return snap // stale by one load at most: the next request sees it
		}
		<-wait
		return m.cur.Load()
	}
	if snap = m.cur.Load(); snap != nil && snap.fresh(&st, now) {
		m.mu.Unlock() // loaded while this request was taking its stats
		return snap
	}
	done := make(chan struct{})
	m.loading = done
	m.mu.Unlock()

	snap = m.load(ctx, &st, now)
	m.cur.Store(snap)
	m.looked.Store(at)
	m.mu.Lock()
	m.loading = nil
	m.mu.Unlock()
	close(done)
	return snap
}

// wallNow is the time that racyWindow is measured in.
func (m *manifestCache) wallNow() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// stat returns the stats of the index files; an empty WAL counts as none.
// They are taken by path, one system call each (through an os.Root, a
// stat is a walk of several); load checks that the index is inside the
// folder before it reads it.
func (m *manifestCache) stat() indexStamp {
	var st indexStamp
	for i, name := range indexFiles {
		fi, err := os.Stat(filepath.Join(m.dir, filepath.FromSlash(name)))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				m.log.Warn("stat index", "file", name, "err", err)
			}
			continue
		}
		if !fi.Mode().IsRegular() || (i > 0 && fi.Size() == 0) {
			continue
		}
		st[i] = fi
	}
	return st
}

// load reads the index whose files have stats st, taken at time now. An
// index that cannot be read leaves no entries, so that types come from
// file names.
func (m *manifestCache) load(ctx context.Context, st *indexStamp, now time.Time) *manifestSnap {
	m.loads.Add(1)
	snap := &manifestSnap{stamp: *st}
	if st[0] == nil || !m.confined() {
		return snap // no index: no build, or one from an older bake
	}
	if t := st.newest(); now.Sub(t) < racyWindow {
		snap.recheck = t.Add(racyWindow)
	}
	// The cache outlives the request that loads it.
	ctx = context.WithoutCancel(ctx)
	idx, err := output.OpenIndex(ctx, m.dir)
	if err != nil {
		m.log.Warn("index ignored", "err", err)
		return snap
	}
	defer idx.Close()
	files := make(map[string]fileMeta)
	types := make(map[string]string) // interned: most entries share a few types
	for e, err := range idx.Entries(ctx) {
		if err != nil {
			m.log.Warn("index ignored", "err", err)
			return snap
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
	snap.asOf, snap.files = st.newest(), files
	m.log.Debug("index loaded", "entries", len(files))
	return snap
}

// confined reports whether the index is a regular file inside the build
// folder: an index reached through a symlink out of it is never read.
func (m *manifestCache) confined() bool {
	root, err := os.OpenRoot(m.dir)
	if err != nil {
		return false
	}
	defer root.Close()
	fi, err := root.Stat(output.IndexFile)
	if err != nil || !fi.Mode().IsRegular() {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("index ignored", "err", err)
		}
		return false
	}
	return true
}

// sameFile reports whether a and b describe the same unchanged file.
func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() && os.SameFile(a, b)
}

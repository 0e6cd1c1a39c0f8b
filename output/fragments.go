package output

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/bakehq/bake"
)

// FragmentsDir is where a build keeps its fragment cache, relative to the
// build folder. A full build writes a new one with the fragments it used;
// incremental builds add to it.
//
// It holds three files. "data" is the fragments' bytes, one after the
// other, only ever appended to. "index" lists them, sorted by key: records
// of [FragmentRecordSize] bytes, the first 16 bytes of the SHA-256 of the
// fragment's key, then its offset in data (uint64) and its length
// (uint32), big-endian. "index.log" lists, in the same records unsorted,
// the fragments incremental builds added since; it is merged into the
// index when it grows past a quarter of it. Data is on disk before any
// record names it, and the index is replaced by a rename, so a crash loses
// at most the fragments of the build it interrupts.
const FragmentsDir = bake.ReservedDir + "/fragments"

// FragmentRecordSize is the size of one record of the fragment index.
const FragmentRecordSize = 16 + 8 + 4

// fragmentFlush is how many bytes of new fragments are held in memory
// before they are appended to the data file.
const fragmentFlush = 4 << 20

type fragmentKey = [16]byte

type fragmentLoc struct {
	off int64
	n   uint32
}

// Fragments is the fragment cache of a build folder. It implements
// [bake.FragmentCache]: a lookup is a binary search in the index, held in
// memory (28 bytes a fragment), and one read of the data file; fragments
// put are visible at once and written at the latest by Close. A fragment
// that cannot be read is a miss; the first write error is returned by
// Close.
type Fragments struct {
	dir    string
	data   *os.File
	size   int64 // of data when opened
	once   sync.Once
	index  []byte                      // sorted records of the index file, read at first use
	logged map[fragmentKey]fragmentLoc // the records of index.log, read at first use
	prev   *Fragments

	mu      sync.Mutex
	end     int64                       // where the next fragment goes in data
	added   map[fragmentKey]fragmentLoc // appended since open
	pending map[fragmentKey][]byte      // put, not yet appended
	order   []fragmentKey               // the keys of pending, in the order put
	waiting int                         // bytes in pending
	err     error

	blocks      blockCache // of the data that was there at open
	mapped      []byte     // that data, mapped in memory (see Map); nil when not
	indexMapped []byte     // the index file, mapped (see load); nil when not
}

// Map maps the fragments stored before open into memory, so that reading
// one costs no system call and no copy. An incremental build reads
// thousands of them (every item of every list page it renders) from all
// over the file; a full build does not map, as the mapped pages it reads
// would count in its resident memory. Where mapping fails or is not
// supported, reads go on through the block cache.
func (f *Fragments) Map() {
	if f.size > 0 && f.size == int64(int(f.size)) {
		f.mapped = mapFile(f.data, int(f.size))
	}
}

// OpenFragments opens (creating it if needed) the fragment cache of the
// build folder dir. When prevDir is not empty, fragments missing from dir
// are looked up in prevDir's cache too, and copied: a full build, made in
// a new folder, starts from the fragments of the build it replaces, and
// keeps only those it used. A cache that is damaged is started again
// empty.
func OpenFragments(ctx context.Context, dir, prevDir string) (*Fragments, error) {
	f, err := openFragments(filepath.Join(dir, filepath.FromSlash(FragmentsDir)), true)
	if err != nil {
		return nil, err
	}
	if prevDir != "" {
		// A previous cache that cannot be read is no cache.
		if prev, err := openFragments(filepath.Join(prevDir, filepath.FromSlash(FragmentsDir)), false); err == nil && prev != nil {
			f.prev = prev
		}
	}
	return f, nil
}

// openFragments opens the cache in folder p; with write false, only an
// existing one (nil, nil when there is none).
func openFragments(p string, write bool) (*Fragments, error) {
	flag := os.O_RDONLY
	if write {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("open fragment cache: %w", err)
		}
		flag = os.O_RDWR | os.O_CREATE
	}
	data, err := os.OpenFile(filepath.Join(p, "data"), flag, 0o644)
	if err != nil {
		if !write && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("open fragment cache: %w", err)
	}
	fi, err := data.Stat()
	if err != nil {
		data.Close()
		return nil, fmt.Errorf("open fragment cache: %w", err)
	}
	return &Fragments{dir: p, data: data, size: fi.Size(), end: fi.Size(), added: map[fragmentKey]fragmentLoc{}, pending: map[fragmentKey][]byte{}}, nil
}

// load reads the index and its log, once, at the first lookup: a build
// that asks for no fragment does not pay for them. Records that do not fit
// the data file are dropped (the whole index, if it is not sorted).
func (f *Fragments) load() {
	f.once.Do(func() {
		p := filepath.Join(f.dir, "index")
		var index []byte
		var err error
		if f.mapped != nil {
			// Mapped too (see Map): a short-lived update pays more for a
			// 2.5 MB buffer of fresh memory (read into, then checked) than
			// for mapping the file: 18 ms against 3 ms at 100,000 pages.
			index = mapPath(p)
			f.indexMapped = index
		}
		if index == nil {
			index, err = os.ReadFile(p)
		}
		if err == nil && validIndex(index, f.size) {
			f.index = index
		}
		f.logged = map[fragmentKey]fragmentLoc{}
		log, _ := os.ReadFile(filepath.Join(f.dir, "index.log"))
		for ; len(log) >= FragmentRecordSize; log = log[FragmentRecordSize:] {
			k, l := readRecord(log)
			if uint64(l.off)+uint64(l.n) <= uint64(f.size) {
				f.logged[k] = l
			}
		}
	})
}

func readRecord(r []byte) (fragmentKey, fragmentLoc) {
	return fragmentKey(r[:16]), fragmentLoc{off: int64(binary.BigEndian.Uint64(r[16:])), n: binary.BigEndian.Uint32(r[24:])}
}

func appendRecord(out []byte, k fragmentKey, l fragmentLoc) []byte {
	out = append(out, k[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(l.off))
	return binary.BigEndian.AppendUint32(out, l.n)
}

// validIndex reports whether index is whole, sorted and points inside a
// data file of size bytes.
func validIndex(index []byte, size int64) bool {
	if len(index)%FragmentRecordSize != 0 {
		return false
	}
	for i := 0; i < len(index); i += FragmentRecordSize {
		r := index[i : i+FragmentRecordSize]
		off, n := binary.BigEndian.Uint64(r[16:]), binary.BigEndian.Uint32(r[24:])
		if off+uint64(n) > uint64(size) || i > 0 && bytes.Compare(index[i-FragmentRecordSize:i-FragmentRecordSize+16], r[:16]) >= 0 {
			return false
		}
	}
	return true
}

func hashKey(key string) fragmentKey {
	sum := sha256.Sum256([]byte(key))
	return fragmentKey(sum[:16])
}

// Get implements [bake.FragmentCache]. The bytes returned must not be
// changed, and not kept past Close (they may be mapped from the file).
func (f *Fragments) Get(key string) ([]byte, bool) {
	k := hashKey(key)
	if b, ok := f.get(k); ok {
		return b, true
	}
	if f.prev == nil {
		return nil, false
	}
	b, ok := f.prev.get(k)
	if ok {
		f.put(k, b)
	}
	return b, ok
}

func (f *Fragments) get(k fragmentKey) ([]byte, bool) {
	f.load()
	f.mu.Lock()
	b, ok := f.pending[k]
	l, added := f.added[k]
	f.mu.Unlock()
	if ok {
		return b, true
	}
	if !added {
		if l, ok = f.lookup(k); !ok {
			return nil, false
		}
	}
	if !added && f.mapped != nil {
		// Stored before open and not changed since: the records were
		// checked against the size at load.
		return f.mapped[l.off : l.off+int64(l.n) : l.off+int64(l.n)], true
	}
	b = make([]byte, l.n)
	if !added && f.blocks.read(f.data, b, l.off, f.size) {
		return b, true
	}
	if _, err := f.data.ReadAt(b, l.off); err != nil {
		return nil, false
	}
	return b, true
}

// lookup finds k in the index and its log, as read at first use.
func (f *Fragments) lookup(k fragmentKey) (fragmentLoc, bool) {
	if l, ok := f.logged[k]; ok {
		return l, true
	}
	lo, hi := interpolate(f.index, k)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		r := f.index[m*FragmentRecordSize:]
		switch c := bytes.Compare(r[:16], k[:]); {
		case c == 0:
			_, l := readRecord(r)
			return l, true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return fragmentLoc{}, false
}

// interpolate narrows the search for k in the sorted records of index to
// [lo, hi): keys are hashes, spread evenly, so a few guesses from the
// values at the ends of the range (interpolation search) leave a handful
// of records, where a plain binary search would probe about 17 records
// from all over a 2.5 MB index at 100,000 fragments, each probe a cache
// miss.
func interpolate(index []byte, k fragmentKey) (lo, hi int) {
	lo, hi = 0, len(index)/FragmentRecordSize
	t := binary.BigEndian.Uint64(k[:8])
	for range 4 {
		if hi-lo <= 8 {
			break
		}
		a := binary.BigEndian.Uint64(index[lo*FragmentRecordSize:])
		b := binary.BigEndian.Uint64(index[(hi-1)*FragmentRecordSize:])
		if t < a || t > b || a == b {
			break // outside, or nothing to interpolate: the search decides
		}
		// Where t falls between a and b, over the records between.
		m := lo + int(float64(t-a)/float64(b-a)*float64(hi-1-lo))
		m = min(max(m, lo), hi-1)
		// A window around m holds k when the record before it is below k
		// and the one after it above (by the first 8 bytes; a tie of
		// those, in practice never, leaves the rest to the search).
		const step = 16
		l, h := max(m-step, lo), min(m+step, hi)
		if l > lo {
			switch x := binary.BigEndian.Uint64(index[l*FragmentRecordSize:]); {
			case x > t:
				hi = l
				continue
			case x == t:
				return lo, hi
			}
		}
		if h < hi {
			switch x := binary.BigEndian.Uint64(index[(h-1)*FragmentRecordSize:]); {
			case x < t:
				lo = h
				continue
			case x == t:
				return lo, hi
			}
		}
		return l, h
	}
	return lo, hi
}

// Put implements [bake.FragmentCache].
func (f *Fragments) Put(key string, html []byte) {
	f.put(hashKey(key), slices.Clone(html))
}

func (f *Fragments) put(k fragmentKey, html []byte) {
	f.load()
	if _, ok := f.lookup(k); ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pending[k]; ok {
		return
	}
	if _, ok := f.added[k]; ok {
		return
	}
	f.pending[k] = html
	f.order = append(f.order, k)
	f.waiting += len(html)
	if f.waiting >= fragmentFlush {
		f.flushLocked()
	}
}

// flushLocked appends the pending fragments to the data file.
func (f *Fragments) flushLocked() {
	if len(f.pending) == 0 || f.err != nil {
		return
	}
	// In the order put: the next build reads them in about that order (a
	// list's items, page after page), a block of data at a time.
	buf := make([]byte, 0, f.waiting)
	locs := make(map[fragmentKey]fragmentLoc, len(f.pending))
	for _, k := range f.order {
		b := f.pending[k]
		locs[k] = fragmentLoc{off: f.end + int64(len(buf)), n: uint32(len(b))}
		buf = append(buf, b...)
	}
	if _, err := f.data.WriteAt(buf, f.end); err != nil {
		f.err = fmt.Errorf("write fragment cache: %w", err)
		return
	}
	f.end += int64(len(buf))
	for k, l := range locs {
		f.added[k] = l
	}
	clear(f.pending)
	f.order = f.order[:0]
	f.waiting = 0
}

// Count returns the number of fragments stored.
func (f *Fragments) Count(ctx context.Context) (int, error) {
	f.load()
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.index)/FragmentRecordSize + len(f.logged) + len(f.added) + len(f.pending), f.err
}

// Close writes what is pending, replaces the index with one that lists
// the fragments added too, and closes the files.
func (f *Fragments) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.prev != nil {
		f.prev.data.Close()
	}
	f.flushLocked()
	err := f.err
	if err == nil && len(f.added) > 0 {
		err = f.writeIndex()
	}
	if f.mapped != nil {
		unmapFile(f.mapped)
		f.mapped = nil
	}
	if f.indexMapped != nil {
		unmapFile(f.indexMapped)
		f.indexMapped, f.index = nil, nil
	}
	if cerr := f.data.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write fragment cache: %w", cerr)
	}
	return err
}

// writeIndex records the fragments added: appended to index.log, or, when
// the log would pass a quarter of the index, merged with the index and the
// log into a new index.
func (f *Fragments) writeIndex() error {
	// The data first, then the records that point into it, each on disk
	// before the next: a record must never name bytes not yet written.
	if err := f.data.Sync(); err != nil {
		return fmt.Errorf("write fragment cache: %w", err)
	}
	logPath := filepath.Join(f.dir, "index.log")
	if len(f.index) > 0 && (len(f.logged)+len(f.added))*FragmentRecordSize*4 <= len(f.index) {
		var out []byte
		for k, l := range f.added {
			out = appendRecord(out, k, l)
		}
		w, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("write fragment cache: %w", err)
		}
		_, err = w.Write(out)
		if err == nil {
			err = w.Sync()
		}
		if err := errors.Join(err, w.Close()); err != nil {
			return fmt.Errorf("write fragment cache: %w", err)
		}
		return nil
	}
	all := make(map[fragmentKey]fragmentLoc, len(f.logged)+len(f.added))
	maps.Copy(all, f.logged)
	maps.Copy(all, f.added)
	add := slices.SortedFunc(maps.Keys(all), func(a, b fragmentKey) int { return bytes.Compare(a[:], b[:]) })
	out := make([]byte, 0, len(f.index)+len(add)*FragmentRecordSize)
	old := f.index
	for len(old) > 0 || len(add) > 0 {
		if len(add) == 0 || len(old) > 0 && bytes.Compare(old[:16], add[0][:]) < 0 {
			out = append(out, old[:FragmentRecordSize]...)
			old = old[FragmentRecordSize:]
			continue
		}
		if len(old) > 0 && bytes.Equal(old[:16], add[0][:]) {
			old = old[FragmentRecordSize:] // the same fragment twice: keep one
		}
		out = appendRecord(out, add[0], all[add[0]])
		add = add[1:]
	}
	tmp := filepath.Join(f.dir, "index.tmp")
	if err := writeSynced(tmp, out); err != nil {
		return fmt.Errorf("write fragment cache: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, "index")); err != nil {
		return fmt.Errorf("write fragment cache: %w", err)
	}
	// A crash before this leaves log records the index has too: harmless.
	if err := os.Remove(logPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write fragment cache: %w", err)
	}
	return nil
}

func writeSynced(name string, b []byte) error {
	w, err := os.Create(name)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	if err == nil {
		err = w.Sync()
	}
	return errors.Join(err, w.Close())
}

// Reads of stored fragments go through a small cache of blocks of the data
// file: fragments are read in about the order they were stored (a list's
// items), and one read of a block serves a hundred of them instead of a
// system call each.
const (
	fragmentBlock  = 64 << 10
	fragmentBlocks = 64 // 4 MiB
)

// blockCache keeps the last blocks read of a file that does not change
// (below the size it had at open), and evicts the oldest.
type blockCache struct {
	mu    sync.Mutex
	data  map[int64][]byte // by block number
	order []int64          // block numbers, oldest first
}

// read fills b from offset off of file, of which the first size bytes do
// not change, through the cache; false when it cannot (the bytes cross a
// block's end or pass size, or the read fails).
func (c *blockCache) read(file *os.File, b []byte, off, size int64) bool {
	n := off / fragmentBlock
	start := n * fragmentBlock
	if off+int64(len(b)) > min(start+fragmentBlock, size) {
		return false
	}
	c.mu.Lock()
	blk, ok := c.data[n]
	c.mu.Unlock()
	if !ok {
		blk = make([]byte, min(fragmentBlock, size-start))
		if _, err := file.ReadAt(blk, start); err != nil {
			return false
		}
		c.mu.Lock()
		if c.data == nil {
			c.data = map[int64][]byte{}
		}
		if _, dup := c.data[n]; !dup {
			if len(c.order) == fragmentBlocks {
				delete(c.data, c.order[0])
				c.order = append(c.order[:0], c.order[1:]...)
			}
			c.data[n] = blk
			c.order = append(c.order, n)
		}
		c.mu.Unlock()
	}
	copy(b, blk[off-start:])
	return true
}

// mapPath maps the whole file at p read-only, or returns nil (no file, an
// empty one, or no mapping).
func mapPath(p string) []byte {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close() // the mapping outlives it
	return mapWhole(f)
}

// mapWhole maps all of f read-only, or returns nil (an empty file, or no
// mapping).
func mapWhole(f *os.File) []byte {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil
	}
	return mapFile(f, int(fi.Size()))
}

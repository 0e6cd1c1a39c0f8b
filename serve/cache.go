package serve

import (
	"io/fs"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [FileServerOptions].
const (
	// DefaultCacheBytes is the memory the file server keeps hot files in
	// when FileServerOptions.CacheBytes is zero.
	DefaultCacheBytes = 64 << 20
	// DefaultCacheFileSize is the largest file kept in memory when
	// FileServerOptions.CacheFileSize is zero.
	DefaultCacheFileSize = 1 << 20
	// DefaultRecheck is how long a stat of a cached file or of the index
	// stands when FileServerOptions.Recheck is zero.
	DefaultRecheck = time.Millisecond
)

// looks decides when a stat taken earlier still tells the state of the
// folder: one taken less than every ago, and after the last change this
// process made. Times are a monotonic clock's, in nanoseconds.
type looks struct {
	every int64        // <= 0: never trust an earlier stat
	clock func() int64 // the monotonic clock; swapped by tests
	last  atomic.Int64 // start of the last change made in process
}

// monoBase makes monotonic times positive: 0 stands for "never looked".
var monoBase = time.Now().Add(-time.Second)

func monoNow() int64 { return int64(time.Since(monoBase)) }

func newLooks(every time.Duration) *looks {
	return &looks{every: int64(every), clock: monoNow}
}

// now is the time to record before a stat.
func (l *looks) now() int64 { return l.clock() }

// trusts reports whether a stat started at time at still stands at time
// now.
func (l *looks) trusts(at, now int64) bool {
	return at > 0 && l.every > 0 && at > l.last.Load() && now-at < l.every
}

// changed makes every stat taken so far stale.
func (l *looks) changed() {
	// A stat that started in the same clock tick is stale too (trusts
	// wants a later start).
	l.last.Store(l.clock())
}

// cachedFile is one version of a file, ready to send: its bytes and
// headers, and its compressed forms once a client asked for them. It is
// valid while the file has the stat it was read with and the manifest is
// the snapshot it was made with; a file replaced by a build (a new file
// renamed over the old one) has another stat, so a cached file never
// outlives the bytes it was read from.
type cachedFile struct {
	key   string // the URL path it is cached under
	name  string
	fi    fs.FileInfo   // the file as read
	snap  *manifestSnap // the manifest its type and ETag came from
	body  []byte        // what is sent without Content-Encoding
	clen  []string      // len(body), as a header value
	ctype []string      // header values, shared by every response: never modified
	etag  []string
	lmod  []string
	mtime time.Time
	text  bool // compressible, and big enough to gain from it

	// siblings are the precompressed siblings (name.br, name.gz) found
	// when the file was read, by index in encodings; nil where none.
	siblings [len(encodings)]*variant
	// variants are the forms compressed by the server, by index in
	// encodings, each made once, on first use.
	variants [len(encodings)]variant

	lastUse atomic.Int64 // the cache's clock at the last hit
	looked  atomic.Int64 // when the stat that last matched fi started (see looks)
}

// variant is one compressed form of a cached file.
type variant struct {
	once sync.Once
	body []byte // nil when the coding failed
	etag []string
	clen []string // Content-Length
	size int64    // len(body), read atomically by the cache's accounting
}

// cost is what a cached file counts against the cache's bytes; variants
// are counted as they are made.
func (c *cachedFile) cost() int64 {
	n := int64(len(c.body)) + 512
	for _, v := range c.siblings {
		if v != nil {
			n += int64(len(v.body))
		}
	}
	return n
}

// fileCache keeps recently served files in memory, bounded by bytes. A hit
// takes a read lock and an atomic store; eviction samples a few entries
// and drops the least recently used of them (as Redis does), which keeps
// hits free of list updates.
type fileCache struct {
	max   int64 // bytes
	clock atomic.Int64

	mu    sync.RWMutex
	files map[string]*cachedFile // by URL path
	bytes int64
}

func newFileCache(max int64) *fileCache {
	return &fileCache{max: max, files: map[string]*cachedFile{}}
}

// lookup returns the file cached for the URL path key, if any, whatever
// its state.
func (c *fileCache) lookup(key string) *cachedFile {
	c.mu.RLock()
	f := c.files[key]
	c.mu.RUnlock()
	return f
}

// used records a hit of f. A file already the most recently used keeps
// its place without a write: a page hit by every CPU at once would
// otherwise move the clock's and the file's cache lines between them on
// every hit.
func (c *fileCache) used(f *cachedFile) {
	if f.lastUse.Load() != c.clock.Load() {
		f.lastUse.Store(c.clock.Add(1))
	}
}

// put adds f, replacing the version there, and evicts until the cache
// holds at most its bytes.
func (c *fileCache) put(f *cachedFile) {
	f.lastUse.Store(c.clock.Add(1))
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.files[f.key]; old != nil {
		c.bytes -= old.cost() + old.variantBytes()
	}
	c.files[f.key] = f
	c.bytes += f.cost()
	c.evict()
}

// grow counts n more bytes for a variant made for f.
func (c *fileCache) grow(f *cachedFile, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.files[f.key] == f {
		c.bytes += n
		c.evict()
	}
}

// evict drops files until the cache fits; c.mu must be held.
func (c *fileCache) evict() {
	const sample = 5
	for c.bytes > c.max && len(c.files) > 0 {
		var victim *cachedFile
		n := 0
		// Map iteration starts at a random place: a random sample.
		for _, f := range c.files {
			if victim == nil || f.lastUse.Load() < victim.lastUse.Load() {
				victim = f
			}
			if n++; n == sample {
				break
			}
		}
		delete(c.files, victim.key)
		c.bytes -= victim.cost() + victim.variantBytes()
	}
}

// variantBytes is the size of the variants made so far.
func (c *cachedFile) variantBytes() int64 {
	var n int64
	for i := range c.variants {
		n += atomic.LoadInt64(&c.variants[i].size)
	}
	return n
}

// isZeroTime reports whether t is unset (zero or the Unix epoch), as
// net/http does: no Last-Modified is sent for it.
func isZeroTime(t time.Time) bool { return t.IsZero() || t.Equal(time.Unix(0, 0)) }

// contentLength is a Content-Length header value.
func contentLength(n int) []string { return []string{strconv.Itoa(n)} }

package serve

import (
	"testing"
)

// TestFileCacheEvictsLeastRecentlyUsed checks the order eviction keeps,
// with hits of the most recently used file that write nothing.
func TestFileCacheEvictsLeastRecentlyUsed(t *testing.T) {
	file := func(key string) *cachedFile { return &cachedFile{key: key, body: make([]byte, 1000)} }
	c := newFileCache(3 * 1512) // three files of 1000 bytes and 512 of overhead
	a, b, d := file("/a"), file("/b"), file("/d")
	c.put(a)
	c.put(b)
	c.put(d)
	c.used(a)
	clock := c.clock.Load()
	for range 3 {
		c.used(a) // already the most recent: no write
	}
	if got := c.clock.Load(); got != clock {
		t.Errorf("hits of the most recent file moved the clock from %d to %d", clock, got)
	}
	c.used(d)
	c.put(file("/e")) // evicts b, the least recently used
	for key, want := range map[string]bool{"/a": true, "/b": false, "/d": true, "/e": true} {
		if got := c.lookup(key) != nil; got != want {
			t.Errorf("%s cached: %v, want %v", key, got, want)
		}
	}
	c.used(a)
	c.put(file("/f")) // evicts d: a was used after it
	for key, want := range map[string]bool{"/a": true, "/d": false, "/e": true, "/f": true} {
		if got := c.lookup(key) != nil; got != want {
			t.Errorf("after /f: %s cached: %v, want %v", key, got, want)
		}
	}
}

package publish

import (
	"sync"

	"github.com/bakehq/bake/internal/pubformat"
)

// PartMemory keeps in memory the lines of the manifest parts a publish
// stored, with the sums of their buckets, so that the next publish to the
// same target from the same process (bake run) compares and splices them
// (see DiffOptions.Memory) without reading, decompressing and hashing
// them again. A part is named by content and never changes; parts the
// target's manifest no longer names are dropped once a publish stored its
// manifest. Use one per target. It is safe for concurrent use, and its
// zero value is ready to use.
type PartMemory struct {
	// Limit is how many bytes of lines it keeps; past it, parts are read
	// from the part cache or the bucket as without it. If zero, 64 MiB.
	Limit int

	mu    sync.Mutex
	parts map[string]*memPart
	size  int
}

// memPart is a part as a publish made it: its lines by path, the bucket
// of each (less r.first) and the sum of each bucket of r. Never changed
// once made.
type memPart struct {
	r       bucketRange
	lines   []line
	buckets []int32
	sums    []pubformat.Sum
	size    int // bytes of lines
}

func (m *PartMemory) limit() int {
	if m.Limit == 0 {
		return 64 << 20
	}
	return m.Limit
}

// get returns the part named key, if kept and of range r.
func (m *PartMemory) get(key string, r bucketRange) *memPart {
	if m == nil || key == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.parts[key]; p != nil && p.r == r {
		return p
	}
	return nil
}

// put keeps part p named key, unless that passes the limit.
func (m *PartMemory) put(key string, p *memPart) {
	if m == nil || p == nil || key == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.parts[key]; ok || m.size+p.size > m.limit() {
		return
	}
	if m.parts == nil {
		m.parts = map[string]*memPart{}
	}
	m.parts[key] = p
	m.size += p.size
}

// keep drops the parts root does not name.
func (m *PartMemory) keep(root *Root) {
	if m == nil || root == nil {
		return
	}
	named := map[string]bool{}
	for _, p := range root.Parts {
		named[p.Key] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, p := range m.parts {
		if !named[k] {
			delete(m.parts, k)
			m.size -= p.size
		}
	}
}

package output

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

// TestFragmentLookup checks the interpolation search of the fragment index
// against every key it holds and keys it does not, with hashed keys (as
// the cache has) and with clustered ones (shared 8-byte prefixes, keys
// bunched at one end), where interpolation guesses wrong.
func TestFragmentLookup(t *testing.T) {
	hashed := func(n int) []fragmentKey {
		var ks []fragmentKey
		for i := range n {
			s := sha256.Sum256(fmt.Appendf(nil, "key %d", i))
			ks = append(ks, fragmentKey(s[:16]))
		}
		return ks
	}
	clustered := func(n int) []fragmentKey {
		var ks []fragmentKey
		for i := range n {
			var k fragmentKey
			binary.BigEndian.PutUint64(k[:8], uint64(i/7)*uint64(i/7)*uint64(i/7)) // ties, and bunched low
			binary.BigEndian.PutUint64(k[8:], uint64(i*2654435761))
			ks = append(ks, k)
		}
		return ks
	}
	for _, tc := range []struct {
		name string
		keys []fragmentKey
	}{
		{"empty", nil},
		{"one", hashed(1)},
		{"hashed 9", hashed(9)},
		{"hashed 5000", hashed(5000)},
		{"clustered 3000", clustered(3000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := tc.keys
			present, absent := all[:len(all)/2], all[len(all)/2:]
			slices.SortFunc(present, func(a, b fragmentKey) int { return bytes.Compare(a[:], b[:]) })
			var index []byte
			for i, k := range present {
				index = appendRecord(index, k, fragmentLoc{off: int64(i), n: 1})
			}
			f := &Fragments{index: index, logged: map[fragmentKey]fragmentLoc{}}
			for i, k := range present {
				if l, ok := f.lookup(k); !ok || l.off != int64(i) {
					t.Fatalf("key %d (%x): got %v, %v", i, k, l, ok)
				}
			}
			for _, k := range absent {
				if _, ok := f.lookup(k); ok {
					t.Fatalf("absent key %x found", k)
				}
			}
			for _, k := range []fragmentKey{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
				if _, ok := f.lookup(k); ok && !slices.Contains(present, k) {
					t.Fatalf("absent key %x found", k)
				}
			}
		})
	}
}

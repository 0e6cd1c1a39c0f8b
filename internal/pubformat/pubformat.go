// Package pubformat is the format in which a publish records a build's
// manifest in its target, which the build's index prepares: each page's
// published line ([Line]), the bucket of its path ([Bucket], one of
// [Buckets]) and the digest of each bucket's lines ([Sum], computed by
// [Hash]). The build's index (package output) keeps a sum per bucket; a
// publish (package publish) stores the manifest in parts, each a range of
// buckets named by their sums, so that a publish of a few changed pages
// reads and writes a few parts instead of the manifest of the whole site.
//
// Published manifests depend on every definition here: none may change
// without a new part format.
package pubformat

import (
	"bytes"
	"crypto/sha256"
	"hash"
)

// Line appends to dst the manifest line b as a publish records it in its
// target: without the deps and the input digest, which only builds use
// (they are the last fields of a line, and half the bytes of a site's
// manifest). A quote inside a JSON string is escaped, so the field names
// cannot occur in a value.
func Line(dst, b []byte) []byte {
	cut := len(b)
	for _, f := range [][]byte{[]byte(`,"deps":`), []byte(`,"input":`)} {
		if i := bytes.Index(b, f); i >= 0 && i < cut {
			cut = i
		}
	}
	if cut == len(b) {
		return append(dst, b...)
	}
	return append(append(dst, b[:cut]...), '}')
}

// Buckets is the number of buckets the paths of a build are spread over
// ([Bucket]).
const Buckets = 4096

// Bucket returns the bucket of a path: the first 12 bits of its SHA-256.
func Bucket(path string) int {
	s := sha256.Sum256([]byte(path))
	return int(s[0])<<4 | int(s[1]>>4)
}

// Sum describes the published lines of one bucket of paths: their number
// and the SHA-256 of the lines, each followed by a newline, in path order.
// An empty bucket's digest is the SHA-256 of nothing ([EmptyDigest]).
type Sum struct {
	Digest [32]byte
	Files  int
}

// EmptyDigest is the digest of a bucket without lines.
var EmptyDigest = sha256.Sum256(nil)

// Hash computes the [Sum] of a bucket from its published lines, added in
// path order: the one definition of a bucket's digest, for the index and
// for the manifest parts a publish writes. The zero value is ready to
// use; with no lines added, Sum is an empty bucket's.
type Hash struct {
	h hash.Hash
	n int
}

var newline = []byte{'\n'}

// Add adds the published line pub (without its newline).
func (b *Hash) Add(pub []byte) {
	if b.h == nil {
		b.h = sha256.New()
	}
	b.h.Write(pub)
	b.h.Write(newline)
	b.n++
}

// Sum returns the bucket's sum.
func (b *Hash) Sum() Sum {
	if b.h == nil {
		return Sum{Digest: EmptyDigest}
	}
	return Sum{Digest: [32]byte(b.h.Sum(nil)), Files: b.n}
}

package publish

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
)

// partCache is a folder that keeps a copy of the manifest parts of the
// last publish (DiffOptions.PartCache), so that the next publish compares
// the parts it changes without reading them from the bucket: a stream of
// small publishes then only writes. A part is named by the digests of its
// buckets and never changes, so a copy is good as long as the root names
// it; the others are removed once a new root is written.
type partCache string

func (c partCache) file(key string) string {
	if c == "" || !isDigest(key) {
		return ""
	}
	return filepath.Join(string(c), key+".jsonl.gz")
}

// get returns the part named key, or nil when the cache has none.
func (c partCache) get(key string) []byte {
	f := c.file(key)
	if f == "" {
		return nil
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return nil
	}
	return data
}

// put keeps a copy of a part; a cache that cannot be written is no error
// (the next publish reads the bucket).
func (c partCache) put(key string, data []byte) {
	f := c.file(key)
	if f == "" {
		return
	}
	if _, err := os.Stat(f); err == nil {
		return
	}
	if err := os.MkdirAll(string(c), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(string(c), ".put-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if err := os.Rename(tmp.Name(), f); err != nil {
		os.Remove(tmp.Name())
	}
}

// keep removes the copies of parts root does not name.
func (c partCache) keep(root *Root) {
	if c == "" || root == nil {
		return
	}
	named := map[string]bool{}
	for _, p := range root.Parts {
		named[p.Key+".jsonl.gz"] = true
	}
	ents, err := os.ReadDir(string(c))
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); !named[n] && (strings.HasSuffix(n, ".jsonl.gz") || strings.HasPrefix(n, ".put-")) {
			os.Remove(filepath.Join(string(c), n))
		}
	}
}

// lines streams the entries of part p, from the cache when it has the
// part, else from the bucket (and then keeps a copy).
func (c partCache) lines(ctx context.Context, bucket *blob.Bucket, p Part) iter.Seq2[line, error] {
	if c == "" || p.Files == 0 {
		return partLines(ctx, bucket, p)
	}
	return func(yield func(line, error) bool) {
		name := PartObject(p.Key)
		data := c.get(p.Key)
		fetched := data == nil
		if fetched {
			var err error
			if data, err = bucket.ReadAll(ctx, name); err != nil {
				yield(line{}, fmt.Errorf("read manifest part %s: %w", name, err))
				return
			}
		}
		if gzipLines(name, bytes.NewReader(data), yield) && fetched {
			c.put(p.Key, data) // read whole and good
		}
	}
}

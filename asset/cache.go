package asset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// cacheVersion is part of every cache key: a bake that processes files
// differently changes it, and its first run processes everything again.
const cacheVersion = "asset/1"

// cache keeps processed files by content hash, and what each was made
// from. Objects are immutable: a file in objects/ is named by the hash of
// its bytes. The index (index.json) says, for a key made of a processor's
// options and its inputs' hashes, which object it made; a key found there
// is work already done, by this process or an earlier one.
type cache struct {
	dir  string
	temp bool // dir was made for this process: removed by close

	mu      sync.Mutex
	idx     cacheIndex
	changed bool
}

// cacheIndex is index.json.
type cacheIndex struct {
	Version string `json:"version"`
	// Stamps are the hashes of source files by path, with the size and
	// modification time they had: a file whose stamp matches is not read.
	Stamps map[string]string `json:"stamps"`
	// Results are the results of single-input work, by key.
	Results map[string]result `json:"results"`
	// Bundles are the last results of each multi-input work (a bundle, a
	// stylesheet with imports), by asset name, newest first: each valid
	// while its options are the same and every input still has the
	// recorded hash.
	Bundles map[string][]bundleResult `json:"bundles"`
}

// result is what a piece of work made.
type result struct {
	Out string `json:"out"`           // object hash
	Map string `json:"map,omitempty"` // source map object hash
	// MapName is the name the source map is served at, as the code's
	// sourceMappingURL comment says: the hash of the code and the map
	// together, so that either changing gives new names.
	MapName string `json:"map_name,omitempty"`
	Gzip    int64  `json:"gzip,omitempty"`
	Brotli  int64  `json:"brotli,omitempty"`
	// Src is the size of everything it was made from.
	Src int64 `json:"src,omitempty"`
}

// bundleResult is a result with the inputs it was made from.
type bundleResult struct {
	result
	Opts   string            `json:"opts"`
	Inputs map[string]string `json:"inputs"` // input → hash ("static:NAME", or a file path)
}

func openCache(dir string) (*cache, error) {
	c := &cache{dir: dir}
	c.idx = cacheIndex{Version: cacheVersion, Stamps: map[string]string{}, Results: map[string]result{}, Bundles: map[string][]bundleResult{}}
	if dir == "" {
		d, err := os.MkdirTemp("", "bake-assets-")
		if err != nil {
			return nil, fmt.Errorf("make asset cache: %w", err)
		}
		c.dir, c.temp = d, true
		return c, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read asset cache: %w", err)
	}
	var idx cacheIndex
	if json.Unmarshal(data, &idx) != nil || idx.Version != cacheVersion {
		return c, nil // damaged or older: start again empty
	}
	for _, m := range []bool{idx.Stamps == nil, idx.Results == nil, idx.Bundles == nil} {
		if m {
			return c, nil
		}
	}
	c.idx = idx
	return c, nil
}

// fileHash returns the hex SHA-256 of file f, from its stamp when its size
// and modification time are those recorded.
func (c *cache) fileHash(f string, fi fs.FileInfo) (string, error) {
	stamp := strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + " "
	c.mu.Lock()
	v, ok := c.idx.Stamps[f]
	c.mu.Unlock()
	if ok && len(v) > len(stamp) && v[:len(stamp)] == stamp {
		return v[len(stamp):], nil
	}
	sha, err := hashFile(f)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.idx.Stamps[f] = stamp + sha
	c.changed = true
	c.mu.Unlock()
	return sha, nil
}

// result returns the result recorded for key.
func (c *cache) result(key string) (result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.idx.Results[key]
	return r, ok && c.has(r)
}

func (c *cache) putResult(key string, r result) {
	c.mu.Lock()
	c.idx.Results[key] = r
	c.changed = true
	c.mu.Unlock()
}

// bundleVersions is the number of results kept of each multi-input work:
// a file edited and then put back as it was is not processed again.
const bundleVersions = 8

// bundle returns a result of the multi-input work of name for which valid
// returns true.
func (c *cache) bundle(name string, valid func(bundleResult) bool) (bundleResult, bool) {
	c.mu.Lock()
	rs := slices.Clone(c.idx.Bundles[name])
	c.mu.Unlock()
	for _, r := range rs {
		if valid(r) {
			c.mu.Lock()
			ok := c.has(r.result)
			c.mu.Unlock()
			if ok {
				return r, true
			}
		}
	}
	return bundleResult{}, false
}

func (c *cache) putBundle(name string, r bundleResult) {
	c.mu.Lock()
	rs := append([]bundleResult{r}, c.idx.Bundles[name]...)
	c.idx.Bundles[name] = rs[:min(len(rs), bundleVersions)]
	c.changed = true
	c.mu.Unlock()
}

// has reports whether the objects of r are there; c.mu held.
func (c *cache) has(r result) bool {
	for _, h := range []string{r.Out, r.Map} {
		if h == "" {
			continue
		}
		if _, err := os.Stat(c.objectPath(h)); err != nil {
			return false
		}
	}
	return true
}

// objectPath returns the file of object hash.
func (c *cache) objectPath(hash string) string {
	return filepath.Join(c.dir, "objects", hash[:2], hash[2:])
}

// put stores data as an object and returns its hash.
func (c *cache) put(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	f := c.objectPath(h)
	if _, err := os.Stat(f); err == nil {
		return h, nil
	}
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		return "", fmt.Errorf("write asset cache: %w", err)
	}
	if err := writeAtomic(f, data); err != nil {
		return "", fmt.Errorf("write asset cache: %w", err)
	}
	return h, nil
}

// read returns the bytes of object hash.
func (c *cache) read(hash string) ([]byte, error) {
	return os.ReadFile(c.objectPath(hash))
}

// close removes a temporary cache.
func (c *cache) close() error {
	if c.temp {
		return os.RemoveAll(c.dir)
	}
	return nil
}

// save writes the index, when it changed.
func (c *cache) save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.temp || !c.changed {
		return nil
	}
	data, err := json.Marshal(c.idx)
	if err != nil {
		return fmt.Errorf("write asset cache: %w", err)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("write asset cache: %w", err)
	}
	if err := writeAtomic(filepath.Join(c.dir, "index.json"), data); err != nil {
		return fmt.Errorf("write asset cache: %w", err)
	}
	c.changed = false
	return nil
}

// writeAtomic writes data to a temporary file beside f and renames it.
func writeAtomic(f string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(f), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), f); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

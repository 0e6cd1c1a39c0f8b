package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/pubformat"
	"github.com/bakehq/bake/output"
	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Where a publish keeps its manifest in the bucket.
const (
	RootKey     = bake.ReservedDir + "/manifest.json" // the manifest of the last publish: a list of parts
	PartsPrefix = bake.ReservedDir + "/parts/"        // the parts of every manifest published, named by content
)

// rootVersion is the version of the Root format.
const rootVersion = 2

// Root is the manifest of a publish as the bucket keeps it: the entries
// of the site in parts, each part the published lines ([pubformat.Line])
// of the paths of a range of buckets ([pubformat.Bucket]), sorted by path.
// A part is stored once, gzip-compressed, under a name made from the
// digests of its buckets (see [pubformat.Sum]): a publish that changes
// a few pages writes a few parts, and compares the others by name.
type Root struct {
	Version int    `json:"bake_manifest"`
	Files   int    `json:"files"`
	Parts   []Part `json:"parts"`
}

// Part is one part of a Root.
type Part struct {
	First int    `json:"first"` // first bucket
	Last  int    `json:"last"`  // last bucket, included
	Files int    `json:"files"`
	Key   string `json:"key,omitempty"` // content name, "" for an empty part (no object)
}

// PartObject returns the key of the object holding the part named key.
func PartObject(key string) string { return PartsPrefix + key + ".jsonl.gz" }

// bucketRange is a range of buckets, both ends included.
type bucketRange struct{ first, last int }

func (r bucketRange) String() string { return fmt.Sprintf("buckets %d-%d", r.first, r.last) }

// layout returns n ranges of the same size covering every bucket; n is a
// power of two.
func layout(n int) []bucketRange {
	size := pubformat.Buckets / n
	out := make([]bucketRange, n)
	for i := range out {
		out[i] = bucketRange{i * size, (i+1)*size - 1}
	}
	return out
}

// partsFor returns how many parts a manifest of files entries has: about
// a thousand entries a part, a power of two from 1 to pubformat.Buckets. The
// number of the remote manifest is kept unless it is four times too big
// or too small, so that a site that grows by a few pages compares its
// parts by name.
func partsFor(files int, remote *Root) int {
	want := 1
	if files > 1024 {
		want = 1 << bits.Len(uint((files-1)/1024))
	}
	want = min(want, pubformat.Buckets)
	if remote != nil {
		n := len(remote.Parts)
		if n > 0 && n&(n-1) == 0 && n >= want/4 && n <= want*4 && slices.Equal(rangesOf(remote), layout(n)) {
			return n
		}
	}
	return want
}

func rangesOf(r *Root) []bucketRange {
	out := make([]bucketRange, len(r.Parts))
	for i, p := range r.Parts {
		out[i] = bucketRange{p.First, p.Last}
	}
	return out
}

// check reports what is wrong with a root read from a bucket.
func (r *Root) check() error {
	if r.Version != rootVersion {
		if r.Version > rootVersion {
			return fmt.Errorf("version %d is newer than this bake (%d): upgrade bake", r.Version, rootVersion)
		}
		return fmt.Errorf("version %d, this bake reads %d", r.Version, rootVersion)
	}
	next, files := 0, 0
	for _, p := range r.Parts {
		if p.First != next || p.Last < p.First || p.Files < 0 {
			return fmt.Errorf("parts do not cover the buckets in order at bucket %d", next)
		}
		if p.Files > 0 && !isDigest(p.Key) {
			return fmt.Errorf("part of buckets %d-%d: %q is not a part name", p.First, p.Last, p.Key)
		}
		next, files = p.Last+1, files+p.Files
	}
	if next != pubformat.Buckets || files != r.Files {
		return fmt.Errorf("parts cover %d of %d buckets, %d of %d files", next, pubformat.Buckets, files, r.Files)
	}
	return nil
}

// ReadRoot returns the manifest of the last publish to bucket, or nil
// when there is none, or when a folder's copy cannot be read (a publish
// was killed while writing it): then a publish compares the build with
// what the bucket holds, and stores the manifest again.
func ReadRoot(ctx context.Context, bucket *blob.Bucket) (*Root, error) {
	data, err := bucket.ReadAll(ctx, RootKey)
	if gcerrors.Code(err) == gcerrors.NotFound || unreadable(bucket, err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read remote manifest: %w", err)
	}
	return decodeRoot(data, RootKey)
}

func decodeRoot(data []byte, name string) (*Root, error) {
	var r Root
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return &r, nil
}

// ReadRemote returns the manifest of the last publish to bucket with all
// its entries, or nil when there is none.
func ReadRemote(ctx context.Context, bucket *blob.Bucket) (*bake.Manifest, error) {
	root, err := ReadRoot(ctx, bucket)
	if root == nil || err != nil {
		return nil, err
	}
	return rootManifest(ctx, bucket, root)
}

// rootManifest reads every entry of root.
func rootManifest(ctx context.Context, bucket *blob.Bucket, root *Root) (*bake.Manifest, error) {
	m := &bake.Manifest{}
	for _, p := range root.Parts {
		for e, err := range lineEntries(partLines(ctx, bucket, p)) {
			if err != nil {
				return nil, err
			}
			m.Entries = append(m.Entries, e)
		}
	}
	m.Sort()
	return m, nil
}

// partLines streams the lines of a stored part.
func partLines(ctx context.Context, bucket *blob.Bucket, p Part) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		if p.Files == 0 {
			return
		}
		name := PartObject(p.Key)
		r, err := bucket.NewReader(ctx, name, nil)
		if err != nil {
			yield(line{}, fmt.Errorf("read manifest part %s: %w", name, err))
			return
		}
		defer r.Close()
		gzipLines(name, r, yield)
	}
}

// gzipLines yields the lines of the gzip-compressed manifest part name
// read from r, and reports whether it yielded every one without error.
func gzipLines(name string, r io.Reader, yield func(line, error) bool) bool {
	zr, err := gzip.NewReader(r)
	if err != nil {
		yield(line{}, fmt.Errorf("read manifest part %s: %w", name, err))
		return false
	}
	for l, err := range manifestLines(zr) {
		if err != nil {
			err = fmt.Errorf("manifest part %s: %w", name, err)
		}
		if !yield(l, err) || err != nil {
			return false
		}
	}
	return true
}

// A side is one of the two manifests a publish compares, by parts.
type side interface {
	// part returns what is known of the part of r without reading it: its
	// name and number of files, ok false when unknown.
	part(r bucketRange) (p Part, ok bool)
	// lines streams the entries of the buckets of r, sorted by path.
	lines(ctx context.Context, r bucketRange) iter.Seq2[line, error]
}

// indexSide is a build, through its index and bucket sums.
type indexSide struct {
	idx  *output.Index
	sums []pubformat.Sum
}

func (s indexSide) part(r bucketRange) (Part, bool) {
	return partOf(r, func(b int) ([32]byte, int) { return s.sums[b].Digest, s.sums[b].Files }), true
}

// partOf names the part of r from the digests and counts of its buckets.
func partOf(r bucketRange, bucket func(int) ([32]byte, int)) Part {
	h := sha256.New()
	p := Part{First: r.first, Last: r.last}
	for b := r.first; b <= r.last; b++ {
		d, n := bucket(b)
		h.Write(d[:])
		p.Files += n
	}
	if p.Files > 0 {
		p.Key = hex.EncodeToString(h.Sum(nil))
	}
	return p
}

func (s indexSide) lines(ctx context.Context, r bucketRange) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		for l, err := range s.idx.BucketLines(ctx, r.first, r.last) {
			if err != nil {
				yield(line{}, err)
				return
			}
			p, err := linePath(l.Line)
			if err != nil {
				yield(line{}, fmt.Errorf("read index: %w", err))
				return
			}
			if !yield(line{path: p, raw: l.Line}, nil) {
				return
			}
		}
	}
}

// rootSide is a manifest stored in a bucket.
type rootSide struct {
	bucket *blob.Bucket
	root   *Root
	cache  partCache // copies of parts, if set
	// cached holds the lines of the last part read whole, for ranges
	// smaller than the bucket's parts.
	cachedKey string
	cached    []line
}

func (s *rootSide) part(r bucketRange) (Part, bool) {
	for _, p := range s.root.Parts {
		if p.First == r.first && p.Last == r.last {
			return p, true
		}
	}
	return Part{}, false
}

func (s *rootSide) lines(ctx context.Context, r bucketRange) iter.Seq2[line, error] {
	var over []Part
	for _, p := range s.root.Parts {
		if p.Last >= r.first && p.First <= r.last {
			over = append(over, p)
		}
	}
	if len(over) == 1 && over[0].First == r.first && over[0].Last == r.last {
		return s.cache.lines(ctx, s.bucket, over[0])
	}
	// The bucket's parts are laid out otherwise (the site grew or shrank):
	// the entries of r are gathered from the parts that hold them.
	return func(yield func(line, error) bool) {
		var out []line
		for _, p := range over {
			if s.cachedKey != p.Key || s.cached == nil {
				s.cached, s.cachedKey = nil, p.Key
				for l, err := range s.cache.lines(ctx, s.bucket, p) {
					if err != nil {
						s.cached = nil
						yield(line{}, err)
						return
					}
					s.cached = append(s.cached, line{path: l.path, raw: bytes.Clone(l.raw)})
				}
			}
			for _, l := range s.cached {
				if b := pubformat.Bucket(l.path); b >= r.first && b <= r.last {
					out = append(out, l)
				}
			}
		}
		slices.SortFunc(out, func(a, b line) int { return strings.Compare(a.path, b.path) })
		for _, l := range out {
			if !yield(l, nil) {
				return
			}
		}
	}
}

// listSide is what a bucket holds, found by listing it (see Listed).
type listSide struct{ entries []bake.Entry }

func (s listSide) part(bucketRange) (Part, bool) { return Part{}, false }

func (s listSide) lines(ctx context.Context, r bucketRange) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		for _, e := range s.entries {
			if b := pubformat.Bucket(e.Path); b < r.first || b > r.last {
				continue
			}
			raw, err := json.Marshal(e)
			if err != nil {
				yield(line{}, err)
				return
			}
			if !yield(line{path: e.Path, raw: raw}, nil) {
				return
			}
		}
	}
}

// emptySide is a bucket nothing was published to.
type emptySide struct{}

func (emptySide) part(r bucketRange) (Part, bool) { return Part{First: r.first, Last: r.last}, true }
func (emptySide) lines(context.Context, bucketRange) iter.Seq2[line, error] {
	return noLines
}

// partData is a part to store: its name, and its compressed bytes unless
// they were dropped to bound the memory of a large plan (then Apply reads
// the part from the build's index again).
type partData struct {
	r    bucketRange
	part Part
	data []byte
	mem  *memPart // its lines and sums, for DiffOptions.Memory, if made by splice
}

// partWriter compresses the lines of a part as the diff reads them, and
// names the part from what it read, by the rule of partOf.
type partWriter struct {
	r    bucketRange
	buf  bytes.Buffer
	zw   *gzip.Writer
	sums []pubformat.Hash // of the buckets of r, from first
}

func newPartWriter(r bucketRange) *partWriter {
	w := &partWriter{r: r, sums: make([]pubformat.Hash, r.last-r.first+1)}
	w.zw, _ = gzip.NewWriterLevel(&w.buf, gzip.BestSpeed)
	fmt.Fprintf(w.zw, "{\"bake_manifest\":%d}\n", bake.ManifestVersion)
	return w
}

// tee passes ls on, keeping each line.
func (w *partWriter) tee(ls iter.Seq2[line, error]) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		for l, err := range ls {
			if err == nil {
				w.zw.Write(l.raw)
				w.zw.Write(newline)
				i := pubformat.Bucket(l.path) - w.r.first
				if i < 0 || i >= len(w.sums) {
					err = fmt.Errorf("%s is not in %s", l.path, w.r)
				} else {
					w.sums[i].Add(l.raw)
				}
			}
			if !yield(l, err) {
				return
			}
		}
	}
}

var newline = []byte("\n")

// close returns the part as read.
func (w *partWriter) close() (Part, []byte, error) {
	if err := w.zw.Close(); err != nil {
		return Part{}, nil, err
	}
	p := partOf(w.r, func(b int) ([32]byte, int) {
		s := w.sums[b-w.r.first].Sum()
		return s.Digest, s.Files
	})
	return p, w.buf.Bytes(), nil
}

// diffParts compares local with remote part by part, over the ranges of
// layout: parts with the same name on both sides are unchanged and not
// read. With store, the local parts the remote side lacks are made ready
// to store (plan.parts), and checked against the names the local side
// gave (a build that changed its index while it was read is
// ErrBuildChanged). A part of a build that differs from a stored part of
// the same range is spliced (see differ.splice): only its changed buckets
// are read from the build. The plan's root is the local manifest.
func diffParts(ctx context.Context, local, remote side, ranges []bucketRange, opts DiffOptions, store bool) (*Plan, error) {
	d := newDiffer(opts)
	keepParts := d.opts.KeepPartBytes
	pending := map[int]bool{}
	for _, k := range opts.Pending {
		pending[pubformat.Bucket(bake.PathOf(k))] = true
	}
	touched := func(r bucketRange) bool {
		for b := range pending {
			if b >= r.first && b <= r.last {
				return true
			}
		}
		return false
	}
	root := &Root{Version: rootVersion}
	kept := 0 // bytes of parts kept
	for _, r := range ranges {
		lp, ok := local.part(r)
		if !ok {
			return nil, fmt.Errorf("diff: the local manifest has no part of %s", r)
		}
		root.Parts = append(root.Parts, lp)
		root.Files += lp.Files
		rp, known := remote.part(r)
		same := known && rp.Key == lp.Key && rp.Files == lp.Files
		if same && opts.Headers == nil && !touched(r) {
			d.unchanged(lp.Files)
			continue
		}
		if is, rs, ok := spliceable(local, remote); ok && store && known && rp.Files > 0 && lp.Files > 0 && opts.Headers == nil {
			pd, err := d.splice(ctx, is, rs, r, rp, lp, pending)
			if err != nil {
				return nil, err
			}
			if !same { // else only pending deletes were looked for
				if pd, err = keepSpliced(pd, &kept, keepParts); err != nil {
					return nil, err
				}
				d.plan.parts = append(d.plan.parts, pd)
			}
			continue
		}
		if _, ok := remote.(*rootSide); ok {
			d.plan.reads.parts++
		}
		ls := countLines(local.lines(ctx, r), &d.plan.reads.indexLines, local)
		var w *partWriter
		if store && !same && lp.Files > 0 {
			w = newPartWriter(r)
			ls = w.tee(ls)
		}
		if err := d.lines(ls, remote.lines(ctx, r)); err != nil {
			return nil, err
		}
		if w != nil {
			got, data, err := w.close()
			if err != nil {
				return nil, fmt.Errorf("diff: compress manifest part: %w", err)
			}
			if got != lp {
				return nil, fmt.Errorf("diff: %s: %w", r, ErrBuildChanged)
			}
			d.plan.parts = append(d.plan.parts, keepPart(partData{r: r, part: lp}, data, &kept, keepParts))
		}
	}
	d.plan.root = root
	return d.plan, d.finish()
}

// keepPart keeps data in pd while the plan keeps fewer than limit bytes
// of parts (*kept).
func keepPart(pd partData, data []byte, kept *int, limit int) partData {
	pd.data = nil
	if *kept+len(data) <= limit {
		pd.data = bytes.Clone(data) // not the buffer's spare capacity
		*kept += len(pd.data)
	}
	return pd
}

// keepSpliced keeps a part splice made while the plan keeps fewer than
// limit bytes of parts (*kept): its lines when it is to be compressed when
// stored, which count by their size, else its compressed bytes. Past the
// limit, the part is read again from the build's index when stored.
func keepSpliced(pd partData, kept *int, limit int) (partData, error) {
	if pd.data == nil {
		if *kept+pd.mem.size <= limit {
			*kept += pd.mem.size
			return pd, nil
		}
		data, err := pd.mem.compress()
		if err != nil {
			return partData{}, fmt.Errorf("diff: %w", err)
		}
		pd.mem = nil // not held past the limit
		return keepPart(pd, data, kept, limit), nil
	}
	return keepPart(pd, pd.data, kept, limit), nil
}

// spliceable returns the two sides as splice takes them: a build's index
// and a manifest stored in a bucket.
func spliceable(local, remote side) (indexSide, *rootSide, bool) {
	is, ok := local.(indexSide)
	rs, rok := remote.(*rootSide)
	return is, rs, ok && rok
}

// countLines counts in *n the lines ls yields when it reads a build's
// index (local is an indexSide).
func countLines(ls iter.Seq2[line, error], n *int, local side) iter.Seq2[line, error] {
	if _, ok := local.(indexSide); !ok {
		return ls
	}
	return func(yield func(line, error) bool) {
		for l, err := range ls {
			if err == nil {
				*n++
			}
			if !yield(l, err) {
				return
			}
		}
	}
}

// writeParts stores the parts of a plan the bucket does not have, then
// the root that lists them. A part the plan did not keep is read again
// from the build's index (src), and must still have its name.
func writeParts(ctx context.Context, bucket *blob.Bucket, plan *Plan, src Source, opts ApplyOptions) error {
	if plan.root == nil {
		return errors.New("publish: the plan has no manifest to store (make it with Prepare)")
	}
	var idx *output.Index
	byKey := map[string]partData{}
	var changes []Change
	for _, p := range plan.parts {
		k := PartObject(p.part.Key)
		if _, dup := byKey[k]; dup {
			continue
		}
		byKey[k] = p
		changes = append(changes, Change{Key: k})
		if p.data == nil && p.mem == nil && idx == nil {
			// The build's index: the folder of src, or of opts (a
			// distributed build's files come from the bucket, its index
			// from a folder of its own).
			dir := opts.Dir
			if d, ok := src.(dirSource); ok {
				dir = d.dir
			}
			if dir == "" {
				return errors.New("publish: a manifest part to store was not kept, and there is no build to read it from")
			}
			var err error
			if idx, err = output.OpenIndex(ctx, dir); err != nil {
				return fmt.Errorf("publish: %w", err)
			}
			defer idx.Close()
		}
	}
	write := func(ctx context.Context, c Change) error {
		p := byKey[c.Key]
		data := p.data
		if data == nil && p.mem != nil {
			var err error
			if data, err = p.mem.compress(); err != nil {
				return err
			}
		}
		if data == nil {
			w := newPartWriter(p.r)
			for _, err := range w.tee(indexSide{idx: idx}.lines(ctx, p.r)) {
				if err != nil {
					return err
				}
			}
			got, b, err := w.close()
			if err != nil {
				return err
			}
			if got != p.part {
				return fmt.Errorf("%w: %s", errIntegrity, ErrBuildChanged)
			}
			data = b
		}
		if err := bucket.WriteAll(ctx, c.Key, data, &blob.WriterOptions{ContentType: "application/gzip", CacheControl: "no-store"}); err != nil {
			return err
		}
		plan.partCache.put(p.part.Key, data)
		plan.memory.put(p.part.Key, p.mem)
		return nil
	}
	opts.defaults()
	opts.Progress = &atomic.Int64{} // counts the site's objects, not these
	if err := each(ctx, all(changes), opts, write); err != nil {
		if errors.Is(err, errIntegrity) {
			return fmt.Errorf("publish: %w", ErrBuildChanged)
		}
		return err
	}
	// The retained files before the root: a crash between the two leaves
	// a list that names files still live, which prune keeps.
	if plan.hasRetained && len(plan.Retained) > 0 {
		list := mergeRetained(plan.retained, plan.Retained)
		if err := retry(ctx, opts, "write "+RetainedKey, func() error {
			return writeRetained(ctx, bucket, list)
		}); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	root, err := json.Marshal(plan.root)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := retry(ctx, opts, "write "+RootKey, func() error {
		return bucket.WriteAll(ctx, RootKey, root, &blob.WriterOptions{ContentType: "application/json", CacheControl: "no-store"})
	}); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	plan.partCache.keep(plan.root)
	plan.memory.keep(plan.root)
	return nil
}

// storedParts lists the names of the parts in bucket.
func storedParts(ctx context.Context, bucket *blob.Bucket) iter.Seq2[*blob.ListObject, error] {
	return func(yield func(*blob.ListObject, error) bool) {
		it := bucket.List(&blob.ListOptions{Prefix: PartsPrefix})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(obj, err) || err != nil {
				return
			}
		}
	}
}

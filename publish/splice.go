package publish

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/pubformat"
	"github.com/klauspost/compress/gzip"
)

// planReads counts what making a plan read, for tests and logs.
type planReads struct {
	parts      int // remote manifest parts read
	indexLines int // lines read from the build's index
}

// splice compares the range r of a build (local) with the remote part
// that covers exactly r (it has files), and returns the part the publish stores for r.
// It reads the remote part whole (from the part cache when it has it) and
// sums its lines bucket by bucket; from the build's index it reads only
// the buckets whose sum differs from the remote one, or that hold a
// pending delete: the lines of the other buckets are the remote part's,
// byte for byte (the same SHA-256). A stream of small publishes then reads
// from the index a few lines a changed page instead of every line of every
// part a change touches. The new part is made of the remote lines of the
// unchanged buckets and the build's lines of the others, and must have the
// name the build's sums give it (lp): else the build changed meanwhile.
//
// With DiffOptions.Memory, the part is compressed when it is stored, not
// here: the plan holds its lines (see keepSpliced).
func (d *differ) splice(ctx context.Context, local indexSide, remote *rootSide, r bucketRange, rp, lp Part, pending map[int]bool) (partData, error) {
	n := r.last - r.first + 1
	var arena []byte // the bytes of the lines read, one allocation for many
	keep := func(l line) line {
		start := len(arena)
		arena = append(arena, l.raw...)
		// Earlier lines keep the array they were copied into when arena
		// grows, and appends never reach their bytes (capacity cut).
		return line{path: l.path, raw: arena[start:len(arena):len(arena)]}
	}
	old := d.opts.Memory.get(rp.Key, r)
	if old == nil {
		old = &memPart{r: r, sums: make([]pubformat.Sum, n)}
		hs := make([]pubformat.Hash, n)
		d.plan.reads.parts++
		for l, err := range remote.lines(ctx, r) {
			if err != nil {
				return partData{}, fmt.Errorf("diff: remote manifest: %w", err)
			}
			b := pubformat.Bucket(l.path) - r.first
			if b < 0 || b >= n {
				return partData{}, fmt.Errorf("diff: remote manifest: %s is not in %s", l.path, r)
			}
			hs[b].Add(l.raw)
			old.lines = append(old.lines, keep(l))
			old.buckets = append(old.buckets, int32(b))
		}
		for i := range hs {
			old.sums[i] = hs[i].Sum()
		}
	}
	changed := make([]bool, n)
	sums := slices.Clone(old.sums) // of the new part
	var fresh []line               // the build's lines of the changed buckets, by path
	var freshBuckets []int32
	for i := range n {
		b := r.first + i
		if old.sums[i] == local.sums[b] && !pending[b] {
			continue
		}
		changed[i] = true
		var h pubformat.Hash
		for l, err := range local.lines(ctx, bucketRange{b, b}) {
			if err != nil {
				return partData{}, fmt.Errorf("diff: local manifest: %w", err)
			}
			d.plan.reads.indexLines++
			h.Add(l.raw)
			fresh = append(fresh, keep(l))
			freshBuckets = append(freshBuckets, int32(i))
		}
		sums[i] = h.Sum()
	}
	if got := partOf(r, func(b int) ([32]byte, int) { return sums[b-r.first].Digest, sums[b-r.first].Files }); got != lp {
		return partData{}, fmt.Errorf("diff: %s: %w", r, ErrBuildChanged)
	}
	// fresh is sorted bucket by bucket: sort it by path, with its buckets.
	order := make([]int, len(fresh))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(fresh[a].path, fresh[b].path) })
	freshSorted := make([]line, len(fresh))
	freshSortedBuckets := make([]int32, len(fresh))
	for i, j := range order {
		freshSorted[i], freshSortedBuckets[i] = fresh[j], freshBuckets[j]
	}

	var stale []line // the remote lines of the changed buckets
	next := &memPart{r: r, sums: sums}
	unchanged := 0
	k := 0 // next of freshSorted to merge
	add := func(l line, b int32) {
		next.lines = append(next.lines, l)
		next.buckets = append(next.buckets, b)
		next.size += len(l.raw)
	}
	for i, l := range old.lines {
		b := old.buckets[i]
		if changed[b] {
			stale = append(stale, l)
			continue
		}
		for k < len(freshSorted) && freshSorted[k].path < l.path {
			add(freshSorted[k], freshSortedBuckets[k])
			k++
		}
		add(l, b)
		unchanged++
	}
	for ; k < len(freshSorted); k++ {
		add(freshSorted[k], freshSortedBuckets[k])
	}
	d.unchanged(unchanged)
	if err := d.lines(all(freshSorted), all(stale)); err != nil {
		return partData{}, err
	}

	pd := partData{r: r, part: lp, mem: next}
	if d.opts.Memory == nil {
		data, err := next.compress()
		if err != nil {
			return partData{}, fmt.Errorf("diff: %w", err)
		}
		pd.data, pd.mem = data, nil
	}
	// else compressed when stored: bake run stores parts once the build
	// folder is free for the next build.
	return pd, nil
}

// compress returns the part as stored: its lines, gzip-compressed, after
// a manifest header (as partWriter writes it).
func (p *memPart) compress() ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	fmt.Fprintf(zw, "{\"bake_manifest\":%d}\n", bake.ManifestVersion)
	for _, l := range p.lines {
		zw.Write(l.raw)
		zw.Write(newline)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress manifest part: %w", err)
	}
	return buf.Bytes(), nil
}

package publish

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/output"
)

// line is one entry of a manifest as written: its path and its raw JSON.
type line struct {
	path string
	raw  []byte
}

var pathPrefix = []byte(`{"path":"`)

// manifestLines streams the entries of a manifest without decoding them:
// only the path is read, so that unchanged entries (byte-identical lines)
// cost a comparison and nothing more. The raw bytes are valid until the
// next iteration.
func manifestLines(r io.Reader) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 256<<10), 64<<20)
		n := 0
		for sc.Scan() {
			n++
			b := sc.Bytes()
			if n == 1 {
				var h struct {
					Version int `json:"bake_manifest"`
				}
				if err := json.Unmarshal(b, &h); err != nil || h.Version == 0 {
					yield(line{}, errors.New("read manifest: line 1: not a bake manifest header"))
					return
				}
				if h.Version > bake.ManifestVersion {
					yield(line{}, fmt.Errorf("read manifest: version %d is newer than this bake (%d): upgrade bake", h.Version, bake.ManifestVersion))
					return
				}
				continue
			}
			p, err := linePath(b)
			if err != nil {
				yield(line{}, fmt.Errorf("read manifest: line %d: %w", n, err))
				return
			}
			if !yield(line{path: p, raw: b}, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(line{}, fmt.Errorf("read manifest: %w", err))
		}
	}
}

// indexLines streams the manifest lines of a build's index like
// manifestLines, as a publish records them ([bake.PublishLine]), so that
// DiffManifests' byte comparison works on them.
func indexLines(ctx context.Context, idx *output.Index) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		for b, err := range idx.PublishLines(ctx) {
			if err != nil {
				yield(line{}, err)
				return
			}
			b = bytes.TrimSuffix(b, []byte("\n"))
			p, err := linePath(b)
			if err != nil {
				yield(line{}, fmt.Errorf("read index: %w", err))
				return
			}
			if !yield(line{path: p, raw: b}, nil) {
				return
			}
		}
	}
}

// writePublishManifest writes the manifest of the build's index as a
// publish records it in the target ([bake.PublishLine]).
func writePublishManifest(ctx context.Context, idx *output.Index, w io.Writer) error {
	if _, err := fmt.Fprintf(w, "{\"bake_manifest\":%d}\n", bake.ManifestVersion); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	for b, err := range idx.PublishLines(ctx) {
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write manifest: %w", err)
		}
	}
	return nil
}

// teeLines passes ls on, writing each line and a newline to w.
func teeLines(ls iter.Seq2[line, error], w io.Writer) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		for l, err := range ls {
			if err == nil {
				w.Write(l.raw)
				w.Write(newline)
			}
			if !yield(l, err) {
				return
			}
		}
	}
}

// digestLines passes ls on, writing each line and a newline to h: the
// digest of a manifest's entries, whatever its header and line endings.
func digestLines(ls iter.Seq2[line, error], h hash.Hash) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		for l, err := range ls {
			if err == nil {
				h.Write(l.raw)
				h.Write(newline)
			}
			if !yield(l, err) {
				return
			}
		}
	}
}

var newline = []byte("\n")

// lineEntries decodes lines into entries (without their deps).
func lineEntries(ls iter.Seq2[line, error]) iter.Seq2[bake.Entry, error] {
	return func(yield func(bake.Entry, error) bool) {
		for l, err := range ls {
			if err != nil {
				yield(bake.Entry{}, err)
				return
			}
			e, err := decode(l)
			if err != nil {
				yield(bake.Entry{}, fmt.Errorf("read manifest %s: %w", l.path, err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// lineDigest is a writer that computes the digest digestLines computes,
// of a manifest written to it: its first line, the header, is left out.
type lineDigest struct {
	h      hash.Hash
	header bool // the header line is behind
	part   []byte
}

func newLineDigest() *lineDigest { return &lineDigest{h: sha256.New()} }

func (d *lineDigest) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.part = append(d.part, p...)
			break
		}
		d.line(append(d.part, p[:i]...))
		d.part, p = d.part[:0], p[i+1:]
	}
	return n, nil
}

func (d *lineDigest) line(b []byte) {
	if !d.header {
		d.header = true
		return
	}
	d.h.Write(bytes.TrimSuffix(b, []byte("\r"))) // as bufio.ScanLines reads it
	d.h.Write(newline)
}

// Sum returns the digest of what was written.
func (d *lineDigest) Sum() []byte {
	if len(d.part) > 0 {
		d.line(d.part)
		d.part = nil
	}
	return d.h.Sum(nil)
}

// linePath returns the path of a manifest line, which bake writes first.
func linePath(b []byte) (string, error) {
	if bytes.HasPrefix(b, pathPrefix) {
		rest := b[len(pathPrefix):]
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i]), nil
		}
	}
	var e struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return "", err
	}
	return e.Path, nil
}

// decode reads a manifest line into an entry, without its deps.
func decode(l line) (bake.Entry, error) {
	var e bake.Entry
	err := json.Unmarshal(l.raw, &e)
	e.Deps = nil
	return e, err
}

// DiffManifests is Diff over two manifests as written by bake (remote may
// be nil): lines that are byte-identical are skipped without decoding, so a
// publish of a large site with few changes reads its manifests at the speed
// of a comparison.
func DiffManifests(local, remote io.Reader, opts DiffOptions) (*Plan, error) {
	return diffLines(manifestLines(local), remote, opts)
}

// diffLines is DiffManifests with the local manifest as lines. The plan
// records a digest of those lines, so that Apply publishes the manifest
// the plan was made from or nothing.
func diffLines(ls iter.Seq2[line, error], remote io.Reader, opts DiffOptions) (*Plan, error) {
	h := sha256.New()
	plan, err := diffRaw(digestLines(ls, h), remote, opts)
	if plan != nil {
		plan.local = h.Sum(nil)
	}
	return plan, err
}

func diffRaw(ls iter.Seq2[line, error], remote io.Reader, opts DiffOptions) (*Plan, error) {
	if remote == nil {
		remote = strings.NewReader(fmt.Sprintf("{\"bake_manifest\":%d}\n", bake.ManifestVersion))
	}
	rs := manifestLines(remote)
	nextL, stopL := iter.Pull2(ls)
	defer stopL()
	nextR, stopR := iter.Pull2(rs)
	defer stopR()
	// Lines that match are consumed in pairs here; everything else is
	// decoded and handed to Diff's merge, which sees only the differences
	// plus a count of the unchanged.
	var unchanged int
	var lefts, rights []bake.Entry
	l, errL, okL := nextL()
	r, errR, okR := nextR()
	for okL || okR {
		if errL != nil {
			return nil, fmt.Errorf("diff: local manifest: %w", errL)
		}
		if errR != nil {
			return nil, fmt.Errorf("diff: remote manifest: %w", errR)
		}
		switch {
		case okL && okR && l.path == r.path && bytes.Equal(l.raw, r.raw):
			if opts.Headers != nil {
				// The same entry, but its headers may follow other rules now.
				e, err := decode(l)
				if err != nil {
					return nil, fmt.Errorf("diff: local manifest %s: %w", l.path, err)
				}
				if headersChanged(e, opts.Headers) {
					lefts = append(lefts, e)
					rights = append(rights, e)
					l, errL, okL = nextL()
					r, errR, okR = nextR()
					continue
				}
			}
			unchanged++
			l, errL, okL = nextL()
			r, errR, okR = nextR()
		case okL && (!okR || l.path <= r.path):
			e, err := decode(l)
			if err != nil {
				return nil, fmt.Errorf("diff: local manifest %s: %w", l.path, err)
			}
			lefts = append(lefts, e)
			l, errL, okL = nextL()
		default:
			e, err := decode(r)
			if err != nil {
				return nil, fmt.Errorf("diff: remote manifest %s: %w", r.path, err)
			}
			rights = append(rights, e)
			r, errR, okR = nextR()
		}
	}
	return diff(entrySeq(lefts), entrySeq(rights), opts, unchanged)
}

func entrySeq(es []bake.Entry) iter.Seq2[bake.Entry, error] {
	return func(yield func(bake.Entry, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

package publish

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/bakehq/bake"
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
	d := newDiffer(opts)
	var rs iter.Seq2[line, error] = noLines
	if remote != nil {
		rs = manifestLines(remote)
	}
	if err := d.lines(manifestLines(local), rs); err != nil {
		return nil, err
	}
	return d.plan, d.finish()
}

func noLines(func(line, error) bool) {}

// lines merges two line streams sorted by path into the plan: lines that
// match are consumed in pairs here; everything else is decoded and handed
// to entries, which sees only the differences.
func (d *differ) lines(ls, rs iter.Seq2[line, error]) error {
	nextL, stopL := iter.Pull2(ls)
	defer stopL()
	nextR, stopR := iter.Pull2(rs)
	defer stopR()
	var lefts, rights []bake.Entry
	l, errL, okL := nextL()
	r, errR, okR := nextR()
	for okL || okR {
		if errL != nil {
			return fmt.Errorf("diff: local manifest: %w", errL)
		}
		if errR != nil {
			return fmt.Errorf("diff: remote manifest: %w", errR)
		}
		switch {
		case okL && okR && l.path == r.path && bytes.Equal(l.raw, r.raw):
			d.seen(l.path)
			if d.opts.Headers != nil {
				// The same entry, but its headers may follow other rules now.
				e, err := decode(l)
				if err != nil {
					return fmt.Errorf("diff: local manifest %s: %w", l.path, err)
				}
				if headersChanged(e, d.opts.Headers) {
					lefts = append(lefts, e)
					rights = append(rights, e)
					l, errL, okL = nextL()
					r, errR, okR = nextR()
					continue
				}
			}
			d.unchanged(1)
			l, errL, okL = nextL()
			r, errR, okR = nextR()
		case okL && (!okR || l.path <= r.path):
			e, err := decode(l)
			if err != nil {
				return fmt.Errorf("diff: local manifest %s: %w", l.path, err)
			}
			lefts = append(lefts, e)
			l, errL, okL = nextL()
		default:
			e, err := decode(r)
			if err != nil {
				return fmt.Errorf("diff: remote manifest %s: %w", r.path, err)
			}
			rights = append(rights, e)
			r, errR, okR = nextR()
		}
	}
	return d.entries(all(lefts), all(rights))
}

package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/precompress"
)

// PageRenderer renders pages one at a time as a full build does (the same
// bytes, finishing and manifest entry), for a caller that stores the files
// itself: a worker of a distributed build (package distbuild), which
// uploads them. It is not safe for concurrent use: make one a goroutine.
type PageRenderer struct {
	fin  *finisher
	buf  bytes.Buffer
	line entryLine
	sibs siblings
}

// NewPageRenderer returns a renderer finishing pages as o says.
func NewPageRenderer(o FinishOptions) *PageRenderer {
	return &PageRenderer{fin: newFinisher(o, newMinifier(o))}
}

// siblings keeps the precompressed siblings of the last page rendered.
type siblings struct {
	name string // the page's file name
	list []precompress.Sibling
}

func (s *siblings) WriteFile(name string, data []byte) error {
	sib := precompress.Sibling{Ext: strings.TrimPrefix(name, s.name), Data: data}
	for _, cd := range precompress.Codings {
		if precompress.Ext(cd) == sib.Ext {
			sib.Coding = cd
		}
	}
	s.list = append(s.list, sib)
	return nil
}

// Siblings returns the precompressed siblings of the page Render returned
// last, those a build writes beside its file (see
// [FinishOptions.Precompress]); valid until the next call of Render.
func (r *PageRenderer) Siblings() []precompress.Sibling { return r.sibs.list }

// Render renders p and returns the bytes of its file, valid until the
// next call, its manifest entry, and the entry's manifest line (without
// a newline), as a full build records them; the siblings a build writes
// beside the file are listed in the entry, and returned by Siblings. An
// error is a problem of the page.
func (r *PageRenderer) Render(ctx context.Context, p *bake.Page) ([]byte, bake.Entry, []byte, error) {
	name, err := bake.FileName(p.Path)
	if err == nil {
		err = r.fin.checkName(name)
	}
	if err != nil {
		return nil, bake.Entry{}, nil, err
	}
	r.buf.Reset()
	var tr bake.Tracker
	switch {
	case p.Source != "":
		err = readInto(&r.buf, p.Source)
	case p.Render != nil:
		err = p.Render(bake.WithTracker(ctx, &tr), &r.buf)
	default:
		err = errors.New("page has neither Render nor Source")
	}
	if err != nil {
		return nil, bake.Entry{}, nil, err
	}
	data, err := r.fin.bytes(p, r.buf.Bytes())
	if err != nil {
		return nil, bake.Entry{}, nil, err
	}
	sum := sha256.Sum256(data)
	r.sibs = siblings{name: name, list: r.sibs.list[:0]}
	codings, err := r.fin.writeSiblings(&r.sibs, name, p.Type(), data)
	if err != nil {
		return nil, bake.Entry{}, nil, err
	}
	deps := p.Deps
	if extra := tr.Deps(); len(extra) > 0 {
		deps = bake.SortDeps(append(slices.Clone(deps), extra...))
	}
	e := bake.Entry{Path: p.Path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Type: p.Type(),
		Route: p.Route, Key: p.Key, LastMod: p.LastMod, Redirect: p.Redirect, Encodings: codings, Deps: deps, Digest: p.Digest, Rows: r.fin.rows(p)}
	line, err := r.line.encode(&e)
	if err != nil {
		return nil, bake.Entry{}, nil, fmt.Errorf("encode manifest entry: %w", err)
	}
	if r.buf.Cap() > 4<<20 {
		r.buf = bytes.Buffer{} // do not keep a huge buffer for every later page (data keeps its own)
	}
	return data, e, bytes.TrimSuffix(line, []byte("\n")), nil
}

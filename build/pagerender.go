package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/bakehq/bake"
)

// PageRenderer renders pages one at a time as a full build does (the same
// bytes, finishing and manifest entry), for a caller that stores the files
// itself: a worker of a distributed build (package distbuild), which
// uploads them. It is not safe for concurrent use: make one a goroutine.
type PageRenderer struct {
	fin  *finisher
	buf  bytes.Buffer
	line bytes.Buffer
	enc  *json.Encoder
}

// NewPageRenderer returns a renderer finishing pages as o says.
func NewPageRenderer(o FinishOptions) *PageRenderer {
	return &PageRenderer{fin: newFinisher(o, newMinifier(o))}
}

// discard is a fileWriter that writes nothing.
type discard struct{}

func (discard) WriteFile(string, []byte) error { return nil }

// Render renders p and returns the bytes of its file, valid until the
// next call, its manifest entry, and the entry's manifest line (without
// a newline), as a full build records them. The precompressed siblings a
// build would write are listed in the entry but not kept: a publish makes
// them again, to the same bytes. An error is a problem of the page.
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
	codings, err := r.fin.writeSiblings(discard{}, name, p.Type(), data)
	if err != nil {
		return nil, bake.Entry{}, nil, err
	}
	deps := p.Deps
	if extra := tr.Deps(); len(extra) > 0 {
		deps = bake.SortDeps(append(slices.Clone(deps), extra...))
	}
	e := bake.Entry{Path: p.Path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Type: p.Type(),
		Route: p.Route, Key: p.Key, LastMod: p.LastMod, Redirect: p.Redirect, Encodings: codings, Deps: deps, Digest: p.Digest}
	if r.enc == nil {
		r.enc = json.NewEncoder(&r.line)
		r.enc.SetEscapeHTML(false)
	}
	r.line.Reset()
	if err := r.enc.Encode(&e); err != nil {
		return nil, bake.Entry{}, nil, fmt.Errorf("encode manifest entry: %w", err)
	}
	if r.buf.Cap() > 4<<20 {
		r.buf = bytes.Buffer{} // do not keep a huge buffer for every later page (data keeps its own)
	}
	return data, e, bytes.TrimSuffix(r.line.Bytes(), []byte("\n")), nil
}

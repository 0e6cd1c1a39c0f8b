package serve

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

const (
	// minCompressSize is the smallest body compressed on the fly: below it
	// the framing costs more than it saves.
	minCompressSize = 1 << 10
	// maxCompressSize is the largest body compressed on the fly, in memory.
	maxCompressSize = 32 << 20
	// bigCompressSize is the size above which brotli runs at a lower quality:
	// its higher qualities are slow on big files.
	bigCompressSize = 256 << 10
)

// encoding is a content coding the server can send.
type encoding struct {
	name string // Content-Encoding token
	ext  string // extension of a precompressed sibling
}

// encodings lists the codings in order of preference.
var encodings = [...]encoding{
	{name: "br", ext: ".br"},
	{name: "gzip", ext: ".gz"},
}

// tagSuffix is what a coding adds inside the quotes of an ETag.
func (e encoding) tagSuffix() string {
	if e.name == "gzip" {
		return "-gz"
	}
	return "-" + e.name
}

// compress returns data compressed with e.
func (e encoding) compress(r io.Reader, size int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(size / 3))
	var w io.WriteCloser
	switch e.name {
	case "br":
		q := 5
		if size > bigCompressSize {
			q = 3
		}
		w = brotli.NewWriterLevel(&buf, q)
	default:
		w = gzip.NewWriter(&buf)
	}
	if _, err := io.Copy(w, r); err != nil {
		return nil, fmt.Errorf("compress %s: %w", e.name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress %s: %w", e.name, err)
	}
	return buf.Bytes(), nil
}

// variantTag returns the ETag of the e-encoded form of the representation
// whose ETag is tag: the suffix goes inside the quotes.
func (e encoding) variantTag(tag string) string {
	if i := strings.LastIndexByte(tag, '"'); i > 0 {
		return tag[:i] + e.tagSuffix() + tag[i:]
	}
	return tag
}

// accepts reports whether an Accept-Encoding header value allows coding:
// named with a non-zero q, or covered by a non-zero "*".
func accepts(header, coding string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				f = 0
			}
			q = f
		}
		switch {
		case strings.EqualFold(name, coding):
			return q > 0
		case name == "*":
			star = q > 0
		}
	}
	return star
}

// acceptedCodings tells, by index in encodings, whether the values of an
// Accept-Encoding header allow each coding: what accepts says of their
// join, in one pass, without the iterator's closures (it runs on every
// hit from memory).
func acceptedCodings(values []string) (ok [len(encodings)]bool) {
	if len(values) == 1 {
		if ok, found := commonCodings[values[0]]; found {
			return ok
		}
	}
	return parseCodings(values)
}

// commonCodings are the answers of parseCodings to the Accept-Encoding
// values browsers and tools send most, parsed once: a map read instead
// of a parse on every request.
var commonCodings = func() map[string][len(encodings)]bool {
	m := map[string][len(encodings)]bool{}
	for _, v := range []string{
		"gzip", "br", "deflate", "identity", "*", "zstd",
		"gzip, deflate", "deflate, gzip", "gzip, br", "br, gzip", "gzip,deflate",
		"gzip, deflate, br", "gzip, deflate, br, zstd", "gzip,deflate,br",
		"br, gzip, deflate", "deflate, gzip, br, zstd", "gzip, deflate, zstd",
		"br;q=1.0, gzip;q=0.8, *;q=0.1",
	} {
		m[v] = parseCodings([]string{v})
	}
	return m
}()

// parseCodings is acceptedCodings without the table of common values.
func parseCodings(values []string) (ok [len(encodings)]bool) {
	var named [len(encodings)]bool
	star := false
	for _, header := range values {
		for len(header) > 0 {
			part := header
			if i := strings.IndexByte(header, ','); i >= 0 {
				part, header = header[:i], header[i+1:]
			} else {
				header = ""
			}
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			q := 1.0
			for params != "" {
				p := params
				if i := strings.IndexByte(params, ';'); i >= 0 {
					p, params = params[:i], params[i+1:]
				} else {
					params = ""
				}
				k, v, found := strings.Cut(p, "=")
				if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				q = f
			}
			if name == "*" {
				star = q > 0
				continue
			}
			for i, e := range encodings {
				if !named[i] && strings.EqualFold(name, e.name) {
					named[i], ok[i] = true, q > 0
				}
			}
		}
	}
	for i := range ok {
		if !named[i] {
			ok[i] = star
		}
	}
	return ok
}

// compressible reports whether content of type ctype is text worth
// compressing: text/*, JavaScript, JSON, XML and SVG.
func compressible(ctype string) bool {
	mt, _, _ := strings.Cut(ctype, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/javascript", mt == "application/json", mt == "application/xml", mt == "image/svg+xml":
		return true
	case strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// lazyBody is a response body made on first use, which sets Content-Length.
//
// http.ServeContent answers 304 and 412 before it touches the body, so a
// revalidation costs no compression. It leaves Content-Length unset when
// Content-Encoding is set, so the body reports its size through setSize once
// it exists, which is before ServeContent writes the header (it needs the size
// first); a 304 or 412 thus carries no stale Content-Length, and a header
// already written would just go without one.
type lazyBody struct {
	open    func() (io.ReadSeeker, int64, error)
	setSize func(int64)
	r       io.ReadSeeker
	err     error
}

func (b *lazyBody) init() error {
	if b.r == nil && b.err == nil {
		r, size, err := b.open()
		if err != nil {
			b.err = err
			return err
		}
		b.r = r
		b.setSize(size)
	}
	return b.err
}

func (b *lazyBody) Read(p []byte) (int, error) {
	if err := b.init(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *lazyBody) Seek(offset int64, whence int) (int64, error) {
	if err := b.init(); err != nil {
		return 0, err
	}
	return b.r.Seek(offset, whence)
}

// compressBest returns data compressed with e at a level worth paying
// once per version of a file: gzip's best, brotli 9 (5 above
// bigCompressSize, where its higher qualities are slow).
func (e encoding) compressBest(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data) / 3)
	var w io.WriteCloser
	switch e.name {
	case "br":
		q := 9
		if len(data) > bigCompressSize {
			q = 5
		}
		w = brotli.NewWriterLevel(&buf, q)
	default:
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("compress %s: %w", e.name, err)
		}
		w = zw
	}
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("compress %s: %w", e.name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress %s: %w", e.name, err)
	}
	return buf.Bytes(), nil
}

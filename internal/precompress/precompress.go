// Package precompress makes the compressed siblings of a build's text
// files: name.gz (gzip) and name.br (brotli) beside name, which web servers
// send as they are (nginx gzip_static and brotli_static), bake serve sends,
// and bake publish stores instead of compressing again.
//
// Compression is deterministic: the same bytes always give the same
// sibling (gzip's header carries no name and no time), so an unchanged
// page has an unchanged sibling, in every build and every publish.
package precompress

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// Content codings of siblings, as Content-Encoding names them.
const (
	Gzip   = "gzip"
	Brotli = "br"
)

// Codings lists every coding a sibling can have, in the order siblings
// are made and listed.
var Codings = []string{Brotli, Gzip}

// DefaultMinSize is the smallest file compressed when Options.MinSize is
// zero: below it, the framing costs more than compression saves.
const DefaultMinSize = 1024

// BigSize is the size above which brotli runs at a lower quality.
const BigSize = 256 << 10

// Quality of each coding: gzip's best level; brotli 5 (4 above BigSize).
// Measured on the bench site's pages (11 KB of HTML each): brotli 9 is
// four times slower than 5 for output 0.5% smaller, and 11 is 13% smaller
// but 160 times slower, which at 100,000 pages is an hour.
const (
	gzipLevel     = gzip.BestCompression
	brotliQuality = 5
	brotliBig     = 4
)

// Options say which siblings a build makes.
type Options struct {
	// Codings lists the siblings made: Gzip, Brotli or both. If empty,
	// none: precompression is off.
	Codings []string
	// MinSize is the smallest file compressed, in bytes. If zero,
	// DefaultMinSize.
	MinSize int
}

// Enabled reports whether any sibling is made.
func (o Options) Enabled() bool { return len(o.Codings) > 0 }

// Check returns an error naming a coding that is not Gzip or Brotli, or a
// negative MinSize.
func (o Options) Check() error {
	for _, c := range o.Codings {
		if Ext(c) == "" {
			return fmt.Errorf("precompress: unknown coding %q: use %q or %q", c, Gzip, Brotli)
		}
	}
	if o.MinSize < 0 {
		return fmt.Errorf("precompress_min %d: must be 0 or more", o.MinSize)
	}
	return nil
}

// String describes o in a stable form: the same options, the same string.
func (o Options) String() string {
	if !o.Enabled() {
		return "off"
	}
	cs := slices.Clone(o.Codings)
	slices.Sort(cs)
	cs = slices.Compact(cs)
	return fmt.Sprintf("%s min=%d", strings.Join(cs, ","), o.minSize())
}

func (o Options) minSize() int {
	if o.MinSize == 0 {
		return DefaultMinSize
	}
	return o.MinSize
}

// Ext returns the file extension of a sibling of coding c (".gz", ".br"),
// or "" for an unknown coding.
func Ext(c string) string {
	switch c {
	case Gzip:
		return ".gz"
	case Brotli:
		return ".br"
	}
	return ""
}

// Compressible reports whether content of type ctype is text worth
// compressing: text/*, JavaScript, JSON, XML, SVG and every +json and +xml
// type (feeds, web manifests).
func Compressible(ctype string) bool {
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

// Sibling is one compressed form of a file.
type Sibling struct {
	Coding string // Gzip or Brotli
	Ext    string // ".gz" or ".br"
	Data   []byte // valid until the next call of the Compressor
}

// Compressor makes siblings with encoders it reuses. It is not safe for
// concurrent use: give each goroutine its own.
type Compressor struct {
	opts    Options
	gz      *gzip.Writer
	br      map[int]*brotli.Writer
	bufs    [2]bytes.Buffer
	sibs    [2]Sibling
	codings []string // opts.Codings in Codings order, without repeats
}

// NewCompressor returns a Compressor for opts.
func NewCompressor(opts Options) *Compressor {
	c := &Compressor{opts: opts, br: map[int]*brotli.Writer{}}
	for _, cd := range Codings {
		if slices.Contains(opts.Codings, cd) {
			c.codings = append(c.codings, cd)
		}
	}
	return c
}

// Worth reports whether a file of type ctype and size bytes is compressed
// at all: a text type, at least MinSize bytes.
func (c *Compressor) Worth(ctype string, size int) bool {
	return len(c.codings) > 0 && size >= c.opts.minSize() && Compressible(ctype)
}

// Compress returns the siblings of data, a file of type ctype: one for
// each coding of the options that makes it smaller, none when the file is
// not worth compressing (see Worth). The slice and the bytes are valid
// until the next call.
func (c *Compressor) Compress(ctype string, data []byte) ([]Sibling, error) {
	if !c.Worth(ctype, len(data)) {
		return nil, nil
	}
	out := c.sibs[:0]
	for i, cd := range c.codings {
		buf := &c.bufs[i]
		buf.Reset()
		if err := c.encode(buf, cd, data); err != nil {
			return nil, err
		}
		if buf.Len() < len(data) {
			out = append(out, Sibling{Coding: cd, Ext: Ext(cd), Data: buf.Bytes()})
		}
	}
	return out, nil
}

// Encode compresses data with coding cd, as Compress does, into a new
// slice.
func (c *Compressor) Encode(cd string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := c.encode(&buf, cd, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c *Compressor) encode(buf *bytes.Buffer, cd string, data []byte) error {
	buf.Grow(len(data)/3 + 64)
	var w io.WriteCloser
	switch cd {
	case Gzip:
		if c.gz == nil {
			zw, err := gzip.NewWriterLevel(buf, gzipLevel)
			if err != nil {
				return fmt.Errorf("compress gzip: %w", err)
			}
			c.gz = zw
		} else {
			c.gz.Reset(buf)
		}
		// Zero MTIME (the writer would put the zero time.Time, year 1, as
		// a number that reads as 2042) and no name.
		c.gz.ModTime = time.Unix(0, 0)
		w = c.gz
	case Brotli:
		q := brotliQuality
		if len(data) > BigSize {
			q = brotliBig
		}
		bw := c.br[q]
		if bw == nil {
			bw = brotli.NewWriterLevel(buf, q)
			c.br[q] = bw
		} else {
			bw.Reset(buf)
		}
		w = bw
	default:
		return fmt.Errorf("compress: unknown coding %q", cd)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("compress %s: %w", cd, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", cd, err)
	}
	return nil
}

// Decode returns the bytes that data, compressed with coding cd, stands
// for, refusing more than limit bytes.
func Decode(cd string, data []byte, limit int64) ([]byte, error) {
	var r io.Reader
	switch cd {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("decompress gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	case Brotli:
		r = brotli.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("decompress: unknown coding %q", cd)
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("decompress %s: %w", cd, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("decompress %s: more than %d bytes", cd, limit)
	}
	return out, nil
}

package build

import (
	"context"
	"fmt"
	"mime"
	"path"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/htmlmin"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/bakehq/bake/output"
)

// FinishOptions are what a build does to a page's bytes once rendered:
// HTML minification and precompressed siblings. They are the same for
// every build of a folder: a build whose options differ from the last
// one's is full (see [Update]).
type FinishOptions struct {
	// MinifyHTML minifies every HTML page (see internal/htmlmin). The
	// page's SHA-256, and so its ETag and what publish compares, are
	// those of the minified bytes.
	MinifyHTML bool
	// Precompress writes name.gz and name.br beside each text file of at
	// least Precompress.MinSize bytes, for the codings it names, when they
	// are smaller than the file; the file's entry lists them
	// ([bake.Entry.Encodings]). If zero, none.
	Precompress precompress.Options
}

// finishValue is the index value that records the FinishOptions of the
// build in a folder.
const finishValue = "build:output"

// String describes o in a stable form, stored with the build: "" when o
// does nothing, so that builds made before these options existed match.
func (o FinishOptions) String() string {
	if !o.MinifyHTML && !o.Precompress.Enabled() {
		return ""
	}
	return fmt.Sprintf("minify_html=%t precompress=%s", o.MinifyHTML, o.Precompress)
}

// checkFinish returns an error wrapping [bake.ErrFullBuild] when
// the build in idx was made with other FinishOptions than o.
func checkFinish(ctx context.Context, idx *output.Index, o FinishOptions) error {
	was, err := idx.Value(ctx, finishValue)
	if err != nil {
		return err
	}
	if now := o.String(); was != now {
		return fmt.Errorf("the output settings changed (%s, now %s): %w", describe(was), describe(now), bake.ErrFullBuild)
	}
	return nil
}

func describe(v string) string {
	if v == "" {
		return "no minification, no precompression"
	}
	return v
}

// withFinishValue returns values with the record of o added.
func withFinishValue(values map[string]string, o FinishOptions) map[string]string {
	if values == nil {
		values = map[string]string{}
	}
	if s := o.String(); s != "" {
		values[finishValue] = s
	}
	return values
}

// finisher turns a rendered page into the bytes written, and writes its
// siblings. Each worker has its own.
type finisher struct {
	min  *htmlmin.Minifier       // nil when off
	comp *precompress.Compressor // nil when off
	exts map[string]bool         // extensions of the siblings made
	buf  []byte                  // the last minified page
}

func newFinisher(o FinishOptions, min *htmlmin.Minifier) *finisher {
	f := &finisher{}
	if o.MinifyHTML {
		f.min = min
	}
	if o.Precompress.Enabled() {
		f.comp = precompress.NewCompressor(o.Precompress)
		f.exts = map[string]bool{}
		for _, c := range o.Precompress.Codings {
			f.exts[precompress.Ext(c)] = true
		}
	}
	return f
}

// precompressing reports whether siblings are made. A nil finisher (a
// worker made by a test) does nothing.
func (f *finisher) precompressing() bool { return f != nil && f.comp != nil }

// newMinifier returns the minifier the workers of a build share, or nil.
func newMinifier(o FinishOptions) *htmlmin.Minifier {
	if o.MinifyHTML {
		return htmlmin.New()
	}
	return nil
}

// bytes returns the bytes written for page p, rendered as data: minified
// when it is HTML and minification is on. The result is valid until the
// next call.
func (f *finisher) bytes(p *bake.Page, data []byte) ([]byte, error) {
	if f == nil || f.min == nil || !p.HTML() || p.Source != "" {
		return data, nil
	}
	out, err := f.min.Append(f.buf[:0], data)
	if err != nil {
		return nil, err
	}
	f.buf = out
	if cap(f.buf) > 4<<20 {
		f.buf = nil // do not keep a huge buffer for every later page
	}
	return out, nil
}

// rows returns p.Rows when the bytes written are those p rendered (see
// bytes): a minified page's rows are elsewhere.
func (f *finisher) rows(p *bake.Page) *bake.RowSpans {
	if f != nil && f.min != nil && p.HTML() && p.Source == "" {
		return nil
	}
	return p.Rows
}

// checkName returns an error when the file name of a page is that of a
// sibling of another text file (page.html.gz while gzip siblings are
// made): one would overwrite the other.
func (f *finisher) checkName(name string) error {
	if !f.precompressing() {
		return nil
	}
	ext := path.Ext(name)
	if !f.exts[ext] {
		return nil
	}
	base := strings.TrimSuffix(name, ext)
	if precompress.Compressible(mime.TypeByExtension(path.Ext(base))) {
		return fmt.Errorf("%s would be overwritten by the precompressed sibling of %s: rename it, or turn precompression of %s off ([build] precompress in bake.toml)", name, base, ext)
	}
	return nil
}

// writeSiblings writes the siblings of the file name, of type ctype and
// bytes data, through w, after the file itself (so that they are never
// older than it), and returns their codings, sorted.
func (f *finisher) writeSiblings(w fileWriter, name, ctype string, data []byte) ([]string, error) {
	if !f.precompressing() {
		return nil, nil
	}
	sibs, err := f.comp.Compress(ctype, data)
	if err != nil || len(sibs) == 0 {
		return nil, err
	}
	codings := make([]string, 0, len(sibs))
	for _, s := range sibs {
		if err := w.WriteFile(name+s.Ext, s.Data); err != nil {
			return nil, err
		}
		codings = append(codings, s.Coding)
	}
	// precompress.Codings is sorted ("br" < "gzip"), and so are these.
	return codings, nil
}

// staleSiblings returns the file names of the siblings of name that a
// build with these options does not keep: those of codings, the ones the
// file had, that are not in now.
func staleSiblings(name string, had, now []string) []string {
	var out []string
	for _, c := range had {
		if !slices.Contains(now, c) {
			if ext := precompress.Ext(c); ext != "" {
				out = append(out, name+ext)
			}
		}
	}
	return out
}

// siblingExts returns the extensions of the siblings a build with o makes.
func siblingExts(o FinishOptions) []string {
	var out []string
	for _, c := range precompress.Codings {
		if slices.Contains(o.Precompress.Codings, c) {
			out = append(out, precompress.Ext(c))
		}
	}
	return out
}

// WithFinishValue returns values with the record of o added, as a build
// stores them: an index written by other means (the finishing job of a
// distributed build) stores it too, so that an update of it checks o.
func WithFinishValue(values map[string]string, o FinishOptions) map[string]string {
	return withFinishValue(values, o)
}

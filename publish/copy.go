package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/bakehq/bake"
	"github.com/bakehq/bake/internal/precompress"
	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"
)

// A publish whose files were staged in the bucket beforehand (by the
// workers of a distributed build) need not send their bytes again: each
// file was staged in its published form (the bytes Apply would write,
// compressed as it would compress them, with the headers it would set),
// and Apply copies it to its key with the bucket's server-side copy (S3
// CopyObject: no byte through the machine that publishes), spread over
// as many machines as the Copier likes. A file whose published form is
// not staged (the header rules changed since it was staged), and a
// redirect (S3 does not copy a redirect's location), is uploaded as
// usual.

// StagedPrefix is where the workers of a distributed build stage the
// files of the build in the target, each under its SHA-256 (see package
// distbuild). Nothing under it is served; bake prune removes what no kept
// release needs.
const StagedPrefix = bake.ReservedDir + "/staged/"

// StagedGrace is the age under which Prune keeps a staged file that no
// kept release needs: a distributed build running now may have staged it
// (or found it staged) and not yet published it. A worker that finds a
// file staged longer ago than StagedRefresh stages it again, which makes
// it new: so a build that goes live within StagedGrace - StagedRefresh
// (23 hours) of its shards never misses a file Prune removed.
const (
	StagedGrace   = 24 * time.Hour
	StagedRefresh = time.Hour
)

// FormOptions are the options of Apply that decide the bytes and headers
// of an object.
type FormOptions struct {
	Compress     bool                                  // see ApplyOptions.Compress
	Encoding     string                                // see ApplyOptions.Encoding
	CacheControl func(key string, e bake.Entry) string // if nil, DefaultCacheControl
}

func (o ApplyOptions) form() FormOptions {
	return FormOptions{Compress: o.Compress, Encoding: o.Encoding, CacheControl: o.CacheControl}
}

// StagedCopy is one server-side copy: the staged published form From to
// the key To, in the same bucket.
type StagedCopy struct {
	From, To string
}

// A Copier copies the staged published forms of a publish's files to
// their keys (ApplyOptions.Copy).
type Copier interface {
	// Staged returns the key at which the published form of the file of
	// c, with the headers wo, was staged, or "" if it was not.
	Staged(c Change, wo *blob.WriterOptions) string
	// Copy copies each From to its To, server-side, in any order, and
	// returns the To keys of the copies whose From is missing, which
	// Apply then uploads itself. Each copy must be idempotent: a publish
	// interrupted and resumed copies again.
	Copy(ctx context.Context, copies iter.Seq2[StagedCopy, error]) (missing []string, err error)
}

// objectOptions returns the headers and metadata Apply writes with the
// file of c, but its Content-Encoding.
func objectOptions(c Change, cacheControl func(string, bake.Entry) string) *blob.WriterOptions {
	if cacheControl == nil {
		cacheControl = DefaultCacheControl
	}
	wo := &blob.WriterOptions{
		ContentType:                 c.Entry.Type,
		CacheControl:                cacheControl(c.Key, c.Entry),
		DisableContentTypeDetection: true,
		Metadata:                    map[string]string{"sha256": c.Entry.SHA256},
	}
	if c.Entry.Redirect != "" {
		wo.Metadata["redirect"] = c.Entry.Redirect
	}
	if len(c.Entry.Encodings) > 0 {
		// Read back by Listed, so that --verify knows the siblings.
		wo.Metadata[encMeta] = strings.Join(c.Entry.Encodings, ",")
	}
	return wo
}

// encodingOf returns the Content-Encoding Apply stores the file of c with
// ("" for none).
func encodingOf(c Change, o FormOptions) string {
	if !o.Compress || !Compressible(c.Entry) {
		return ""
	}
	if o.Encoding == precompress.Brotli {
		return precompress.Brotli
	}
	return precompress.Gzip
}

// encode returns the body Apply writes for the file of c, whose bytes
// (checked) are raw: the build's sibling of the coding Apply stores it
// with, when sibling returns one that decodes to raw, else raw compressed
// into z's buffer (both encoders are deterministic: gzip has no name and
// no time in its header, so the same bytes always compress to the same
// object), or raw itself when Apply does not compress it.
func encode(c Change, raw []byte, sibling func(coding string) ([]byte, bool), o FormOptions, z *compressor) ([]byte, string, error) {
	enc := encodingOf(c, o)
	if enc == "" {
		return raw, "", nil
	}
	if slices.Contains(c.Entry.Encodings, enc) && sibling != nil {
		// The build made this coding already: send its bytes, checked.
		if sib, ok := sibling(enc); ok {
			return sib, enc, nil
		}
	}
	z.buf.Reset()
	var zw io.WriteCloser
	if enc == precompress.Brotli {
		if z.br == nil {
			z.br = brotli.NewWriterLevel(&z.buf, 9)
		}
		z.br.Reset(&z.buf)
		zw = z.br
	} else {
		if z.gz == nil {
			z.gz, _ = gzip.NewWriterLevel(&z.buf, gzip.DefaultCompression)
		}
		z.gz.Reset(&z.buf)
		zw = z.gz
	}
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return z.buf.Bytes(), enc, nil
}

// Published returns the object Apply writes at c.Key for the file of c
// (c.Entry as the plan has it: see PlanEntry) whose bytes are raw: its
// body and its headers. sibling, if set, returns the precompressed
// sibling of a coding the build made (checked here).
func Published(c Change, raw []byte, sibling func(coding string) ([]byte, bool), o FormOptions) ([]byte, *blob.WriterOptions, error) {
	checked := func(cd string) ([]byte, bool) {
		sib, ok := sibling(cd)
		if !ok {
			return nil, false
		}
		back, err := precompress.Decode(cd, sib, int64(len(raw)))
		return sib, err == nil && bytes.Equal(back, raw)
	}
	if sibling == nil {
		checked = nil
	}
	wo := objectOptions(c, o.CacheControl)
	z := compressors.Get().(*compressor)
	defer compressors.Put(z)
	body, enc, err := encode(c, raw, checked, o, z)
	if err != nil {
		return nil, nil, err
	}
	if enc != "" {
		body = bytes.Clone(body) // it may be z's, which goes back to the pool
	}
	wo.ContentEncoding = enc
	return body, wo, nil
}

// PlanEntry returns e as a plan has it, and the key of its object: the
// plan forgets what an upload does not need (deps, route, key, digest,
// time), which a rule of headers then cannot use either.
func PlanEntry(e bake.Entry) (string, bake.Entry, error) {
	// As Plan.upload does.
	e.Deps, e.Route, e.Key, e.Digest, e.LastMod = nil, "", "", "", time.Time{}
	key, err := bake.FileName(e.Path)
	return key, e, err
}

// FormDigest returns a digest of the headers wo (hex, 16 digits): a
// staged published form is named by its file's SHA-256 and this digest,
// so that it is found only when its headers are the ones Apply would
// write.
func FormDigest(wo *blob.WriterOptions) string {
	h := sha256.New()
	for _, s := range []string{wo.ContentType, wo.CacheControl, wo.ContentEncoding, wo.ContentLanguage, wo.ContentDisposition} {
		io.WriteString(h, s)
		h.Write([]byte{0})
	}
	for _, k := range slices.Sorted(maps.Keys(wo.Metadata)) {
		io.WriteString(h, k+"\x00"+wo.Metadata[k]+"\x00")
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// copyStaged copies the changes of phase whose published form is staged
// with opts.Copy, and returns those it could not: redirects and the files
// whose form is missing, for Apply to upload.
func copyStaged(ctx context.Context, phase *Changes, opts ApplyOptions) ([]Change, int, error) {
	var rest []Change
	o := opts.form()
	copies := func(yield func(StagedCopy, error) bool) {
		for c, err := range phase.All() {
			if err != nil {
				yield(StagedCopy{}, err)
				return
			}
			if c.Entry.Redirect != "" {
				rest = append(rest, c) // its location is a header of the PUT
				continue
			}
			wo := objectOptions(c, o.CacheControl)
			wo.ContentEncoding = encodingOf(c, o)
			from := opts.Copy.Staged(c, wo)
			if from == "" {
				rest = append(rest, c)
				continue
			}
			if !yield(StagedCopy{From: from, To: c.Key}, nil) {
				return
			}
		}
	}
	missing, err := opts.Copy.Copy(ctx, copies)
	if err != nil {
		return nil, 0, err
	}
	copied := phase.Len() - len(rest) - len(missing)
	if len(missing) > 0 {
		opts.Logger.Info("publish: files not staged in their published form are uploaded", "files", len(missing))
		want := map[string]bool{}
		for _, k := range missing {
			want[k] = true
		}
		for c, err := range phase.All() {
			if err != nil {
				return nil, 0, err
			}
			if want[c.Key] {
				rest = append(rest, c)
			}
		}
	}
	opts.Progress.Add(int64(copied))
	return rest, copied, nil
}

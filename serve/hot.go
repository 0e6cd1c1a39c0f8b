package serve

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/bakehq/bake"
)

// Header values shared by every response: net/http only reads them, and
// handlers that change a header replace its slice.
var (
	noCache      = []string{HitCacheControl}
	varyEncoding = []string{HitVary}
	acceptRanges = []string{HitAcceptRanges}
	codingNames  = func() (out [len(encodings)][]string) {
		for i, e := range encodings {
			out[i] = []string{e.name}
		}
		return out
	}()
)

// serveHot answers r from memory when its file is cached and unchanged
// (see hot). It returns false, having written nothing, otherwise.
func (s *FileServer) serveHot(w http.ResponseWriter, r *http.Request) bool {
	c := s.hot(r.Context(), r.URL.Path)
	if c == nil {
		return false
	}
	s.sendCached(w, r, c)
	return true
}

// hot returns the file cached for the URL path upath when it is
// unchanged, at the cost of three stats (the file's, the index's), all by
// path: a cached file was read through the folder's os.Root, and a stat
// that matches it (same file, size and time) is that file, wherever the
// path now leads. A stat stands for FileServerOptions.Recheck (see
// looks): under load, most hits take none. It returns nil otherwise.
func (s *FileServer) hot(ctx context.Context, upath string) *cachedFile {
	// Cached under its URL path, which bake.FileName accepted then.
	c := s.cache.lookup(upath)
	if c == nil {
		return nil
	}
	now := s.looks.now()
	if c.snap != s.manifest.currentAt(ctx, now) {
		return nil
	}
	if !s.looks.trusts(c.looked.Load(), now) {
		fi, err := os.Stat(filepath.Join(s.dir, filepath.FromSlash(c.name)))
		if err != nil || !sameFile(c.fi, fi) {
			return nil
		}
		c.looked.Store(now)
	}
	s.cache.used(c)
	return c
}

// Hit is the answer [FileServer.Lookup] finds in memory: what ServeHTTP
// sends with status 200. Body is shared with the server: never modify it.
type Hit struct {
	Body []byte
	// ContentType, ETag and LastModified are the values of those headers;
	// LastModified is empty when none is sent.
	ContentType, ETag, LastModified string
	// ContentEncoding is the coding of Body ("br", "gzip"), empty for
	// none.
	ContentEncoding string
}

// Header values every [Hit] is sent with, besides its own: what ServeHTTP
// sends with them.
const (
	HitCacheControl = "no-cache"
	HitVary         = "Accept-Encoding"
	HitAcceptRanges = "bytes"
)

// Lookup returns the answer ServeHTTP gives, from memory, to a GET or
// HEAD of the URL path upath whose Accept-Encoding header is ae (empty
// when it has none) and which has no Range or precondition header
// (If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since,
// If-Range): status 200, the headers of the Hit and the Hit* constants,
// Content-Length, and for a GET the body. It reports false when that
// answer is not from memory (a folder, a missing file, one too big to
// keep), and the request is then ServeHTTP's to answer. A file not in
// memory yet, or changed since, is read as ServeHTTP would. upath must be
// a path as net/http decodes it, and one that an [http.ServeMux] would
// not redirect (cleaned). Lookup lets another HTTP server answer hits
// itself, at its own speed, and hand ServeHTTP the rest.
func (s *FileServer) Lookup(ctx context.Context, upath, ae string) (Hit, bool) {
	if s.cache == nil {
		return Hit{}, false
	}
	c := s.hot(ctx, upath)
	if c == nil {
		if c = s.load(ctx, upath); c == nil {
			return Hit{}, false
		}
	}
	var values []string
	if ae != "" {
		values = []string{ae}
	}
	f := s.form(c, values, false)
	h := Hit{Body: f.body, ContentType: c.ctype[0], ETag: f.etag[0]}
	if f.coding >= 0 {
		h.ContentEncoding = encodings[f.coding].name
	}
	if c.lmod != nil {
		h.LastModified = c.lmod[0]
	}
	return h, true
}

// load reads the file of the URL path upath into memory, as ServeHTTP
// does with a file it serves, and returns it; nil when ServeHTTP would not
// answer it from memory (a folder, a missing or big file, a path
// bake.FileName refuses).
func (s *FileServer) load(ctx context.Context, upath string) *cachedFile {
	upath = strings.Clone(upath) // kept as the key; Lookup's caller may reuse its bytes
	name, err := bake.FileName(upath)
	if err != nil {
		return nil
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil // ServeHTTP answers 503
	}
	defer root.Close()
	c := s.readCached(root, name, s.manifest.current(ctx))
	if c == nil {
		return nil
	}
	c.key = upath
	s.cache.put(c)
	return c
}

// serveCached serves the file name from memory, reading it through root
// first. It returns false, having written nothing, when the request is
// the slow path's: a folder, a missing or big file, or one that cannot be
// read.
func (s *FileServer) serveCached(w http.ResponseWriter, r *http.Request, root *os.Root, name string) bool {
	snap := s.manifest.current(r.Context())
	c := s.readCached(root, name, snap)
	if c == nil {
		return false
	}
	c.key = r.URL.Path
	s.cache.put(c)
	s.sendCached(w, r, c)
	return true
}

// readCached reads the file name into a cachedFile made with the manifest
// snap, or returns nil for the slow path to serve it.
func (s *FileServer) readCached(root *os.Root, name string, snap *manifestSnap) *cachedFile {
	at := s.looks.now()
	f, err := root.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > s.cacheMax {
		return nil
	}
	body := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, body); err != nil {
		return nil // changed while read: the slow path serves it
	}
	meta, asOf, inManifest := snap.get(bake.PathOf(name))
	ctype := meta.typ
	if ctype == "" {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	if ctype == "" {
		ctype = http.DetectContentType(body)
	}
	// The manifest's hash is only trusted while the file is the one it
	// describes: same size, not written after the index's last commit.
	var etag string
	if inManifest && meta.hasSHA && meta.size == fi.Size() && !fi.ModTime().After(asOf) {
		etag = `"` + hex.EncodeToString(meta.sha256[:]) + `"`
	} else {
		etag = weakTag(fi)
	}
	inject := s.reload && bake.IsHTML(ctype)
	if inject {
		body = insertScript(body)
		etag = withReloadTag(etag)
	}
	c := &cachedFile{
		name:  name,
		fi:    fi,
		snap:  snap,
		body:  body,
		clen:  contentLength(len(body)),
		ctype: []string{ctype},
		etag:  []string{etag},
		mtime: fi.ModTime(),
		text:  compressible(ctype) && len(body) >= minCompressSize,
	}
	c.looked.Store(at)
	if !isZeroTime(c.mtime) {
		c.lmod = []string{c.mtime.UTC().Format(http.TimeFormat)}
	}
	if inject {
		return c // siblings lack the script
	}
	for i, enc := range encodings {
		sib, sfi, ok := s.openSibling(root, name+enc.ext, fi)
		if !ok {
			continue
		}
		data, err := io.ReadAll(sib)
		sib.Close()
		if err != nil {
			continue
		}
		tag := enc.variantTag(etag)
		if strings.HasPrefix(etag, "W/") {
			tag = enc.variantTag(weakTag(sfi))
		}
		c.siblings[i] = &variant{body: data, etag: []string{tag}, clen: contentLength(len(data)), size: int64(len(data))}
	}
	return c
}

// sendCached writes the response for c: the form r accepts, with the
// headers the slow path would give.
func (s *FileServer) sendCached(w http.ResponseWriter, r *http.Request, c *cachedFile) {
	// One pass over the request's header (a few entries) rather than a
	// lookup, and a hash, for each name.
	var ae []string
	ranged, conditional := false, false
	for k, v := range r.Header {
		switch k {
		case "Accept-Encoding":
			ae = v
		case "Range":
			ranged = ranged || len(v) > 0
		case "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range":
			conditional = conditional || len(v) > 0
		}
	}
	f := s.form(c, ae, ranged)
	body, etag, clen, coding := f.body, f.etag, f.clen, f.coding
	h := w.Header()
	h["Content-Type"] = c.ctype
	h["Cache-Control"] = noCache
	if v, ok := h["Vary"]; ok {
		h["Vary"] = append(v, "Accept-Encoding")
	} else {
		h["Vary"] = varyEncoding
	}
	h["Etag"] = etag
	if coding >= 0 {
		h["Content-Encoding"] = codingNames[coding]
	}
	if ranged || conditional {
		// Preconditions and ranges as net/http answers them.
		b := &lazyBody{
			open:    func() (io.ReadSeeker, int64, error) { return bytes.NewReader(body), int64(len(body)), nil },
			setSize: func(int64) { h["Content-Length"] = clen },
		}
		http.ServeContent(w, r, c.name, c.mtime, b)
		return
	}
	if c.lmod != nil {
		h["Last-Modified"] = c.lmod
	}
	h["Accept-Ranges"] = acceptRanges
	h["Content-Length"] = clen
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// form is the representation of a cached file chosen for a request.
type form struct {
	body   []byte
	etag   []string
	clen   []string
	coding int // index in encodings; -1 for none
}

// form chooses the representation of c for a request whose
// Accept-Encoding values are ae: a precompressed sibling the client
// accepts, else (not for a range request) a coding made from c's text,
// else c's bytes.
func (s *FileServer) form(c *cachedFile, ae []string, ranged bool) form {
	f := form{body: c.body, etag: c.etag, clen: c.clen, coding: -1}
	if len(ae) == 0 {
		return f
	}
	acc := acceptedCodings(ae)
	for i := range encodings {
		if v := c.siblings[i]; v != nil && acc[i] {
			return form{body: v.body, etag: v.etag, clen: v.clen, coding: i}
		}
	}
	if !ranged && c.text {
		for i := range encodings {
			if !acc[i] {
				continue
			}
			if v := s.variant(c, i); v.body != nil {
				f = form{body: v.body, etag: v.etag, clen: v.clen, coding: i}
			}
			break
		}
	}
	return f
}

// variant returns the i-th coding of c, compressing it on first use.
func (s *FileServer) variant(c *cachedFile, i int) *variant {
	v := &c.variants[i]
	v.once.Do(func() {
		enc := encodings[i]
		data, err := enc.compressBest(c.body)
		if err != nil {
			s.log.Error("serve file", "file", c.name, "err", err)
			return
		}
		v.body, v.etag, v.clen = data, []string{enc.variantTag(c.etag[0])}, contentLength(len(data))
		atomic.StoreInt64(&v.size, int64(len(data)))
		s.cache.grow(c, int64(len(data)))
	})
	return v
}

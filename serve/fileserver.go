package serve

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bakehq/bake"
)

// FileServerOptions configures a [FileServer].
type FileServerOptions struct {
	// Logger receives what goes wrong while serving: an unreadable build
	// index, files that cannot be opened. If nil, logs are discarded.
	Logger *slog.Logger
	// Reload, when set, adds the script that reloads the page on each
	// event from [ReloadPath] to every HTML page served (200 and 404),
	// just before its last </body>. Those responses keep an ETag (the
	// file's, marked as the page with the script) and are compressed on
	// the fly like other text; precompressed siblings of HTML files are
	// not used, since they lack the script.
	Reload bool
	// CacheBytes bounds the memory that keeps hot files ready to send:
	// their bytes, headers and compressed forms. If zero,
	// [DefaultCacheBytes]; if negative, nothing is kept and every
	// request reads its file.
	CacheBytes int64
	// CacheFileSize is the largest file kept in memory. If zero,
	// [DefaultCacheFileSize].
	CacheFileSize int64
	// Recheck is how long a look at the folder stands: a file served from
	// memory is stat'ed again, and the build's index too, only once their
	// last stat is older than this, so that under load a hit costs no
	// system call but its write. A change made by another process (a
	// build, bake purge) is thus seen up to Recheck late; call
	// [FileServer.Changed] after a change made in process to have it seen
	// at once. If zero, [DefaultRecheck]; if negative, every request
	// looks.
	Recheck time.Duration
}

// FileServer is an [http.Handler] that serves a build folder, for preview.
//
// A request path maps to a file with [bake.FileName]; a folder without its
// trailing slash is redirected to it when it has an index.html. Paths that
// FileName rejects are not found: among them any segment starting with "."
// (dot-files and bake's own folder, except a leading .well-known) and names
// ending in ".attrs" (fileblob's metadata). Files are opened through an
// [os.Root], so nothing outside the folder is served, whatever symlinks say;
// the folder is reopened for every request that reads a file, so a build
// swapped in atomically is seen at once (by a hit from memory, within
// FileServerOptions.Recheck).
//
// Content-Type comes from the build's manifest (kept in the build's index,
// [github.com/bakehq/bake/output.IndexFile], and read again whenever a
// build changes it), else the file extension, else the bytes. ETag is the
// manifest's SHA-256 when the file still matches it, else a weak tag from
// size and modification time. Responses say Cache-Control: no-cache, so
// that browsers revalidate and see every build.
// A client that accepts br or gzip gets a precompressed sibling (name.br,
// name.gz) when one at least as new as the file exists, else text of 1 KB or
// more compressed on the fly (not for range requests).
//
// Files up to FileServerOptions.CacheFileSize are kept in memory once
// served, with their headers and their compressed forms (each made once
// per version of the file, or read from its siblings), so that a hit costs
// no read or compression; a file is read again as soon as its stat or the
// manifest changes. The stats are taken at most once per
// FileServerOptions.Recheck (a millisecond by default) for a file, and for
// the index: under load most hits make no system call but their write.
//
// A missing file gets the folder's 404.html, if any, with status 404. Only
// GET and HEAD are allowed.
type FileServer struct {
	dir      string
	log      *slog.Logger
	manifest *manifestCache
	reload   bool
	cache    *fileCache // nil when disabled
	cacheMax int64      // largest file cached
	looks    *looks
}

// NewFileServer returns a FileServer for the build folder dir. It fails when
// the folder does not exist.
func NewFileServer(dir string, opts FileServerOptions) (*FileServer, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open build folder: %w (run `bake build` first)", err)
		}
		return nil, fmt.Errorf("open build folder: %w", err)
	}
	root.Close()
	// The folder is reopened by name for every request: make the name
	// independent of later changes to the working directory.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open build folder: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lk := newLooks(cmp.Or(opts.Recheck, DefaultRecheck))
	s := &FileServer{
		dir:      abs,
		log:      log,
		manifest: &manifestCache{dir: abs, log: log, looks: lk},
		reload:   opts.Reload,
		cacheMax: cmp.Or(opts.CacheFileSize, DefaultCacheFileSize),
		looks:    lk,
	}
	if n := cmp.Or(opts.CacheBytes, DefaultCacheBytes); n > 0 {
		s.cache = newFileCache(n)
	}
	return s, nil
}

// Changed tells s that its folder changed (a page written or removed by
// this process): the next request looks at the folder and the index
// again, however recent their last stat.
func (s *FileServer) Changed() { s.looks.changed() }

// ServeHTTP serves the file that r.URL.Path names.
func (s *FileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if s.cache != nil && s.serveHot(w, r) {
		return
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		// A build being swapped in, or the folder removed.
		s.log.Warn("open build folder", "dir", s.dir, "err", err)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "build folder unavailable", http.StatusServiceUnavailable)
		return
	}
	defer root.Close()

	p := r.URL.Path
	name, err := bake.FileName(p)
	if err != nil {
		s.notFound(w, r, root)
		return
	}
	if s.cache != nil && s.serveCached(w, r, root, name) {
		return
	}
	f, err := root.Open(name)
	if err != nil {
		s.openFailed(name, err)
		s.notFound(w, r, root)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.log.Warn("stat file", "file", name, "err", err)
		s.notFound(w, r, root)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(p, "/") && isFile(root, name+"/index.html") {
			loc := bake.EscapePath(p) + "/"
			if r.URL.RawQuery != "" {
				loc += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, loc, http.StatusMovedPermanently)
			return
		}
		s.notFound(w, r, root)
		return
	}
	if !fi.Mode().IsRegular() {
		s.notFound(w, r, root)
		return
	}
	s.serveFile(w, r, root, name, f, fi)
}

// serveFile serves the regular file f, opened as name.
func (s *FileServer) serveFile(w http.ResponseWriter, r *http.Request, root *os.Root, name string, f *os.File, fi fs.FileInfo) {
	meta, asOf, inManifest, _ := s.manifest.lookup(r.Context(), bake.PathOf(name))
	ctype := meta.typ
	if ctype == "" {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	if ctype == "" {
		var buf [512]byte
		n, _ := io.ReadFull(f, buf[:])
		ctype = http.DetectContentType(buf[:n])
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			s.log.Error("read file", "file", name, "err", err)
			http.Error(w, "internal server error", http.StatusInternalServerError)
			return
		}
	}
	// The manifest's hash is only trusted while the file is the one it
	// describes: same size, not written after the index's last commit.
	var etag string
	if inManifest && meta.hasSHA && meta.size == fi.Size() && !fi.ModTime().After(asOf) {
		etag = `"` + hex.EncodeToString(meta.sha256[:]) + `"`
	} else {
		etag = weakTag(fi)
	}

	// With Reload, an HTML page is served with the reload script, read
	// whole (it is small) only when a body is sent.
	size := fi.Size()
	inject := s.reload && bake.IsHTML(ctype) && size <= maxCompressSize
	load := func() ([]byte, error) {
		data, err := io.ReadAll(f)
		if err != nil {
			s.log.Error("serve file", "file", name, "err", err)
			return nil, err
		}
		return insertScript(data), nil
	}
	if inject {
		etag = withReloadTag(etag)
		size += int64(len(reloadScript))
	}

	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache")
	h.Add("Vary", "Accept-Encoding")
	ae := strings.Join(r.Header.Values("Accept-Encoding"), ",")
	setLength := func(n int64) { h.Set("Content-Length", strconv.FormatInt(n, 10)) }

	for _, enc := range encodings {
		if inject || !accepts(ae, enc.name) {
			continue
		}
		sib, sfi, ok := s.openSibling(root, name+enc.ext, fi)
		if !ok {
			continue
		}
		defer sib.Close()
		tag := enc.variantTag(etag)
		if strings.HasPrefix(etag, "W/") {
			tag = enc.variantTag(weakTag(sfi))
		}
		h.Set("Content-Encoding", enc.name)
		h.Set("ETag", tag)
		body := &lazyBody{
			open:    func() (io.ReadSeeker, int64, error) { return sib, sfi.Size(), nil },
			setSize: setLength,
		}
		http.ServeContent(w, r, name, sfi.ModTime(), body)
		return
	}

	if r.Header.Get("Range") == "" && compressible(ctype) && size >= minCompressSize && size <= maxCompressSize {
		for _, enc := range encodings {
			if !accepts(ae, enc.name) {
				continue
			}
			h.Set("Content-Encoding", enc.name)
			h.Set("ETag", enc.variantTag(etag))
			body := &lazyBody{
				open: func() (io.ReadSeeker, int64, error) {
					var src io.Reader = f
					if inject {
						data, err := load()
						if err != nil {
							return nil, 0, err
						}
						src = bytes.NewReader(data)
					}
					data, err := enc.compress(src, size)
					if err != nil {
						s.log.Error("serve file", "file", name, "err", err)
						return nil, 0, err
					}
					return bytes.NewReader(data), int64(len(data)), nil
				},
				setSize: setLength,
			}
			http.ServeContent(w, r, name, fi.ModTime(), body)
			return
		}
	}

	h.Set("ETag", etag)
	if inject {
		body := &lazyBody{
			open: func() (io.ReadSeeker, int64, error) {
				data, err := load()
				return bytes.NewReader(data), int64(len(data)), err
			},
			setSize: setLength,
		}
		http.ServeContent(w, r, name, fi.ModTime(), body)
		return
	}
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// withReloadTag returns the ETag of a page with the reload script, from
// the ETag of its file: the mark goes inside the quotes.
func withReloadTag(tag string) string {
	if i := strings.LastIndexByte(tag, '"'); i > 0 {
		return tag[:i] + "-reload" + tag[i:]
	}
	return tag
}

// openSibling opens the precompressed sibling name of a file whose stat is
// orig. A sibling older than the file is stale and ignored.
func (s *FileServer) openSibling(root *os.Root, name string, orig fs.FileInfo) (*os.File, fs.FileInfo, bool) {
	f, err := root.Open(name)
	if err != nil {
		s.openFailed(name, err)
		return nil, nil, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.ModTime().Before(orig.ModTime()) {
		f.Close()
		return nil, nil, false
	}
	return f, fi, true
}

// openFailed logs why name could not be opened, unless it simply does not exist.
func (s *FileServer) openFailed(name string, err error) {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return
	}
	s.log.Info("open file", "file", name, "err", err)
}

// notFound answers 404 with the folder's 404.html when it has one.
func (s *FileServer) notFound(w http.ResponseWriter, r *http.Request, root *os.Root) {
	body, err := readFile(root, "404.html")
	if err != nil {
		s.openFailed("404.html", err)
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if s.reload {
		body = insertScript(body)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// readFile reads the regular file name.
func readFile(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file", name)
	}
	return io.ReadAll(f)
}

// isFile reports whether name is a regular file.
func isFile(root *os.Root, name string) bool {
	fi, err := root.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// weakTag is the ETag of a file the manifest does not vouch for.
func weakTag(fi fs.FileInfo) string {
	return fmt.Sprintf(`W/"%x-%x"`, fi.Size(), fi.ModTime().UnixNano())
}

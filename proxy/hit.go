package proxy

import (
	"context"
	"io"
	"net/http"

	"github.com/bakehq/bake/serve"
)

// Lookup returns the answer ServeHTTP gives from memory to a GET or HEAD
// of the URL path upath, whose Accept-Encoding header is ae (empty when
// it has none), for a request with no query, Authorization,
// Proxy-Authorization, Cookie, Range or precondition header: a saved page,
// from the file server's memory, read into it when it is not there yet
// ([serve.FileServer.Lookup]). It reports false for anything else (a page
// not saved, or too big to keep in memory, a path no save pattern matches,
// any path when a TTL is set, the purge endpoint),
// and the request is then ServeHTTP's to answer. upath must be a clean
// path as net/http decodes it (see [serve.FileServer.Lookup]).
func (p *Proxy) Lookup(ctx context.Context, upath, ae string) (serve.Hit, bool) {
	// As ServeHTTP decides: a TTL needs the file's age; a path no pattern
	// matches is answered from the folder only once a stat says so.
	if p.ttl > 0 || (p.token != "" && upath == PurgePath) || !p.savable(upath) {
		return serve.Hit{}, false
	}
	return p.files.Lookup(ctx, upath, ae)
}

// serveSaved answers r from the build folder when the page is saved there
// and reports whether it did; when it did not, nothing was sent and w's
// header is as it was. The file server answers a file it has with 200,
// 206, 304, 412 or 416; anything else (404, a folder's redirect, a folder
// being swapped) means there is no saved page to send, and is dropped.
func (p *Proxy) serveSaved(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	var before http.Header
	if len(h) > 0 {
		before = h.Clone() // set by a handler around the middleware
	}
	hw := &hitWriter{w: w}
	p.files.ServeHTTP(hw, r)
	if !hw.miss {
		return true
	}
	clear(h)
	for k, v := range before {
		h[k] = v
	}
	return false
}

// hitWriter passes the file server's answer of a saved page to w, and
// swallows any other.
type hitWriter struct {
	w       http.ResponseWriter
	decided bool
	miss    bool
}

func (h *hitWriter) Header() http.Header { return h.w.Header() }

func (h *hitWriter) WriteHeader(code int) {
	if h.decided {
		return // as net/http does with a second call, without its log line
	}
	h.decided = true
	switch code {
	case http.StatusOK, http.StatusPartialContent, http.StatusNotModified,
		http.StatusPreconditionFailed, http.StatusRequestedRangeNotSatisfiable:
		h.w.WriteHeader(code)
	default:
		h.miss = true
	}
}

func (h *hitWriter) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	if h.miss {
		return len(b), nil
	}
	return h.w.Write(b)
}

// ReadFrom keeps the server's sendfile for large files sent with io.Copy.
func (h *hitWriter) ReadFrom(r io.Reader) (int64, error) {
	h.WriteHeader(http.StatusOK)
	if h.miss {
		return io.Copy(io.Discard, r)
	}
	return io.Copy(h.w, r)
}

// Unwrap lets http.ResponseController reach w.
func (h *hitWriter) Unwrap() http.ResponseWriter { return h.w }

package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
)

// upstream is where the pages that are not saved come from: an origin
// over HTTP ([New]) or the handler a middleware wraps ([NewMiddleware]).
// The rest of the package, what is saved and when, is the same for both.
type upstream interface {
	// ServeHTTP passes a request that is not answered from the build
	// folder on as it is.
	http.Handler
	// get makes a clean GET of upath on behalf of r, with none of r's
	// credentials or cookies, for a page that may be saved.
	get(ctx context.Context, r *http.Request, upath string) (*http.Response, error)
}

// forwarded are the request headers a page fetch keeps: what a page may
// rightly vary on for every visitor.
var forwarded = []string{"Accept", "Accept-Language", "User-Agent"}

// originUpstream is an origin server, reached over HTTP.
type originUpstream struct {
	origin *url.URL
	rp     *httputil.ReverseProxy
	client *http.Client
}

func (o *originUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) { o.rp.ServeHTTP(w, r) }

func (o *originUpstream) get(ctx context.Context, r *http.Request, upath string) (*http.Response, error) {
	u := *o.origin
	u.Path = strings.TrimSuffix(o.origin.Path, "/") + upath
	u.RawPath = ""
	u.RawQuery = ""
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for _, h := range forwarded {
		if v := r.Header.Values(h); len(v) > 0 {
			out.Header[h] = v
		}
	}
	if r.Host != "" {
		out.Header.Set("X-Forwarded-Host", r.Host)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		out.Header.Set("X-Forwarded-For", host)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	out.Header.Set("X-Forwarded-Proto", proto)
	return o.client.Do(out)
}

// handlerUpstream is the handler of a Go program, called in process.
type handlerUpstream struct {
	next http.Handler
}

func (h handlerUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.next.ServeHTTP(w, r) }

// get calls the handler with a request made as the server would make it
// for r (same host, remote address and TLS state) but for upath alone,
// without credentials or cookies; the answer streams back through a pipe,
// so that a body too big to save is sent on rather than held.
func (h handlerUpstream) get(ctx context.Context, r *http.Request, upath string) (*http.Response, error) {
	in, err := serverRequest(ctx, r, upath)
	if err != nil {
		return nil, err
	}
	return callHandler(h.next, in)
}

// serverRequest returns a server-side GET request for upath, as a
// net/http server makes it, with what of r a page may depend on.
func serverRequest(ctx context.Context, r *http.Request, upath string) (*http.Request, error) {
	u := &url.URL{Path: upath}
	in, err := http.NewRequestWithContext(ctx, http.MethodGet, u.RequestURI(), nil)
	if err != nil {
		return nil, err
	}
	in.URL = u
	in.RequestURI = u.RequestURI()
	in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	in.Host, in.RemoteAddr, in.TLS = r.Host, r.RemoteAddr, r.TLS
	for _, k := range forwarded {
		if v := r.Header.Values(k); len(v) > 0 {
			in.Header[k] = v
		}
	}
	return in, nil
}

// callHandler runs h for in and returns its answer as a client gets it:
// status and header as they were when the handler first wrote (or
// returned), the body streaming while h runs. A handler that panics before
// it writes is an error; one that panics after is a body cut short.
func callHandler(h http.Handler, in *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				err := fmt.Errorf("handler panicked: %v", v)
				if !errors.Is(asError(v), http.ErrAbortHandler) {
					err = fmt.Errorf("%w\n%s", err, debug.Stack())
				}
				rw.fail(err)
				return
			}
			rw.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200
			pw.Close()
		}()
		h.ServeHTTP(rw, in)
	}()
	<-rw.ready
	if rw.err != nil {
		return nil, rw.err
	}
	return &http.Response{
		Status:        http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		Body:          pr,
		ContentLength: -1,
		Request:       in,
	}, nil
}

func asError(v any) error {
	if err, ok := v.(error); ok {
		return err
	}
	return nil
}

// pipeWriter is the http.ResponseWriter of a handler called in process:
// the header is taken when it is first written, the body goes into a pipe.
// Header, WriteHeader and Write are called by the handler's goroutine
// only; status, sent and err are read by the caller once ready is closed.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	wrote  bool
	once   sync.Once
	ready  chan struct{}
	status int
	sent   http.Header
	err    error
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if w.wrote || (code >= 100 && code < 200) {
		return // informational answers are not the answer
	}
	w.wrote = true
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	if !w.wrote && len(b) > 0 {
		if _, set := w.header["Content-Type"]; !set {
			w.header.Set("Content-Type", http.DetectContentType(b)) // as net/http does
		}
	}
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

// Flush lets handlers that flush (http.Flusher, http.ResponseController)
// run: the pipe hands bytes over as they are written.
func (w *pipeWriter) Flush() { w.WriteHeader(http.StatusOK) }

// fail ends the answer with err: an error of the call when nothing was
// written yet, else a body that ends with it.
func (w *pipeWriter) fail(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.ready)
	})
	w.pw.CloseWithError(err)
}

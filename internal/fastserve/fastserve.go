// Package fastserve is the HTTP server of bake serve and bake proxy. It
// answers hits, pages held in memory, with github.com/valyala/fasthttp,
// which costs about half of net/http's CPU per request, and hands every
// other request, with its connection, to a net/http server that runs the
// command's handler: misses, the proxy's origin requests and endpoints,
// live reload's event stream, conditional and range requests, anything
// unusual.
//
// A request is a hit when it is an HTTP/1.1 GET or HEAD of a plain path
// (only letters, digits and "-._~!$&'()*+,;=:@/", no empty, "." or ".."
// segment, no query), with a Host, no body, no Range, precondition or
// Expect header, and the lookup finds its answer in memory
// ([serve.FileServer.Lookup], [proxy.Proxy.Lookup]). It gets the bytes and
// headers the handler would send. Any other request is handed over as it
// came: the bytes of its request line and header, then its body as the
// client sends it, then the rest of the connection, so net/http parses
// and answers it, and every later request on that connection, as if it
// had accepted the connection itself. Streaming, Flush, Hijack, request
// bodies of any size, trailers and timeouts thus behave as with net/http
// alone.
//
// Request headers are limited to 32 KB (nginx's default; net/http allows
// 1 MB): a bigger header is answered 431 by fasthttp.
package fastserve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/bakehq/bake/serve"
	"github.com/valyala/fasthttp"
)

// LookupFunc finds the answer to a hit: a GET or HEAD of the URL path
// upath with the Accept-Encoding header value ae (empty when none). The
// strings are valid only during the call: a LookupFunc must not keep them.
type LookupFunc func(ctx context.Context, upath, ae string) (serve.Hit, bool)

// Options configures a [Server].
type Options struct {
	// Handler answers every request that is not a hit. Required.
	Handler http.Handler
	// Lookup finds hits. If nil, every request goes to Handler.
	Lookup LookupFunc
	// SkipCredentials sends requests with an Authorization,
	// Proxy-Authorization or Cookie header to Handler, without a lookup:
	// the proxy's rule, for which such a request may be personal.
	SkipCredentials bool
	// ReadHeaderTimeout is how long a request's header may take to
	// arrive, and an idle connection may stay open. If zero, 10 seconds.
	ReadHeaderTimeout time.Duration
	// Logger receives what goes wrong with connections, at debug level
	// (net/http logs none of it). If nil, logs are discarded.
	Logger *slog.Logger
}

// DefaultReadHeaderTimeout is Options.ReadHeaderTimeout's default.
const DefaultReadHeaderTimeout = 10 * time.Second

// maxHeaderBytes is fasthttp's read buffer: the largest request header.
const maxHeaderBytes = 32 << 10

// Server serves one listener: hits with fasthttp, the rest with net/http.
type Server struct {
	lookup    LookupFunc
	skipCreds bool
	fast      *fasthttp.Server
	std       *http.Server
	conns     *connListener
}

// New returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Handler == nil {
		return nil, errors.New("new server: no handler")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.ReadHeaderTimeout
	if timeout <= 0 {
		timeout = DefaultReadHeaderTimeout
	}
	s := &Server{
		lookup:    opts.Lookup,
		skipCreds: opts.SkipCredentials,
		conns:     newConnListener(),
	}
	s.std = &http.Server{
		Handler:           opts.Handler,
		ReadHeaderTimeout: timeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.fast = &fasthttp.Server{
		Handler:               s.handle,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		ReadBufferSize:        maxHeaderBytes,
		// A request is read whole only for a hit, which has no body: the
		// deadline covers its header, as net/http's ReadHeaderTimeout
		// does, and idle keep-alive connections, as net/http's idle
		// timeout (which defaults to ReadHeaderTimeout) does. A handed
		// over connection has no deadline left: net/http sets its own.
		ReadTimeout: timeout,
		IdleTimeout: timeout,
		// Bodies stay unread: they go to net/http as the client sends them.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		KeepHijackedConns:            true,
		CloseOnShutdown:              true,
		Logger:                       debugLogger{log},
	}
	return s, nil
}

// Serve accepts connections on ln until [Server.Shutdown], and returns
// nil then.
func (s *Server) Serve(ln net.Listener) error {
	s.conns.setAddr(ln.Addr())
	stdErr := make(chan error, 1)
	go func() { stdErr <- s.std.Serve(s.conns) }()
	err := s.fast.Serve(ln)
	s.conns.Close()
	if serr := <-stdErr; !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, closes idle ones and waits for
// the others to finish their requests, or for ctx to end, as
// [http.Server.Shutdown] does.
func (s *Server) Shutdown(ctx context.Context) error {
	ferr := s.fast.ShutdownWithContext(ctx)
	s.conns.Close()
	serr := s.std.Shutdown(ctx)
	if err := errors.Join(ferr, serr); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// RegisterOnShutdown registers f to be called at Shutdown, as
// [http.Server.RegisterOnShutdown] does: to end long-lived responses.
func (s *Server) RegisterOnShutdown(f func()) { s.std.RegisterOnShutdown(f) }

// handle answers a hit, or hands the request over.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	if s.lookup != nil && s.hit(ctx) {
		return
	}
	s.handOver(ctx)
}

// hit answers ctx from memory when it is a hit, and reports whether it
// did; otherwise nothing was written.
func (s *Server) hit(ctx *fasthttp.RequestCtx) bool {
	rh := &ctx.Request.Header
	if !rh.IsHTTP11() || !(rh.IsGet() || rh.IsHead()) || len(rh.Host()) == 0 {
		return false
	}
	if cl := rh.ContentLength(); cl > 0 || cl == -1 {
		return false // a body, or chunked
	}
	uri := rh.RequestURI()
	if !plainPath(uri) {
		return false
	}
	var ae []byte
	aes := 0
	for k, v := range rh.All() {
		switch string(k) {
		case "Accept-Encoding":
			ae, aes = v, aes+1
		case "Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range",
			"Expect", "Transfer-Encoding":
			return false
		case "Authorization", "Proxy-Authorization", "Cookie":
			if s.skipCreds {
				return false
			}
		}
	}
	if aes > 1 {
		return false // net/http's handler reads them all; rare enough to hand over
	}
	// The path and coding are only read during the call (LookupFunc's
	// contract): no copy.
	h, ok := s.lookup(ctx, unsafeString(uri), unsafeString(ae))
	if !ok {
		return false
	}
	// The names are set as fasthttp would normalize them, without its
	// copy and normalization of each name (half of what a hit costs
	// bake above fasthttp's own work, BenchmarkHit).
	r := &ctx.Response
	r.Header.SetContentType(h.ContentType)
	r.Header.SetCanonical(nameCacheControl, valueCacheControl)
	r.Header.SetCanonical(nameVary, valueVary)
	r.Header.SetCanonical(nameETag, unsafeBytes(h.ETag))
	if h.ContentEncoding != "" {
		r.Header.SetContentEncoding(h.ContentEncoding)
	}
	if h.LastModified != "" {
		r.Header.SetCanonical(nameLastModified, unsafeBytes(h.LastModified))
	}
	r.Header.SetCanonical(nameAcceptRanges, valueAcceptRanges)
	// fasthttp only reads the body, and skips it for HEAD, keeping its
	// Content-Length.
	r.SetBodyRaw(h.Body)
	return true
}

// plainPath reports whether a request URI is a path that net/http decodes
// to itself and an http.ServeMux would not redirect: letters, digits and
// "-._~!$&'()*+,;=:@" between slashes, no empty, "." or ".." segment
// but the last, which may be empty (a folder's trailing slash).
func plainPath(uri []byte) bool {
	if len(uri) == 0 || uri[0] != '/' {
		return false
	}
	seg := 0 // start of the current segment
	for i := 1; i <= len(uri); i++ {
		if i < len(uri) && uri[i] != '/' {
			if !plainByte[uri[i]] {
				return false
			}
			continue
		}
		switch string(uri[seg+1 : i]) {
		case "":
			if i < len(uri) {
				return false // "//"
			}
		case ".", "..":
			return false
		}
		seg = i
	}
	return true
}

// plainByte tells the bytes plainPath allows within a segment.
var plainByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~!$&'()*+,;=:@" {
		t[c] = true
	}
	return t
}()

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// unsafeBytes is s as bytes, for fasthttp's setters, which copy them.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// A hit's header names, as fasthttp normalizes them, and its constant
// values. fasthttp only reads them.
var (
	nameCacheControl  = []byte("Cache-Control")
	nameVary          = []byte("Vary")
	nameETag          = []byte("Etag")
	nameLastModified  = []byte("Last-Modified")
	nameAcceptRanges  = []byte("Accept-Ranges")
	valueCacheControl = []byte(serve.HitCacheControl)
	valueVary         = []byte(serve.HitVary)
	valueAcceptRanges = []byte(serve.HitAcceptRanges)
)

// handOver gives the request, and its connection, to net/http: the
// request line and header as received, then the body as the client sends
// it (fasthttp has read at most its first bytes, which its body stream
// gives back), then the rest of the connection.
func (s *Server) handOver(ctx *fasthttp.RequestCtx) {
	rh := &ctx.Request.Header
	var head []byte
	head = append(head, rh.Method()...)
	head = append(head, ' ')
	head = append(head, rh.RequestURI()...)
	head = append(head, ' ')
	head = append(head, rh.Protocol()...)
	head = append(head, "\r\n"...)
	head = appendHeader(head, rh.RawHeaders(), ctx.Request.MayContinue())
	parts := []io.Reader{bytes.NewReader(head)}
	if cl := rh.ContentLength(); cl > 0 {
		if body := ctx.RequestBodyStream(); body != nil {
			parts = append(parts, io.LimitReader(body, int64(cl)))
		}
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		s.conns.push(&replayConn{Conn: c, r: io.MultiReader(append(parts, c)...)})
	})
}

// appendHeader appends the raw header lines raw to b, with the empty line
// that ends them. Without continued, an Expect line goes too; with it,
// fasthttp has already answered "100 Continue", and net/http must not
// answer it again.
func appendHeader(b, raw []byte, continued bool) []byte {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			raw = nil
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break // the end of the header
		}
		if continued {
			if name, _, _ := bytes.Cut(trimmed, []byte(":")); bytes.EqualFold(bytes.TrimSpace(name), []byte("Expect")) {
				continue
			}
		}
		b = append(b, trimmed...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// replayConn is a connection whose first bytes are read again.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// connListener is the net/http server's listener: the connections handed
// over.
type connListener struct {
	mu    sync.Mutex
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) setAddr(a net.Addr) {
	l.mu.Lock()
	l.addr = a
	l.mu.Unlock()
}

// push hands c to the net/http server, or closes it once the listener is
// closed.
func (l *connListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addr == nil {
		return &net.TCPAddr{}
	}
	return l.addr
}

// debugLogger is fasthttp's logger: connection errors (a client gone, a
// malformed request) at debug level.
type debugLogger struct{ log *slog.Logger }

func (l debugLogger) Printf(format string, args ...any) {
	l.log.Debug("http: " + fmt.Sprintf(format, args...))
}

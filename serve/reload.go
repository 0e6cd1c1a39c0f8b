package serve

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bakehq/bake"
)

// ReloadPath is where a [Reloader] is expected to be mounted: the script that
// [Reloader.Inject] adds to pages listens there.
const ReloadPath = "/_bake/reload"

// reloadScript opens the event stream and reloads the page on a reload event,
// or when the stream comes back after the server went away (a restarted
// bake serve).
const reloadScript = `<script>(function(){var down=false,es=new EventSource("` + ReloadPath + `");` +
	`es.addEventListener("reload",function(){location.reload()});` +
	`es.onerror=function(){down=true};` +
	`es.onopen=function(){if(down)location.reload()}})()</script>`

// Reloader is a hub of server-sent events that tells browsers to reload.
// Its ServeHTTP serves the event stream; [Reloader.Notify] sends a reload
// event to every connected browser; [Reloader.Inject] adds the script that
// listens to HTML pages. It is safe for concurrent use.
type Reloader struct {
	heartbeat time.Duration // comment sent to keep idle connections open

	mu      sync.Mutex
	clients map[chan struct{}]struct{}
	closed  chan struct{}
	close   sync.Once
}

// NewReloader returns a Reloader with no clients.
func NewReloader() *Reloader {
	return &Reloader{
		heartbeat: 15 * time.Second,
		clients:   make(map[chan struct{}]struct{}),
		closed:    make(chan struct{}),
	}
}

// Notify sends a reload event to every connected client. Events that a client
// has not been sent yet are merged into one.
func (rl *Reloader) Notify() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for c := range rl.clients {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Close ends every event stream, now and later, so that
// [http.Server.Shutdown] need not wait for them: register it with
// [http.Server.RegisterOnShutdown].
func (rl *Reloader) Close() {
	rl.close.Do(func() { close(rl.closed) })
}

// ServeHTTP serves the event stream (text/event-stream): a "reload" event
// after each [Reloader.Notify], and a comment every 15 seconds to keep the
// connection open. It returns when the request's context ends or the
// Reloader is closed.
func (rl *Reloader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	select {
	case <-rl.closed:
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	rc := http.NewResponseController(w)
	// A server's WriteTimeout would cut the stream; not every writer can lift it.
	_ = rc.SetWriteDeadline(time.Time{})

	c := make(chan struct{}, 1)
	rl.mu.Lock()
	rl.clients[c] = struct{}{}
	rl.mu.Unlock()
	defer func() {
		rl.mu.Lock()
		delete(rl.clients, c)
		rl.mu.Unlock()
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The first bytes tell the client it is registered; retry is how long a
	// browser waits to reconnect, in milliseconds.
	if !send(w, rc, "retry: 1000\n\n") {
		return
	}
	tick := time.NewTicker(rl.heartbeat)
	defer tick.Stop()
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case <-rl.closed:
			return
		case <-c:
			msg = "event: reload\ndata: reload\n\n"
		case <-tick.C:
			msg = ": ping\n\n"
		}
		if !send(w, rc, msg) {
			return
		}
	}
}

// send writes msg and flushes it, and reports whether the client got it.
func send(w io.Writer, rc *http.ResponseController, msg string) bool {
	if _, err := io.WriteString(w, msg); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// Inject wraps next so that its HTML responses (text/html, status 200 or 404,
// not encoded) get a script, just before </body> or at the end, that reloads
// the page on each event from [ReloadPath]. It fixes Content-Length and drops
// ETag and Accept-Ranges from those responses, since their bytes are no longer
// the file's. It removes Accept-Encoding from the request, so that next sends
// bytes it can edit; other responses pass through untouched. Inject does not
// serve ReloadPath: mount the Reloader there.
func (rl *Reloader) Inject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Accept-Encoding"]; ok {
			r2 := new(http.Request)
			*r2 = *r
			r2.Header = r.Header.Clone()
			r2.Header.Del("Accept-Encoding")
			r = r2
		}
		iw := &injectWriter{w: w, head: r.Method == http.MethodHead}
		next.ServeHTTP(iw, r)
		iw.finish()
	})
}

// injectWriter buffers an HTML response to add the reload script to it, and
// passes every other response through.
type injectWriter struct {
	w    http.ResponseWriter
	head bool // a HEAD request: no body, Content-Length still counts the script

	code    int  // status, once the handler wrote the header
	decided bool // whether inject is known yet
	inject  bool
	buf     bytes.Buffer
}

func (iw *injectWriter) Header() http.Header { return iw.w.Header() }

func (iw *injectWriter) Unwrap() http.ResponseWriter { return iw.w }

func (iw *injectWriter) WriteHeader(code int) {
	if iw.code != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		iw.w.WriteHeader(code) // informational: the real header follows
		return
	}
	iw.code = code
	// Without a Content-Type the type is sniffed from the first bytes, as
	// net/http would.
	if _, ok := iw.w.Header()["Content-Type"]; ok || !injectable(code) {
		iw.decide(nil)
	}
}

func (iw *injectWriter) Write(p []byte) (int, error) {
	if iw.code == 0 {
		iw.WriteHeader(http.StatusOK)
	}
	if !iw.decided {
		iw.decide(p)
	}
	if iw.inject {
		return iw.buf.Write(p)
	}
	return iw.w.Write(p)
}

func (iw *injectWriter) Flush() { _ = iw.FlushError() }

// FlushError flushes a response that passes through; a buffered one is sent
// whole at the end.
func (iw *injectWriter) FlushError() error {
	if iw.code == 0 {
		iw.WriteHeader(http.StatusOK)
	}
	if !iw.decided {
		iw.decide(nil)
	}
	if iw.inject {
		return nil
	}
	return http.NewResponseController(iw.w).Flush()
}

// decide chooses whether to inject, given the first bytes of the body for a
// response without a Content-Type, and writes the header of a response that
// passes through.
func (iw *injectWriter) decide(first []byte) {
	iw.decided = true
	h := iw.w.Header()
	if _, ok := h["Content-Type"]; !ok && len(first) > 0 {
		h.Set("Content-Type", http.DetectContentType(first))
	}
	ce := h.Get("Content-Encoding")
	iw.inject = injectable(iw.code) && bake.IsHTML(h.Get("Content-Type")) && (ce == "" || ce == "identity")
	if !iw.inject {
		iw.w.WriteHeader(iw.code)
		return
	}
	h.Del("ETag")
	h.Del("Accept-Ranges")
}

// finish sends a buffered response with the script, after the handler returned.
func (iw *injectWriter) finish() {
	if iw.code == 0 {
		iw.WriteHeader(http.StatusOK)
	}
	if !iw.decided {
		iw.decide(nil)
	}
	if !iw.inject {
		return
	}
	h := iw.w.Header()
	if iw.head {
		// The handler wrote no body; keep its Content-Length, if any, true.
		if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
			h.Set("Content-Length", strconv.FormatInt(n+int64(len(reloadScript)), 10))
		}
		iw.w.WriteHeader(iw.code)
		return
	}
	body := insertScript(iw.buf.Bytes())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	iw.w.WriteHeader(iw.code)
	iw.w.Write(body)
}

// injectable reports whether a response with status code may get the script.
func injectable(code int) bool {
	return code == http.StatusOK || code == http.StatusNotFound
}

// insertScript returns doc with the reload script before its last </body>
// tag, or at its end when it has none.
func insertScript(doc []byte) []byte {
	i := lastBodyEnd(doc)
	if i < 0 {
		i = len(doc)
	}
	out := make([]byte, 0, len(doc)+len(reloadScript))
	out = append(out, doc[:i]...)
	out = append(out, reloadScript...)
	return append(out, doc[i:]...)
}

// lastBodyEnd returns the index of the last "</body" tag in doc, in any case,
// or -1.
func lastBodyEnd(doc []byte) int {
	const tag = "</body"
	for end := len(doc); ; {
		i := bytes.LastIndex(doc[:end], []byte("</"))
		if i < 0 {
			return -1
		}
		if j := i + len(tag); j <= len(doc) && bytes.EqualFold(doc[i:j], []byte(tag)) &&
			(j == len(doc) || doc[j] == '>' || doc[j] == ' ' || doc[j] == '\t' || doc[j] == '\n' || doc[j] == '\r' || doc[j] == '\f') {
			return i
		}
		end = i
	}
}

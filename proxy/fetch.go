package proxy

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/bakehq/bake"
)

// fetched is an origin's answer to one request, shared by the requests
// that waited for it.
type fetched struct {
	status    int
	header    http.Header
	data      []byte        // the body read, up to the size limit
	body      io.ReadCloser // the rest of a body too big to hold (leader only)
	shareable bool          // nothing personal: may be sent to every waiter
	saved     bool          // saved into the build folder
	why       string        // why it was not saved
	err       error         // the origin could not be reached
}

// fetch asks the origin for the page upath on behalf of r and saves the
// answer when the rules allow. Only what does not make the answer personal
// is forwarded: r has no credentials (ServeHTTP checked), and its cookies,
// if allowed, are not sent either.
// The fetch serves every request waiting for it, so ctx is not the first
// request's (whose cancellation must not fail the others).
func (p *Proxy) fetch(ctx context.Context, r *http.Request, upath string) *fetched {
	var tr bake.Tracker
	resp, err := p.up.get(bake.WithTracker(ctx, &tr), r, upath)
	if err != nil {
		return &fetched{err: err}
	}
	res := &fetched{status: resp.StatusCode, header: resp.Header}
	res.data, err = io.ReadAll(io.LimitReader(resp.Body, p.maxSize+1))
	if err != nil {
		resp.Body.Close()
		return &fetched{err: err}
	}
	big := int64(len(res.data)) > p.maxSize
	if big {
		res.body = resp.Body // the leader sends the rest
	} else {
		resp.Body.Close()
	}
	why := personalAnswer(resp)
	res.shareable = why == "" && !big
	switch {
	case why != "":
	case resp.StatusCode != http.StatusOK:
		why = "status " + statusText(resp.StatusCode)
	case big:
		why = "larger than " + strconv.FormatInt(p.maxSize, 10) + " bytes"
	case resp.Header.Get("Content-Encoding") != "":
		why = "encoded as " + resp.Header.Get("Content-Encoding")
	}
	if why != "" {
		res.why = why
		return res
	}
	if err := p.savePage(ctx, upath, resp.Header.Get("Content-Type"), res.data, tr.Deps()); err != nil {
		p.log.Warn("save page", "path", upath, "err", err)
		res.why = err.Error()
		return res
	}
	res.saved = true
	p.log.Info("saved", "path", upath, "bytes", len(res.data))
	return res
}

// personalAnswer says why an answer must not be shared nor saved, or "".
func personalAnswer(resp *http.Response) string {
	if len(resp.Header["Set-Cookie"]) > 0 {
		return "Set-Cookie"
	}
	for _, v := range resp.Header.Values("Cache-Control") {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.ToLower(strings.TrimSpace(tok))
			name, _, _ := strings.Cut(tok, "=")
			if name == "private" || name == "no-store" {
				return "Cache-Control: " + name
			}
		}
	}
	for _, v := range resp.Header.Values("Vary") {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok != "" && !strings.EqualFold(tok, "Accept-Encoding") {
				return "Vary: " + tok
			}
		}
	}
	return ""
}

// hopHeaders are not forwarded from an answer (RFC 9110, 7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer", "Te", "Content-Length"}

// write sends res to w.
func (res *fetched) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range res.header {
		h[k] = v
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
	if res.body == nil {
		h.Set("Content-Length", strconv.Itoa(len(res.data)))
	}
	w.WriteHeader(res.status)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(res.data)
	if res.body != nil {
		io.Copy(w, res.body)
		res.body.Close()
	}
}

// flightGroup runs one function per key at a time; callers that come
// while it runs get its result (as golang.org/x/sync/singleflight does).
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flight
	held  map[string]bool
}

type flight struct {
	done chan struct{}
	res  *fetched
}

// do runs fn for key, or waits for the run under way; leader reports
// whether this call ran it.
func (g *flightGroup) do(key string, fn func() *fetched) (res *fetched, leader bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flight{}
	}
	if f, ok := g.calls[key]; ok {
		g.mu.Unlock()
		<-f.done
		return f.res, false
	}
	f := &flight{done: make(chan struct{})}
	g.calls[key] = f
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.res = fn()
	return f.res, true
}

// claim marks key as taken, reporting false when it already was.
func (g *flightGroup) claim(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = map[string]bool{}
	}
	if g.held[key] {
		return false
	}
	g.held[key] = true
	return true
}

// release frees a key taken by claim.
func (g *flightGroup) release(key string) {
	g.mu.Lock()
	delete(g.held, key)
	g.mu.Unlock()
}

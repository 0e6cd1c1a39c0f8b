package proxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bakehq/bake"
	"github.com/bakehq/bake/serve"
)

// Route is the route of saved pages in the build's index: [Purge] removes
// only pages of this route, never the pages a build made.
const Route = "proxy"

// KindURL is the dep kind of a saved page: url:PATH.
const KindURL = "url"

// PurgePath is the path of the purge endpoint (see [Proxy.ServeHTTP]).
const PurgePath = "/_bake/purge"

// Options configures a [Proxy].
type Options struct {
	// Origin is the site in front of which the proxy runs. Required by
	// [New]; [NewMiddleware] ignores it.
	Origin *url.URL
	// Dir is the build folder pages are saved into. When it holds no
	// build yet (it does not exist, or is empty), an empty one is made.
	// Required.
	Dir string
	// Save lists the paths whose pages may be saved: globs, where * is any
	// text within a segment, ** any text and ? one character
	// ("/posts/*/", "/tags/**"), or regular expressions after "re:",
	// matched against the whole path ("re:^/[0-9]{4}/$"). If empty, no page
	// is saved: the proxy passes requests through and serves what the
	// folder holds.
	Save []string
	// AllowCookies names the cookies a request may carry and still be
	// answered from, and saved into, the build folder (a consent or
	// analytics cookie, a CSRF token). Any other cookie makes the request
	// personal: it goes to the origin and its answer is never saved.
	AllowCookies []string
	// TTL is how long a saved page is fresh. If zero, saved pages stay
	// until purged.
	TTL time.Duration
	// Jitter shortens the TTL of each path by up to this fraction of it,
	// the same for a path every time, so that pages saved together do not
	// expire together. If zero, 0.1; if negative, none.
	Jitter float64
	// WaitRefresh makes a request for an expired page wait while it is
	// fetched again. By default the saved page is answered at once and
	// fetched in the background (stale-while-revalidate). Either way an
	// origin that fails leaves the saved page in place (stale-if-error).
	WaitRefresh bool
	// MaxSize is the largest page saved, in bytes; a bigger answer is passed
	// through. If zero, 8 MB.
	MaxSize int64
	// PurgeToken, when set, enables POST [PurgePath] for a client that
	// sends it as "Authorization: Bearer TOKEN", over TLS or from a
	// loopback address. If empty, that path goes to the origin like any
	// other.
	PurgeToken string
	// Transport makes the requests to the origin. If nil, a clone of
	// http.DefaultTransport. [NewMiddleware] ignores it.
	Transport http.RoundTripper
	// Logger receives pages saved and what goes wrong. If nil, logs are
	// discarded.
	Logger *slog.Logger
	// Rows names the tables whose rows the saved pages show, as
	// [[proxy.purge]] does: a saved page whose path is one of a table's
	// paths gets deps on them in the manifest, table:TABLE for a path
	// without placeholders, and row:TABLE/KEY for one with (the rows read
	// by the placeholders' values, once a [RowPurger] gives the database;
	// table:TABLE until then). [NewRowPurger] sets it when it is empty.
	Rows []RowPaths
	// Files are the options of the file server that answers saved pages;
	// its Logger defaults to Logger.
	Files serve.FileServerOptions
}

// Proxy is an [http.Handler] that answers from the build folder what was
// saved there and asks the origin for the rest, saving what the rules of
// the package allow. Create it with [New] in front of an origin server, or
// with [NewMiddleware] around a Go program's handler; Close waits for
// background refreshes.
type Proxy struct {
	up      upstream
	dir     string
	save    []pattern
	cookies map[string]bool
	ttl     time.Duration
	jitter  float64
	wait    bool
	maxSize int64
	token   string
	log     *slog.Logger
	files   *serve.FileServer
	rows    atomic.Pointer[rowDeps]

	flights flightGroup
	saveMu  sync.Mutex // one save or purge of this process at a time
	bg      sync.WaitGroup
	bgMu    sync.Mutex
	closed  bool
	stop    context.CancelFunc
	bgCtx   context.Context
}

// New returns a Proxy in front of the origin server opts.Origin, making an
// empty build in opts.Dir when it holds none.
func New(ctx context.Context, opts Options) (*Proxy, error) {
	if opts.Origin == nil || opts.Origin.Scheme == "" || opts.Origin.Host == "" {
		return nil, errors.New("new proxy: the origin must be an absolute URL (http://HOST:PORT)")
	}
	tr := opts.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	log := logger(opts)
	origin := opts.Origin
	up := &originUpstream{
		origin: origin,
		rp: &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(origin)
				pr.SetXForwarded()
			},
			Transport: tr,
			ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	p, err := newCore(ctx, up, opts)
	if err != nil {
		return nil, fmt.Errorf("new proxy: %w", err)
	}
	return p, nil
}

// NewMiddleware returns a Proxy that does the proxy's job inside a Go
// program, around its handler next: a GET or HEAD for a page saved in
// opts.Dir is answered from there, with the headers bake serve gives,
// without calling next; any other request is passed to next as it is. A
// miss of a path that may be saved calls next once for all the requests
// that wait for it, with a request that has none of the visitor's
// credentials or cookies, and saves its answer under the same rules as
// [New]: a public 200 of a GET whose path matches opts.Save. It makes an
// empty build in opts.Dir when it holds none.
//
// A handler can record what a page read with [bake.Track] on its
// request's context, as in a build: the deps go into the page's manifest
// entry with url:PATH.
func NewMiddleware(ctx context.Context, next http.Handler, opts Options) (*Proxy, error) {
	if next == nil {
		return nil, errors.New("new middleware: no handler")
	}
	p, err := newCore(ctx, handlerUpstream{next: next}, opts)
	if err != nil {
		return nil, fmt.Errorf("new middleware: %w", err)
	}
	return p, nil
}

func logger(opts Options) *slog.Logger {
	if opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return opts.Logger
}

// newCore returns the Proxy of New and NewMiddleware, with pages from up.
func newCore(ctx context.Context, up upstream, opts Options) (*Proxy, error) {
	if opts.Dir == "" {
		return nil, errors.New("no build folder")
	}
	save, err := compilePatterns(opts.Save)
	if err != nil {
		return nil, err
	}
	rows, err := parseRowPaths(opts.Rows)
	if err != nil {
		return nil, err
	}
	if err := ensureBuild(ctx, opts.Dir); err != nil {
		return nil, err
	}
	log := logger(opts)
	fopts := opts.Files
	if fopts.Logger == nil {
		fopts.Logger = log
	}
	files, err := serve.NewFileServer(opts.Dir, fopts)
	if err != nil {
		return nil, err
	}
	jitter := opts.Jitter
	switch {
	case jitter == 0:
		jitter = 0.1
	case jitter < 0:
		jitter = 0
	case jitter > 1:
		jitter = 1
	}
	p := &Proxy{
		up:      up,
		dir:     opts.Dir,
		save:    save,
		cookies: map[string]bool{},
		ttl:     opts.TTL,
		jitter:  jitter,
		wait:    opts.WaitRefresh,
		maxSize: cmp.Or(opts.MaxSize, 8<<20),
		token:   opts.PurgeToken,
		log:     log,
		files:   files,
	}
	for _, c := range opts.AllowCookies {
		p.cookies[c] = true
	}
	p.rows.Store(&rowDeps{tables: rows})
	p.bgCtx, p.stop = context.WithCancel(context.WithoutCancel(ctx))
	return p, nil
}

// Close stops background refreshes and waits for those under way.
func (p *Proxy) Close() error {
	p.bgMu.Lock()
	p.closed = true
	p.bgMu.Unlock()
	p.stop()
	p.bg.Wait()
	return nil
}

// ServeHTTP answers r: from the build folder when its page is saved there,
// else from the origin, saving the answer when the rules allow. Paths with
// "." or ".." segments, NUL, backslashes or encoded slashes are refused
// with 400. A POST to [PurgePath] purges, when a PurgeToken is set.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.token != "" && r.URL.Path == PurgePath {
		p.servePurge(w, r)
		return
	}
	if !cleanPath(r.URL) {
		http.Error(w, "bad request: path not allowed", http.StatusBadRequest)
		return
	}
	upath := r.URL.Path
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || r.URL.RawQuery != "" || p.personal(r) {
		p.up.ServeHTTP(w, r)
		return
	}
	savable := p.savable(upath)
	// No expiry to check, and a path whose page is likely saved: the file
	// server finds it or not, in one look at the folder (none for a page
	// it holds in memory). It refuses the paths that bake.FileName does,
	// which then go to the origin below.
	direct := p.ttl <= 0 && savable
	if direct && p.serveSaved(w, r) {
		return
	}
	name, err := bake.FileName(upath)
	if err != nil {
		p.up.ServeHTTP(w, r)
		return
	}
	if !direct {
		if fi, err := os.Stat(filepath.Join(p.dir, filepath.FromSlash(name))); err == nil && fi.Mode().IsRegular() {
			// With a TTL the file's age is needed; and a path no pattern
			// matches is rarely saved (a build's page, one saved before
			// the patterns changed): a stat says so more cheaply than the
			// file server's not-found.
			if p.expired(upath, fi.ModTime()) {
				if p.wait {
					p.refresh(upath)
				} else {
					p.refreshLater(upath)
				}
			}
			p.files.ServeHTTP(w, r)
			return
		}
	}
	if r.Method == http.MethodHead || !savable {
		p.up.ServeHTTP(w, r)
		return
	}
	res, leader := p.flights.do(upath, func() *fetched { return p.fetch(context.WithoutCancel(r.Context()), r, upath) })
	switch {
	case res.saved:
		p.files.ServeHTTP(w, r)
	case res.err != nil:
		if leader {
			p.log.Warn("origin", "path", upath, "err", res.err)
			http.Error(w, "bad gateway", http.StatusBadGateway)
		} else {
			p.up.ServeHTTP(w, r)
		}
	case leader || res.shareable:
		res.write(w, r)
	default:
		// Personal, or too big to hold: each client asks for its own.
		p.up.ServeHTTP(w, r)
	}
}

// personal reports whether r carries credentials: Authorization, or a
// cookie not in AllowCookies.
func (p *Proxy) personal(r *http.Request) bool {
	if len(r.Header["Authorization"]) > 0 || len(r.Header["Proxy-Authorization"]) > 0 {
		return true
	}
	if len(r.Header["Cookie"]) == 0 {
		return false
	}
	cs := r.Cookies()
	if len(cs) == 0 {
		return true // a Cookie header that does not parse
	}
	for _, c := range cs {
		if !p.cookies[c.Name] {
			return true
		}
	}
	return false
}

// savable reports whether a page at upath may be saved.
func (p *Proxy) savable(upath string) bool {
	for _, pat := range p.save {
		if pat.match(upath) {
			return true
		}
	}
	return false
}

// expired reports whether a page saved at mtime is past its TTL.
func (p *Proxy) expired(upath string, mtime time.Time) bool {
	if p.ttl <= 0 {
		return false
	}
	h := fnv.New64a()
	io.WriteString(h, upath)
	frac := float64(h.Sum64()%10000) / 10000
	ttl := time.Duration(float64(p.ttl) * (1 - p.jitter*frac))
	return time.Since(mtime) > ttl
}

// refreshLater fetches upath again in the background, once however many
// requests find it expired.
func (p *Proxy) refreshLater(upath string) {
	if !p.flights.claim("refresh " + upath) {
		return
	}
	p.bgMu.Lock()
	if p.closed {
		p.bgMu.Unlock()
		p.flights.release("refresh " + upath)
		return
	}
	p.bg.Add(1)
	p.bgMu.Unlock()
	go func() {
		defer p.bg.Done()
		defer p.flights.release("refresh " + upath)
		p.refresh(upath)
	}()
}

// refresh fetches the saved page upath again: a page the origin still
// answers with a public 200 is saved again; one it answers otherwise (gone,
// moved, personal) is purged; an error keeps it (stale-if-error).
func (p *Proxy) refresh(upath string) {
	r, err := http.NewRequestWithContext(p.bgCtx, http.MethodGet, upath, nil)
	if err != nil {
		return
	}
	res, leader := p.flights.do(upath, func() *fetched { return p.fetch(p.bgCtx, r, upath) })
	if leader && res.body != nil {
		res.body.Close() // the rest of an answer too big to save: nobody to send it to
	}
	switch {
	case res.saved:
	case res.err != nil || res.status >= 500:
		p.log.Warn("refresh failed; the saved page stays", "path", upath, "status", res.status, "err", res.err)
	default:
		p.log.Info("refresh: no longer savable; purged", "path", upath, "status", res.status, "why", res.why)
		if _, err := p.purge(p.bgCtx, []string{upath}, ""); err != nil {
			p.log.Warn("purge", "path", upath, "err", err)
		}
	}
}

// Warmed is the outcome of warming one path.
type Warmed struct {
	Path   string `json:"path"`
	Status int    `json:"status"`           // the origin's answer; 0 when it failed
	Saved  bool   `json:"saved"`            // saved into the build folder
	Why    string `json:"reason,omitempty"` // why it was not saved
}

// Warm fetches each path from the origin and saves it when the rules
// allow, already saved or not: a page changed at the origin is saved
// again. It stops early only when ctx is done.
func (p *Proxy) Warm(ctx context.Context, paths []string) ([]Warmed, error) {
	out := make([]Warmed, 0, len(paths))
	for _, upath := range paths {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("warm: %w", err)
		}
		w := Warmed{Path: upath}
		u, err := url.Parse(upath)
		switch {
		case err != nil || !strings.HasPrefix(upath, "/") || !cleanPath(u) || u.RawQuery != "":
			w.Why = "not a page path"
		case !p.savable(u.Path):
			w.Why = "matches no save pattern"
		default:
			r, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Path, nil)
			if err != nil {
				w.Why = err.Error()
				break
			}
			res, leader := p.flights.do(u.Path, func() *fetched { return p.fetch(ctx, r, u.Path) })
			w.Status, w.Saved, w.Why = res.status, res.saved, res.why
			if res.err != nil {
				w.Why = res.err.Error()
			}
			if leader && res.body != nil { // a waiter's leader sends the rest
				res.body.Close()
			}
		}
		out = append(out, w)
	}
	return out, nil
}

// cleanPath reports whether u's path is one the proxy handles: no "." or
// ".." segment, NUL, backslash or encoded slash, however it was written.
func cleanPath(u *url.URL) bool {
	p := u.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") {
		return false
	}
	raw := strings.ToLower(u.RawPath)
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%00") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// pattern is a compiled Save pattern. The globs most sites write, a path
// ("/") or a folder and everything under it ("/posts/**"), are a string
// compare; a regular expression, run on every request, cost a fifth of a
// hit's time in the middleware.
type pattern struct {
	re     *regexp.Regexp // nil for the two simple forms
	lit    string         // the path, or the prefix of a "**" glob
	prefix bool
}

func (p pattern) match(upath string) bool {
	switch {
	case p.re != nil:
		return p.re.MatchString(upath)
	case p.prefix:
		return strings.HasPrefix(upath, p.lit)
	}
	return upath == p.lit
}

// compilePatterns compiles Save patterns.
func compilePatterns(pats []string) ([]pattern, error) {
	var out []pattern
	for _, pat := range pats {
		var expr string
		if re, ok := strings.CutPrefix(pat, "re:"); ok {
			expr = re
		} else {
			if !strings.HasPrefix(pat, "/") {
				return nil, fmt.Errorf("save pattern %q: a glob starts with / (or write a regular expression as re:...)", pat)
			}
			lit, rest := pat, ""
			if i := strings.IndexAny(pat, "*?"); i >= 0 {
				lit, rest = pat[:i], pat[i:]
			}
			switch rest {
			case "":
				out = append(out, pattern{lit: lit})
				continue
			case "**":
				out = append(out, pattern{lit: lit, prefix: true})
				continue
			}
			expr = globRegexp(pat)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("save pattern %q: %w", pat, err)
		}
		out = append(out, pattern{re: re})
	}
	return out, nil
}

// globRegexp returns the regular expression of a glob, anchored.
func globRegexp(glob string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// statusText is a status for logs.
func statusText(n int) string { return strconv.Itoa(n) + " " + http.StatusText(n) }
